/**
 * What the team running the relay asks of it (the operator API, the console and the CLI):
 * subscriptions and their health, the event log, each delivery and its attempts, manual and
 * bulk retry, replay, key and inbound-URL rotation, disabling an account. Every query is
 * scoped to one account. Ingest and delivery themselves stay in store.ts.
 */
import { randomBytes } from 'node:crypto';
import { processDelivery } from '../lib/pipeline.js';
import { isProviderKey, PROVIDER_KEYS, PROVIDERS, type ProviderKey } from '../lib/providers/index.js';
import type { Db } from './db.js';
import { DELIVERY_STATUSES, PAUSED, PAUSED_UNTIL, sha256, type DeliveryStatus, type Store } from './store.js';

const iso = (ms: number | string | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString());
const num = (v: unknown): number => Number(v ?? 0);

export interface HookHealth {
  id: string;
  event: string;
  target_url: string;
  created_at: string;
  pending: number;
  failed: number;
  last_success_at: string | null;
  last_failure_at: string | null;
  last_error: string | null;
  /** `failing` from the first failed attempt after a success (or none) until the next success. */
  health: 'healthy' | 'failing';
  failing_since: string | null;
  consecutive_failures: number;
  /** Delivered attempts of all attempts in the last 24 hours (null: none made). */
  success_rate_24h: number | null;
}

/** Delivery statuses as the API names them: `retrying` is pending after a failed attempt. */
export const API_DELIVERY_STATUSES = ['pending', 'retrying', 'delivered', 'failed', 'given_up', 'cancelled'] as const;
export type ApiDeliveryStatus = (typeof API_DELIVERY_STATUSES)[number];
const apiStatus = (status: DeliveryStatus, attempts: unknown): ApiDeliveryStatus => (status === 'pending' && Number(attempts) > 0 ? 'retrying' : status);
/** The SQL condition for an API status on a deliveries row aliased `d`. */
const statusSql = (s: ApiDeliveryStatus): string =>
  s === 'retrying' ? `d.status = 'pending' AND d.attempts > 0` : s === 'pending' ? `d.status = 'pending' AND d.attempts = 0` : `d.status = '${s}'`;

/** Where a delivery came from: the vendor's event, or an operator's replay. */
export type DeliveryOrigin = 'vendor' | 'replay';

export interface StatsHour {
  hour: string;
  delivered: number;
  failed_attempts: number;
  given_up: number;
  inbound: number;
}

export interface EventFilter {
  provider?: ProviderKey;
  /** `{provider}.{event}` (its vendor's test-only events included, as delivered) or `{provider}.*`. */
  event?: string;
  sinceMs?: number;
  untilMs?: number;
  /** Text the raw body contains (case-insensitive). */
  q?: string;
  limit: number;
  /** An event id: the page after it (older). */
  before?: string;
  /** Only events whose deliveries, together, are in this state. */
  deliveryStatus?: EventDeliveryStatus;
}

export const EVENT_DELIVERY_STATUSES = ['no_subscription', 'pending', 'retrying', 'failed', 'delivered', 'cancelled'] as const;
export type EventDeliveryStatus = (typeof EVENT_DELIVERY_STATUSES)[number];

export interface EventRow {
  id: string;
  event: string;
  received_at: string;
  headers: Record<string, string>;
  body: string;
  delivery_status: EventDeliveryStatus;
  /** What happened, in words, as the vendor module reads the body (unverified: the relay holds no secrets); null when it cannot. */
  summary: string | null;
}

/** An event in one sentence (who did what with which demo), by its vendor module; null when the body does not read as one. */
export function describeEvent(provider: string, body: string): string | null {
  if (!isProviderKey(provider)) return null;
  try {
    const out = processDelivery(PROVIDERS[provider], { rawBody: body, signature: undefined }, [], { want: '*', includeTest: true });
    return out.kind === 'record' ? out.record.summary_text : null;
  } catch {
    return null;
  }
}

