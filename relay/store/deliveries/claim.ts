/**
 * Claims: due deliveries leased to one worker for a while, by the database clock. A delivery
 * whose lease ran out (its process died) is due again, so another process takes it.
 */
import { cappedAccounts, roundRobin } from '../../domain/fairness.js';
import { pacingOn } from '../../domain/pacing.js';
import type { Db, Queryable } from '../db.js';
import type { Dialect } from '../dialect.js';
import type { EventBytes, Events } from '../events.js';
import { Repo, values } from '../sql.js';
import { notPassedOver, takeTurns, type PacingRules, type Turn } from './pacing.js';

/** A delivery leased to a worker, with its event's bytes: what an attempt sends. */
export interface Claimed extends EventBytes {
  id: string;
  account_id: string;
  event_id: string;
  hook_id: string;
  target_url: string;
  /** Attempts made so far. */
  attempts: number;
  /** How long until its turn (pacing: the target's or its Zapier user's window is full until then); 0: now. */
  waitMs: number;
}

export interface ClaimRequest {
  worker: string;
  limit: number;
  leaseMs: number;
  /** An account's share of this worker's slots: what it may hold at once. */
  perAccount?: number;
  /** What each account holds of this worker's slots now. */
  held?: ReadonlyMap<string, number>;
  /** The targets' limits: each delivery claimed takes its turn within them (none: sent at once). */
  pacing?: PacingRules;
}

export interface ClaimResult {
  claimed: Claimed[];
  /** Due deliveries the claim found, taken or not (a full or paused target's are left due). */
  seen: number;
  /** Accounts whose due work was left behind only because they hold their share. */
  capped: Set<string>;
}

type Candidate = { id: string; account_id: string; hook_id: string; target_url: string };
type LeasedRow = { id: string; account_id: string; event_id: string; hook_id: string; target_url: string; attempts: number | string };

/**
 * Candidates: each enabled account's oldest due work of live subscriptions, found by an index
 * seek per account with pending work (a loose index scan over `deliveries_due`), `$1` of each
 * (twice its share, so the round-robin across its subscriptions has some to choose from). The
 * clock is read once (it is volatile: per row it would be read for every row).
 */
function candidatesSql(d: Dialect): string {
  // A target paused by its 429/503, or whose window is full, is passed over: the due work of
  // other targets (of the same account too) goes on meanwhile.
  const due = `z.status = 'pending' AND z.account_id = acc.id AND z.next_at <= (SELECT now FROM t) AND (z.locked_until IS NULL OR z.locked_until < (SELECT now FROM t))
               AND EXISTS (SELECT 1 FROM hooks h WHERE h.id = z.hook_id) AND ${notPassedOver(d, 'z.target_url', '(SELECT now FROM t)')}`;
  const oldest = `SELECT z.id, z.account_id, z.hook_id, z.target_url FROM deliveries z WHERE ${due} ORDER BY z.next_at LIMIT $1`;
  return `WITH RECURSIVE t(now) AS MATERIALIZED (SELECT ${d.now}),
       acc(id) AS (
         SELECT MIN(account_id) FROM deliveries WHERE status = 'pending'
         UNION ALL
         SELECT (SELECT MIN(d.account_id) FROM deliveries d WHERE d.status = 'pending' AND d.account_id > acc.id) FROM acc WHERE acc.id IS NOT NULL
       )
       SELECT y.id, y.account_id, y.hook_id, y.target_url
       FROM acc JOIN accounts a ON a.id = acc.id AND a.disabled_at IS NULL
       ${d.lateral(oldest, 'y')}`;
}

export class Claims extends Repo {
  constructor(
    db: Db,
    private readonly events: Events,
  ) {
    super(db);
  }

