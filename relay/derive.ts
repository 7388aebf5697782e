/**
 * The work behind the ack: the activity index and the fan-out to subscriptions, built from the
 * event log by `Store.derive` in batches. Kicked after each stored batch, and on a poll for
 * events another relay process stored (whichever process gets there first derives them; the
 * cursor is shared). At start it catches up with whatever was stored but not derived before a
 * crash. The deliveries a round stores go to this process's deliverer leased, as far as it has
 * room (see LeaseOffer); only when some are left over is the deliverer woken to claim them.
 */
import { KickLoop } from './kick-loop.js';
import type { Logger } from './log.js';
import type { Store } from './store.js';

export class Deriver extends KickLoop {
  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly pollMs: number,
    /** Deliveries were queued. */
    private readonly onQueued: () => void,
    private readonly batch = 2000,
  ) {
    super();
  }

  /** Finishes the round under way; what is left is derived at the next start (by any process). */
  stop(): Promise<void> {
    return this.stopLoop();
  }

  protected async loop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      this.kicked = false;
      let full = false;
      try {
        const r = await this.store.derive(this.batch);
        // Deliveries the deliverer had no room for (the rest it was handed, leased) wait for a claim.
        if (r.deliveries > r.handed) this.onQueued();
        full = r.events >= this.batch;
        failures = 0;
      } catch (err) {
        failures++;
        this.log('error', 'deriving stored events failed; tried again', { error: (err as Error).message, failures });
      }
      if (this.running && (full || (this.kicked && failures === 0))) continue;
      if (this.running) await this.sleep(failures > 0 ? Math.min(30_000, this.pollMs * 2 ** failures) : this.pollMs);
    }
  }
}