export interface AttemptRow {
  n: number;
  started_at: string;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  response_snippet: string | null;
}

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

/** A cursor that names no row of this account (a stale or forged `before`). */
export class UnknownCursor extends Error {}

/** A filter that names no subscription of this account (another account's id, or none): 404, not an empty list. */
export class UnknownFilter extends Error {}

export class Operator {
  private readonly db: Db;

  constructor(private readonly store: Store) {
    this.db = store.db;
  }

  private get now(): string {
    return this.db.nowSql;
  }

  /** Case-insensitive "body contains", in each dialect. */
  private contains(col: string, param: string): string {
    return this.db.dialect === 'postgres' ? `strpos(lower(${col}), lower(${param})) > 0` : `instr(lower(${col}), lower(${param})) > 0`;
  }

  async accounts(): Promise<Array<{ id: string; name: string; disabled: boolean }>> {
    const rows = await this.db.query<any>('SELECT id, name, disabled_at FROM accounts ORDER BY created_at, id');
    return rows.map((r) => ({ id: r.id, name: r.name, disabled: r.disabled_at !== null }));
  }

  /** The account's subscriptions and their health, newest first; `before` (a subscription id) pages on. */
  async hooks(accountId: string, page: { limit: number; before?: string } = { limit: 1000 }): Promise<HookHealth[]> {
    const params: unknown[] = [accountId];
    let after = '';
    if (page.before) {
      const [c] = await this.db.query<any>('SELECT created_at, id FROM hooks WHERE id = $1 AND account_id = $2', [page.before, accountId]);
      if (!c) throw new UnknownCursor(`before: no subscription ${page.before} in this account`);
      params.push(c.created_at, c.id);
      after = ' AND (h.created_at < $2 OR (h.created_at = $2 AND h.id < $3))';
    }
    params.push(page.limit);
    const now = this.now;
    const failedAttempt = '(a.status_code IS NULL OR a.status_code < 200 OR a.status_code >= 300)';
    const rows = await this.db.query<any>(
      `SELECT h.id, h.event, h.target_url, h.created_at, h.failing_since, h.consecutive_failures,
         (SELECT COUNT(*) FROM deliveries d WHERE d.hook_id = h.id AND d.status = 'pending') AS pending,
         (SELECT COUNT(*) FROM deliveries d WHERE d.hook_id = h.id AND d.status IN ('failed', 'given_up')) AS failed,
         (SELECT MAX(d.updated_at) FROM deliveries d WHERE d.hook_id = h.id AND d.status = 'delivered') AS last_success_at,
         (SELECT MAX(a.started_at) FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
            WHERE d.hook_id = h.id AND ${failedAttempt}) AS last_failure_at,
         (SELECT d.last_error FROM deliveries d WHERE d.hook_id = h.id AND d.status <> 'delivered' AND d.last_error IS NOT NULL
            ORDER BY d.updated_at DESC LIMIT 1) AS last_error,
         (SELECT COUNT(*) FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
            WHERE d.hook_id = h.id AND a.started_at >= ${now} - 86400000) AS attempts_24h,
         (SELECT COUNT(*) FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
            WHERE d.hook_id = h.id AND a.started_at >= ${now} - 86400000 AND NOT ${failedAttempt}) AS ok_24h
       FROM hooks h WHERE h.account_id = $1${after} ORDER BY h.created_at DESC, h.id DESC LIMIT $${params.length}`, // ids made later sort later: newest first within a millisecond too
      params,
    );
    return rows.map((r) => ({
      id: r.id,
      event: r.event,
      target_url: r.target_url,
      created_at: iso(r.created_at)!,
      pending: num(r.pending),
      failed: num(r.failed),
      last_success_at: iso(r.last_success_at),
      last_failure_at: iso(r.last_failure_at),
      last_error: r.last_error ?? null,
      health: r.failing_since === null ? 'healthy' : 'failing',
      failing_since: iso(r.failing_since),
      consecutive_failures: num(r.consecutive_failures),
      success_rate_24h: num(r.attempts_24h) === 0 ? null : Math.round((1000 * num(r.ok_24h)) / num(r.attempts_24h)) / 1000,
    }));
  }

