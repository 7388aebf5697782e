/**
 * Subscriptions: a target URL subscribed to a relay event, and its health (failing from the
 * first failed attempt after a success until the next success; given-up deliveries counted
 * for the hourly roll-up).
 */
import { HookLimit, UnknownCursor } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { refusalWords } from '../domain/refusals.js';
import type { Queryable } from './db.js';
import { pacedSql } from './deliveries/list.js';
import { iso, isoOf, num, Repo } from './sql.js';

export interface Hook {
  id: string;
  event: string;
  target_url: string;
  created_at: string;
  /** The Zap behind it, and its trigger's key, as the Zapier app said when it subscribed (null: not said). */
  zap_id: string | null;
  trigger: string | null;
}

/** Which Zap a subscription is, as the Zapier app says when it subscribes. */
export interface ZapOf {
  zapId?: string | null;
  trigger?: string | null;
}

/** What the Zap's run made of a delivery: took it, or refused it for a reason (`<provider>:<code>`). */
export type Verdict = { refused: false } | { refused: true; reason: string };

export interface HookHealth extends Hook {
  pending: number;
  failed: number;
  last_success_at: string | null;
  last_failure_at: string | null;
  last_error: string | null;
  /**
   * `failing` from the first failed attempt after a success (or none) until its deliveries have
   * succeeded for a minute; `throttled` while its target, not failing, is paused by a 429 or 503.
   */
  health: 'healthy' | 'failing' | 'refusing' | 'throttled';
  failing_since: string | null;
  /** Since when the Zap has refused what it was delivered (its runs halted), and the last reason given (`<provider>:<code>`). */
  refusing_since: string | null;
  /** Why, in words, and the code the Zap gave. */
  refusing_reason: string | null;
  refusing_code: string | null;
  /** Refusals reported since it began refusing. */
  refusals: number;
  /** Pending deliveries with a failed attempt, waiting for their next. */
  retrying: number;
  /** Deliveries waiting for their turn within the target's limits. */
  paced: number;
  /** Until when the target is paused by its 429 or 503 (null: not paused). */
  throttled_until: string | null;
  consecutive_failures: number;
  /** Of the deliveries attempted in the last 24 hours, the share delivered; one waiting only on a 429 or 503 left out (null: none attempted). */
  success_rate_24h: number | null;
}

/** What a Zap's verdict on a delivery needs of its subscription and event. */
export interface VerdictTarget {
  id: string;
  account_id: string;
  event: string;
  target_url: string;
  zap_id: string | null;
  refusing_since: number | null;
  refusals: number;
  alert_url: string | null;
  received_at: number;
  provider: string;
}

/** What a subscription's health reads of it, with where the account's alerts go. */
export interface HealthRow {
  id: string;
  account_id: string;
  event: string;
  target_url: string;
  zap_id: string | null;
  failing_since: number | string | null;
  consecutive_failures: number;
  alert_url: string | null;
}

/** A refusal is kept as `<provider>:<code>`. */
const codeOf = (kept: string) => kept.slice(kept.indexOf(':') + 1);
const providerOf = (kept: string) => (kept.includes(':') ? kept.slice(0, kept.indexOf(':')) : null);

const FAILED_ATTEMPT = '(a.status_code IS NULL OR a.status_code < 200 OR a.status_code >= 300)';
/** A subscription's health row with where its account's alerts go (`HealthRow`). */
const HEALTH_ROW = `SELECT h.id, h.account_id, h.event, h.target_url, h.zap_id, h.failing_since, h.consecutive_failures, a.alert_url FROM hooks h JOIN accounts a ON a.id = h.account_id`;

export class Hooks extends Repo {
  /** Subscribes; throws HookLimit when the account already holds `max` subscriptions. */
  async create(accountId: string, event: string, targetUrl: string, max = Number.MAX_SAFE_INTEGER, zap: ZapOf = {}): Promise<Hook> {
    const now = Date.now();
    const hook = { id: newId('hook'), event, target_url: targetUrl, created_at: isoOf(now), zap_id: zap.zapId ?? null, trigger: zap.trigger ?? null };
    const rows = await this.db.query(
      `INSERT INTO hooks (id, account_id, event, target_url, created_at, zap_id, trigger_key)
       SELECT $1, $2, $3, $4, $5, $7, $8 WHERE (SELECT COUNT(*) FROM hooks WHERE account_id = $2) < $6 RETURNING id`,
      [hook.id, accountId, event, targetUrl, now, max, hook.zap_id, hook.trigger],
    );
    if (rows.length === 0) throw new HookLimit(max);
    return hook;
  }

