/**
 * Reads never write: an operator read reads what is derived. So that a read right after an
 * ack sees what follows from it (its deliveries, its activity row), the read first waits,
 * bounded, for the deriver's cursor to reach the end of the log as it was when the read
 * began; under a steady inflow it does not chase new events. Past the bound (no relay is
 * deriving: the CLI on a stopped relay's database) it answers with what is derived.
 */
import type { Store } from '../store/index.js';

/** How long a read waits for the deriver at most. */
export const READ_WAIT_MS = 2000;

export class CaughtUp {
  constructor(
    private readonly store: Store,
    /** Wakes this process's deriver (nothing where none runs). */
    private readonly kick: () => void = () => undefined,
    private readonly waitMs = READ_WAIT_MS,
  ) {}

  /** Resolves once everything stored before the call is derived, or after the bound. */
  async wait(): Promise<void> {
    const { cursor, last } = await this.store.events.logEnds();
    if (last <= cursor) return;
    this.kick();
    const deadline = Date.now() + this.waitMs;
    for (let pause = 1; Date.now() < deadline; pause = Math.min(25, pause * 2)) {
      await new Promise((resolve) => setTimeout(resolve, pause));
      if ((await this.store.events.logEnds()).cursor >= last) return;
    }
  }
}