  /**
   * Per hour, oldest first, the last `hours` hours including the current one, zeros included:
   * deliveries delivered, failed attempts, deliveries given up, and events received.
   */
  async stats(accountId: string, hours: number): Promise<StatsHour[]> {
    await this.store.settle(); // what follows from events already acked (activity, deliveries) is read too
    const [{ now }] = await this.db.query<{ now: number | string }>(`SELECT ${this.now} AS now`);
    const H = 3_600_000;
    const first = Math.floor(Number(now) / H) * H - (hours - 1) * H;
    const bucket = (col: string) => (this.db.dialect === 'postgres' ? `((${col} - $2) / ${H})::bigint` : `CAST((${col} - $2) / ${H} AS INTEGER)`);
    const failedAttempt = '(a.status_code IS NULL OR a.status_code < 200 OR a.status_code >= 300)';
    const [attempts, givenUp, inbound] = await Promise.all([
      this.db.query<any>(
        `SELECT ${bucket('a.started_at')} AS b, SUM(CASE WHEN ${failedAttempt} THEN 0 ELSE 1 END) AS ok, SUM(CASE WHEN ${failedAttempt} THEN 1 ELSE 0 END) AS bad
         FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.account_id = $1 AND a.started_at >= $2 GROUP BY 1`,
        [accountId, first],
      ),
      this.db.query<any>(`SELECT ${bucket('d.updated_at')} AS b, COUNT(*) AS n FROM deliveries d WHERE d.account_id = $1 AND d.status = 'given_up' AND d.updated_at >= $2 GROUP BY 1`, [accountId, first]),
      this.db.query<any>(`SELECT ${bucket('e.received_at')} AS b, COUNT(*) AS n FROM events e WHERE e.account_id = $1 AND e.received_at >= $2 GROUP BY 1`, [accountId, first]),
    ]);
    const rows: StatsHour[] = Array.from({ length: hours }, (_, i) => ({ hour: iso(first + i * H)!, delivered: 0, failed_attempts: 0, given_up: 0, inbound: 0 }));
    const at = (b: unknown) => rows[Number(b)];
    for (const r of attempts) if (at(r.b)) (at(r.b).delivered += num(r.ok), (at(r.b).failed_attempts += num(r.bad)));
    for (const r of givenUp) if (at(r.b)) at(r.b).given_up += num(r.n);
    for (const r of inbound) if (at(r.b)) at(r.b).inbound += num(r.n);
    return rows;
  }

