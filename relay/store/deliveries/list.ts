/** What the operator reads of deliveries: lists, an event's deliveries and attempts, the queue's size. */
import { UnknownCursor, UnknownFilter } from '../../domain/errors.js';
import { apiStatus, PAUSED, type ApiDeliveryStatus, type DeliveryOrigin } from '../../domain/statuses.js';
import { iso, isoOf, num, placeholders, Repo } from '../sql.js';

export interface DeliveryRow {
  id: string;
  event_id: string;
  event: string;
  hook_id: string | null;
  target_url: string;
  status: ApiDeliveryStatus;
  origin: DeliveryOrigin;
  /** How many times an operator retried it by hand. */
  manual_retries: number;
  attempt_count: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  updated_at: string;
}

export interface AttemptRow {
  n: number;
  started_at: string;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  response_snippet: string | null;
}

export interface EventDelivery {
  id: string;
  hook_id: string | null;
  target_url: string;
  status: ApiDeliveryStatus;
  origin: DeliveryOrigin;
  manual_retries: number;
  attempts: AttemptRow[];
  next_attempt_at: string | null;
}

/**
 * A delivery waiting for its turn within its target's limits (a deliveries row aliased `a`):
 * leased with a later turn, or due while its target's window is full.
 */
export const pacedSql = (a: string, now: string) =>
  `${a}.status = 'pending' AND ((${a}.locked_by IS NOT NULL AND ${a}.locked_by <> '${PAUSED}' AND ${a}.locked_until >= ${now} AND ${a}.turn_at > ${now})
     OR ((${a}.locked_until IS NULL OR ${a}.locked_until < ${now}) AND ${a}.next_at <= ${now}
         AND EXISTS (SELECT 1 FROM pacing p WHERE p.key = ${a}.target_url AND p.blocked_until > ${now})))`;

/** The SQL condition for an API status on a deliveries row aliased `d`. */
const statusSql = (s: ApiDeliveryStatus): string =>
  s === 'retrying' ? `d.status = 'pending' AND d.attempts > 0` : s === 'pending' ? `d.status = 'pending' AND d.attempts = 0` : `d.status = '${s}'`;

export class DeliveryList extends Repo {
  /** Deliveries, newest first; `before` (a delivery id) pages on. */
  async list(accountId: string, f: { status?: ApiDeliveryStatus; hookId?: string; limit: number; before?: string }): Promise<DeliveryRow[]> {
    const where = ['e.account_id = $1'];
    const { params, p } = placeholders([accountId]);
    if (f.status) where.push(statusSql(f.status));
    if (f.hookId) {
      // A subscription of this account, or one it deleted whose deliveries are still kept.
      const [known] = await this.db.query<{ ok: number }>(
        `SELECT 1 AS ok FROM hooks WHERE id = $1 AND account_id = $2
         UNION ALL SELECT 1 AS ok FROM deliveries WHERE hook_id = $1 AND account_id = $2 LIMIT 1`,
        [f.hookId, accountId],
      );
      if (!known) throw new UnknownFilter(`hook_id: no subscription ${f.hookId} in this account`);
      where.push(`d.hook_id = ${p(f.hookId)}`);
    }
    if (f.before) {
      const [c] = await this.db.query<any>('SELECT d.created_at, d.id FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = $1 AND e.account_id = $2', [f.before, accountId]);
      if (!c) throw new UnknownCursor(`before: no delivery ${f.before} in this account`);
      where.push(`(d.created_at < ${p(c.created_at)} OR (d.created_at = ${p(c.created_at)} AND d.id < ${p(c.id)}))`);
    }
    const rows = await this.db.query<any>(
      `SELECT d.id, d.event_id, e.event, d.hook_id, d.target_url, d.status, d.origin, d.manual_retries, d.attempts, d.last_status, d.last_error, d.next_at, d.updated_at
       FROM deliveries d JOIN events e ON e.id = d.event_id
       WHERE ${where.join(' AND ')} ORDER BY d.created_at DESC, d.id DESC LIMIT ${p(f.limit)}`,
      params,
    );
    return rows.map((r) => ({
      id: r.id,
      event_id: r.event_id,
      event: r.event,
      hook_id: r.hook_id,
      target_url: r.target_url,
      status: apiStatus(r.status, r.attempts),
      origin: (r.origin ?? 'vendor') as DeliveryOrigin,
      manual_retries: num(r.manual_retries),
      attempt_count: num(r.attempts),
      last_status_code: r.last_status === null ? null : num(r.last_status),
      last_error: r.last_error ?? null,
      next_attempt_at: r.status === 'pending' ? iso(r.next_at) : null,
      updated_at: isoOf(r.updated_at),
    }));
  }

  /** Every delivery of an event, oldest first, each with every attempt. */
  /** The event a delivery is of, when both are this account's; null otherwise. */
  async eventOf(accountId: string, id: string): Promise<string | null> {
    const [r] = await this.db.query<{ event_id: string }>('SELECT d.event_id FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = $1 AND e.account_id = $2', [id, accountId]);
    return r?.event_id ?? null;
  }

  async ofEvent(eventId: string): Promise<EventDelivery[]> {
    const deliveries = await this.db.query<any>('SELECT id, hook_id, target_url, status, attempts, origin, manual_retries, next_at FROM deliveries WHERE event_id = $1 ORDER BY created_at, id', [eventId]);
    const attempts = await this.db.query<any>(
      `SELECT a.delivery_id, a.n, a.started_at, a.duration_ms, a.status_code, a.error, a.response_snippet
       FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.event_id = $1 ORDER BY a.started_at, a.n`,
      [eventId],
    );
    return deliveries.map((d) => ({
      id: d.id,
      hook_id: d.hook_id,
      target_url: d.target_url,
      status: apiStatus(d.status, d.attempts),
      origin: (d.origin ?? 'vendor') as DeliveryOrigin,
      manual_retries: num(d.manual_retries),
      attempts: attempts.filter((a) => a.delivery_id === d.id).map((a): AttemptRow => ({
        n: num(a.n),
        started_at: isoOf(a.started_at),
        duration_ms: num(a.duration_ms),
        status_code: a.status_code === null ? null : num(a.status_code),
        error: a.error ?? null,
        response_snippet: a.response_snippet ?? null,
      })),
      next_attempt_at: d.status === 'pending' ? iso(d.next_at) : null,
    }));
  }

  /** Pending deliveries, the age of the oldest, and those waiting for their turn, across accounts (metrics). */
  async pendingStats(): Promise<{ pending: number; oldestAgeSeconds: number; paced: number }> {
    const [r] = await this.db.query<any>(
      `SELECT COUNT(*) AS n, MIN(created_at) AS oldest, ${this.now} AS now, (SELECT COUNT(*) FROM deliveries d WHERE ${pacedSql('d', this.now)}) AS paced FROM deliveries WHERE status = 'pending'`,
    );
    return { pending: num(r.n), oldestAgeSeconds: r.oldest === null ? 0 : Math.max(0, (num(r.now) - num(r.oldest)) / 1000), paced: num(r.paced) };
  }
}
