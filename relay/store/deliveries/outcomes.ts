/**
 * Outcomes: what each attempt came to, recorded in one guarded statement per delivery (one
 * statement for a batch on PostgreSQL) while its worker still holds the lease, with the attempt
 * row, the subscriptions' health and the alerts that health raises, in one transaction.
 */
import type { Outcome } from '../../domain/retry.js';
import type { DeliveryStatus } from '../../domain/statuses.js';
import { newId } from '../../domain/ids.js';
import type { Alerts } from '../alerts.js';
import type { Db, Queryable } from '../db.js';
import type { HealthRow, Hooks } from '../hooks.js';
import { Repo } from '../sql.js';
import { cancelPending } from './manage.js';
import { pauseTarget } from './pacing.js';

/** What one delivery attempt looked like, kept as a row for the operator. */
export interface AttemptRecord {
  startedAt: number;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  /** The first 1 KiB of the response body. */
  responseSnippet: string | null;
}

/** One attempt's outcome, to record while `worker` holds the delivery's lease. */
export interface Completion {
  id: string;
  worker: string;
  /** The subscription, whose health the outcome moves (none for a delivery whose subscription is gone). */
  hookId?: string | null;
  /** The target URL, which a throttled outcome pauses. */
  targetUrl?: string;
  outcome: Outcome;
  giveUpMs: number;
  attempt?: AttemptRecord & { n: number };
}

/** When health changes are told: at most one failing and one recovered alert in `alertRepeatMs`; recovered after `recoveredAfterMs` of successes. */
export interface HealthRules {
  alertRepeatMs: number;
  recoveredAfterMs: number;
}

/** What recording an outcome did: nothing when the lease was lost or the delivery cancelled meanwhile. */
export type Recorded = { recorded: false } | { recorded: true; status: DeliveryStatus; attempts: number };

/**
 * How an outcome is written: the status to set (`retry` and `throttled` become pending or
 * given_up in SQL), the delay, the error. A throttled delivery keeps its due time, so once its
 * target's pause ends the target's deliveries resume in their order.
 */
function columns(outcome: Outcome): { status: DeliveryStatus | 'retry' | 'throttled'; delay: number; error: string | null } {
  return {
    status: outcome.kind === 'gone' ? 'cancelled' : outcome.kind,
    delay: outcome.kind === 'retry' || outcome.kind === 'throttled' ? outcome.delayMs : 0,
    error: outcome.kind === 'gone' ? `HTTP ${outcome.status} Gone: the subscriber asked to be removed` : 'error' in outcome ? outcome.error : null,
  };
}

export class Outcomes extends Repo {
  constructor(
    db: Db,
    private readonly hooks: Hooks,
    private readonly alerts: Alerts,
  ) {
    super(db);
  }

  /**
   * Records the outcomes of a batch in one transaction (one commit, one disk sync): each only
   * while its worker holds the lease and the delivery is pending, so an unsubscribe, a 410 or
   * another worker's claim in the meantime wins and nothing is overwritten (a cancelled
   * delivery never comes back). A retry that would fall past the give-up window (counted from
   * the delivery's creation or its latest manual retry) becomes `given_up`.
   */
  async record(items: Completion[], rules: HealthRules = { alertRepeatMs: 0, recoveredAfterMs: 0 }): Promise<Recorded[]> {
    if (items.length === 0) return [];
    return this.db.tx(async (q) => {
      // The batch's guarded updates and attempt rows at once: one statement on PostgreSQL, two
      // on SQLite (a 410's unsubscribe, rare, takes the statement-by-statement path). On
      // PostgreSQL each update reports the input row that made it, so a second outcome for one
      // delivery is not recorded; SQLite's UPDATE … FROM would take one of the two, unsaid which,
      // so such a batch goes statement by statement there.
      const postgres = this.d.name === 'postgres';
      const atOnce = items.every((c) => c.outcome.kind !== 'gone') && (postgres || new Set(items.map((c) => c.id)).size === items.length);
      const out = !atOnce ? await this.recordEach(q, items) : postgres ? await this.recordAllAtOnce(q, items) : await this.recordAllAtOnceSqlite(q, items);
      // A 429 or 503 pauses the whole target, whatever became of the delivery meanwhile.
      for (const c of items) if (c.outcome.kind === 'throttled' && c.targetUrl) await pauseTarget(q, this.d, c.targetUrl, c.outcome.delayMs);
      await this.moveHealth(q, items, out, rules);
      return out;
    });
  }

