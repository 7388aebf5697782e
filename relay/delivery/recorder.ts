/**
 * The recorder, the last stage of an attempt: its outcome, the attempt row, the subscription's
 * health and any alert that raises, in one transaction; outcomes finished together share one
 * (group commit). Then the log line and the counters that say what happened.
 */
import type { RelayConfig } from '../config.js';
import type { Logger } from '../log.js';
import { GroupCommit } from '../loops/group-commit.js';
import type { Claimed } from '../store/deliveries/claim.js';
import type { Completion, Recorded } from '../store/deliveries/outcomes.js';
import type { Store } from '../store/index.js';
import type { AttemptResult } from './attempt.js';

/** What the deliverer reports to the metrics, when the relay keeps them. */
export interface DeliveryMetrics {
  observeDelivery(seconds: number): void;
  countDelivery(outcome: string): void;
  /** A target answered 429 or 503. */
  countThrottled(): void;
}

/** A URL's host, for logs (a URL may carry a secret path: a Slack webhook's, a Zap's). */
export const hostOf = (url: string) => {
  try {
    return new URL(url).host;
  } catch {
    return null;
  }
};

export class Recorder {
  private readonly completions: GroupCommit<Completion, Recorded>;

  constructor(
    store: Store,
    private readonly cfg: RelayConfig,
    private readonly log: Logger,
    private readonly worker: string,
    private readonly metrics?: DeliveryMetrics,
  ) {
    // SQLite has one connection (one batch at a time); PostgreSQL's pool commits several at once.
    this.completions = new GroupCommit((items) => store.outcomes.record(items, cfg), 200, undefined, store.writers);
  }

  /** Records what an attempt of `d` came to; a record that fails is logged (the lease runs out and another attempt follows: at least once). */
  async record(d: Claimed, { outcome, record, trace }: AttemptResult): Promise<void> {
    this.metrics?.observeDelivery(record.durationMs / 1000);
    const fields = { delivery_id: d.id, event_id: d.event_id, hook_id: d.hook_id, target_host: hostOf(d.target_url), attempt: record.n, status: record.statusCode, ms: record.durationMs, ...trace };
    let recorded: Recorded;
    try {
      recorded = await this.completions.add({ id: d.id, worker: this.worker, hookId: d.hook_id, targetUrl: d.target_url, outcome, giveUpMs: this.cfg.giveUpMs, attempt: record });
    } catch (err) {
      this.log('error', 'could not record a delivery outcome', { ...fields, error: (err as Error).message });
      return;
    }
    if (outcome.kind === 'throttled') this.metrics?.countThrottled();
    const retried = outcome.kind === 'retry' || outcome.kind === 'throttled';
    this.metrics?.countDelivery(
      recorded.recorded ? (retried ? (recorded.status === 'given_up' ? 'given_up' : outcome.kind) : recorded.status === 'cancelled' ? 'gone' : recorded.status) : 'not_recorded',
    );
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
    } else if (outcome.kind === 'throttled') {
      this.log('info', 'target asked to slow down: paused, its deliveries resume in order', { ...fields, pause_ms: outcome.delayMs });
    } else if (outcome.kind === 'retry') {
      this.log('warn', 'delivery will be retried', { ...fields, retry_in_ms: outcome.delayMs, last_reason: reason });
    } else {
      this.log('debug', 'delivered', fields);
    }
  }
}
