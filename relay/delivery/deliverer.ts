/**
 * The deliverer: the stages of a delivery run by one loop. Claim (due deliveries leased to
 * this process, fairly, into the ready queue; fresh ones are handed over by the deriver
 * instead) → ready queue (oldest first, each account within its share of the slots) →
 * attempt (prepare → post → classify) → recorder (outcome, health and alert in one
 * transaction).
 *
 * Its state is a named mode with checked transitions:
 *   stopped  → looking              start
 *   looking  → waiting | stopping   a claim found nothing more (or stop)
 *   waiting  → looking | stopping   a kick (work stored), the poll (retries come due, other
 *                                   processes' leases run out), or an account whose work was
 *                                   left behind for its share holding a quarter less
 *   stopping → stopped              in-flight attempts finished, leases handed back
 */
import { randomBytes } from 'node:crypto';
import type { RelayConfig } from '../config.js';
import { emptyRoom, type Room } from '../domain/fairness.js';
import type { LeaseTaker } from '../ingest/deriver.js';
import type { Logger } from '../log.js';
import type { AcksFirst } from '../loops/acks-first.js';
import { KickLoop } from '../loops/kick-loop.js';
import type { Claimed } from '../store/deliveries/claim.js';
import type { Store } from '../store/index.js';
import type { Tracing } from '../tracing.js';
import { Attempts } from './attempt.js';
import { ReadyQueue } from './ready-queue.js';
import { Recorder, type DeliveryMetrics } from './recorder.js';

export type DelivererMode = 'stopped' | 'looking' | 'waiting' | 'stopping';

const TRANSITIONS: Record<DelivererMode, readonly DelivererMode[]> = {
  stopped: ['looking'],
  looking: ['looking', 'waiting', 'stopping'],
  waiting: ['looking', 'waiting', 'stopping'],
  stopping: ['stopped'],
};

export class Deliverer extends KickLoop implements LeaseTaker {
  readonly worker = `w_${process.pid}_${randomBytes(4).toString('hex')}`;
  private modeNow: DelivererMode = 'stopped';
  private readonly queue: ReadyQueue;
  private readonly attempts: Attempts;
  private readonly recorder: Recorder;
  private readonly inflight = new Set<Promise<void>>();
  /** Accounts whose due work the last claim left behind because they held their share. */
  private capped = new Set<string>();
  private turnTimer: NodeJS.Timeout | null = null;
  private turnAt = 0;
  /** When a waiting loop looks again (performance.now() time). */
  private wakeAt = 0;
  /** The earliest pending delivery's due time may have changed since the store was last asked. */
  private dueUnknown = true;
  /** Told of every outcome that was not a delivery (it may have queued an alert). */
  onTrouble: () => void = () => undefined;

  constructor(
    private readonly store: Store,
    private readonly cfg: RelayConfig,
    private readonly log: Logger,
    metrics?: DeliveryMetrics,
    tracing: Tracing | null = null,
    /** Each turn of the loop (its claim, the attempts it starts) waits for a pause in the acks, or their longest wait. */
    private readonly acks: AcksFirst | null = null,
  ) {
    super();
    this.queue = new ReadyQueue(cfg.deliveryConcurrency, cfg.accountConcurrency, cfg.targetRate);
    this.attempts = new Attempts(cfg, tracing);
    this.recorder = new Recorder(store, cfg, log, this.worker, metrics);
  }

  get mode(): DelivererMode {
    return this.modeNow;
  }

  private to(next: DelivererMode): void {
    if (!TRANSITIONS[this.modeNow].includes(next)) throw new Error(`deliverer: no transition from ${this.modeNow} to ${next}`);
    this.modeNow = next;
  }

  get leaseMs(): number {
    return this.cfg.leaseMs;
  }

  /** The targets' limits each delivery takes its turn within (RELAY_TARGET_RATE, RELAY_ZAPIER_USER_RATE). */
  get pacing() {
    return { targetRate: this.cfg.targetRate, userRate: this.cfg.zapierUserRate };
  }

