/**
 * The activity index: each demo view of a company (its domain, person, demo and when the
 * viewing happened), kept beside the stored event it came from, for the account signals.
 */
import type { ActivityIndex } from '../domain/activity.js';
import type { Queryable } from './db.js';
import type { StoredEvent } from './events.js';
import { chunks, isoOf, Repo, values } from './sql.js';

/** A company's stored demo activity, as GET /v1/activity serves it. */
export interface ActivityEvent extends StoredEvent {
  occurred_at: string;
}

export class Activity extends Repo {
  /** Indexes demo views (a repeat of an event already indexed is skipped). */
  async insert(rows: Array<{ eventId: string; accountId: string; receivedAt: number; activity: ActivityIndex }>, q: Queryable): Promise<void> {
    for (const chunk of chunks(rows, 400)) {
      await q.query(
        `INSERT INTO activity (event_id, account_id, domain, email, is_test, received_at, person, demo, occurred_at) VALUES ${values(chunk.length, 9)}
         ON CONFLICT (event_id) DO NOTHING`,
        chunk.flatMap(({ eventId, accountId, receivedAt, activity: a }) => [eventId, accountId, a.domain, a.email, a.isTest ? 1 : 0, receivedAt, a.person, a.demo, a.occurredAt ?? receivedAt]),
      );
    }
  }

  /**
   * A company's stored demo activity, newest first by when it happened (ties by id): the raw
   * events (bytes and signature header), which the signal triggers verify themselves. `before`
   * (an event id of this company) pages on; null when it names none. `person` narrows it to one
   * viewer (the index's person: an email without its +tag). An index range scan by account,
   * company (and person) and viewing time.
   */
  async ofCompany(accountId: string, domain: string, f: { person?: string; sinceMs?: number; untilMs?: number; limit: number; before?: string }): Promise<ActivityEvent[] | null> {
    const where = ['a.account_id = $1', 'a.domain = $2'];
    const params: unknown[] = [accountId, domain];
    if (f.person !== undefined) (params.push(f.person), where.push(`a.person = $${params.length}`));
    if (f.sinceMs !== undefined) (params.push(f.sinceMs), where.push(`a.occurred_at >= $${params.length}`));
    if (f.untilMs !== undefined) (params.push(f.untilMs), where.push(`a.occurred_at < $${params.length}`));
    if (f.before !== undefined) {
      const [c] = await this.db.query<{ occurred_at: string | number }>('SELECT occurred_at FROM activity WHERE event_id = $1 AND account_id = $2 AND domain = $3', [f.before, accountId, domain]);
      if (!c) return null;
      params.push(Number(c.occurred_at), f.before);
      // A row comparison: both stores seek the index to the cursor instead of filtering from the top.
      where.push(`(a.occurred_at, a.event_id) < ($${params.length - 1}, $${params.length})`);
    }
    params.push(f.limit);
    const rows = await this.db.query<any>(
      `SELECT e.id, e.event, e.received_at, a.occurred_at, e.headers, e.body FROM activity a JOIN events e ON e.id = a.event_id
       WHERE ${where.join(' AND ')} ORDER BY a.occurred_at DESC, a.event_id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map((r) => ({ id: r.id, event: r.event, received_at: isoOf(r.received_at), occurred_at: isoOf(r.occurred_at), headers: JSON.parse(r.headers), body: r.body }));
  }
}