  private async recordEach(q: Queryable, items: Completion[]): Promise<Recorded[]> {
    const out: Recorded[] = [];
    for (const c of items) out.push(await this.recordOne(q, c));
    return out;
  }

  private async recordOne(q: Queryable, { id, worker, outcome, giveUpMs, attempt }: Completion): Promise<Recorded> {
    const now = this.now;
    const { status, delay, error } = columns(outcome);
    const rows = await q.query<{ hook_id: string | null; status: DeliveryStatus; attempts: number }>(
      `UPDATE deliveries SET
         status = CASE WHEN $3 IN ('retry', 'throttled') THEN (CASE WHEN ${now} + $4 - window_start > $5 THEN 'given_up' ELSE 'pending' END) ELSE $3 END,
         attempts = attempts + 1, next_at = CASE WHEN $3 = 'throttled' THEN next_at ELSE ${now} + $4 END, locked_by = NULL, locked_until = NULL, turn_at = NULL,
         last_status = $6, last_error = $7, updated_at = ${now}
       WHERE id = $1 AND locked_by = $2 AND status = 'pending'
       RETURNING hook_id, status, attempts`,
      [id, worker, status, delay, giveUpMs, outcome.status, error],
    );
    if (attempt) {
      // The attempt happened whatever became of the delivery meanwhile: keep its row.
      await q.query(
        `INSERT INTO delivery_attempts (id, delivery_id, n, started_at, duration_ms, status_code, error, response_snippet)
         SELECT $1, id, $3, $4, $5, $6, $7, $8 FROM deliveries WHERE id = $2`,
        [newId('att'), id, attempt.n, attempt.startedAt, attempt.durationMs, attempt.statusCode, attempt.error, attempt.responseSnippet],
      );
    }
    if (rows.length === 0) return { recorded: false };
    const [row] = rows;
    if (outcome.kind === 'gone' && row.hook_id) {
      // REST hooks: 410 Gone means the subscriber is gone; stop delivering to it, and say so
      // (later events of its kind reach no one).
      const gone = await this.hooks.healthRow(row.hook_id, q);
      await this.hooks.delete(null, row.hook_id, q);
      if (gone?.alert_url) await this.alerts.queue(q, gone.account_id, gone.id, 'subscription.removed', { subscription: { id: gone.id, event: gone.event, target_url: gone.target_url, zap_id: gone.zap_id }, since: new Date().toISOString() });
      await cancelPending(q, this.d, { hookId: row.hook_id }, 'HTTP 410 Gone from the subscriber');
    }
    return { recorded: true, status: row.status, attempts: Number(row.attempts) };
  }

