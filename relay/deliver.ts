import http from 'node:http';
import https from 'node:https';
import { randomBytes } from 'node:crypto';
import type { RelayConfig } from './config.js';
import type { Logger } from './log.js';
import type { Claimed, Outcome, Store } from './store.js';
import { guardedLookup } from './targets.js';

/** Exponential backoff with ±20 % jitter: about 1 s, 2 s, 4 s … capped (1 h by default). */
export function backoffMs(previousAttempts: number, baseMs: number, maxMs: number, rand = Math.random): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.min(previousAttempts, 40));
  return Math.round(raw * (0.8 + 0.4 * rand()));
}

/** How a target's answer (or the lack of one) is treated: the contract's delivery rules. */
export function classify(
  status: number | null,
  error: string | null,
  d: Pick<Claimed, 'attempts' | 'created_at'>,
  cfg: Pick<RelayConfig, 'retryBaseMs' | 'retryMaxMs' | 'giveUpMs'>,
  now = Date.now(),
): Outcome {
  if (status !== null && status >= 200 && status < 300) return { kind: 'done', status };
  if (status === 410) return { kind: 'gone', status };
  const retryable = status === null || status === 408 || status === 429 || status >= 500;
  const why = error ?? `HTTP ${status}`;
  if (!retryable) return { kind: 'failed', status, error: `${why}: not retried (4xx other than 408/429)` };
  const nextAt = now + backoffMs(d.attempts, cfg.retryBaseMs, cfg.retryMaxMs);
  if (nextAt - d.created_at > cfg.giveUpMs) {
    return { kind: 'failed', status, error: `${why}: gave up after ${d.attempts + 1} attempts over ${Math.round((now - d.created_at) / 1000)} s` };
  }
  return { kind: 'retry', status, error: why, nextAt };
}

export class Deliverer {
  readonly worker = `w_${process.pid}_${randomBytes(4).toString('hex')}`;
  private running = false;
  private inflight = new Set<Promise<void>>();
  private wake: (() => void) | null = null;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly agents: { http: http.Agent; https: https.Agent };
  private readonly lookup;

  constructor(
    private readonly store: Store,
    private readonly cfg: RelayConfig,
    private readonly log: Logger,
  ) {
    this.agents = { http: new http.Agent({ keepAlive: true, maxSockets: 64 }), https: new https.Agent({ keepAlive: true, maxSockets: 64 }) };
    this.lookup = guardedLookup(cfg.allowPrivateTargets);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  /** New work was stored: look now instead of at the next poll. */
  kick(): void {
    this.wake?.();
  }

  /** Stops claiming, finishes in-flight attempts, and hands back leases not yet used. */
  async stop(): Promise<void> {
    this.running = false;
    this.kick();
    await this.loopDone;
    await Promise.allSettled([...this.inflight]);
    await this.store.release(this.worker).catch(() => undefined);
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let claimed: Claimed[] = [];
      const room = this.cfg.deliveryConcurrency - this.inflight.size;
      if (room > 0) {
        try {
          claimed = await this.store.claim(this.worker, room, this.cfg.leaseMs);
        } catch (err) {
          this.log('error', 'claim failed', { error: (err as Error).message });
        }
      }
      for (const d of claimed) {
        const p = this.attempt(d).finally(() => {
          this.inflight.delete(p);
          this.kick();
        });
        this.inflight.add(p);
      }
      if (claimed.length === 0 || this.inflight.size >= this.cfg.deliveryConcurrency) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, this.cfg.pollMs);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wake = null;
      }
    }
  }

  private async attempt(d: Claimed): Promise<void> {
    const started = Date.now();
    const { status, error, permanent } = await this.post(d);
    const outcome: Outcome = permanent ? { kind: 'failed', status, error: error ?? 'refused' } : classify(status, error, d, this.cfg);
    try {
      const recorded = await this.store.complete(d.id, this.worker, outcome);
      this.log(outcome.kind === 'done' ? 'debug' : outcome.kind === 'retry' ? 'warn' : 'info', 'delivery attempt', {
        delivery_id: d.id,
        event_id: d.event_id,
        hook_id: d.hook_id,
        attempt: d.attempts + 1,
        outcome: outcome.kind,
        status,
        error: error ?? undefined,
        ms: Date.now() - started,
        recorded,
      });
    } catch (err) {
      // The lease runs out and another attempt follows: at least once.
      this.log('error', 'could not record a delivery outcome', { delivery_id: d.id, error: (err as Error).message });
    }
  }

  /** POSTs the stored bytes with the provider's signature header under its original name. */
  private post(d: Claimed): Promise<{ status: number | null; error: string | null; permanent?: boolean }> {
    return new Promise((resolve) => {
      let url: URL;
      try {
        url = new URL(d.target_url);
      } catch {
        resolve({ status: 400, error: 'invalid target URL' });
        return;
      }
      const body = Buffer.from(d.body, 'utf8');
      const mod = url.protocol === 'https:' ? https : http;
      const req = mod.request(
        url,
        {
          method: 'POST',
          agent: url.protocol === 'https:' ? this.agents.https : this.agents.http,
          lookup: this.lookup as any,
          timeout: this.cfg.deliveryTimeoutMs,
          headers: {
            ...d.headers,
            'Content-Type': 'application/json',
            'Content-Length': String(body.length),
            'User-Agent': 'demohooks-relay/1',
            'X-Relay-Event-Id': d.event_id,
            'X-Relay-Attempt': String(d.attempts + 1),
          },
        },
        (res) => {
          // Redirects are not followed (a 3xx is an answer, not an invitation to go elsewhere).
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? null, error: null }));
          res.on('error', () => resolve({ status: res.statusCode ?? null, error: null }));
        },
      );
      const timer = setTimeout(() => req.destroy(new Error(`timed out after ${this.cfg.deliveryTimeoutMs} ms`)), this.cfg.deliveryTimeoutMs);
      req.on('timeout', () => req.destroy(new Error(`timed out after ${this.cfg.deliveryTimeoutMs} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (err.code === 'ETARGETPRIVATE') resolve({ status: null, error: err.message, permanent: true });
        else resolve({ status: null, error: `${err.code ?? 'network error'}: ${err.message}`.slice(0, 300) });
      });
      req.on('close', () => clearTimeout(timer));
      req.end(body);
    });
  }
}