  override start(): void {
    if (this.modeNow !== 'stopped') return;
    this.to('looking');
    super.start();
  }

  /** Deliveries this deliverer holds now: in flight, queued, or reserved for a derive under way. */
  holds(): number {
    return this.queue.holds();
  }

  /** Room for fresh deliveries: the ready queue as deep as the slots, an account within twice its share. */
  reserve(): Room | null {
    if (!this.running) return null;
    const total = this.queue.room();
    if (total <= 0) return null;
    this.queue.reserved += total;
    return emptyRoom(total, 2 * this.cfg.accountConcurrency, this.queue.held);
  }

  give(room: Room, handed: Claimed[], leasedAt: number): void {
    let spent = 0;
    for (const n of room.spent.values()) spent += n;
    this.queue.reserved -= room.total + spent;
    if (!this.running) return; // stopping: not attempted here; stop() hands the leases back
    this.queue.push(handed, leasedAt);
    this.startReady();
    if (room.total > 0 && this.modeNow === 'looking') this.nudge(); // room came back: a claim may use it
  }

  /** Stops claiming, finishes in-flight attempts, and hands back leases not yet used. */
  async stop(): Promise<void> {
    if (this.modeNow === 'stopped' || this.modeNow === 'stopping') return;
    this.to('stopping');
    await this.stopLoop();
    if (this.turnTimer) clearTimeout(this.turnTimer);
    this.turnTimer = null;
    this.queue.clear(); // not attempted: their leases are handed back below
    await Promise.allSettled([...this.inflight]);
    await this.store.claims.releaseAll(this.worker).catch(() => undefined);
    this.attempts.close();
    this.to('stopped');
  }

  protected async loop(): Promise<void> {
    let lastClaim = 0;
    while (this.running) {
      if (this.modeNow === 'waiting' && (this.kicked || performance.now() >= this.wakeAt)) {
        if (!this.kicked) this.dueUnknown = true; // woken for what came due: there may be more
        this.to('looking');
      }
      this.kicked = false;
      if (this.acks) await this.acks.turn();
      this.startReady();
      let failed = false;
      // Claims fill the free slots and a ready queue as deep as the slots, and run again when
      // the queue is down to half or a slot is free that nothing queued may take (its account
      // holds its share): one claim serves many attempts, instead of one claim (an index walk
      // over the due work) for each slot that comes free.
      const want = this.queue.room();
      const slotFree = this.queue.inflight < this.cfg.deliveryConcurrency; // after startReady: nothing queued fits it
      if (this.modeNow === 'looking' && want > 0 && (slotFree || this.queue.length <= this.cfg.deliveryConcurrency / 2)) {
        lastClaim = performance.now();
        failed = !(await this.claim(want, lastClaim));
      }
      // New work stored while claiming would otherwise wait for the next look.
      if (this.kicked && !failed) continue;
      if (this.modeNow === 'waiting') await this.planWake(lastClaim);
      await this.sleep(Math.max(1, (this.modeNow === 'waiting' ? this.wakeAt : lastClaim + this.cfg.pollMs) - performance.now()));
    }
  }

  /**
   * When a waiting loop looks again: at the earliest pending delivery's due time (asked of the
   * store when it may have changed), no sooner than the poll when due work is being passed over
   * (a paused or full target's), and no later than the idle look.
   */
  private async planWake(lastClaim: number): Promise<void> {
    const idle = lastClaim + this.cfg.idlePollMs;
    // Known: keep it (a timer may fire a little before its time; the next turn of the loop sees it due).
    if (!this.dueUnknown) return;
    let wait: number | null;
    try {
      wait = await this.store.claims.nextDueIn();
      this.dueUnknown = false;
    } catch (err) {
      this.log('error', 'reading when the next delivery is due failed', { error: (err as Error).message });
      wait = 0;
    }
    // Due now: if it came due after the claim just made began, look again at once; if it was
    // due already, that claim passed it over (its target paused or full) until the poll.
    const now = performance.now();
    const at = wait === null ? idle : wait > 0 ? now + wait : -wait < now - lastClaim ? now : lastClaim + this.cfg.pollMs;
    this.wakeAt = Math.min(idle, at);
  }