  private async recordAllAtOnce(q: Queryable, items: Completion[]): Promise<Recorded[]> {
    const cols = items.map((c) => ({ ...columns(c.outcome), c }));
    const att = (f: (a: AttemptRecord & { n: number }) => unknown) => cols.map(({ c }) => (c.attempt ? f(c.attempt) : null));
    const rows = await q.query<{ recorded: boolean; status: DeliveryStatus | null; attempts: number | null }>(
      `WITH input AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::int[], $7::text[],
                              $8::text[], $9::int[], $10::bigint[], $11::int[], $12::int[], $13::text[], $14::text[])
           WITH ORDINALITY AS x(id, worker, status, delay, give_up, last_status, last_error,
                                att_id, att_n, att_started, att_duration, att_status, att_error, att_snippet, ord)
       ), t AS (SELECT ${this.now} AS now),
       upd AS (
         UPDATE deliveries d SET
           status = CASE WHEN i.status IN ('retry', 'throttled') THEN (CASE WHEN t.now + i.delay - d.window_start > i.give_up THEN 'given_up' ELSE 'pending' END) ELSE i.status END,
           attempts = d.attempts + 1, next_at = CASE WHEN i.status = 'throttled' THEN d.next_at ELSE t.now + i.delay END, locked_by = NULL, locked_until = NULL, turn_at = NULL,
           last_status = i.last_status, last_error = i.last_error, updated_at = t.now
         FROM input i, t
         WHERE d.id = i.id AND d.locked_by = i.worker AND d.status = 'pending'
         RETURNING i.ord, d.status, d.attempts
       ), att AS (
         INSERT INTO delivery_attempts (id, delivery_id, n, started_at, duration_ms, status_code, error, response_snippet)
         SELECT i.att_id, d.id, i.att_n, i.att_started, i.att_duration, i.att_status, i.att_error, i.att_snippet
         FROM input i JOIN deliveries d ON d.id = i.id WHERE i.att_id IS NOT NULL
       )
       SELECT u.ord IS NOT NULL AS recorded, u.status, u.attempts FROM input i LEFT JOIN upd u ON u.ord = i.ord ORDER BY i.ord`,
      [
        cols.map(({ c }) => c.id),
        cols.map(({ c }) => c.worker),
        cols.map((x) => x.status),
        cols.map((x) => x.delay),
        cols.map(({ c }) => c.giveUpMs),
        cols.map(({ c }) => c.outcome.status),
        cols.map((x) => x.error),
        att(() => newId('att')),
        att((a) => a.n),
        att((a) => a.startedAt),
        att((a) => a.durationMs),
        att((a) => a.statusCode),
        att((a) => a.error),
        att((a) => a.responseSnippet),
      ],
      true,
    );
    return rows.map((r) => (r.recorded ? { recorded: true, status: r.status!, attempts: Number(r.attempts) } : { recorded: false }));
  }

  /**
   * SQLite: the batch as one JSON array, read by `json_each`: the guarded updates in one
   * statement, then the attempt rows in another (SQLite has no writes in a WITH). An UPDATE …
   * FROM answers only with the rows of its target, so the recorded ones are known by their id.
   */
  private async recordAllAtOnceSqlite(q: Queryable, items: Completion[]): Promise<Recorded[]> {
    const input = JSON.stringify(
      items.map((c) => {
        const { status, delay, error } = columns(c.outcome);
        return [c.id, c.worker, status, delay, c.giveUpMs, c.outcome.status, error];
      }),
    );
    const rows = await q.query<{ id: string; status: DeliveryStatus; attempts: number }>(
      `UPDATE deliveries SET
         status = CASE WHEN i.status IN ('retry', 'throttled') THEN (CASE WHEN t.now + i.delay - window_start > i.give_up THEN 'given_up' ELSE 'pending' END) ELSE i.status END,
         attempts = attempts + 1, next_at = CASE WHEN i.status = 'throttled' THEN next_at ELSE t.now + i.delay END, locked_by = NULL, locked_until = NULL, turn_at = NULL,
         last_status = i.last_status, last_error = i.last_error, updated_at = t.now
       FROM (SELECT value ->> 0 AS id, value ->> 1 AS worker, value ->> 2 AS status, value ->> 3 AS delay, value ->> 4 AS give_up,
                    value ->> 5 AS last_status, value ->> 6 AS last_error FROM json_each($1)) AS i,
            (SELECT ${this.now} AS now) AS t
       -- The unary + keeps SQLite from reaching the batch through the due index (every pending
       -- delivery, then each matched against the batch): each delivery is found by its id.
       WHERE deliveries.id = i.id AND deliveries.locked_by = i.worker AND +deliveries.status = 'pending'
       RETURNING id, status, attempts`,
      [input],
    );
    // The attempts happened whatever became of the deliveries meanwhile: keep their rows.
    const attempts = items.filter((c) => c.attempt);
    if (attempts.length > 0) {
      await q.query(
        `INSERT INTO delivery_attempts (id, delivery_id, n, started_at, duration_ms, status_code, error, response_snippet)
         SELECT value ->> 0, d.id, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6
         FROM json_each($1) JOIN deliveries d ON d.id = value ->> 7`,
        [JSON.stringify(attempts.map(({ id, attempt: a }) => [newId('att'), a!.n, a!.startedAt, a!.durationMs, a!.statusCode, a!.error, a!.responseSnippet, id]))],
      );
    }
    const byId = new Map(rows.map((r) => [r.id, r]));
    return items.map((c) => {
      const r = byId.get(c.id);
      return r ? { recorded: true, status: r.status, attempts: Number(r.attempts) } : { recorded: false };
    });
  }