  /**
   * Claims up to `limit` due deliveries, fairly: round-robin across accounts (each account's
   * oldest due work first), and within an account across its subscriptions; an account never
   * holds more than `perAccount` of this worker's slots, so one account's dead target or bulk
   * replay leaves the others their share. Only live subscriptions of enabled accounts are
   * claimed; the lease is guarded again where it is taken.
   */
  async claim(r: ClaimRequest): Promise<ClaimResult> {
    const share = Math.max(1, r.perAccount ?? r.limit);
    const allowance = (account: string) => share - (r.held?.get(account) ?? 0);
    const pick = (candidates: Candidate[]) => {
      const ids = roundRobin(candidates, r.limit, allowance);
      const byId = new Map(candidates.map((c) => [c.id, c]));
      return { picked: ids.map((id) => byId.get(id)!), capped: cappedAccounts(candidates, ids, allowance) };
    };
    const lease = this.d.name === 'postgres' ? leasePostgres : leaseSqlite;
    return lease(this.db, this.events, candidatesSql(this.d), 2 * Math.min(r.limit, share), pick, r);
  }

  /**
   * How long until the earliest pending delivery is due (or its lease runs out), by the
   * database clock: ≤ 0 when some are due now that a claim did not take; null when none are
   * pending. An idle deliverer sleeps that long instead of polling.
   */
  async nextDueIn(): Promise<number | null> {
    const [row] = await this.db.query<{ wait: number | string | null }>(
      `SELECT MIN(CASE WHEN locked_until IS NOT NULL AND locked_until > next_at THEN locked_until ELSE next_at END) - ${this.d.now} AS wait FROM deliveries WHERE status = 'pending'`,
      [],
      true,
    );
    return row?.wait === null || row?.wait === undefined ? null : Number(row.wait);
  }

  /** Hands back one delivery this worker leased and did not attempt, so it is due again at once. */
  async releaseOne(id: string, worker: string): Promise<void> {
    await this.db.query('UPDATE deliveries SET locked_by = NULL, locked_until = NULL, turn_at = NULL WHERE id = $1 AND locked_by = $2 AND status = $3', [id, worker, 'pending']);
  }

  /** Releases this worker's leases (graceful shutdown) so they are due at once elsewhere. */
  async releaseAll(worker: string): Promise<void> {
    await this.db.query('UPDATE deliveries SET locked_by = NULL, locked_until = NULL, turn_at = NULL WHERE locked_by = $1 AND status = $2', [worker, 'pending']);
  }
}

type Pick = (candidates: Candidate[]) => { picked: Candidate[]; capped: Set<string> };

const toClaimed = (r: LeasedRow, e: EventBytes): Claimed => ({
  id: r.id,
  account_id: r.account_id,
  event_id: r.event_id,
  hook_id: r.hook_id,
  target_url: r.target_url,
  attempts: Number(r.attempts),
  waitMs: 0,
  headers: e.headers,
  body: e.body,
  received_at: Number(e.received_at),
  trace: e.trace,
});

/**
 * The picked deliveries that have a turn within the targets' windows (all of them without
 * limits), and for those whose turn is later than now: leased from that turn on, so the wait is
 * not counted against the lease (their due time, and so their place in order, stays).
 */
async function turnsFor(q: Queryable, d: Dialect, picked: Candidate[], r: ClaimRequest): Promise<{ ids: string[]; turns: Map<string, Turn> | null }> {
  if (!r.pacing || !pacingOn(r.pacing)) return { ids: picked.map((c) => c.id), turns: null };
  const turns = await takeTurns(q, d, picked, r.pacing);
  return { ids: picked.filter((c) => turns.has(c.id)).map((c) => c.id), turns };
}

async function deferTurns(q: Queryable, d: Dialect, claimed: Claimed[], turns: Map<string, Turn> | null, r: ClaimRequest): Promise<Claimed[]> {
  if (!turns) return claimed;
  const later = claimed.filter((c) => turns.get(c.id)!.waitMs > 0);
  if (later.length) {
    await q.query(
      `UPDATE deliveries SET turn_at = ${d.cast('v.column2', 'bigint')}, locked_until = ${d.cast('v.column2', 'bigint')} + $1
       FROM (VALUES ${values(later.length, 2, 2)}) AS v WHERE deliveries.id = v.column1 AND deliveries.locked_by = $2`,
      [r.leaseMs, r.worker, ...later.flatMap((c) => [c.id, turns.get(c.id)!.at])],
    );
  }
  return claimed.map((c) => ({ ...c, waitMs: turns.get(c.id)!.waitMs }));
}

