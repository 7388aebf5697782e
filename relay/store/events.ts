/**
 * The event log: each inbound event's exact bytes and signature headers, stored once per
 * identity and body (a vendor retry is a duplicate), in sequence order.
 */
import { DEMO_ACTIVITY, PROVIDERS, type ProviderKey } from '../../lib/providers/index.js';
import type { ActivityIndex } from '../domain/activity.js';
import { UnknownCursor } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { dedupKey, MAX_IDENTITY_CHARS } from '../domain/identity.js';
import type { Db, Queryable } from './db.js';
import type { EventDeliveryStatus } from '../domain/statuses.js';
import { chunks, isoOf, params, placeholders, Repo, values } from './sql.js';

export interface StoredEvent {
  id: string;
  event: string;
  received_at: string;
  headers: Record<string, string>;
  body: string;
}

export interface InboundItem {
  accountId: string;
  provider: ProviderKey;
  /** Relay event name, `{provider}.{event}`. */
  event: string;
  /** The contract's record identity: a vendor retry has the same one. */
  identity: string;
  headers: Record<string, string>;
  body: string;
  /**
   * The inbound token the event came in on. Checked inside the storing statement, so a
   * disabled account or an expired rotated URL is refused at once on every relay process,
   * whatever a process's token cache remembers. Internal callers may leave it out.
   */
  token?: string;
  /** What intake derived of the payload for the activity index (the deriver uses it, if it is this process's). */
  activity?: ActivityIndex;
  /** The inbound request's trace context (a W3C traceparent), when tracing is on: its later stages join that trace. */
  trace?: string | null;
}

/** What storing an inbound event came to; `gone` when its token or account no longer exists. */
export type IngestResult = { id: string; duplicate: boolean; gone?: true };

export interface EventFilter {
  provider?: ProviderKey;
  /** `{provider}.{event}` (its vendor's test-only events included, as delivered), `{provider}.*` or `demo.activity`. */
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
  /** Each body read only to this many characters and one more (so a longer one is known to be longer); unset: whole. */
  bodyChars?: number;
  /** A page stops once the bodies listed reach this many bytes, the first always listed. */
  bodyBudget?: number;
}

/** An event's bytes as a delivery sends them. */
export interface EventBytes {
  headers: Record<string, string>;
  body: string;
  received_at: number;
  /** The trace the event's stages belong to (a W3C traceparent); null when stored with tracing off. */
  trace: string | null;
}

/**
 * The advisory lock every PostgreSQL ingest holds shared, and the deriver takes alone for a
 * moment; the second key is the schema's (advisory locks are per database, relays per schema).
 */
export const INGEST_LOCK = 7201543;

const gone = (): IngestResult => ({ id: '', duplicate: false, gone: true });

export class Events extends Repo {
  /**
   * Stores a batch of inbound events in one transaction (group commit): the event rows and
   * their dedup keys, nothing else, so the ack waits for as little as it can. A vendor retry
   * (same identity, same bytes) is reported duplicate. When this resolves, every event in the
   * batch is durable; when it throws, none is (the caller retries the members one by one).
   */
  async ingest(all: InboundItem[]): Promise<IngestResult[]> {
    if (all.length === 0) return [];
    for (const item of all) {
      if (item.identity.length > MAX_IDENTITY_CHARS) throw new RangeError(`event identity longer than ${MAX_IDENTITY_CHARS} characters`);
    }
    return (this.d.name === 'postgres' ? ingestPostgres : ingestSqlite)(this.db, all, Date.now());
  }

  /** The derive cursor and the last sequence number stored. */
  async logEnds(): Promise<{ cursor: number; last: number }> {
    const [r] = await this.db.query<{ c: number | string; m: number | string | null }>('SELECT (SELECT seq FROM derive_cursor WHERE id = 1) AS c, (SELECT MAX(seq) FROM events) AS m', [], true);
    return { cursor: Number(r.c), last: r.m === null ? 0 : Number(r.m) };
  }

