import http from 'node:http';
import https from 'node:https';
import { randomBytes } from 'node:crypto';
import type { RelayConfig } from './config.js';
import type { Logger } from './log.js';
import type { Claimed, Completion, LeaseOffer, Outcome, Recorded, Store } from './store.js';
import { GroupCommit } from './group-commit.js';
import { KickLoop } from './kick-loop.js';
import { checkTarget, guardedLookup, guardedPost } from './targets.js';

const SNIPPET_BYTES = 1024;
/** The kept start of a response, as text (a cut multi-byte character is dropped). */
const snippetOf = (parts: Buffer[]): string | null => {
  if (parts.length === 0) return null;
  return Buffer.concat(parts).toString('utf8').replace(/\uFFFD$/, '');
};

/** What the deliverer reports to the metrics, when the relay keeps them. */
export interface DeliveryMetrics {
  observeDelivery(seconds: number): void;
  countDelivery(outcome: string): void;
}

/** A URL's host, for logs (a URL may carry a secret path: a Slack webhook's, a Zap's). */
export const hostOf = (url: string) => {
  try {
    return new URL(url).host;
  } catch {
    return null;
  }
};

/** Exponential backoff with ±20 % jitter: about 1 s, 2 s, 4 s … capped (1 h by default). */
export function backoffMs(previousAttempts: number, baseMs: number, maxMs: number, rand = Math.random): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.min(previousAttempts, 40));
  return Math.round(raw * (0.8 + 0.4 * rand()));
}

/**
 * How a target's answer (or the lack of one) is treated: the contract's delivery rules. A
 * retry's time and the give-up decision are the store's, on the database clock.
 */
export function classify(status: number | null, error: string | null, previousAttempts: number, cfg: Pick<RelayConfig, 'retryBaseMs' | 'retryMaxMs'>): Outcome {
  if (status !== null && status >= 200 && status < 300) return { kind: 'delivered', status };
  if (status === 410) return { kind: 'gone', status };
  const retryable = status === null || status === 408 || status === 429 || status >= 500;
  const why = error ?? `HTTP ${status}`;
  if (!retryable) {
    const rule = status !== null && status >= 300 && status < 400 ? 'a redirect is not followed' : status !== null && status < 200 ? 'not a final answer' : '4xx other than 408/429';
    return { kind: 'failed', status, error: `${why}: not retried (${rule})` };
  }
  return { kind: 'retry', status, error: why, delayMs: backoffMs(previousAttempts, cfg.retryBaseMs, cfg.retryMaxMs) };
}

/** Moves an account's count by `by`; a count that reaches zero is removed. The new count. */
function tally(counts: Map<string, number>, account: string, by: number): number {
  const n = (counts.get(account) ?? 0) + by;
  if (n > 0) counts.set(account, n);
  else counts.delete(account);
  return Math.max(0, n);
}

export class Deliverer extends KickLoop implements LeaseOffer {
  readonly worker = `w_${process.pid}_${randomBytes(4).toString('hex')}`;
  private inflight = new Set<Promise<void>>();
  /** Attempts in flight per account: an account holds at most RELAY_ACCOUNT_CONCURRENCY of them. */
  private readonly perAccount = new Map<string, number>();
  /** Claimed deliveries waiting for a slot, with when their claim began (their lease is at least that old). */
  private readonly ready: Array<{ d: Claimed; at: number }> = [];
  /** Deliveries held per account, queued or in flight: an account holds at most twice its share. */
  private readonly held = new Map<string, number>();
  /** Places taken by a derive under way for deliveries it is storing leased (see LeaseOffer). */
  private taken = 0;
  /** Whether a claim may find due work: at start, when kicked (work stored), at each poll (retries come due, other processes' leases run out), after a claim that found some. */
  private mayFind = true;
  /** Accounts whose due work the last claim left behind because they held their share. */
  private capped = new Set<string>();
  private readonly agents: { http: http.Agent; https: https.Agent };
  private readonly lookup;
  /** Outcomes finished together are recorded in one transaction, each by its own guarded statement. */
  private readonly completions: GroupCommit<Completion, Recorded>;

  constructor(
    private readonly store: Store,
    private readonly cfg: RelayConfig,
    private readonly log: Logger,
    private readonly metrics?: DeliveryMetrics,
  ) {
    super();
    this.agents = { http: new http.Agent({ keepAlive: true, maxSockets: 64 }), https: new https.Agent({ keepAlive: true, maxSockets: 64 }) };
    this.lookup = guardedLookup(cfg.allowPrivateTargets);
    // SQLite has one connection (one batch at a time); PostgreSQL's pool commits several at once.
    this.completions = new GroupCommit((items) => store.completeMany(items), 200, undefined, store.db.dialect === 'postgres' ? 8 : 1);
  }

  get leaseMs(): number {
    return this.cfg.leaseMs;
  }

  /** Starts delivering, and takes fresh deliveries from this process's derive step as they are stored. */
  override start(): void {
    super.start();
    this.store.offerLeases(this);
  }

