/**
 * What operators and unsubscribes do to deliveries: cancel what is queued, pause and resume a
 * disabled account's, retry by hand, replay an event, and see what is still in flight.
 */
import type { ProviderKey } from '../../../lib/providers/index.js';
import { PAUSED, PAUSED_UNTIL, type DeliveryStatus } from '../../domain/statuses.js';
import type { Queryable } from '../db.js';
import type { Dialect } from '../dialect.js';
import { Repo } from '../sql.js';
import { fanOut } from './fanout.js';

/** Which deliveries: a subscription's, or an account's. */
export type Scope = { hookId: string } | { accountId: string };
const scopeSql = (s: Scope) => ('hookId' in s ? { where: 'hook_id = $1', param: s.hookId } : { where: 'account_id = $1', param: s.accountId });

/**
 * Cancels queued deliveries (unsubscribe, 410): they are never sent. With `unleasedOnly`, an
 * attempt in flight is left to finish and record its outcome.
 */
export async function cancelPending(q: Queryable, d: Dialect, scope: Scope, why: string, unleasedOnly = false): Promise<void> {
  const { where, param } = scopeSql(scope);
  await q.query(
    `UPDATE deliveries SET status = 'cancelled', locked_by = NULL, locked_until = NULL, last_error = $2, updated_at = ${d.now}
     WHERE ${where} AND status = 'pending'${unleasedOnly ? ` AND (locked_until IS NULL OR locked_until < ${d.now})` : ''}`,
    [param, why],
  );
}

/** Leased: an attempt in flight, or paused with its disabled account. */
const LEASED = (a: string, now: string) => `(${a}.locked_until IS NOT NULL AND ${a}.locked_until >= ${now})`;
/** Waiting for its next attempt after a failed one, and not leased. */
const RETRYING = (a: string, now: string) => `${a}.status = 'pending' AND ${a}.attempts > 0 AND NOT ${LEASED(a, now)}`;

export type RetryResult = { ok: true } | { ok: false; why: 'not_found' } | { ok: false; why: 'conflict'; message: string };

export class Manage extends Repo {
  /** See `cancelPending`. */
  cancel(scope: Scope, why: string, unleasedOnly: boolean, q: Queryable = this.db): Promise<void> {
    return cancelPending(q, this.d, scope, why, unleasedOnly);
  }

