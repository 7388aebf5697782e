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
    // Each company's last live session moves forward (never back: a late event that happened
    // earlier leaves it). One row per company per statement, as PostgreSQL's upsert requires.
    const last = new Map<string, [string, string, number]>();
    for (const { accountId, receivedAt, activity: a } of rows) {
      if (a.isTest) continue;
      const at = a.occurredAt ?? receivedAt;
      const key = `${accountId}\n${a.domain}`;
      const seen = last.get(key);
      if (!seen || seen[2] < at) last.set(key, [accountId, a.domain, at]);
    }
    for (const chunk of chunks([...last.values()], 400)) {
      await q.query(
        `INSERT INTO companies (account_id, domain, last_at) VALUES ${values(chunk.length, 3)}
         ON CONFLICT (account_id, domain) DO UPDATE SET last_at = ${this.d.greatest('companies.last_at', 'excluded.last_at')}`,
        chunk.flat(),
      );
    }
  }

  /**
   * Stored demo activity, newest first by when it happened (ties by id): the raw events (bytes
   * and signature header), which the app verifies itself. A company's (`domain`), one of its
   * people's (`person`), or the whole account's; `before` (an event id among them) pages on,
   * null when it names none. Each an index range scan by account (company, person) and time.
   */
  async read(accountId: string, f: { domain?: string; person?: string; sinceMs?: number; untilMs?: number; limit: number; before?: string }): Promise<ActivityEvent[] | null> {
    const where = ['a.account_id = $1'];
    const params: unknown[] = [accountId];
    if (f.domain !== undefined) (params.push(f.domain), where.push(`a.domain = $${params.length}`));
    if (f.person !== undefined) (params.push(f.person), where.push(`a.person = $${params.length}`));
    const scope = where.slice();
    if (f.sinceMs !== undefined) (params.push(f.sinceMs), where.push(`a.occurred_at >= $${params.length}`));
    if (f.untilMs !== undefined) (params.push(f.untilMs), where.push(`a.occurred_at < $${params.length}`));
    if (f.before !== undefined) {
      const scoped = params.slice(0, scope.length);
      const [c] = await this.db.query<{ occurred_at: string | number }>(
        `SELECT a.occurred_at FROM activity a WHERE ${scope.join(' AND ')} AND a.event_id = $${scoped.length + 1}`,
        [...scoped, f.before],
      );
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

  /**
   * The account's companies by their last live session, newest first, whose last session lies
   * in `[sinceMs, untilMs)`: the companies gone quiet since a moment. `before` (a domain among
   * them) pages on; null when it names none. An index range scan by account and time.
   */
  async companies(accountId: string, f: { sinceMs?: number; untilMs?: number; limit: number; before?: string }): Promise<Array<{ domain: string; last_at: string }> | null> {
    const where = ['account_id = $1'];
    const params: unknown[] = [accountId];
    if (f.sinceMs !== undefined) (params.push(f.sinceMs), where.push(`last_at >= $${params.length}`));
    if (f.untilMs !== undefined) (params.push(f.untilMs), where.push(`last_at < $${params.length}`));
    if (f.before !== undefined) {
      const [c] = await this.db.query<{ last_at: string | number }>('SELECT last_at FROM companies WHERE account_id = $1 AND domain = $2', [accountId, f.before]);
      if (!c) return null;
      params.push(Number(c.last_at), f.before);
      where.push(`(last_at, domain) < ($${params.length - 1}, $${params.length})`);
    }
    params.push(f.limit);
    const rows = await this.db.query<{ domain: string; last_at: string | number }>(
      `SELECT domain, last_at FROM companies WHERE ${where.join(' AND ')} ORDER BY last_at DESC, domain DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map((r) => ({ domain: r.domain, last_at: isoOf(r.last_at) }));
  }
}