/**
 * PostgreSQL: the lease and the event bytes in one statement (two round trips a claim, no
 * transaction without limits; with them, the turns and the lease in one); rows another worker
 * holds are skipped, and an unsubscribe's cancel (or a disable's pause) takes the same row
 * locks, so it either goes first (the row is no longer due, and this skips it) or waits for this
 * statement and then sees the lease, and waits for the attempt. The account row is share-locked
 * too: a delivery stored by an ingest that raced the disable (and so was not paused) is either
 * claimed before the disable takes the account row (which then waits for the attempt) or seen
 * with the account disabled (its newest version is read once locked), never claimed by a
 * statement that read the account before the disable.
 */
async function leasePostgres(db: Db, _events: Events, candidates: string, per: number, pick: Pick, r: ClaimRequest): Promise<ClaimResult> {
  const found = await db.query<Candidate>(candidates, [per], true);
  const seen = found.length;
  const { picked, capped } = pick(found);
  if (picked.length === 0) return { claimed: [], capped, seen };
  const lease = async (q: Queryable, ids: string[]) => {
    const now = db.dialect.now;
    const rows = await q.query<LeasedRow & { headers: string; body: string; received_at: number; trace: string | null }>(
      `WITH leased AS (
         UPDATE deliveries SET locked_by = $1, locked_until = ${now} + $2, updated_at = ${now}
         WHERE id IN (
           SELECT d.id FROM deliveries d JOIN hooks h ON h.id = d.hook_id JOIN accounts a ON a.id = h.account_id
           WHERE d.id = ANY($3::text[]) AND a.disabled_at IS NULL AND d.status = 'pending' AND (d.locked_until IS NULL OR d.locked_until < ${now})
           FOR UPDATE OF d SKIP LOCKED FOR SHARE OF a SKIP LOCKED)
         RETURNING id, account_id, event_id, hook_id, target_url, attempts)
       SELECT l.*, e.headers, e.body, e.received_at, e.trace FROM leased l JOIN events e ON e.id = l.event_id`,
      [r.worker, r.leaseMs, ids],
      true,
    );
    return rows.map((x) => toClaimed(x, { headers: JSON.parse(x.headers), body: x.body, received_at: x.received_at, trace: x.trace }));
  };
  if (!r.pacing || !pacingOn(r.pacing)) return { claimed: await lease(db, picked.map((c) => c.id)), capped, seen };
  return db.tx(async (q) => {
    const { ids, turns } = await turnsFor(q, db.dialect, picked, r);
    return { claimed: ids.length ? await deferTurns(q, db.dialect, await lease(q, ids), turns, r) : [], capped, seen };
  });
}

/** SQLite: one connection, so the candidates, the turns, the lease and the bytes run as one transaction. */
async function leaseSqlite(db: Db, events: Events, candidates: string, per: number, pick: Pick, r: ClaimRequest): Promise<ClaimResult> {
  const now = db.dialect.now;
  return db.tx(async (q: Queryable) => {
    const found = await q.query<Candidate>(candidates, [per]);
    const seen = found.length;
    const { picked, capped } = pick(found);
    if (picked.length === 0) return { claimed: [], capped, seen };
    const { ids, turns } = await turnsFor(q, db.dialect, picked, r);
    if (ids.length === 0) return { claimed: [], capped, seen };
    const rows = await q.query<LeasedRow>(
      `UPDATE deliveries SET locked_by = $1, locked_until = ${now} + $2, updated_at = ${now}
       WHERE id IN (${ids.map((_, i) => `$${i + 3}`).join(', ')}) AND +status = 'pending' AND (locked_until IS NULL OR locked_until < ${now}) -- by id: the unary + keeps SQLite off the status index
         AND EXISTS (SELECT 1 FROM hooks h JOIN accounts a ON a.id = h.account_id WHERE h.id = deliveries.hook_id AND a.disabled_at IS NULL)
       RETURNING id, account_id, event_id, hook_id, target_url, attempts`,
      [r.worker, r.leaseMs, ...ids],
    );
    if (rows.length === 0) return { claimed: [], capped, seen };
    const bytes = await events.bytes([...new Set(rows.map((x) => x.event_id))], q);
    return { claimed: await deferTurns(q, db.dialect, rows.map((x) => toClaimed(x, bytes.get(x.event_id)!)), turns, r), capped, seen };
  });
}