  /** How many of these deliveries are leased now (an attempt in flight). */
  async inflight(scope: Scope): Promise<number> {
    const { where, param } = scopeSql(scope);
    const [r] = await this.db.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM deliveries WHERE ${where} AND status = 'pending' AND locked_until IS NOT NULL AND locked_until >= ${this.now} AND locked_by <> '${PAUSED}'`,
      [param],
    );
    return Number(r.n);
  }

  /**
   * Queued deliveries of a disabled account pause: a lease that never runs out. The row locks
   * this takes also order it with any claim running now (which then either sees the pause or
   * is waited for).
   */
  async pause(accountId: string, q: Queryable = this.db): Promise<void> {
    await q.query(
      `UPDATE deliveries SET locked_by = '${PAUSED}', locked_until = ${PAUSED_UNTIL}
       WHERE account_id = $1 AND status = 'pending' AND (locked_until IS NULL OR locked_until < ${this.now})`,
      [accountId],
    );
  }

  /** A re-enabled account's paused deliveries are due again, each when it was due. */
  async resume(accountId: string, q: Queryable = this.db): Promise<void> {
    await q.query(`UPDATE deliveries SET locked_by = NULL, locked_until = NULL WHERE account_id = $1 AND status = 'pending' AND locked_by = '${PAUSED}'`, [accountId]);
  }

  /**
   * Makes a failed, given-up or retrying delivery due now, its give-up window restarted (the
   * operator's "Retry" and "Retry now"). `not_found` when it is not this account's; `conflict`
   * with the reason otherwise.
   */
  async retryOne(accountId: string, id: string): Promise<RetryResult> {
    return this.db.tx(async (q) => {
      const [row] = await q.query<{ status: DeliveryStatus; attempts: number; leased: number; due: number; hook: string | null }>(
        `SELECT d.status, d.attempts, CASE WHEN ${LEASED('d', this.now)} THEN 1 ELSE 0 END AS leased, CASE WHEN d.next_at <= ${this.now} THEN 1 ELSE 0 END AS due,
           h.id AS hook FROM deliveries d JOIN events e ON e.id = d.event_id LEFT JOIN hooks h ON h.id = d.hook_id
         WHERE d.id = $1 AND e.account_id = $2`,
        [id, accountId],
      );
      if (!row) return { ok: false, why: 'not_found' };
      const conflict = (message: string) => ({ ok: false, why: 'conflict', message }) as const;
      if (row.status === 'pending' && Number(row.attempts) === 0) return conflict('delivery is pending with no attempt yet: it is due and goes out in its turn');
      if (row.status === 'pending' && Number(row.leased)) return conflict('delivery is being attempted now (or waits for its turn within its target\'s limits), or its account is disabled');
      if (row.status === 'pending' && Number(row.due)) return conflict('delivery is due now already: it goes out in its turn');
      if (row.status !== 'failed' && row.status !== 'given_up' && row.status !== 'pending') {
        return conflict(`delivery is ${row.status}; only retrying, failed or given-up deliveries can be retried`);
      }
      if (!row.hook) return conflict('its subscription no longer exists (the Zap was turned off or deleted)');
      await q.query(`${this.dueNow()} WHERE id = $1 AND (status IN ('failed', 'given_up') OR (${RETRYING('deliveries', this.now)}))`, [id]);
      return { ok: true };
    });
  }

  /** Every retrying delivery of a subscription sent now, without waiting out its backoff (the Zap was just fixed). Null: not this account's. */
  async retryNow(accountId: string, hookId: string): Promise<number | null> {
    return this.db.tx(async (q) => {
      const [hook] = await q.query('SELECT id FROM hooks WHERE id = $1 AND account_id = $2', [hookId, accountId]);
      if (!hook) return null;
      return (await q.query(`${this.dueNow()} WHERE hook_id = $1 AND ${RETRYING('deliveries', this.now)} RETURNING id`, [hookId])).length;
    });
  }

  /** Every failed or given-up delivery of a subscription that failed since `sinceMs`, due now with a fresh window. Null: not this account's. */
  async retryFailed(accountId: string, hookId: string, sinceMs = 0): Promise<number | null> {
    return this.db.tx(async (q) => {
      const [hook] = await q.query('SELECT id FROM hooks WHERE id = $1 AND account_id = $2', [hookId, accountId]);
      if (!hook) return null;
      const rows = await q.query(`${this.dueNow()} WHERE hook_id = $1 AND status IN ('failed', 'given_up') AND updated_at >= $2 RETURNING id`, [hookId, sinceMs]);
      return rows.length;
    });
  }

  /** Sends a stored event again to the account's current matching subscriptions. Null: not this account's. */
  async replay(accountId: string, eventId: string): Promise<number | null> {
    return this.db.tx(async (q) => {
      const [e] = await q.query<{ provider: ProviderKey; event: string; domain: string | null }>(
        'SELECT e.provider, e.event, a.domain FROM events e LEFT JOIN activity a ON a.event_id = e.id WHERE e.id = $1 AND e.account_id = $2',
        [eventId, accountId],
      );
      if (!e) return null;
      // Demo activity if the index holds it (its company).
      return (await fanOut(q, this.d, [{ id: eventId, accountId, provider: e.provider, event: e.event, isActivity: e.domain !== null }], 'replay', null)).queued;
    });
  }

  /** The update that makes a delivery due now with a fresh give-up window, counted as a manual retry. */
  private dueNow(): string {
    const now = this.now;
    return `UPDATE deliveries SET status = 'pending', next_at = ${now}, window_start = ${now}, locked_by = NULL, locked_until = NULL, updated_at = ${now},
           manual_retries = manual_retries + 1`;
  }
}
