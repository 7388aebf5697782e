/**
 * The deliverer's ready queue: deliveries leased to this process (claimed, or handed over by
 * the deriver) waiting for a delivery slot, oldest first, and what each account holds of the
 * slots and the queue. An account holds at most its share of the slots at once, and at most
 * twice that queued or in flight, so one account's backlog never crowds the others out.
 */
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
  /** When its lease began at the latest (a performance.now()): its claim, or the derive that handed it over. */
  at: number;
}

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

  constructor(
    /** Delivery slots. */
    readonly slots: number,
    /** An account's share of them. */
    readonly share: number,
  ) {}

  get length(): number {
    return this.queue.length;
  }

  /** Deliveries this process holds: in flight, queued, or reserved for a derive under way. */
  holds(): number {
    return this.inflight + this.queue.length + this.reserved;
  }

  /** Room for more: the queue as deep as the slots. */
  room(): number {
    return 2 * this.slots - this.holds();
  }

  /** Takes leased deliveries in (counted as held by their account). */
  push(items: Claimed[], at: number, counted = false): void {
    for (const d of items) {
      if (!counted) tally(this.held, d.account_id, 1);
      this.queue.push({ d, at });
    }
  }

  /**
   * The next queued delivery a free slot may start, oldest first, its account within its
   * share; those whose lease could run out before the attempt ends (queued past `latestAt`)
   * are taken out and passed to `expired`. Null: no slot free, or nothing queued fits one.
   */
  next(latestAt: number, expired: (q: Queued) => void): Claimed | null {
    for (let i = 0; i < this.queue.length && this.inflight < this.slots; ) {
      const q = this.queue[i];
      if (q.at < latestAt) {
        this.queue.splice(i, 1);
        expired(q);
        continue;
      }
      if ((this.running.get(q.d.account_id) ?? 0) >= this.share) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
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

  /** Everything queued, dropped (stopping: the leases are handed back in one statement). */
  clear(): void {
    for (const q of this.queue) this.release(q.d.account_id);
    this.queue.length = 0;
  }
}
