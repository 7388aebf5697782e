/**
 * Acks first: the work behind the ack (the derive, which fans each event out to its
 * subscriptions, and the deliverer's claims) takes its turn in a pause between inbound
 * requests, so a vendor's burst is acked at the pace of its own commits, not of the deliveries
 * it fans out to. A pause is `quietMs` with no inbound event waiting for its commit; under a
 * stream with no such pause, the work still gets a turn once `maxWaitMs` has passed since its
 * last one, so it never falls behind for want of turns. Node runs one thing at a time: a turn
 * taken the moment the last ack goes out would run before the vendor's next request could even
 * arrive, hence the quiet interval.
 */
export class AcksFirst {
  private pending = 0;
  /** When the last inbound event finished waiting (performance.now()). */
  private lastAckAt = -Infinity;
  /** When background work last had its turn. */
  private lastTurnAt = performance.now();
  private waiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | null = null;
  /** A look at the waiters is scheduled (an immediate or a timer). */
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly quietMs = 1,
    private readonly maxWaitMs = 50,
  ) {}

  /** An inbound event is waiting for its commit. */
  enter(): void {
    this.pending++;
  }

  /** It was answered (stored or refused). */
  leave(): void {
    this.pending--;
    this.lastAckAt = performance.now();
  }

  /** Inbound events waiting for their commit now. */
  get waiting(): number {
    return this.pending;
  }

  /**
   * Resolves at background work's turn. It first lets the event loop read what has arrived: a
   * request waiting in a socket is not yet known to be waiting, and a round that looked without
   * this would find no ack pending after every round of its own and run the next at once.
   */
  turn(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.waiters.push(resolve);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.check);
      }
    });
  }

  private mayRun(now: number): boolean {
    return this.closed || (this.pending === 0 && now - this.lastAckAt >= this.quietMs) || now - this.lastTurnAt >= this.maxWaitMs;
  }

  private readonly check = (): void => {
    const now = performance.now();
    if (!this.mayRun(now)) {
      // Looked at again at the earliest either rule could allow a turn, after a read of the sockets.
      const quietAt = this.pending === 0 ? this.lastAckAt + this.quietMs : now + this.quietMs;
      const at = Math.min(quietAt, this.lastTurnAt + this.maxWaitMs);
      this.timer = setTimeout(() => {
        this.timer = null;
        setImmediate(this.check);
      }, Math.max(1, at - now));
      this.timer.unref(); // a turn waited for keeps no process alive on its own
      return;
    }
    this.scheduled = false;
    this.lastTurnAt = now;
    const ready = this.waiters;
    this.waiters = [];
    for (const resolve of ready) resolve();
  };

  /** Releases every waiter (stopping: nothing waits for a turn that may never come). */
  close(): void {
    this.closed = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
      this.check();
    }
  }
}
