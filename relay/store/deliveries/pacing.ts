/**
 * Turns: the send time of each delivery about to be leased, within its target URL's and its
 * Zapier user's windows (relay/domain/pacing.ts), taken in the same transaction as the lease,
 * so every relay process on one database keeps to the same limits. The windows are rows of
 * `pacing`, locked while a transaction takes turns from them (PostgreSQL; SQLite has one writer).
 */
import { paceKeys, pacingOn, takeTurn, type PacingLimits, type UrlWindow, type UserWindow } from '../../domain/pacing.js';
import type { Queryable } from '../db.js';
import type { Dialect } from '../dialect.js';
import { values } from '../sql.js';

/** How far ahead a turn may be taken: a delivery whose turn is later is left for a later claim. */
export const TURN_HORIZON_MS = 1000;

export interface PacingRules extends PacingLimits {
  horizonMs?: number;
}

/** A delivery's turn: when it may be sent (database clock, ms), and how long that is from now. */
export interface Turn {
  at: number;
  waitMs: number;
}

type Row = { key: string; sends: string; throttled_until: number | string | null };

/** Whether deliveries to a target are passed over by claims now: paused by its 429/503, or its window full. */
export const notPassedOver = (d: Dialect, col: string, now: string) =>
  `NOT EXISTS (SELECT 1 FROM pacing p WHERE p.key = ${col} AND (p.throttled_until > ${now} OR p.blocked_until > ${now}))`;

/**
 * Takes turns for `rows`, in order: a URL's deliveries keep their order (once one has no turn
 * within the horizon, none after it has), a paused URL gets none. The windows are written back.
 * Without limits every row's turn is now.
 */
export async function takeTurns(q: Queryable, d: Dialect, rows: Array<{ id: string; target_url: string }>, rules: PacingRules): Promise<Map<string, Turn>> {
  const turns = new Map<string, Turn>();
  if (rows.length === 0) return turns;
  const [{ now: nowRaw }] = await q.query<{ now: number | string }>(`SELECT ${d.now} AS now`);
  const now = Number(nowRaw);
  if (!pacingOn(rules)) {
    for (const r of rows) turns.set(r.id, { at: now, waitMs: 0 });
    return turns;
  }
  const keysOf = new Map(rows.map((r) => [r.target_url, paceKeys(r.target_url)]));
  const keys = [...new Set([...keysOf.values()].flatMap((k) => (k.user && rules.userRate > 0 ? [k.url, k.user] : [k.url])))];
  await q.query(`INSERT INTO pacing (key, sends) VALUES ${values(keys.length, 2)} ON CONFLICT (key) DO NOTHING`, keys.flatMap((k) => [k, '[]']));
  const state = new Map<string, Row>();
  for (const r of await q.query<Row>(`SELECT key, sends, throttled_until FROM pacing WHERE ${d.anyOf('key', 1)} ORDER BY key${d.lock('FOR UPDATE')}`, [d.array(keys)])) state.set(r.key, r);
  const windows = new Map<string, unknown>([...state].map(([k, r]) => [k, JSON.parse(r.sends)]));
  const horizon = now + (rules.horizonMs ?? TURN_HORIZON_MS);
  const closed = new Map<string, number>(); // URL → until when its window is full
  for (const r of rows) {
    const k = keysOf.get(r.target_url)!;
    if (closed.has(k.url) || Number(state.get(k.url)?.throttled_until ?? 0) > now) continue;
    const userKey = k.user && rules.userRate > 0 ? k.user : null;
    const t = takeTurn(windows.get(k.url) as UrlWindow, userKey ? (windows.get(userKey) as UserWindow) : null, now, rules, k.legacy);
    if (t.at > horizon) {
      closed.set(k.url, t.at - (rules.horizonMs ?? TURN_HORIZON_MS));
      continue;
    }
    windows.set(k.url, t.url);
    if (userKey) windows.set(userKey, t.user);
    turns.set(r.id, { at: t.at, waitMs: 0 });
  }
  const changed = keys.map((k) => [k, JSON.stringify(windows.get(k)), closed.get(k) ?? null]);
  await q.query(
    `UPDATE pacing SET sends = v.column2, blocked_until = ${d.cast('v.column3', 'bigint')}, updated_at = ${d.cast(`$${changed.length * 3 + 1}`, 'bigint')}
     FROM (VALUES ${values(changed.length, 3)}) AS v WHERE pacing.key = v.column1`,
    [...changed.flat(), now],
  );
  // How long each waits, from now: after any wait for the windows' locks, so a turn is never
  // started early by the time this transaction spent waiting.
  const [{ now: after }] = await q.query<{ now: number | string }>(`SELECT ${d.now} AS now`);
  for (const t of turns.values()) t.waitMs = Math.max(0, t.at - Number(after));
  return turns;
}

/**
 * Pauses a target URL for `pauseMs` from now (its 429 or 503 said so), never shortening a pause
 * already longer. The turns it had given out that are not due yet are given back: those
 * deliveries go back to the queue, and after the pause the target's deliveries resume from the
 * oldest, with its whole allowance.
 */
export async function pauseTarget(q: Queryable, d: Dialect, targetUrl: string, pauseMs: number): Promise<void> {
  await q.query(`INSERT INTO pacing (key, sends) VALUES ($1, '[]') ON CONFLICT (key) DO NOTHING`, [targetUrl]);
  const [r] = await q.query<{ sends: string; now: number | string }>(`SELECT sends, ${d.now} AS now FROM pacing WHERE key = $1${d.lock('FOR UPDATE')}`, [targetUrl]);
  const now = Number(r.now);
  const given = (JSON.parse(r.sends) as number[]).filter((t) => t <= now);
  await q.query(
    `UPDATE pacing SET sends = $2, blocked_until = NULL, updated_at = ${d.cast('$4', 'bigint')},
       throttled_until = CASE WHEN throttled_until > ${d.cast('$3', 'bigint')} THEN throttled_until ELSE ${d.cast('$3', 'bigint')} END
     WHERE key = $1`,
    [targetUrl, JSON.stringify(given), now + Math.max(0, Math.round(pauseMs)), now],
  );
}
