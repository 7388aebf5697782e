/**
 * What follows from stored events, behind the ack: the activity index and the fan-out to the
 * subscriptions that existed when each event arrived, for the events after the cursor, in
 * sequence order, in one transaction that also moves the cursor. The cursor moves with the
 * rows it covers, so a crash anywhere leaves each event either derived or not, and the next
 * call (any process's) takes up from there; a unique index on (event, subscription) makes a
 * second fan-out of one event impossible besides. An unsubscribe stays final: a deleted
 * subscription is no longer there to match.
 */
import type { ProviderKey } from '../../lib/providers/index.js';
import { activityOfStored, type ActivityIndex } from '../domain/activity.js';
import type { Activity } from './activity.js';
import type { Claimed } from './deliveries/claim.js';
import { fanOut, type LeaseAtInsert } from './deliveries/fanout.js';
import type { Db, Queryable } from './db.js';
import { INGEST_LOCK, type Events } from './events.js';
import { chunks, params, Repo } from './sql.js';

export interface DeriveInput {
  /** At most this many events. */
  limit: number;
  /** Events up to about this many deliveries (at least one event, all of its deliveries). */
  maxDeliveries?: number;
  /** What intake already derived of fresh events (their demo activity), so their bodies need not be parsed again. */
  known?: ReadonlyMap<string, ActivityIndex | null>;
  /** Fresh deliveries stored leased to this deliverer, within its room. */
  lease?: LeaseAtInsert | null;
}

export interface Derived {
  /** The events derived, in sequence order. */
  ids: string[];
  /** Deliveries queued. */
  deliveries: number;
  /** The round stopped at its limit of events or deliveries: more may be waiting. */
  full: boolean;
  /** The deliveries stored leased, with their event's bytes: the deliverer's to attempt. */
  handed: Claimed[];
  /** The events derived that belong to a trace (stored with tracing on), for the derive's span. */
  traced: Array<{ id: string; accountId: string; event: string; trace: string }>;
}

type LogRow = { seq: number | string; id: string; account_id: string; provider: ProviderKey; event: string; received_at: number | string; trace: string | null };

const NONE: Derived = { ids: [], deliveries: 0, full: false, handed: [], traced: [] };

export class Derive extends Repo {
  private seqNameCache: string | null = null;

  constructor(
    db: Db,
    private readonly events: Events,
    private readonly activity: Activity,
  ) {
    super(db);
  }

  /** Derives the next events after the cursor (nothing, and no lock taken, when none are stored past it). */
  async next(input: DeriveInput): Promise<Derived> {
    const { cursor, last } = await this.events.logEnds();
    if (last <= cursor) return NONE;
    const upTo = this.d.name === 'postgres' ? await this.settledSeq() : Number.MAX_SAFE_INTEGER;
    // FOR UPDATE: one deriver at a time across processes (SQLite has one writer anyway); one
    // that stalls holding it is ended by the database after 5 s, so the others take over.
    return this.db.tx(async (q) => {
      const [c] = await q.query<{ seq: number | string }>(`SELECT seq FROM derive_cursor WHERE id = 1${this.d.lock('FOR UPDATE')}`);
      const from = Number(c.seq);
      if (from >= upTo) return NONE;
      const read = await q.query<LogRow>(`SELECT seq, id, account_id, provider, event, received_at, trace FROM events WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3`, [from, upTo, input.limit], true);
      if (read.length === 0) return NONE;
      const activity = await this.activityOf(q, read, input.known ?? new Map());
      const items = read.map((r) => ({ id: r.id, accountId: r.account_id, provider: r.provider, event: r.event, isActivity: Boolean(activity.get(r.id)), receivedAt: Number(r.received_at) }));
      const { queued, leased, covered } = await fanOut(q, this.d, items, null, input.lease ?? null, input.maxDeliveries);
      // The events the fan-out took are the ones derived (their activity indexed, the cursor past them).
      const rows = read.slice(0, covered);
      await this.activity.insert(
        rows.filter((r) => activity.get(r.id)).map((r) => ({ eventId: r.id, accountId: r.account_id, receivedAt: Number(r.received_at), activity: activity.get(r.id)! })),
        q,
      );
      const last = Number(rows[rows.length - 1].seq);
      const moved = await q.query('UPDATE derive_cursor SET seq = $1 WHERE id = 1 AND seq = $2 RETURNING seq', [last, from]);
      if (moved.length !== 1) throw new Error('the derive cursor moved under a running derive');
      const ids = rows.map((r) => r.id);
      const traced = rows.filter((r) => r.trace !== null).map((r) => ({ id: r.id, accountId: r.account_id, event: r.event, trace: r.trace! }));
      const full = read.length >= input.limit || covered < read.length;
      if (leased.length === 0) return { ids, deliveries: queued, full, handed: [], traced };
      // The bytes of the events handed over with their leases (at most the deliverer's room).
      const bytes = await this.events.bytes([...new Set(leased.map((d) => d.event_id))], q);
      return { ids, deliveries: queued, full, handed: leased.map((d) => ({ ...d, attempts: 0, ...bytes.get(d.event_id)! })), traced };
    }, { stallLimitSeconds: 5 });
  }

  /** Demo activity: what intake handed over, or derived again from the stored bytes. */
  private async activityOf(q: Queryable, rows: LogRow[], known: ReadonlyMap<string, ActivityIndex | null>): Promise<Map<string, ActivityIndex | null>> {
    const out = new Map<string, ActivityIndex | null>();
    const unknown: string[] = [];
    for (const r of rows) {
      if (known.has(r.id)) out.set(r.id, known.get(r.id)!);
      else unknown.push(r.id);
    }
    for (const chunk of chunks(unknown, 200)) {
      const got = await q.query<{ id: string; provider: ProviderKey; event: string; body: string }>(`SELECT id, provider, event, body FROM events WHERE id IN (${params(chunk.length)})`, chunk);
      for (const e of got) out.set(e.id, activityOfStored(e.provider, e.event, e.body));
    }
    return out;
  }

  /**
   * PostgreSQL: a sequence number is taken before its transaction commits, so a later number
   * can be visible while an earlier one is not yet. Every ingest holds a shared lock from
   * before it takes numbers until it commits; taking the lock exclusively for a moment waits
   * those out, and every number handed out until then is settled (stored or never).
   */
  private async settledSeq(): Promise<number> {
    const seqName = await this.seqName();
    // One round trip: the lock is taken, the sequence read under it, and the lock let go as the
    // two statements' transaction ends, with nothing in between a stalled process could hold up.
    const [r] = await this.db.atOnce<{ last_value: number | string; is_called: boolean }>([
      `SELECT pg_advisory_xact_lock(${INGEST_LOCK}, hashtext(current_schema()))`,
      `SELECT last_value, is_called FROM ${seqName}`,
    ]);
    return r.is_called ? Number(r.last_value) : 0;
  }

  private async seqName(): Promise<string> {
    if (!this.seqNameCache) {
      const [r] = await this.db.query<{ name: string }>(`SELECT pg_get_serial_sequence('events', 'seq') AS name`);
      this.seqNameCache = r.name;
    }
    return this.seqNameCache;
  }
}
