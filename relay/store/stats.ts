/** Hourly delivery statistics of an account: what the console's chart draws. */
import { isoOf, num, Repo } from './sql.js';

export interface StatsHour {
  hour: string;
  delivered: number;
  failed_attempts: number;
  given_up: number;
  inbound: number;
  /** Events received that no subscription was listening for (nothing was sent anywhere). */
  no_subscription: number;
}

const H = 3_600_000;
const FAILED_ATTEMPT = '(a.status_code IS NULL OR a.status_code < 200 OR a.status_code >= 300)';

export class Stats extends Repo {
  /**
   * Per hour, oldest first, the last `hours` hours including the current one, zeros included:
   * deliveries delivered, failed attempts, deliveries given up, events received, and those of
   * them no subscription was listening for.
   */
  async hourly(accountId: string, hours: number): Promise<StatsHour[]> {
    const [{ now }] = await this.db.query<{ now: number | string }>(`SELECT ${this.now} AS now`);
    const first = Math.floor(Number(now) / H) * H - (hours - 1) * H;
    const bucket = (col: string) => this.d.bucket(col, '$2', H);
    const [attempts, givenUp, inbound, unheard] = await Promise.all([
      this.db.query<any>(
        `SELECT ${bucket('a.started_at')} AS b, SUM(CASE WHEN ${FAILED_ATTEMPT} THEN 0 ELSE 1 END) AS ok, SUM(CASE WHEN ${FAILED_ATTEMPT} THEN 1 ELSE 0 END) AS bad
         FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.account_id = $1 AND a.started_at >= $2 GROUP BY 1`,
        [accountId, first],
      ),
      this.db.query<any>(`SELECT ${bucket('d.updated_at')} AS b, COUNT(*) AS n FROM deliveries d WHERE d.account_id = $1 AND d.status = 'given_up' AND d.updated_at >= $2 GROUP BY 1`, [accountId, first]),
      this.db.query<any>(`SELECT ${bucket('e.received_at')} AS b, COUNT(*) AS n FROM events e WHERE e.account_id = $1 AND e.received_at >= $2 GROUP BY 1`, [accountId, first]),
      this.db.query<any>(
        `SELECT ${bucket('e.received_at')} AS b, COUNT(*) AS n FROM events e
         WHERE e.account_id = $1 AND e.received_at >= $2 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id) GROUP BY 1`,
        [accountId, first],
      ),
    ]);
    const rows: StatsHour[] = Array.from({ length: hours }, (_, i) => ({ hour: isoOf(first + i * H), delivered: 0, failed_attempts: 0, given_up: 0, inbound: 0, no_subscription: 0 }));
    const at = (b: unknown) => rows[Number(b)];
    for (const r of attempts) if (at(r.b)) (at(r.b).delivered += num(r.ok), (at(r.b).failed_attempts += num(r.bad)));
    for (const r of givenUp) if (at(r.b)) at(r.b).given_up += num(r.n);
    for (const r of inbound) if (at(r.b)) at(r.b).inbound += num(r.n);
    for (const r of unheard) if (at(r.b)) at(r.b).no_subscription += num(r.n);
    return rows;
  }
}
