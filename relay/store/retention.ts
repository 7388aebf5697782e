/** Retention: payloads hold personal data, so old events go (with their deliveries and attempts). */
import { Repo } from './sql.js';

export class Retention extends Repo {
  /**
   * Deletes events (and their deliveries) received before `cutoffMs`. Spared: each company's
   * newest demo-activity event (live, and test), when it happened after `memoryCutoffMs`, so a
   * return after a silence longer than retention is still recognised from a verifiable event;
   * its deliveries go. Also drops rotated tokens past their overlap, old sent alerts, and the
   * sending windows of targets idle for a day.
   */
  async purge(cutoffMs: number, memoryCutoffMs = cutoffMs): Promise<number> {
    return this.db.tx(async (q) => {
      // Per old event, index lookups only: is it its company's newest demo activity, recent enough?
      const spared = `EXISTS (SELECT 1 FROM activity a WHERE a.event_id = events.id AND a.occurred_at >= $2 AND NOT EXISTS (
          SELECT 1 FROM activity b WHERE b.account_id = a.account_id AND b.domain = a.domain AND b.is_test = a.is_test
            AND (b.occurred_at, b.event_id) > (a.occurred_at, a.event_id)))`;
      await q.query('DELETE FROM deliveries WHERE event_id IN (SELECT id FROM events WHERE received_at < $1)', [cutoffMs]);
      const rows = await q.query(`DELETE FROM events WHERE received_at < $1 AND NOT ${spared} RETURNING id`, [cutoffMs, memoryCutoffMs]);
      await q.query(`DELETE FROM retired_tokens WHERE valid_until < ${this.now}`);
      await q.query(`DELETE FROM alerts WHERE status <> 'pending' AND created_at < $1`, [cutoffMs]);
      // A target's or user's window untouched for a day, and not paused, holds nothing that still counts.
      await q.query(`DELETE FROM pacing WHERE updated_at < ${this.now} - 86400000 AND (throttled_until IS NULL OR throttled_until < ${this.now})`);
      return rows.length;
    });
  }
}