  /** Deletes a subscription; false when it is not this account's (`accountId` null: whoever's it is). */
  async delete(accountId: string | null, id: string, q: Queryable = this.db): Promise<boolean> {
    const rows = accountId === null
      ? await q.query('DELETE FROM hooks WHERE id = $1 RETURNING id', [id])
      : await q.query('DELETE FROM hooks WHERE id = $1 AND account_id = $2 RETURNING id', [id, accountId]);
    return rows.length > 0;
  }

  /** Whether the subscription is this account's. */
  async exists(accountId: string, id: string, q: Queryable = this.db): Promise<boolean> {
    return (await q.query('SELECT id FROM hooks WHERE id = $1 AND account_id = $2', [id, accountId])).length > 0;
  }

  /** The account's subscriptions and their health, newest first; `before` (a subscription id) pages on. */
  async list(accountId: string, page: { limit: number; before?: string } = { limit: 1000 }): Promise<HookHealth[]> {
    const params: unknown[] = [accountId];
    let after = '';
    if (page.before) {
      const [c] = await this.db.query<{ created_at: unknown; id: string }>('SELECT created_at, id FROM hooks WHERE id = $1 AND account_id = $2', [page.before, accountId]);
      if (!c) throw new UnknownCursor(`before: no subscription ${page.before} in this account`);
      params.push(c.created_at, c.id);
      after = ' AND (h.created_at < $2 OR (h.created_at = $2 AND h.id < $3))';
    }
    params.push(page.limit);
    const attempted = (cond: string) =>
      `(SELECT COUNT(*) FROM deliveries d WHERE d.hook_id = h.id AND ${cond} AND EXISTS (SELECT 1 FROM delivery_attempts a WHERE a.delivery_id = d.id AND a.started_at >= ${this.now} - 86400000))`;
    const rows = await this.db.query<any>(
      `SELECT h.id, h.event, h.target_url, h.created_at, h.zap_id, h.trigger_key, h.failing_since, h.consecutive_failures, h.refusing_since, h.refusing_reason, h.refusals,
         (SELECT COUNT(*) FROM deliveries d WHERE d.hook_id = h.id AND d.status = 'pending') AS pending,
         (SELECT COUNT(*) FROM deliveries d WHERE d.hook_id = h.id AND d.status IN ('failed', 'given_up')) AS failed,
         (SELECT MAX(d.updated_at) FROM deliveries d WHERE d.hook_id = h.id AND d.status = 'delivered') AS last_success_at,
         (SELECT MAX(a.started_at) FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
            WHERE d.hook_id = h.id AND ${FAILED_ATTEMPT}) AS last_failure_at,
         (SELECT d.last_error FROM deliveries d WHERE d.hook_id = h.id AND d.status <> 'delivered' AND d.last_error IS NOT NULL
            ORDER BY d.updated_at DESC LIMIT 1) AS last_error,
         (SELECT COUNT(*) FROM deliveries d WHERE d.hook_id = h.id AND ${pacedSql('d', this.now)}) AS paced,
         (SELECT p.throttled_until FROM pacing p WHERE p.key = h.target_url AND p.throttled_until > ${this.now}) AS throttled_until,
         (SELECT COUNT(*) FROM deliveries d WHERE d.hook_id = h.id AND d.status = 'pending' AND d.attempts > 0) AS retrying,
         ${attempted("d.status <> 'cancelled' AND NOT (d.status = 'pending' AND d.last_status IN (429, 503))")} AS attempted_24h,
         ${attempted("d.status = 'delivered'")} AS ok_24h
       FROM hooks h WHERE h.account_id = $1${after} ORDER BY h.created_at DESC, h.id DESC LIMIT $${params.length}`, // ids made later sort later: newest first within a millisecond too
      params,
    );
    return rows.map((r) => ({
      id: r.id,
      event: r.event,
      target_url: r.target_url,
      created_at: isoOf(r.created_at),
      zap_id: r.zap_id ?? null,
      trigger: r.trigger_key ?? null,
      pending: num(r.pending),
      failed: num(r.failed),
      last_success_at: iso(r.last_success_at),
      last_failure_at: iso(r.last_failure_at),
      last_error: r.last_error ?? null,
      // The target failing comes first: a Zap cannot refuse what does not reach it.
      health: r.failing_since !== null ? 'failing' : r.refusing_since !== null ? 'refusing' : r.throttled_until !== null ? 'throttled' : 'healthy',
      failing_since: iso(r.failing_since),
      refusing_since: iso(r.refusing_since),
      refusing_reason: r.refusing_reason ? refusalWords(codeOf(r.refusing_reason), providerOf(r.refusing_reason)) : null,
      refusing_code: r.refusing_reason ? codeOf(r.refusing_reason) : null,
      refusals: num(r.refusals),
      retrying: num(r.retrying),
      paced: num(r.paced),
      throttled_until: iso(r.throttled_until),
      consecutive_failures: num(r.consecutive_failures),
      success_rate_24h: num(r.attempted_24h) === 0 ? null : Math.round((1000 * num(r.ok_24h)) / num(r.attempted_24h)) / 1000,
    }));
  }