  /** The event log, newest first by arrival; `before` pages on. */
  async events(accountId: string, f: EventFilter): Promise<EventRow[]> {
    await this.store.settle(); // what follows from events already acked (activity, deliveries) is read too
    const where = ['e.account_id = $1'];
    const params: unknown[] = [accountId];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    if (f.provider) where.push(`e.provider = ${p(f.provider)}`);
    if (f.event === 'demo.activity') {
      where.push('EXISTS (SELECT 1 FROM activity a WHERE a.event_id = e.id)');
    } else if (f.event) {
      const [prov, ...rest] = f.event.split('.');
      const name = rest.join('.');
      where.push(`e.provider = ${p(prov)}`);
      if (name !== '*') {
        const names = [f.event, ...PROVIDERS[prov as ProviderKey].testEventTypes.map((t) => `${prov}.${t}`)];
        where.push(`e.event IN (${names.map((n) => p(n)).join(', ')})`);
      }
    }
    if (f.sinceMs !== undefined) where.push(`e.received_at >= ${p(f.sinceMs)}`);
    if (f.untilMs !== undefined) where.push(`e.received_at < ${p(f.untilMs)}`);
    if (f.q) where.push(this.contains('e.body', p(f.q)));
    if (f.before) {
      const [cursor] = await this.db.query<{ seq: number }>('SELECT seq FROM events WHERE id = $1 AND account_id = $2', [f.before, accountId]);
      if (!cursor) throw new UnknownCursor(`before: no event ${f.before} in this account`);
      where.push(`e.seq < ${p(cursor.seq)}`);
    }
    const has = (cond: string) => `EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND ${cond})`;
    // The event's deliveries together: any still being retried, any not yet tried, any failed, any delivered.
    const state = `CASE WHEN NOT ${has('1 = 1')} THEN 'no_subscription'
              WHEN ${has(`d.status = 'pending' AND d.attempts > 0`)} THEN 'retrying'
              WHEN ${has(`d.status = 'pending'`)} THEN 'pending'
              WHEN ${has(`d.status IN ('failed', 'given_up')`)} THEN 'failed'
              WHEN ${has(`d.status = 'delivered'`)} THEN 'delivered'
              ELSE 'cancelled' END`;
    if (f.deliveryStatus) where.push(`(${state}) = ${p(f.deliveryStatus)}`);
    const rows = await this.db.query<any>(
      `SELECT e.id, e.provider, e.event, e.received_at, e.headers, e.body, ${state} AS delivery_status
       FROM events e WHERE ${where.join(' AND ')} ORDER BY e.seq DESC LIMIT ${p(f.limit)}`,
      params,
    );
    return rows.map((r) => ({
      id: r.id,
      event: r.event,
      received_at: iso(r.received_at)!,
      headers: JSON.parse(r.headers),
      body: r.body,
      delivery_status: r.delivery_status,
      summary: describeEvent(r.provider, r.body),
    }));
  }

  /** One event with every delivery and every attempt; null when it is not this account's. */
  async event(accountId: string, id: string) {
    await this.store.settle(); // what follows from events already acked (activity, deliveries) is read too
    const [e] = await this.db.query<any>('SELECT id, provider, event, received_at, headers, body FROM events WHERE id = $1 AND account_id = $2', [id, accountId]);
    if (!e) return null;
    const deliveries = await this.db.query<any>('SELECT id, hook_id, target_url, status, attempts, origin, manual_retries, next_at FROM deliveries WHERE event_id = $1 ORDER BY created_at, id', [id]);
    const attempts = await this.db.query<any>(
      `SELECT a.delivery_id, a.n, a.started_at, a.duration_ms, a.status_code, a.error, a.response_snippet
       FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.event_id = $1 ORDER BY a.started_at, a.n`,
      [id],
    );
    return {
      id: e.id,
      event: e.event,
      received_at: iso(e.received_at)!,
      headers: JSON.parse(e.headers) as Record<string, string>,
      body: e.body as string,
      summary: describeEvent(e.provider, e.body),
      deliveries: deliveries.map((d) => ({
        id: d.id,
        hook_id: d.hook_id,
        target_url: d.target_url,
        status: apiStatus(d.status, d.attempts),
        origin: (d.origin ?? 'vendor') as DeliveryOrigin,
        manual_retries: num(d.manual_retries),
        attempts: attempts.filter((a) => a.delivery_id === d.id).map((a): AttemptRow => ({
          n: num(a.n),
          started_at: iso(a.started_at)!,
          duration_ms: num(a.duration_ms),
          status_code: a.status_code === null ? null : num(a.status_code),
          error: a.error ?? null,
          response_snippet: a.response_snippet ?? null,
        })),
        next_attempt_at: d.status === 'pending' ? iso(d.next_at) : null,
      })),
    };
  }