  /**
   * Moves the subscriptions' health by the outcomes just recorded: failing from the first failed
   * attempt after a success (throttling is not failing), healthy again once its deliveries have
   * succeeded for `recoveredAfterMs`; an alert at each change (when the account has an alert
   * URL), at most one failing and one recovered in any `alertRepeatMs`, so a flapping target
   * cannot flood the channel; given-up deliveries counted for the hourly roll-up. Each change is
   * one guarded statement, so two processes recording outcomes of one subscription at once raise
   * one alert, not two. A batch of successes to healthy subscriptions costs one read.
   */
  private async moveHealth(q: Queryable, items: Completion[], out: Recorded[], rules: HealthRules): Promise<void> {
    const byHook = new Map<string, { fails: number; sawOk: boolean; lastError: string | null; givenUp: number }>();
    items.forEach((c, i) => {
      const r = out[i];
      if (!r.recorded || !c.hookId || c.outcome.kind === 'gone') return;
      const h = byHook.get(c.hookId) ?? { fails: 0, sawOk: false, lastError: null, givenUp: 0 };
      if (c.outcome.kind === 'throttled') {
        // Throttling is not failing: a 429 or 503 moves no health, but a delivery it kept past
        // the give-up window is given up all the same, and told.
        if (r.status === 'given_up') h.givenUp += 1;
      } else if (c.outcome.kind === 'delivered') {
        h.sawOk = true;
        h.fails = 0; // the failures before it in this batch were followed by a success
      } else {
        h.fails += 1;
        h.lastError = c.outcome.error;
        if (r.status === 'given_up') h.givenUp += 1;
      }
      byHook.set(c.hookId, h);
    });
    if (byHook.size === 0) return;
    const failed = [...byHook].filter(([, h]) => h.fails > 0 || h.givenUp > 0).map(([id]) => id);
    const rows = await this.hooks.healthOf([...byHook.keys()], failed, q);
    if (rows.length === 0) return;
    const [{ now: clock }] = await q.query<{ now: number | string }>(`SELECT ${this.now} AS now`);
    const now = Number(clock);
    for (const row of rows) {
      const h = byHook.get(row.id)!;
      if (h.fails > 0) {
        const began = await this.hooks.markFailing(row.id, h.fails, now, rules.alertRepeatMs, q);
        if (began?.alert) await this.alertOf(q, row, 'subscription.failing', { since: new Date(now).toISOString(), last_error: h.lastError });
      } else if (h.sawOk && row.failing_since !== null) {
        const back = await this.hooks.markSucceeded(row.id, now, rules.recoveredAfterMs, rules.alertRepeatMs, q);
        if (back.alert) await this.alertOf(q, row, 'subscription.recovered', { since: new Date(Number(row.failing_since)).toISOString(), failed_attempts: Number(row.consecutive_failures) });
      }
      if (h.givenUp > 0) await this.hooks.countGivenUp(row.id, h.givenUp, q);
    }
  }

  /** Recovers the failing subscriptions whose successes have lasted long enough by now (no later outcome came to do it), with their alerts. */
  async recoverSteady(rules: HealthRules): Promise<void> {
    const [{ now: clock }] = await this.db.query<{ now: number | string }>(`SELECT ${this.now} AS now`);
    const now = Number(clock);
    for (const row of await this.hooks.steady(now, rules.recoveredAfterMs)) {
      await this.db.tx(async (q) => {
        const back = await this.hooks.recoverIfSteady(row.id, now, rules.recoveredAfterMs, rules.alertRepeatMs, q);
        if (back.alert) await this.alertOf(q, row, 'subscription.recovered', { since: new Date(Number(row.failing_since)).toISOString(), failed_attempts: Number(row.consecutive_failures) });
      });
    }
  }

  private alertOf(q: Queryable, row: HealthRow, type: 'subscription.failing' | 'subscription.recovered', extra: Record<string, unknown>): Promise<void> {
    if (!row.alert_url) return Promise.resolve();
    return this.alerts.queue(q, row.account_id, row.id, type, { subscription: { id: row.id, event: row.event, target_url: row.target_url, zap_id: row.zap_id }, ...extra });
  }
}
