/**
 * The deriver, the stage behind the ack: the activity index and the fan-out to subscriptions,
 * built from the event log by the store in batches (store/derive.ts). Kicked after each stored
 * batch; at the idle look (RELAY_IDLE_POLL_MS) it looks for events another relay process stored
 * (whichever process gets there first derives them; the cursor is shared). At start it catches
 * up with whatever was stored but not derived before a crash. Each round waits its turn behind
 * the acks (loops/acks-first.ts). Before each round it reserves room with this process's
 * deliverer; the deliveries stored leased within that room are handed to it, and only when
 * some are left over is the deliverer woken to claim them.
 */
import type { Room } from '../domain/fairness.js';
import { SpanKind } from '@opentelemetry/api';
import type { Logger } from '../log.js';
import type { AcksFirst } from '../loops/acks-first.js';
import { KickLoop } from '../loops/kick-loop.js';
import type { Claimed } from '../store/deliveries/claim.js';
import type { PacingRules } from '../store/deliveries/pacing.js';
import type { Store } from '../store/index.js';
import { ATTR, type Tracing } from '../tracing.js';
import type { Handoff } from './handoff.js';

/** What the deriver hands fresh deliveries to (this process's deliverer). */
export interface LeaseTaker {
  readonly worker: string;
  readonly leaseMs: number;
  /** The targets' limits a fresh delivery takes its turn within. */
  readonly pacing?: PacingRules;
  /** Room for fresh deliveries now, held until `give` (null: none). */
  reserve(): Room | null;
  /** The deliveries stored leased within `room` (none when the round failed); the rest of the room goes back. `leasedAt`: a performance.now() from before their lease began. */
  give(room: Room, handed: Claimed[], leasedAt: number): void;
}

/**
 * About how many deliveries one derive round stores (a few milliseconds of work): its
 * transaction holds SQLite's one connection, and acks wait for it, so events that fan out to a
 * hundred subscriptions make rounds of two or three events, not of `batch`. The events a round
 * reads are guessed from the last round's fan-out; the store stops at this many deliveries
 * whatever the guess (an account that just gained its hundredth subscription).
 */
export const DELIVERIES_PER_ROUND = 250;

export class Deriver extends KickLoop {
  private taker: LeaseTaker | null = null;
  /** Deliveries an event of the last round fanned out to. */
  private fanout = 1;

  constructor(
    private readonly store: Store,
    private readonly handoff: Handoff,
    private readonly log: Logger,
    private readonly pollMs: number,
    /** Deliveries were queued that no one was handed: a claim should look. */
    private readonly onQueued: () => void,
    private readonly batch = 2000,
    private readonly tracing: Tracing | null = null,
    /** Rounds wait for a pause in the acks (or their longest wait). */
    private readonly acks: AcksFirst | null = null,
  ) {
    super();
  }

  /** Hands fresh deliveries to `taker` from now on (null: none, they wait for a claim). */
  handTo(taker: LeaseTaker | null): void {
    this.taker = taker;
  }

  /** Finishes the round under way; what is left is derived at the next start (by any process). */
  stop(): Promise<void> {
    return this.stopLoop();
  }

  /** One round: the next batch of stored events derived; whether it was full (more may be waiting). */
  async round(): Promise<boolean> {
    const taker = this.taker;
    // Events the round takes: `batch`, fewer while events fan out wide.
    const limit = Math.max(1, Math.min(this.batch, Math.floor(DELIVERIES_PER_ROUND / this.fanout)));
    const room = taker?.reserve() ?? null;
    const leasedAt = performance.now();
    const startedAt = Date.now();
    let r;
    try {
      r = await this.store.derive.next({ limit, maxDeliveries: DELIVERIES_PER_ROUND, known: this.handoff.known, lease: taker && room ? { worker: taker.worker, leaseMs: taker.leaseMs, room, pacing: taker.pacing } : null });
    } catch (err) {
      if (taker && room) taker.give(room, [], leasedAt);
      throw err;
    }
    this.handoff.forget(r.ids);
    if (r.ids.length > 0) this.fanout = Math.max(1, r.deliveries / r.ids.length);
    if (taker && room) taker.give(room, r.handed, leasedAt);
    if (r.deliveries > r.handed.length) this.onQueued();
    if (this.tracing) this.traceRound(r.traced, r.ids.length, startedAt);
    return r.full;
  }

  /** Each traced event's derive as a span of its trace: the round it was derived in. */
  private traceRound(traced: Array<{ trace: string }>, batch: number, startedAt: number): void {
    for (const t of traced) {
      // The event's ids are on its request's span; this one says what round it was derived in.
      this.tracing!.ofStored(t.trace, 'ingest.derive', SpanKind.INTERNAL, { [ATTR.batch]: batch }, startedAt)?.end();
    }
  }

  protected async loop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      this.kicked = false;
      let full = false;
      if (this.acks) await this.acks.turn();
      try {
        full = await this.round();
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