  /** Deliveries, newest first; `before` (a delivery id) pages on. */
  async deliveries(accountId: string, f: { status?: ApiDeliveryStatus; hookId?: string; limit: number; before?: string }): Promise<DeliveryRow[]> {
    await this.store.settle(); // what follows from events already acked (activity, deliveries) is read too
    const where = ['e.account_id = $1'];
    const params: unknown[] = [accountId];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
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
      updated_at: iso(r.updated_at)!,
    }));
  }

  /**
   * Makes a failed or given-up delivery due now, its give-up window restarted (the operator's
   * "Retry"). `not_found` when it is not this account's; `conflict` with the reason otherwise.
   */
  async retryDelivery(accountId: string, id: string): Promise<{ ok: true } | { ok: false; why: 'not_found' } | { ok: false; why: 'conflict'; message: string }> {
    const now = this.now;
    return this.db.tx(async (q) => {
      const [row] = await q.query<{ status: DeliveryStatus; hook: string | null }>(
        `SELECT d.status, h.id AS hook FROM deliveries d JOIN events e ON e.id = d.event_id LEFT JOIN hooks h ON h.id = d.hook_id
         WHERE d.id = $1 AND e.account_id = $2`,
        [id, accountId],
      );
      if (!row) return { ok: false, why: 'not_found' };
      if (row.status !== 'failed' && row.status !== 'given_up') return { ok: false, why: 'conflict', message: `delivery is ${row.status}; only failed or given-up deliveries can be retried` };
      if (!row.hook) return { ok: false, why: 'conflict', message: 'its subscription no longer exists (the Zap was turned off or deleted)' };
      await q.query(
        `UPDATE deliveries SET status = 'pending', next_at = ${now}, window_start = ${now}, locked_by = NULL, locked_until = NULL, updated_at = ${now},
           manual_retries = manual_retries + 1
         WHERE id = $1 AND status IN ('failed', 'given_up')`,
        [id],
      );
      return { ok: true };
    });
  }

  /** Every failed or given-up delivery of a subscription that failed since `sinceMs`, due now with a fresh window. Null: not this account's. */
  async retryFailed(accountId: string, hookId: string, sinceMs = 0): Promise<number | null> {
    return this.db.tx(async (q) => {
      const [hook] = await q.query('SELECT id FROM hooks WHERE id = $1 AND account_id = $2', [hookId, accountId]);
      if (!hook) return null;
      const rows = await q.query(
        `UPDATE deliveries SET status = 'pending', next_at = ${this.now}, window_start = ${this.now}, locked_by = NULL, locked_until = NULL, updated_at = ${this.now},
           manual_retries = manual_retries + 1
         WHERE hook_id = $1 AND status IN ('failed', 'given_up') AND updated_at >= $2 RETURNING id`,
        [hookId, sinceMs],
      );
      return rows.length;
    });
  }

  /** A new API key; the old one answers 401 from now on. */
  async rotateKey(accountId: string): Promise<string> {
    const apiKey = `dh_${randomBytes(24).toString('base64url')}`;
    await this.db.query('UPDATE accounts SET api_key_hash = $1 WHERE id = $2', [sha256(apiKey), accountId]);
    return apiKey;
  }

  /**
   * A new inbound URL for one vendor; the old one keeps working for `overlapMs` (0: not at
   * all), so the vendor's settings can be switched without losing an event, then 404s.
   */
  async rotateInbound(accountId: string, provider: ProviderKey, overlapMs: number): Promise<{ tokens: Record<string, string>; oldValidUntil: string }> {
    const token = randomBytes(24).toString('base64url');
    return this.db.tx(async (q) => {
      // Rotations of one account take turns (the account row is locked until commit on
      // PostgreSQL; SQLite runs one transaction at a time): each retires the URL the one before
      // it made, and every URL handed out keeps working for its overlap.
      if (this.db.dialect === 'postgres') await q.query('SELECT id FROM accounts WHERE id = $1 FOR UPDATE', [accountId]);
      // An account made before this vendor was added gets its first URL minted, then rotated.
      await this.store.inboundTokens(accountId, q);
      const [old] = await q.query<{ token: string }>('SELECT token FROM inbound_tokens WHERE account_id = $1 AND provider = $2', [accountId, provider]);
      const [retired] = await q.query<{ valid_until: number }>(
        `INSERT INTO retired_tokens (token, account_id, provider, valid_until) VALUES ($1, $2, $3, ${this.now} + $4) RETURNING valid_until`,
        [old.token, accountId, provider, overlapMs],
      );
      await q.query('UPDATE inbound_tokens SET token = $1 WHERE account_id = $2 AND provider = $3', [token, accountId, provider]);
      const rows = await q.query<{ provider: string; token: string }>('SELECT provider, token FROM inbound_tokens WHERE account_id = $1', [accountId]);
      return { tokens: Object.fromEntries(rows.map((r) => [r.provider, r.token])), oldValidUntil: iso(retired.valid_until)! };
    });
  }

  /**
   * Inbound URLs 404 and the API key 401s from now on, on every relay process; queued
   * deliveries pause (claims skip a disabled account's), and an attempt already in flight is
   * waited for (up to `inflightWaitMs`), so nothing is sent once this resolves.
   */
  async disable(accountId: string, inflightWaitMs = 0): Promise<boolean> {
    const changed = await this.db.tx(async (q) => {
      const rows = await q.query(`UPDATE accounts SET disabled_at = ${this.now} WHERE id = $1 AND disabled_at IS NULL RETURNING id`, [accountId]);
      // Queued deliveries pause: a lease that never runs out. The row locks this takes also
      // order it with any claim running now (which then either sees the pause or is waited for).
      await q.query(
        `UPDATE deliveries SET locked_by = '${PAUSED}', locked_until = ${PAUSED_UNTIL}
         WHERE account_id = $1 AND status = 'pending' AND (locked_until IS NULL OR locked_until < ${this.now})`,
        [accountId],
      );
      return rows.length > 0;
    });
    await this.store.waitForInflight('account_id = $1', [accountId], inflightWaitMs);
    // Outcomes recorded while waiting (a retry is pending again) pause too.
    await this.db.query(
      `UPDATE deliveries SET locked_by = '${PAUSED}', locked_until = ${PAUSED_UNTIL}
       WHERE account_id = $1 AND status = 'pending' AND (locked_until IS NULL OR locked_until < ${this.now})`,
      [accountId],
    );
    return changed;
  }

  /**
   * Turns a disabled account back on: its key and inbound URLs work again and its paused
   * deliveries are due (each when it was due; the give-up window counts the pause too, so a
   * long-paused delivery may be given up at its next failure). False: no such disabled account.
   */
  async enable(accountId: string): Promise<boolean> {
    return this.db.tx(async (q) => {
      const rows = await q.query(`UPDATE accounts SET disabled_at = NULL WHERE id = $1 AND disabled_at IS NOT NULL RETURNING id`, [accountId]);
      await q.query(`UPDATE deliveries SET locked_by = NULL, locked_until = NULL WHERE account_id = $1 AND status = 'pending' AND locked_by = '${PAUSED}'`, [accountId]);
      return rows.length > 0;
    });
  }

  /** Where alerts go (null: none). */
  async setAlertUrl(accountId: string, url: string | null): Promise<void> {
    await this.db.query('UPDATE accounts SET alert_url = $1 WHERE id = $2', [url, accountId]);
  }

  async alertUrl(accountId: string): Promise<string | null> {
    const [r] = await this.db.query<{ alert_url: string | null }>('SELECT alert_url FROM accounts WHERE id = $1', [accountId]);
    return r?.alert_url ?? null;
  }

  /** Pending deliveries and the age of the oldest, across accounts (metrics). */
  async pendingStats(): Promise<{ pending: number; oldestAgeSeconds: number }> {
    const [r] = await this.db.query<any>(`SELECT COUNT(*) AS n, MIN(created_at) AS oldest, ${this.now} AS now FROM deliveries WHERE status = 'pending'`);
    return { pending: num(r.n), oldestAgeSeconds: r.oldest === null ? 0 : Math.max(0, (num(r.now) - num(r.oldest)) / 1000) };
  }
}

export const isDeliveryStatus = (s: string): s is ApiDeliveryStatus => (API_DELIVERY_STATUSES as readonly string[]).includes(s);
export const isProvider = (s: string): s is ProviderKey => (PROVIDER_KEYS as readonly string[]).includes(s);
