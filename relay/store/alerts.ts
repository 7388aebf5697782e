/** Alerts queued for an account's alert URL, and their sending state (the alert loop sends them). */
import { newId } from '../domain/ids.js';
import type { Queryable } from './db.js';
import { Repo } from './sql.js';

/** What an alert tells: a subscription began failing, its Zap began refusing, it recovered, it was removed by a 410, or deliveries were given up. */
export type AlertType = 'subscription.failing' | 'subscription.recovered' | 'subscription.refusing' | 'subscription.removed' | 'delivery.given_up';

export interface DueAlert {
  id: string;
  account_id: string;
  hook_id: string | null;
  payload: string;
  attempts: number;
}

export interface GivenUpReport {
  id: string;
  account_id: string;
  event: string;
  target_url: string;
  n: number;
  alert_url: string | null;
}

const HOUR = 3_600_000;

export class Alerts extends Repo {
  /** Queues an alert, in the caller's transaction. */
  async queue(q: Queryable, accountId: string, hookId: string | null, type: AlertType, payload: Record<string, unknown>): Promise<void> {
    await q.query(
      `INSERT INTO alerts (id, account_id, hook_id, type, payload, status, attempts, next_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, 'pending', 0, ${this.now}, ${this.now}, ${this.now})`,
      [newId('alr'), accountId, hookId, type, JSON.stringify({ type, ...payload })],
    );
  }

  /** Whether the alert loop has anything to do: an alert pending, a subscription failing, given-up deliveries not yet reported. */
  async outstanding(): Promise<boolean> {
    const [r] = await this.db.query<{ yes: number | boolean }>(
      `SELECT CASE WHEN EXISTS (SELECT 1 FROM alerts WHERE status = 'pending') OR EXISTS (SELECT 1 FROM hooks WHERE failing_since IS NOT NULL OR given_up_unreported > 0) THEN 1 ELSE 0 END AS yes`,
      [],
      true,
    );
    return Number(r?.yes) === 1;
  }

  /** Subscriptions with given-up deliveries not yet told, whose last such alert is an hour old or more. */
  async givenUpDue(): Promise<GivenUpReport[]> {
    return this.db.query<GivenUpReport>(
      `SELECT h.id, h.account_id, h.event, h.target_url, h.given_up_unreported AS n, a.alert_url FROM hooks h JOIN accounts a ON a.id = h.account_id
       WHERE h.given_up_unreported > 0 AND (h.given_up_alert_at IS NULL OR h.given_up_alert_at <= ${this.now} - ${HOUR})`,
    );
  }

  /** Takes `r.n` given-up deliveries off the subscription's count and queues one alert with that count (when the account has an alert URL). */
  async reportGivenUp(r: GivenUpReport): Promise<void> {
    await this.db.tx(async (q) => {
      const n = Number(r.n);
      const taken = await q.query(
        `UPDATE hooks SET given_up_unreported = given_up_unreported - $2, given_up_alert_at = ${this.now} WHERE id = $1 AND given_up_unreported >= $2 RETURNING id`,
        [r.id, n],
      );
      if (taken.length && r.alert_url) await this.queue(q, r.account_id, r.id, 'delivery.given_up', { subscription: { id: r.id, event: r.event, target_url: r.target_url }, count: n });
    });
  }

  /** Leases up to 20 due alerts for `leaseMs`. */
  async claimDue(leaseMs: number): Promise<DueAlert[]> {
    const now = this.now;
    return this.db.query<DueAlert>(
      `UPDATE alerts SET locked_until = ${now} + $1, updated_at = ${now}
       WHERE id IN (SELECT id FROM alerts WHERE status = 'pending' AND next_at <= ${now} AND (locked_until IS NULL OR locked_until < ${now})
                    ORDER BY next_at LIMIT 20${this.d.lock('FOR UPDATE SKIP LOCKED')})
       RETURNING id, account_id, hook_id, payload, attempts`,
      [leaseMs],
    );
  }

  async markSent(id: string): Promise<void> {
    await this.db.query(`UPDATE alerts SET status = 'sent', attempts = attempts + 1, locked_until = NULL, last_error = NULL, updated_at = ${this.now} WHERE id = $1`, [id]);
  }

  async markCancelled(id: string, why: string): Promise<void> {
    await this.db.query(`UPDATE alerts SET status = 'cancelled', last_error = $2, locked_until = NULL, updated_at = ${this.now} WHERE id = $1`, [id, why]);
  }

  /** Tried again after `delayMs`, or failed once past the give-up window; the status it now has. */
  async markRetry(id: string, why: string, delayMs: number, giveUpMs: number): Promise<string | undefined> {
    const now = this.now;
    const [r] = await this.db.query<{ status: string }>(
      `UPDATE alerts SET attempts = attempts + 1, last_error = $2, locked_until = NULL, next_at = ${now} + $3, updated_at = ${now},
         status = CASE WHEN ${now} + $3 - created_at > $4 THEN 'failed' ELSE 'pending' END
       WHERE id = $1 RETURNING status`,
      [id, why, delayMs, giveUpMs],
    );
    return r?.status;
  }
}