  /** The health of these subscriptions that may change: those failing now, and those in `failed`. */
  async healthOf(ids: string[], failed: string[], q: Queryable): Promise<HealthRow[]> {
    const list = (xs: string[], from: number) => xs.map((_, i) => `$${i + from}`).join(', ');
    return q.query<HealthRow>(
      `${HEALTH_ROW}
       WHERE h.id IN (${list(ids, 1)}) AND (h.failing_since IS NOT NULL${failed.length ? ` OR h.id IN (${list(failed, ids.length + 1)})` : ''})`,
      [...ids, ...failed],
    );
  }

  /** One subscription's health row, with where its alerts go; undefined when it does not exist. */
  async healthRow(id: string, q: Queryable): Promise<HealthRow | undefined> {
    return (await q.query<HealthRow>(`${HEALTH_ROW} WHERE h.id = $1`, [id]))[0];
  }

  /**
   * Failing from `now` after `fails` failed attempts (its steady run of successes, if any,
   * ended). Null when it was failing already (the failures are counted on); else whether to
   * alert: not when a failing alert went out within `repeatMs`.
   */
  async markFailing(id: string, fails: number, now: number, repeatMs: number, q: Queryable): Promise<{ alert: boolean } | null> {
    const began = await q.query<{ failing_alert_at: number | string }>(
      `UPDATE hooks SET failing_since = $2, consecutive_failures = $3, ok_since = NULL,
         failing_alert_at = CASE WHEN failing_alert_at IS NULL OR failing_alert_at <= ${this.d.cast('$2', 'bigint')} - ${this.d.cast('$4', 'bigint')} THEN ${this.d.cast('$2', 'bigint')} ELSE failing_alert_at END
       WHERE id = $1 AND failing_since IS NULL RETURNING failing_alert_at`,
      [id, now, fails, repeatMs],
    );
    if (began.length) return { alert: Number(began[0].failing_alert_at) === now };
    await q.query('UPDATE hooks SET consecutive_failures = consecutive_failures + $2, ok_since = NULL WHERE id = $1', [id, fails]);
    return null;
  }

  /**
   * A failing subscription's delivery succeeded: its steady run of successes starts (or goes on);
   * once it has lasted `steadyMs` the subscription is healthy again. Whether it recovered now,
   * and whether to alert: not when a recovered alert went out within `repeatMs`.
   */
  async markSucceeded(id: string, now: number, steadyMs: number, repeatMs: number, q: Queryable): Promise<{ recovered: boolean; alert: boolean }> {
    await q.query('UPDATE hooks SET ok_since = COALESCE(ok_since, $2) WHERE id = $1 AND failing_since IS NOT NULL', [id, now]);
    return this.recoverIfSteady(id, now, steadyMs, repeatMs, q);
  }

  /** Healthy again when its successes have lasted `steadyMs` (false: not yet, or another process got there first). */
  async recoverIfSteady(id: string, now: number, steadyMs: number, repeatMs: number, q: Queryable): Promise<{ recovered: boolean; alert: boolean }> {
    const rows = await q.query<{ recovered_alert_at: number | string }>(
      `UPDATE hooks SET failing_since = NULL, consecutive_failures = 0, ok_since = NULL,
         recovered_alert_at = CASE WHEN recovered_alert_at IS NULL OR recovered_alert_at <= ${this.d.cast('$2', 'bigint')} - ${this.d.cast('$4', 'bigint')} THEN ${this.d.cast('$2', 'bigint')} ELSE recovered_alert_at END
       WHERE id = $1 AND failing_since IS NOT NULL AND ok_since IS NOT NULL AND ok_since <= ${this.d.cast('$2', 'bigint')} - ${this.d.cast('$3', 'bigint')} RETURNING recovered_alert_at`,
      [id, now, steadyMs, repeatMs],
    );
    return { recovered: rows.length > 0, alert: rows.length > 0 && Number(rows[0].recovered_alert_at) === now };
  }