  /** Deliveries this deliverer holds now: in flight, queued, or being stored leased to it. */
  holds(): number {
    return this.inflight.size + this.ready.length + this.taken;
  }

  /** Room for a fresh delivery of `account`: the ready queue as deep as the slots, an account within twice its share. */
  take(account: string): boolean {
    if (!this.running) return false;
    if (this.inflight.size + this.ready.length + this.taken >= 2 * this.cfg.deliveryConcurrency) return false;
    if ((this.held.get(account) ?? 0) >= 2 * this.cfg.accountConcurrency) return false;
    this.taken++;
    tally(this.held, account, 1);
    return true;
  }

  untake(accounts: string[]): void {
    for (const a of accounts) {
      this.taken--;
      this.drop(a);
    }
  }

  give(claimed: Claimed[], leasedAt: number): void {
    this.taken -= claimed.length;
    if (!this.running) {
      // Stopping: not attempted here; stop() hands the leases back.
      for (const d of claimed) this.drop(d.account_id);
      return;
    }
    for (const d of claimed) this.ready.push({ d, at: leasedAt });
    this.startReady();
  }

  /** Stops claiming, finishes in-flight attempts, and hands back leases not yet used. */
  async stop(): Promise<void> {
    this.store.offerLeases(null);
    await this.stopLoop();
    this.ready.length = 0; // not attempted: their leases are handed back below
    await Promise.allSettled([...this.inflight]);
    await this.store.release(this.worker).catch(() => undefined);
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  protected async loop(): Promise<void> {
    let lastClaim = 0;
    while (this.running) {
      if (this.kicked || performance.now() - lastClaim >= this.cfg.pollMs) this.mayFind = true;
      this.kicked = false;
      this.startReady();
      let claimed: Claimed[] = [];
      let failed = false;
      // Claims fill the free slots and a ready queue as deep as the slots, and run again when
      // the queue is down to half or a slot is free that nothing queued may take (its account
      // holds its share): one claim serves many attempts, instead of one claim (an index walk
      // over the due work) for each slot that comes free.
      const want = 2 * this.cfg.deliveryConcurrency - this.inflight.size - this.ready.length - this.taken;
      const slotFree = this.inflight.size < this.cfg.deliveryConcurrency; // after startReady: nothing queued fits it
      if (this.mayFind && want > 0 && (slotFree || this.ready.length <= this.cfg.deliveryConcurrency / 2)) {
        const claimedAt = (lastClaim = performance.now());
        const capped = new Set<string>();
        try {
          claimed = await this.store.claim(this.worker, want, this.cfg.leaseMs, { perAccount: 2 * this.cfg.accountConcurrency, inflight: this.held, capped });
        } catch (err) {
          this.log('error', 'claim failed', { error: (err as Error).message });
          failed = true;
        }
        for (const d of claimed) {
          tally(this.held, d.account_id, 1);
          this.ready.push({ d, at: claimedAt });
        }
        // Found nothing more: look again at a kick or the poll, or once an account whose work
        // was left behind for its share holds a quarter of its allowance less (so the next
        // claim takes a batch, not one).
        this.mayFind = claimed.length > 0;
        this.capped = capped;
        this.startReady();
      }
      // New work stored while claiming would otherwise wait for the next poll.
      if (this.kicked && !failed) continue;
      await this.sleep(Math.max(1, lastClaim + this.cfg.pollMs - performance.now()));
    }
  }

  /**
   * Starts queued deliveries on free slots, oldest first, each account within its share of the
   * slots. A delivery queued so long that its lease could run out during the attempt is handed
   * back instead (due again at once, for any process), so it is never sent twice.
   */
  private startReady(): void {
    // The configuration keeps the lease at least 500 ms past the delivery timeout; half of that
    // margin is kept for the attempt's own start and the clock readings.
    const latest = this.cfg.leaseMs - this.cfg.deliveryTimeoutMs - 250;
    for (let i = 0; i < this.ready.length && this.inflight.size < this.cfg.deliveryConcurrency; ) {
      const { d, at } = this.ready[i];
      if (performance.now() - at > latest) {
        this.ready.splice(i, 1);
        this.drop(d.account_id);
        void this.store
          .releaseOne(d.id, this.worker)
          .then(() => this.kick()) // due again: claimed at once, by this process or another
          .catch((err) => this.log('error', 'could not hand back a delivery lease', { delivery_id: d.id, error: (err as Error).message }));
        continue;
      }
      if ((this.perAccount.get(d.account_id) ?? 0) >= this.cfg.accountConcurrency) {
        i++;
        continue;
      }
      this.ready.splice(i, 1);
      tally(this.perAccount, d.account_id, 1);
      const p = this.attempt(d).finally(() => {
        this.inflight.delete(p);
        tally(this.perAccount, d.account_id, -1);
        this.drop(d.account_id);
        this.nudge(); // a slot is free: a waiting loop starts what is queued
      });
      this.inflight.add(p);
    }
  }

  private drop(account: string): void {
    const n = tally(this.held, account, -1);
    if (this.capped.has(account) && n <= 1.5 * this.cfg.accountConcurrency) {
      this.capped.delete(account);
      this.mayFind = true;
    }
  }

  private async attempt(d: Claimed): Promise<void> {
    const started = Date.now();
    const { status, error, permanent, snippet } = await this.post(d);
    const durationMs = Date.now() - started;
    this.metrics?.observeDelivery(durationMs / 1000);
    const outcome: Outcome = permanent ? { kind: 'failed', status, error: error ?? 'refused' } : classify(status, error, d.attempts, this.cfg);
    const fields = { delivery_id: d.id, event_id: d.event_id, hook_id: d.hook_id, target_host: hostOf(d.target_url), attempt: d.attempts + 1, status, ms: Date.now() - started };
    let recorded: Recorded;
    try {
      recorded = await this.completions.add({
        id: d.id,
        worker: this.worker,
        hookId: d.hook_id,
        outcome,
        giveUpMs: this.cfg.giveUpMs,
        attempt: { n: d.attempts + 1, startedAt: started, durationMs, statusCode: status, error, responseSnippet: snippet },
      });
    } catch (err) {
      // The lease runs out and another attempt follows: at least once.
      this.log('error', 'could not record a delivery outcome', { ...fields, error: (err as Error).message });
      return;
    }
    this.metrics?.countDelivery(recorded.recorded ? (outcome.kind === 'retry' ? (recorded.status === 'given_up' ? 'given_up' : 'retry') : recorded.status === 'cancelled' ? 'gone' : recorded.status) : 'not_recorded');
    if (!recorded.recorded) {
      this.log('info', 'delivery outcome not recorded: cancelled or re-leased meanwhile', { ...fields, outcome: outcome.kind });
      return;
    }
    const reason = 'error' in outcome ? outcome.error : undefined;
    if (recorded.status === 'given_up') {
      this.log('error', 'delivery given up', { ...fields, attempts: recorded.attempts, give_up_after_s: Math.round(this.cfg.giveUpMs / 1000), last_reason: reason });
    } else if (recorded.status === 'failed') {
      this.log('error', 'delivery failed', { ...fields, attempts: recorded.attempts, last_reason: reason });
    } else if (outcome.kind === 'gone') {
      this.log('warn', 'subscriber answered 410 Gone: subscription removed', fields);
    } else if (outcome.kind === 'retry') {
      this.log('warn', 'delivery will be retried', { ...fields, retry_in_ms: outcome.delayMs, last_reason: reason });
    } else {
      this.log('debug', 'delivered', fields);
    }
  }

  /**
   * POSTs the stored bytes with the provider's signature header under its original name. The
   * whole target rule (scheme, credentials, allowlist, port, literal addresses) is checked again
   * against the configuration in force; a name is resolved and checked at connect time, and the
   * socket goes to the address that check approved.
   */
  private post(d: Claimed): Promise<{ status: number | null; error: string | null; permanent?: boolean; snippet: string | null }> {
    return new Promise((resolve) => {
      const rule = checkTarget(d.target_url, this.cfg);
      if (!rule.ok) {
        resolve({ status: null, error: `target refused by this relay's configuration: ${rule.error}`, permanent: true, snippet: null });
        return;
      }
      const body = Buffer.from(d.body, 'utf8');
      const req = guardedPost(
        rule.url,
        {
          agents: this.agents,
          lookup: this.lookup,
          timeoutMs: this.cfg.deliveryTimeoutMs,
          headers: {
            ...d.headers,
            'Content-Type': 'application/json',
            'Content-Length': String(body.length),
            'User-Agent': 'demohooks-relay/1',
            'X-Relay-Event-Id': d.event_id,
            'X-Relay-Attempt': String(d.attempts + 1),
            // A timestamped vendor signature is judged against this, not the time of this attempt.
            'X-Relay-Received-At': new Date(d.received_at).toISOString(),
          },
        },
        (res) => {
          // Redirects are not followed (a 3xx is an answer, not an invitation to go elsewhere).
          // The first 1 KiB of the answer is kept for the operator; the rest is drained unread.
          const parts: Buffer[] = [];
          let kept = 0;
          res.on('data', (c: Buffer) => {
            if (kept < SNIPPET_BYTES) {
              parts.push(c.subarray(0, SNIPPET_BYTES - kept));
              kept += Math.min(c.length, SNIPPET_BYTES - kept);
            }
          });
          const done = () => resolve({ status: res.statusCode ?? null, error: null, snippet: snippetOf(parts) });
          res.on('end', done);
          res.on('error', done);
        },
        (err) => {
          if (err.code === 'ETARGETPRIVATE') resolve({ status: null, error: err.message, permanent: true, snippet: null });
          else resolve({ status: null, error: `${err.code ?? 'network error'}: ${err.message}`.slice(0, 300), snippet: null });
        },
      );
      req.end(body);
    });
  }
}
