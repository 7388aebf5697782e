/**
 * The fan-out: one delivery per event and matching subscription, due now by the database
 * clock, leased at insert to the deliverer that has room for it (never for a disabled account).
 */
import { DEMO_ACTIVITY, type ProviderKey } from '../../../lib/providers/index.js';
import { spendRoom, type Room } from '../../domain/fairness.js';
import { newId } from '../../domain/ids.js';
import { hookMatches, matchingPatterns } from '../../domain/matching.js';
import type { Queryable } from '../db.js';
import type { Dialect } from '../dialect.js';
import { chunks, values } from '../sql.js';
import { pacingOn } from '../../domain/pacing.js';
import { takeTurns, type PacingRules } from './pacing.js';

/** An event to fan out. */
export interface FanOutItem {
  id: string;
  accountId: string;
  provider: ProviderKey;
  event: string;
  /** Whether it is a company's demo view (it then reaches `demo.activity` subscriptions). */
  isActivity: boolean;
  /** When it arrived: only subscriptions that existed then get it (none for a replay). */
  receivedAt?: number;
}

/** Fresh deliveries stored leased to `worker`, within `room` (see the deriver). */
export interface LeaseAtInsert {
  worker: string;
  leaseMs: number;
  room: Room;
  /** The targets' limits: a delivery leased at insert takes its turn within them, or is left for a claim. */
  pacing?: PacingRules;
}

/** A delivery stored leased, without its event's bytes yet. */
export interface LeasedRow {
  id: string;
  account_id: string;
  event_id: string;
  hook_id: string;
  target_url: string;
  /** How long until its turn (0: now). */
  waitMs: number;
}

interface HookRow {
  id: string;
  account_id: string;
  event: string;
  target_url: string;
  created_at: number | string;
  live: boolean | number;
}

/**
 * The subscriptions of the accounts and providers involved (and of demo activity). On
 * PostgreSQL the hooks read are locked (key share) until commit, so an unsubscribe waits for
 * this fan-out and then cancels what it queued; their accounts are share-locked too, as a
 * claim locks them: a disable waits for this fan-out, and then sees (and waits for) the
 * deliveries it leased. SQLite runs one transaction at a time.
 */
async function hooksFor(q: Queryable, d: Dialect, items: FanOutItem[]): Promise<HookRow[]> {
  const pairs = [...new Set(items.map((f) => `${f.accountId}|${f.provider}`))].map((p) => p.split('|'));
  const activityAccounts = [...new Set(items.filter((f) => f.isActivity).map((f) => f.accountId))];
  const params = [...pairs.flatMap(([account, provider]) => [account, `${provider}.%`]), ...activityAccounts];
  return q.query<HookRow>(
    `SELECT h.id, h.account_id, h.event, h.target_url, h.created_at, a.disabled_at IS NULL AS live FROM hooks h JOIN accounts a ON a.id = h.account_id WHERE ${[
      ...pairs.map((_, i) => `(h.account_id = $${2 * i + 1} AND h.event LIKE $${2 * i + 2})`),
      ...activityAccounts.map((_, i) => `(h.account_id = $${2 * pairs.length + i + 1} AND h.event = '${DEMO_ACTIVITY}')`),
    ].join(' OR ')}${d.lock('FOR KEY SHARE OF h FOR SHARE OF a')}`,
    params,
  );
}

/**
 * Queues one delivery per matching subscription for each event, in the caller's transaction.
 * With `receivedAt`, only subscriptions that existed when the event arrived, and at most once
 * per event and subscription (a repeat is skipped); a replay adds a numbered delivery of its own.
 * `maxDeliveries`: the events are taken in order until they come to that many deliveries (at
 * least one event, all of its deliveries); `covered` says how many were.
 */
export async function fanOut(q: Queryable, d: Dialect, items: FanOutItem[], origin: 'replay' | null, lease: LeaseAtInsert | null, maxDeliveries = Infinity): Promise<{ queued: number; leased: LeasedRow[]; covered: number }> {
  if (items.length === 0) return { queued: 0, leased: [], covered: 0 };
  const hooks = await hooksFor(q, d, items);
  const rows: Array<[string, string, string, string, string, string | null]> = [];
  let covered = 0;
  for (const item of items) {
    if (rows.length >= maxDeliveries) break;
    covered++;
    const m = matchingPatterns(item.provider, item.event);
    for (const h of hooks) {
      if (h.account_id !== item.accountId) continue;
      if (item.receivedAt !== undefined && Number(h.created_at) > item.receivedAt) continue; // subscribed after the event arrived
      if (!hookMatches(h.event, item.provider, m, item.isActivity)) continue;
      const leased = lease !== null && Boolean(h.live) && spendRoom(lease.room, h.account_id);
      rows.push([newId('dlv'), item.id, h.id, h.target_url, h.account_id, leased ? lease.worker : null]);
    }
  }
  // Those leased at insert take their turn in the targets' windows; one without a turn soon
  // enough is stored unleased, for a claim once its target has room.
  const turns = lease?.pacing && pacingOn(lease.pacing) ? await takeTurns(q, d, rows.filter((r) => r[5] !== null).map((r) => ({ id: r[0], target_url: r[3] })), lease.pacing) : null;
  const withTurns = rows.map((r) => {
    const turn = turns?.get(r[0]);
    return turns && r[5] !== null && !turn ? [...r.slice(0, 5), null, null] : [...r, turn && turn.waitMs > 0 ? turn.at : null];
  });
  // The deliveries, due now by the database clock (or at a later turn), in statements of the
  // dialect's size.
  const replay = origin ? '(SELECT COALESCE(MAX(x.replay), 0) + 1 FROM deliveries x WHERE x.event_id = v.column2 AND x.hook_id = v.column3)' : '0';
  const leaseMs = lease ? Math.trunc(lease.leaseMs) : 0;
  let queued = 0;
  const leased: LeasedRow[] = [];
  for (const chunk of chunks(withTurns, d.rowsPerStatement)) {
    const at = d.cast('v.column7', 'bigint');
    const got = await q.query<Omit<LeasedRow, 'waitMs'> & { locked_by: string | null }>(
      `INSERT INTO deliveries (id, event_id, hook_id, target_url, account_id, status, attempts, next_at, window_start, created_at, updated_at, replay, locked_by, turn_at, locked_until${origin ? ', origin' : ''})
       SELECT v.column1, v.column2, v.column3, v.column4, v.column5, 'pending', 0, t.now, t.now, t.now, t.now, ${replay}, v.column6, ${at},
              CASE WHEN v.column6 IS NULL THEN NULL ELSE COALESCE(${at}, t.now) + ${leaseMs} END${origin ? `, '${origin}'` : ''}
       FROM (VALUES ${values(chunk.length, 7)}) AS v, (SELECT ${d.now} AS now) AS t
       WHERE true ON CONFLICT (event_id, hook_id, replay) DO NOTHING RETURNING id, event_id, hook_id, target_url, account_id, locked_by`,
      chunk.flat(),
    );
    queued += got.length;
    for (const r of got) if (r.locked_by !== null) leased.push({ id: r.id, event_id: r.event_id, hook_id: r.hook_id, target_url: r.target_url, account_id: r.account_id, waitMs: turns?.get(r.id)?.waitMs ?? 0 });
  }
  return { queued, leased, covered };
}