  /** One claim into the ready queue; false when it failed. */
  private async claim(want: number, claimedAt: number): Promise<boolean> {
    try {
      const r = await this.store.claims.claim({ worker: this.worker, limit: want, leaseMs: this.cfg.leaseMs, perAccount: 2 * this.cfg.accountConcurrency, held: this.queue.held, pacing: this.pacing });
      this.queue.push(r.claimed, claimedAt);
      if (r.seen > r.claimed.length) this.dueUnknown = true; // due work left behind (a full or paused target's)
      // Found nothing more: look again at a kick or the poll, or once an account whose work
      // was left behind for its share holds a quarter of its allowance less (so the next
      // claim takes a batch, not one).
      if (this.running) this.to(r.claimed.length > 0 ? 'looking' : 'waiting');
      this.capped = r.capped;
      this.startReady();
      return true;
    } catch (err) {
      this.log('error', 'claim failed', { error: (err as Error).message });
      this.dueUnknown = true;
      if (this.running) this.to('waiting');
      return false;
    }
  }

  /**
   * Starts queued deliveries on free slots. A delivery queued so long that its lease could run
   * out during the attempt is handed back instead (due again at once, for any process), so it
   * is never sent twice.
   */
  private startReady(): void {
    // The configuration keeps the lease at least 500 ms past the delivery timeout; half of that
    // margin is kept for the attempt's own start and the clock readings.
    const now = performance.now();
    const latestAt = now - (this.cfg.leaseMs - this.cfg.deliveryTimeoutMs - 250);
    for (let d = this.queue.next(now, latestAt, (q) => this.handBack(q.d)); d; d = this.queue.next(now, latestAt, (q) => this.handBack(q.d))) {
      const claimed = d;
      const p = this.attempts
        .run(claimed)
        .then(async (result) => {
          // A 429 or 503 pauses the whole target: nothing more starts to it from this process
          // meanwhile, and what is queued for it goes back to the store (to resume in its order
          // once the pause ends), once the pause is recorded there.
          if (result.outcome.kind === 'throttled') this.queue.pause(claimed.target_url, performance.now() + result.outcome.delayMs);
          await this.recorder.record(claimed, result);
          // Not delivered: due again later (a retry, a paused target), which a waiting loop wakes for.
          if (result.outcome.kind !== 'delivered') {
            this.dueUnknown = true;
            this.onTrouble();
          }
        })
        .finally(() => {
          this.inflight.delete(p);
          this.queue.finished(claimed);
          this.drop(claimed.account_id);
          this.nudge(); // a slot is free: a waiting loop starts what is queued
        });
      this.inflight.add(p);
    }
    this.wakeAtNextTurn(now);
  }

  /** A timer that starts the next delivery waiting for its turn (or a pause) as soon as it may go. */
  private wakeAtNextTurn(now: number): void {
    const next = this.queue.nextTurn(now);
    if (next === null || (this.turnTimer && this.turnAt <= next)) return;
    if (this.turnTimer) clearTimeout(this.turnTimer);
    this.turnAt = next;
    this.turnTimer = setTimeout(() => {
      this.turnTimer = null;
      if (this.running) this.startReady();
    }, Math.max(1, next - now));
  }

  private handBack(d: Claimed): void {
    this.drop(d.account_id);
    void this.store.claims
      .releaseOne(d.id, this.worker)
      .then(() => this.kick()) // due again: claimed at once, by this process or another
      .catch((err) => this.log('error', 'could not hand back a delivery lease', { delivery_id: d.id, error: (err as Error).message }));
  }

  private drop(account: string): void {
    const n = this.queue.release(account);
    if (this.capped.has(account) && n <= 1.5 * this.cfg.accountConcurrency) {
      this.capped.delete(account);
      if (this.modeNow === 'waiting') this.to('looking');
    }
  }
}