  /** Failing subscriptions whose successes have lasted `steadyMs` by now: due to recover (the alert loop does it). */
  async steady(now: number, steadyMs: number): Promise<HealthRow[]> {
    return this.db.query<HealthRow>(
      `${HEALTH_ROW}
       WHERE h.failing_since IS NOT NULL AND h.ok_since IS NOT NULL AND h.ok_since <= $1`,
      [now - steadyMs],
    );
  }

  /**
   * The subscription a Zap's verdict is about, with what its alert needs, when `eventId` was
   * delivered to it (a delivery of that event to that subscription exists) and both are this
   * account's; null otherwise.
   */
  async verdictTarget(accountId: string, id: string, eventId: string, q: Queryable = this.db): Promise<VerdictTarget | null> {
    const [r] = await q.query<any>(
      `SELECT h.id, h.account_id, h.event, h.target_url, h.zap_id, h.refusing_since, h.refusals, a.alert_url, e.received_at, e.provider
       FROM hooks h JOIN accounts a ON a.id = h.account_id JOIN deliveries d ON d.hook_id = h.id JOIN events e ON e.id = d.event_id
       WHERE h.id = $1 AND h.account_id = $2 AND d.event_id = $3 AND e.account_id = $2 LIMIT 1`,
      [id, accountId, eventId],
    );
    if (!r) return null;
    return { ...r, received_at: Number(r.received_at), refusing_since: r.refusing_since === null ? null : Number(r.refusing_since), refusals: num(r.refusals) };
  }

  /**
   * Records what the Zap's run made of a delivery of an event received at `eventAt`: refusing
   * from the first refusal, healthy again at the first delivery it took. A verdict on an event
   * older than the newest one judged moves nothing (reports can arrive out of order). Whether it
   * was recorded, and whether to alert (it began or stopped refusing now, and no alert of that
   * kind went out within `repeatMs`).
   */
  async judge(id: string, verdict: Verdict, eventAt: number, now: number, repeatMs: number, q: Queryable): Promise<{ recorded: boolean; alert: boolean }> {
    const at = this.d.cast('$2', 'bigint');
    const nowSql = this.d.cast('$3', 'bigint');
    const due = (col: string) => `(${col} IS NULL OR ${col} <= ${nowSql} - ${this.d.cast('$4', 'bigint')})`;
    const rows = verdict.refused
      ? await q.query<{ a: number | string | null }>(
          `UPDATE hooks SET refusing_alert_at = CASE WHEN refusing_since IS NULL AND ${due('refusing_alert_at')} THEN ${nowSql} ELSE refusing_alert_at END,
             refusing_since = COALESCE(refusing_since, ${nowSql}), refusing_reason = $5, refusals = refusals + 1, verdict_event_at = ${at}
           WHERE id = $1 AND (verdict_event_at IS NULL OR verdict_event_at <= ${at}) RETURNING refusing_alert_at AS a`,
          [id, eventAt, now, repeatMs, verdict.reason],
        )
      : await q.query<{ a: number | string | null }>(
          `UPDATE hooks SET recovered_alert_at = CASE WHEN refusing_since IS NOT NULL AND ${due('recovered_alert_at')} THEN ${nowSql} ELSE recovered_alert_at END,
             refusing_since = NULL, refusing_reason = NULL, refusals = 0, verdict_event_at = ${at}
           WHERE id = $1 AND (verdict_event_at IS NULL OR verdict_event_at <= ${at}) RETURNING recovered_alert_at AS a`,
          [id, eventAt, now, repeatMs],
        );
    return { recorded: rows.length > 0, alert: rows.length > 0 && Number(rows[0].a) === now };
  }

  /** Given-up deliveries not yet told. */
  async countGivenUp(id: string, n: number, q: Queryable): Promise<void> {
    await q.query('UPDATE hooks SET given_up_unreported = given_up_unreported + $2 WHERE id = $1', [id, n]);
  }
}
