/**
 * The deliverer's ready queue: deliveries leased to this process (claimed, or handed over by
 * the deriver) waiting for a delivery slot, oldest first, and what each account holds of the
 * slots and the queue. An account holds at most its share of the slots at once, and at most
 * twice that queued or in flight, so one account's backlog never crowds the others out.
 */
import { TURN_MARGIN_MS, URL_WINDOW_MS } from '../domain/pacing.js';
import type { Claimed } from '../store/deliveries/claim.js';

/** Moves an account's count by `by`; a count that reaches zero is removed. The new count. */
export function tally(counts: Map<string, number>, account: string, by: number): number {
  const n = (counts.get(account) ?? 0) + by;
  if (n > 0) counts.set(account, n);
  else counts.delete(account);
  return Math.max(0, n);
}

export interface Queued {
  d: Claimed;
  /**
   * When it may start (a performance.now()): its claim, or the derive that handed it over, plus
   * the wait for its turn. Its lease runs from then at the latest.
   */
  at: number;
  /** Waiting for its turn: it holds neither a slot nor a place in its account's share until then. */
  paced: boolean;
  /** It was handed over with a turn ahead (`at` is then that turn, as this process can tell). */
  turned: boolean;
}

/**
 * Whether a delivery handed over with a turn ahead can no longer start on it: this process
 * reached it more than the turns' margin late (a busy event loop, no slot free). Sent now, it
 * could share a second at the target with turns other processes start on time.
 */
export const turnMissed = (q: Queued, now: number): boolean => q.turned && now > q.at + TURN_MARGIN_MS;

export class ReadyQueue {
  private readonly queue: Queued[] = [];
  /** Attempts in flight per account. */
  private readonly running = new Map<string, number>();
  /** Deliveries held per account, queued or in flight. */
  readonly held = new Map<string, number>();
  /** Attempts in flight. */
  inflight = 0;
  /** Places reserved for fresh deliveries a derive is storing leased to this process. */
  reserved = 0;
  /** Queued deliveries waiting for their turn. */
  private pacedCount = 0;
  /** Targets paused by a 429 or 503 until when (a performance.now()): what is queued for them goes back to the store. */
  private readonly paused = new Map<string, number>();
  /** When this process last started attempts to each target, its latest `targetRate` (a performance.now() each). */
  private readonly started = new Map<string, number[]>();

  constructor(
    /** Delivery slots. */
    readonly slots: number,
    /** An account's share of them. */
    readonly share: number,
    /**
     * Starts to one target in any second, this process's own (0: no limit): the turns taken in
     * the store assume each attempt starts on time; this keeps a process that fell behind (a
     * busy event loop) from starting two turns' worth in one second when it catches up.
     */
    private readonly targetRate = 0,
  ) {}

  get length(): number {
    return this.queue.length;
  }

  /** Deliveries this process holds: in flight, queued (not those waiting for their turn), or reserved for a derive under way. */
  holds(): number {
    return this.inflight + this.queue.length - this.pacedCount + this.reserved;
  }

  /** Deliveries waiting for their turn. */
  get paced(): number {
    return this.pacedCount;
  }

  /** Room for more: the queue as deep as the slots. */
  room(): number {
    return 2 * this.slots - this.holds();
  }

  /**
   * Takes leased deliveries in: counted as held by their account, those waiting for their turn
   * once it comes. `leasedAt` is from before their lease began (so a lease is never thought to
   * last longer than it does); a turn is counted from now, when they are handed over (so it is
   * never started early).
   */
  push(items: Claimed[], leasedAt: number): void {
    const now = performance.now();
    for (const d of items) {
      const paced = d.waitMs > 0;
      if (paced) this.pacedCount++;
      else tally(this.held, d.account_id, 1);
      this.queue.push({ d, at: paced ? now + d.waitMs : leasedAt, paced, turned: paced });
    }
  }

  /** The target answered 429 or 503: nothing more starts to it until `until` (a performance.now()); what is queued for it goes back. */
  pause(targetUrl: string, until: number): void {
    this.paused.set(targetUrl, Math.max(until, this.paused.get(targetUrl) ?? 0));
  }

  /** When this process may start another attempt to `url` within its own second (now, or later). */
  private freeAt(url: string): number {
    const list = this.started.get(url);
    if (!this.targetRate || !list || list.length < this.targetRate) return 0;
    return list[list.length - this.targetRate] + URL_WINDOW_MS + TURN_MARGIN_MS;
  }

  /** When the next delivery waiting for its turn may start; null: none waits. */
  nextTurn(now: number): number | null {
    let next: number | null = null;
    for (const q of this.queue) {
      const at = Math.max(q.at, this.freeAt(q.d.target_url));
      if (at > now && (next === null || at < next)) next = at;
    }
    return next;
  }

  /**
   * The next queued delivery a free slot may start now, oldest first: its turn come, its account
   * within its share; those whose lease could run out before the attempt ends (queued past
   * `latestAt`), whose target is paused, or whose turn was missed are taken out and passed to
   * `expired` (handed back: claimed again, with a new turn). Null: no slot free, or nothing
   * queued fits one.
   */
  next(now: number, latestAt: number, expired: (q: Queued) => void): Claimed | null {
    for (let i = 0; i < this.queue.length && this.inflight < this.slots; ) {
      const q = this.queue[i];
      const pausedUntil = this.paused.get(q.d.target_url);
      if (pausedUntil !== undefined && pausedUntil <= now) this.paused.delete(q.d.target_url);
      if (q.at < latestAt || (pausedUntil !== undefined && pausedUntil > now)) {
        this.queue.splice(i, 1);
        this.unpace(q);
        expired(q);
        continue;
      }
      if (Math.max(q.at, this.freeAt(q.d.target_url)) > now || (this.running.get(q.d.account_id) ?? 0) >= this.share) {
        i++;
        continue;
      }
      if (turnMissed(q, now)) {
        this.queue.splice(i, 1);
        this.unpace(q);
        expired(q);
        continue;
      }
      this.queue.splice(i, 1);
      this.unpace(q);
      if (this.targetRate) this.started.set(q.d.target_url, [...(this.started.get(q.d.target_url) ?? []), now].slice(-this.targetRate));
      tally(this.running, q.d.account_id, 1);
      this.inflight++;
      return q.d;
    }
    return null;
  }

  /** An attempt ended: its slot is free. */
  finished(d: Claimed): void {
    this.inflight--;
    tally(this.running, d.account_id, -1);
  }

  /** Deliveries no longer held by this process (attempted, handed back, or dropped); an account's count after. */
  release(account: string): number {
    return tally(this.held, account, -1);
  }

  /** A delivery's turn came: from now on it counts in its account's share. */
  private unpace(q: Queued): void {
    if (!q.paced) return;
    q.paced = false;
    this.pacedCount--;
    tally(this.held, q.d.account_id, 1);
  }

  /** Everything queued, dropped (stopping: the leases are handed back in one statement). */
  clear(): void {
    for (const q of this.queue) {
      this.unpace(q);
      this.release(q.d.account_id);
    }
    this.queue.length = 0;
  }
}
