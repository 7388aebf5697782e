/**
 * The work behind the ack: the activity index and the fan-out to subscriptions, built from the
 * event log by `Store.derive` in batches. Kicked after each stored batch, and on a poll for
 * events another relay process stored (whichever process gets there first derives them; the
 * cursor is shared). At start it catches up with whatever was stored but not derived before a
 * crash. When a round queues deliveries, the deliverer is woken; when it queues none (no
 * subscription matched), the deliverer is left asleep.
 */
import type { Logger } from './log.js';
import type { Store } from './store.js';

export class Deriver {
  private running = false;
  private kicked = false;
  private wake: (() => void) | null = null;
  private loopDone: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly pollMs: number,
    /** Deliveries were queued. */
    private readonly onQueued: () => void,
    private readonly batch = 2000,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  /** New events were stored: derive them now instead of at the next poll. */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  /** Finishes the round under way; what is left is derived at the next start (by any process). */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loopDone;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      this.kicked = false;
      let full = false;
      try {
        const r = await this.store.derive(this.batch);
        if (r.deliveries > 0) this.onQueued();
        full = r.events >= this.batch;
        failures = 0;
      } catch (err) {
        failures++;
        this.log('error', 'deriving stored events failed; tried again', { error: (err as Error).message, failures });
      }
      if (full || (this.kicked && failures === 0)) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, failures > 0 ? Math.min(30_000, this.pollMs * 2 ** failures) : this.pollMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
  }
}
