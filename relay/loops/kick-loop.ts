/**
 * A background loop that runs a round, then sleeps until its poll interval passes or it is
 * kicked (new work was stored), whichever comes first. A kick that arrives mid-round is kept,
 * so the loop looks again at once instead of sleeping a whole poll. The deliverer and the
 * derive step are such loops.
 */
export abstract class KickLoop {
  protected running = false;
  /** Kicked since the current round began. */
  protected kicked = false;
  private wake: (() => void) | null = null;
  /** Kicked or nudged while not asleep: the next sleep returns at once. */
  private woken = false;
  private loopDone: Promise<void> = Promise.resolve();

  protected abstract loop(): Promise<void>;

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  /** New work was stored: look now instead of at the next poll. */
  kick(): void {
    this.kicked = true;
    this.rouse();
  }

  /** Ends the loop after the round under way. */
  protected async stopLoop(): Promise<void> {
    this.running = false;
    this.kick();
    await this.loopDone;
  }

  /** Wakes a sleeping loop without marking new work (a delivery slot came free). */
  protected nudge(): void {
    this.rouse();
  }

  private rouse(): void {
    if (this.wake) this.wake();
    else this.woken = true;
  }

  /** Sleeps `ms`, or until kicked or nudged. */
  protected async sleep(ms: number): Promise<void> {
    if (this.woken || !this.running) {
      this.woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.wake = null;
  }
}
