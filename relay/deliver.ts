import http from 'node:http';
import https from 'node:https';
import { randomBytes } from 'node:crypto';
import type { RelayConfig } from './config.js';
import type { Logger } from './log.js';
import type { Claimed, Completion, Outcome, Recorded, Store } from './store.js';
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

export class Deliverer extends KickLoop {
  readonly worker = `w_${process.pid}_${randomBytes(4).toString('hex')}`;
  private inflight = new Set<Promise<void>>();
  /** Attempts in flight per account: an account holds at most RELAY_ACCOUNT_CONCURRENCY of them. */
  private readonly perAccount = new Map<string, number>();
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

  /** Stops claiming, finishes in-flight attempts, and hands back leases not yet used. */
  async stop(): Promise<void> {
    await this.stopLoop();
    await Promise.allSettled([...this.inflight]);
    await this.store.release(this.worker).catch(() => undefined);
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  protected async loop(): Promise<void> {
    while (this.running) {
      this.kicked = false;
      let claimed: Claimed[] = [];
      let failed = false;
      const room = this.cfg.deliveryConcurrency - this.inflight.size;
      if (room > 0) {
        try {
          claimed = await this.store.claim(this.worker, room, this.cfg.leaseMs, { perAccount: this.cfg.accountConcurrency, inflight: this.perAccount });
        } catch (err) {
          this.log('error', 'claim failed', { error: (err as Error).message });
          failed = true;
        }
      }
      for (const d of claimed) {
        this.perAccount.set(d.account_id, (this.perAccount.get(d.account_id) ?? 0) + 1);
        const p = this.attempt(d).finally(() => {
          this.inflight.delete(p);
          const n = (this.perAccount.get(d.account_id) ?? 1) - 1;
          if (n > 0) this.perAccount.set(d.account_id, n);
          else this.perAccount.delete(d.account_id);
          this.nudge(); // a slot is free: a waiting loop looks again
        });
        this.inflight.add(p);
      }
      // New work stored while claiming would otherwise wait for the next poll.
      const lookAgain = this.kicked && !failed && this.inflight.size < this.cfg.deliveryConcurrency;
      if (!lookAgain && (claimed.length === 0 || this.inflight.size >= this.cfg.deliveryConcurrency)) {
        await this.sleep(this.cfg.pollMs);
      }
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