  /** The bytes of these events, by id. */
  async bytes(ids: string[], q: Queryable = this.db): Promise<Map<string, EventBytes>> {
    const out = new Map<string, EventBytes>();
    for (const chunk of chunks(ids, 100)) {
      const rows = await q.query<any>(`SELECT id, headers, body, received_at, trace FROM events WHERE id IN (${params(chunk.length)})`, chunk);
      for (const r of rows) out.set(r.id, { headers: JSON.parse(r.headers), body: r.body, received_at: Number(r.received_at), trace: r.trace });
    }
    return out;
  }

  /** One stored event of this account (with its provider, to describe it); null when it is none of its. */
  async one(accountId: string, id: string): Promise<(StoredEvent & { provider: string }) | null> {
    const [e] = await this.db.query<any>('SELECT id, provider, event, received_at, headers, body FROM events WHERE id = $1 AND account_id = $2', [id, accountId]);
    return e ? { id: e.id, provider: e.provider, event: e.event, received_at: isoOf(e.received_at), headers: JSON.parse(e.headers), body: e.body } : null;
  }

  /**
   * The event log, newest first by arrival, with its deliveries' state together; `before` pages
   * on. `more`: the page stopped early, its bodies having reached `bodyBudget`.
   */
  async list(accountId: string, f: EventFilter): Promise<{ rows: Array<StoredEvent & { provider: string; delivery_status: EventDeliveryStatus }>; more: boolean }> {
    const { params: list, p } = placeholders([accountId]);
    const where = ['e.account_id = $1'];
    if (f.provider) where.push(`e.provider = ${p(f.provider)}`);
    if (f.event === DEMO_ACTIVITY) {
      where.push('EXISTS (SELECT 1 FROM activity a WHERE a.event_id = e.id)');
    } else if (f.event) {
      const [prov, ...rest] = f.event.split('.');
      where.push(`e.provider = ${p(prov)}`);
      if (rest.join('.') !== '*') {
        // Its vendor's test-only events too, as they are delivered.
        const names = [f.event, ...PROVIDERS[prov as ProviderKey].testEventTypes.map((t) => `${prov}.${t}`)];
        where.push(`e.event IN (${names.map((n) => p(n)).join(', ')})`);
      }
    }
    if (f.sinceMs !== undefined) where.push(`e.received_at >= ${p(f.sinceMs)}`);
    if (f.untilMs !== undefined) where.push(`e.received_at < ${p(f.untilMs)}`);
    if (f.q) where.push(this.d.contains('e.body', p(f.q)));
    if (f.before) {
      const seq = await this.seqOf(accountId, f.before);
      if (seq === null) throw new UnknownCursor(`before: no event ${f.before} in this account`);
      where.push(`e.seq < ${p(seq)}`);
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
    // The page's rows first, without their bodies; then each body, while the bodies listed
    // before it stay within the budget (the first is always listed): a page of wide events
    // reads and holds a bounded amount, and the next page starts where this one stopped.
    // octet_length reads a value's size from its header, not the value: a wide body is read only
    // when it is listed, and then only its start when that is all a preview needs.
    const n = Math.trunc(f.bodyChars ?? 0);
    const body = f.bodyChars ? `CASE WHEN octet_length(b.body) <= ${n} THEN b.body ELSE substr(b.body, 1, ${n + 1}) END` : 'b.body';
    const rows = await this.db.query<any>(
      `SELECT x.id, x.provider, x.event, x.received_at, x.headers, x.delivery_status,
              CASE WHEN COALESCE(x.before_bytes, 0) < ${p(f.bodyBudget ?? Number.MAX_SAFE_INTEGER)} THEN (SELECT ${body} FROM events b WHERE b.id = x.id) END AS body
       FROM (SELECT y.*, SUM(y.bytes) OVER (ORDER BY y.seq DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before_bytes
             FROM (SELECT e.id, e.seq, e.provider, e.event, e.received_at, e.headers, ${state} AS delivery_status, octet_length(e.body) AS bytes
                   FROM events e WHERE ${where.join(' AND ')} ORDER BY e.seq DESC LIMIT ${p(f.limit)}) y) x
       ORDER BY x.seq DESC`,
      list,
    );
    const listed = rows.findIndex((r) => r.body === null);
    return {
      rows: (listed < 0 ? rows : rows.slice(0, listed)).map((r) => ({ id: r.id, provider: r.provider, event: r.event, received_at: isoOf(r.received_at), headers: JSON.parse(r.headers), body: r.body, delivery_status: r.delivery_status })),
      more: listed >= 0,
    };
  }

  /** An event's place in the log, for paging; null when it is not this account's. */
  async seqOf(accountId: string, id: string): Promise<number | null> {
    const [c] = await this.db.query<{ seq: number | string }>('SELECT seq FROM events WHERE id = $1 AND account_id = $2', [id, accountId]);
    return c ? Number(c.seq) : null;
  }
}

/** Tokens still valid now (current, or rotated and within their overlap; account not disabled). */
async function validTokens(q: Queryable, now: string, tokens: string[]): Promise<Set<string>> {
  const valid = new Set<string>();
  for (const chunk of chunks(tokens, 200)) {
    const list = params(chunk.length);
    const rows = await q.query<{ token: string }>(
      `SELECT t.token FROM inbound_tokens t JOIN accounts a ON a.id = t.account_id WHERE t.token IN (${list}) AND a.disabled_at IS NULL
       UNION ALL
       SELECT r.token FROM retired_tokens r JOIN accounts a ON a.id = r.account_id
         WHERE r.token IN (${list}) AND r.valid_until > ${now} AND a.disabled_at IS NULL`,
      chunk,
    );
    for (const r of rows) valid.add(r.token);
  }
  return valid;
}

/**
 * SQLite: one transaction of a token check, one insert per 400 events (vendor retries, the
 * same key, skipped) and a look-up of what the duplicates duplicate. Rows go in arrival
 * order, so the sequence orders events within a batch too.
 */
async function ingestSqlite(db: Db, all: InboundItem[], now: number): Promise<IngestResult[]> {
  return db.tx(async (q) => {
    const valid = await validTokens(q, db.dialect.now, [...new Set(all.map((i) => i.token).filter((t): t is string => t !== undefined))]);
    const ok = (i: InboundItem) => i.token === undefined || valid.has(i.token);
    const items = all.filter(ok);
    const keys = items.map((item) => dedupKey(item.accountId, item.identity, item.body));
    const ids = items.map(() => newId('evt'));
    const inserted = new Map<string, string>(); // key (hex) → new event id
    const rows = items.map((item, i) => ({ item, id: ids[i], key: keys[i] }));
    for (const chunk of chunks(rows, 400)) {
      const got = await q.query<{ id: string; dkey: Uint8Array }>(
        `INSERT INTO events (id, account_id, provider, event, identity, dkey, received_at, headers, body, trace)
         VALUES ${values(chunk.length, 10)}
         ON CONFLICT (dkey) DO NOTHING RETURNING id, dkey`,
        chunk.flatMap(({ item, id, key }) => [id, item.accountId, item.provider, item.event, item.identity, key, now, JSON.stringify(item.headers), item.body, item.trace ?? null]),
      );
      for (const r of got) inserted.set(Buffer.from(r.dkey).toString('hex'), r.id);
    }
    // Which are duplicates, and of which stored event.
    const results = items.map((_, i): IngestResult => {
      const id = inserted.get(keys[i].toString('hex'));
      return id === ids[i] ? { id, duplicate: false } : { id: id ?? '', duplicate: true };
    });
    const missing = keys.filter((_, i) => results[i].id === '');
    if (missing.length > 0) {
      const existing = new Map<string, string>();
      for (const chunk of chunks(missing, 400)) {
        const got = await q.query<{ id: string; dkey: Uint8Array }>(`SELECT id, dkey FROM events WHERE dkey IN (${params(chunk.length)})`, chunk);
        for (const r of got) existing.set(Buffer.from(r.dkey).toString('hex'), r.id);
      }
      results.forEach((r, i) => {
        if (r.id === '') r.id = existing.get(keys[i].toString('hex')) ?? '';
      });
    }
    let k = 0;
    return all.map((i) => (ok(i) ? results[k++] : gone()));
  }, { first: true });
}

/**
 * PostgreSQL: the same rules (token check, insert, duplicates found) as one statement, so a
 * batch costs one round trip and one commit. The relay tests run both on every rule.
 */
async function ingestPostgres(db: Db, all: InboundItem[], now: number): Promise<IngestResult[]> {
  const keys = all.map((item) => dedupKey(item.accountId, item.identity, item.body));
  const ids = all.map(() => newId('evt'));
  const col = <T>(f: (item: InboundItem) => T) => all.map(f);
  const rows = await db.query<{ valid: boolean; inserted: boolean; existing: string | null }>(
    `WITH input AS (
       -- The ingest lock, shared, taken per row before any sequence number is: the deriver
       -- takes it alone to know which numbers are settled (store/derive.ts).
       SELECT x.* FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::text[], $8::text[], $9::text[], $11::text[])
         WITH ORDINALITY AS x(id, account_id, provider, event, identity, dkey, headers, body, token, trace, ord)
         CROSS JOIN LATERAL (SELECT pg_advisory_xact_lock_shared(${INGEST_LOCK}, hashtext(current_schema()) + 0 * x.ord::int)) l
     ), valid AS (
       SELECT i.* FROM input i
       WHERE i.token IS NULL
          OR EXISTS (SELECT 1 FROM inbound_tokens t JOIN accounts a ON a.id = t.account_id WHERE t.token = i.token AND a.disabled_at IS NULL)
          OR EXISTS (SELECT 1 FROM retired_tokens r JOIN accounts a ON a.id = r.account_id
                     WHERE r.token = i.token AND r.valid_until > ${db.dialect.now} AND a.disabled_at IS NULL)
     ), ins AS (
       INSERT INTO events (id, account_id, provider, event, identity, dkey, received_at, headers, body, trace)
       SELECT id, account_id, provider, event, identity, dkey, $10, headers, body, trace FROM valid ORDER BY ord
       ON CONFLICT (dkey) DO NOTHING
       RETURNING id
     )
     SELECT v.id IS NOT NULL AS valid, EXISTS (SELECT 1 FROM ins WHERE ins.id = i.id) AS inserted,
            -- Per input row, so it is an index lookup whatever the planner thinks of the table's size.
            (SELECT e.id FROM events e WHERE e.dkey = i.dkey) AS existing
     FROM input i
     LEFT JOIN valid v ON v.id = i.id
     ORDER BY i.ord`,
    [ids, col((i) => i.accountId), col((i) => i.provider), col((i) => i.event), col((i) => i.identity), keys, col((i) => JSON.stringify(i.headers)), col((i) => i.body), col((i) => i.token ?? null), now, col((i) => i.trace ?? null)],
    true,
  );
  // A statement does not see its own inserts: a repeat within the batch is a duplicate of the
  // batch's first copy, found here rather than in the table.
  const firstInBatch = new Map<string, string>();
  return rows.map((r, i) => {
    if (!r.valid) return gone();
    const k = keys[i].toString('hex');
    if (r.inserted) {
      firstInBatch.set(k, ids[i]);
      return { id: ids[i], duplicate: false };
    }
    return { id: r.existing ?? firstInBatch.get(k) ?? '', duplicate: true };
  });
}
