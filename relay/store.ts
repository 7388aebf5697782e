import { createHash, randomBytes } from 'node:crypto';
import type { ProviderKey } from '../lib/providers/index.js';
import { DEMO_ACTIVITY, PROVIDER_KEYS, PROVIDERS } from '../lib/providers/index.js';
import type { Db, Queryable } from './db.js';
import { demoActivityOf, type DemoActivity } from '../lib/activity.js';

export interface Account {
  id: string;
  name: string;
}

export interface Hook {
  id: string;
  event: string;
  target_url: string;
  created_at: string;
}

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
   * The inbound token the event came in on. Checked inside the storing transaction, so a
   * disabled account or an expired rotated URL is refused at once on every relay process,
   * whatever a process's token cache remembers. Internal callers may leave it out.
   */
  token?: string;
  /**
   * Demo activity of a company (the playbook's signals): indexed at ingest, delivered to
   * `demo.activity`. `occurredAt` null: the payload does not say, so the arrival time.
   */
  activity?: ActivityIndex;
}


/** What the activity index keeps of one demo view (lib/activity.ts derives it from the payload). */
export interface ActivityIndex {
  domain: string;
  person: string;
  email: string;
  demo: string | null;
  occurredAt: number | null;
  isTest: boolean;
}

/** What the index keeps of a demo view that lib/activity.ts derived from its payload. */
export const activityIndex = (act: DemoActivity): ActivityIndex => ({
  domain: act.company,
  person: act.person,
  email: act.email ?? '',
  demo: act.demo,
  occurredAt: act.occurredAt,
  isTest: act.isTest,
});

const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * What the activity index keeps of an event's payload: a company's demo view (not free-mail,
 * not disposable, not the vendor's own people), with a person and demo free of control
 * characters; undefined for anything else. The HTTP layer derives it at ingest; the derive
 * step derives it again from the stored bytes for an event it was not handed.
 */
export function activityOfPayload(provider: ProviderKey, eventType: string, payload: Record<string, unknown>): ActivityIndex | undefined {
  const act = demoActivityOf(PROVIDERS[provider], eventType, payload);
  if (!act || CONTROL.test(act.person) || CONTROL.test(act.demo ?? '')) return undefined;
  return activityIndex(act);
}

/** The same, from a stored event's relay name and bytes. */
export function activityOfStored(provider: ProviderKey, event: string, body: string): ActivityIndex | null {
  if (!PROVIDERS[provider]) return null;
  try {
    const payload = JSON.parse(body);
    if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return null;
    return activityOfPayload(provider, event.slice(provider.length + 1), payload) ?? null;
  } catch {
    return null;
  }
}

/**
 * The advisory lock every PostgreSQL ingest holds shared, and `derive` takes alone for a moment;
 * the second key is the schema's (advisory locks are per database, relays per schema).
 */
const INGEST_LOCK = 7201543;

/** A company's stored demo activity, as GET /v1/activity serves it. */
export interface ActivityEvent extends StoredEvent {
  occurred_at: string;
}

/** What storing an inbound event came to; `gone` when its token or account no longer exists. */
export type IngestResult = { id: string; duplicate: boolean; gone?: true };

/** What one delivery attempt looked like, kept as a row for the operator. */
export interface AttemptRecord {
  startedAt: number;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  /** The first 1 KiB of the response body. */
  responseSnippet: string | null;
}

/** The longest record identity the relay stores (the contract's 400 above it). */
export const MAX_IDENTITY_CHARS = 512;

/**
 * The lease a disabled account's queued deliveries hold: one that never runs out, so no claim
 * takes them (they are kept, not sent) until the account is enabled again.
 */
export const PAUSED = 'paused:account-disabled';
export const PAUSED_UNTIL = 8_000_000_000_000_000; // far past any clock, within a BIGINT and a JS safe integer

/** An account holds the most subscriptions it may. */
export class HookLimit extends Error {
  constructor(readonly max: number) {
    super(`this account already has ${max} subscriptions, the most a relay account may hold (RELAY_MAX_HOOKS_PER_ACCOUNT); turn off Zaps you no longer use`);
  }
}

export interface Claimed {
  id: string;
  account_id: string;
  event_id: string;
  hook_id: string;
  target_url: string;
  attempts: number;
  headers: Record<string, string>;
  body: string;
  /** When the relay received the event (ms): sent as X-Relay-Received-At, what a timestamped signature is judged against. */
  received_at: number;
}

/** Delivery statuses, as the operator API names them. */
export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed', 'given_up', 'cancelled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/**
 * What an attempt came to. `retry` carries a delay, not a time: the store adds it to the
 * database clock and gives up instead when the retry would fall past the give-up window.
 */
export type Outcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'gone'; status: number }
  | { kind: 'retry'; status: number | null; error: string; delayMs: number }
  | { kind: 'failed'; status: number | null; error: string };

/**
 * A deliverer's standing offer to take fresh deliveries as they are queued: the derive step
 * stores each one it has room for already leased to `worker` and hands it over from memory
 * once committed, so no claim has to find it again. The store stays the truth: after a crash
 * the lease runs out and any process claims the delivery.
 */
export interface LeaseOffer {
  readonly worker: string;
  readonly leaseMs: number;
  /** Takes a place for a fresh delivery of `account` if there is room; false leaves it to a claim. */
  take(account: string): boolean;
  /** Gives back places taken for deliveries that were not stored (the derive failed, or they were there already). */
  untake(accounts: string[]): void;
  /** The deliveries stored leased, committed: `leasedAt` is a performance.now() from before their lease began. */
  give(claimed: Claimed[], leasedAt: number): void;
}

/** One attempt's outcome, to record while `worker` holds the delivery's lease. */
export interface Completion {
  id: string;
  worker: string;
  /** The subscription, whose health the outcome moves (none for a delivery whose subscription is gone). */
  hookId?: string | null;
  outcome: Outcome;
  giveUpMs: number;
  attempt?: AttemptRecord & { n: number };
}

/** What recording an outcome did: nothing when the lease was lost or the delivery cancelled meanwhile. */
export type Recorded = { recorded: false } | { recorded: true; status: DeliveryStatus; attempts: number };

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
/**
 * `evt_…`, `dlv_…`, `att_…`: 48 bits of the clock in milliseconds, then 48 bits that start
 * random each millisecond and count up within it, in 16 characters of [A-Za-z0-9_-] whose
 * byte order is their numeric order. Ids made later sort later (within one
 * process, strictly: rows made in one batch list in the order they were made), so each new row
 * goes at the right-hand end of its id index instead of on a random page: one disk page less
 * written per event and per delivery.
 */
const ID_POOL = 6 * 512;
let idPool = Buffer.alloc(0);
let idPoolAt = ID_POOL;
let idMs = 0;
let idTail = 0;
const newId = (prefix: string) => {
  const now = Date.now();
  if (now > idMs) {
    // Random bits are drawn 3 KiB at a time (one call into the OS for 512 ids, not one each).
    if (idPoolAt >= ID_POOL) {
      idPool = randomBytes(ID_POOL);
      idPoolAt = 0;
    }
    idMs = now;
    idTail = Math.floor(idPool.readUIntBE(idPoolAt, 6) / 2); // 47 random bits: room to count up
    idPoolAt += 6;
  } else {
    idTail += 1; // the same millisecond (or a clock stepped back): the next id after the last
  }
  const b = Buffer.allocUnsafe(12);
  b.writeUIntBE(idMs, 0, 6);
  b.writeUIntBE(idTail % 2 ** 48, 6, 6);
  // base64url's alphabet is not in byte order (digits sort before letters): each character is
  // mapped to the one of the same rank in the sorted alphabet, so later ids also compare greater.
  const raw = b.toString('base64url');
  let out = '';
  for (let i = 0; i < raw.length; i++) out += SORTED_B64[B64_RANK[raw.charCodeAt(i)]];
  return `${prefix}_${out}`;
};
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const SORTED_B64 = [...B64].sort().join('');
const B64_RANK = (() => {
  const rank = new Array<number>(128).fill(0);
  for (let i = 0; i < B64.length; i++) rank[B64.charCodeAt(i)] = i;
  return rank;
})();
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * What makes a stored event a duplicate: its identity *and* its exact bytes. A vendor's retry
 * resends the same bytes; a forged body that borrows a real event's identity is a different
 * event, stored and delivered on its own (the trigger refuses it), so it can never shadow the
 * genuine one. The account is hashed in too, so the key is unique on its own: 16 bytes (128 bits
 * of SHA-256) keep the unique index small whatever the identity's length.
 */
export const dedupKey = (accountId: string, identity: string, body: string): Buffer =>
  // Lengths first, so no two (account, identity, body) triples hash the same text.
  createHash('sha256').update(`${accountId.length}:${accountId}\n${identity.length}:${identity}\n`).update(body).digest().subarray(0, 16);

/** Schema changes, applied in order once each; `schema_migrations` records which ran. */
const MIGRATIONS: Array<{ version: number; why: string; up: (q: Queryable, dialect: Db['dialect']) => Promise<void> }> = [
  {
    version: 1,
    why: 'accounts, inbound tokens, subscriptions, events and deliveries',
    async up(q) {
      for (const stmt of SCHEMA_V1) await q.query(stmt);
    },
  },
  {
    version: 2,
    why: 'de-duplicate on identity and body (a forged twin must not shadow the real event); a monotonic sequence for "newest first"; a restartable give-up window; the operator API\'s delivery statuses',
    async up(q, dialect) {
      if (dialect === 'postgres') {
        await q.query('ALTER TABLE events ADD COLUMN seq BIGSERIAL');
        await q.query('ALTER TABLE events ADD COLUMN dedup_key TEXT');
        await q.query('ALTER TABLE events DROP CONSTRAINT IF EXISTS events_account_id_identity_key');
      } else {
        // SQLite cannot drop a table constraint: rebuild the table (foreign keys are off
        // during migrations, so the deliveries that reference it stay).
        await q.query(`CREATE TABLE events_v2 (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          id TEXT NOT NULL UNIQUE,
          account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
          provider TEXT NOT NULL,
          event TEXT NOT NULL,
          identity TEXT NOT NULL,
          dedup_key TEXT NOT NULL,
          received_at BIGINT NOT NULL,
          headers TEXT NOT NULL,
          body TEXT NOT NULL)`);
        // The id stands in for the key until the backfill below computes it.
        await q.query('INSERT INTO events_v2 (id, account_id, provider, event, identity, dedup_key, received_at, headers, body) SELECT id, account_id, provider, event, identity, id, received_at, headers, body FROM events ORDER BY received_at, id');
        await q.query('DROP TABLE events');
        await q.query('ALTER TABLE events_v2 RENAME TO events');
        await q.query('CREATE INDEX events_by_account_time ON events (account_id, provider, received_at)');
        await q.query('CREATE INDEX events_by_time ON events (received_at)');
      }
      for (;;) {
        const rows = await q.query<{ id: string; identity: string; body: string }>('SELECT id, identity, body FROM events WHERE dedup_key IS NULL OR dedup_key = id LIMIT 500');
        if (rows.length === 0) break;
        for (const r of rows) await q.query('UPDATE events SET dedup_key = $1 WHERE id = $2', [sha256(`${r.identity}\n${sha256(r.body)}`), r.id]); // version 8 replaces it
      }
      if (dialect === 'postgres') await q.query('ALTER TABLE events ALTER COLUMN dedup_key SET NOT NULL');
      await q.query('CREATE UNIQUE INDEX events_dedup ON events (account_id, dedup_key)');
      await q.query('CREATE INDEX events_by_account_seq ON events (account_id, provider, seq)');
      await q.query('ALTER TABLE deliveries ADD COLUMN window_start BIGINT');
      await q.query('UPDATE deliveries SET window_start = created_at');
      await q.query(`UPDATE deliveries SET status = 'delivered' WHERE status = 'done'`);
      await q.query(`UPDATE deliveries SET status = 'cancelled' WHERE status IN ('gone', 'unsubscribed')`);
      await q.query('CREATE INDEX deliveries_by_hook ON deliveries (hook_id, status)');
    },
  },
  {
    version: 3,
    why: 'the operator: a row per delivery attempt, disabled accounts, rotated inbound URLs that keep working for an overlap',
    async up(q) {
      await q.query(`CREATE TABLE delivery_attempts (
        id TEXT PRIMARY KEY,
        delivery_id TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
        n INTEGER NOT NULL,
        started_at BIGINT NOT NULL,
        duration_ms INTEGER NOT NULL,
        status_code INTEGER,
        error TEXT,
        response_snippet TEXT)`);
      await q.query('CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts (delivery_id, n)');
      await q.query('ALTER TABLE accounts ADD COLUMN disabled_at BIGINT');
      await q.query(`CREATE TABLE retired_tokens (
        token TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        provider TEXT NOT NULL,
        valid_until BIGINT NOT NULL)`);
      await q.query('CREATE INDEX deliveries_by_time ON deliveries (created_at)');
    },
  },
  {
    version: 4,
    why: 'account signals: demo activity indexed by company domain and person at ingest',
    async up(q) {
      await q.query(`CREATE TABLE activity (
        event_id TEXT PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,
        account_id TEXT NOT NULL,
        domain TEXT NOT NULL,
        email TEXT NOT NULL,
        is_test INTEGER NOT NULL,
        received_at BIGINT NOT NULL)`);
      await q.query('CREATE INDEX activity_by_domain ON activity (account_id, domain, received_at)');
    },
  },
  {
    version: 5,
    why: 'fair claims: each delivery names its account, and due work is indexed by account, so claims go round-robin across accounts',
    async up(q) {
      await q.query('ALTER TABLE deliveries ADD COLUMN account_id TEXT');
      await q.query('UPDATE deliveries SET account_id = (SELECT e.account_id FROM events e WHERE e.id = deliveries.event_id)');
      await q.query('DROP INDEX deliveries_due');
      await q.query('CREATE INDEX deliveries_due ON deliveries (status, account_id, next_at)');
    },
  },
  {
    version: 6,
    why: 'account signals judged on what happened: each demo view indexed with its person (email without +tag), demo and viewing time; internal viewers dropped',
    async up(q) {
      await q.query('ALTER TABLE activity ADD COLUMN person TEXT');
      await q.query('ALTER TABLE activity ADD COLUMN demo TEXT');
      await q.query('ALTER TABLE activity ADD COLUMN occurred_at BIGINT');
      // The rows indexed so far, derived again from their stored bytes with today's rules.
      const rows = await q.query<{ event_id: string; provider: string; event: string; body: string; received_at: string | number }>(
        'SELECT a.event_id, e.provider, e.event, e.body, a.received_at FROM activity a JOIN events e ON e.id = a.event_id',
      );
      for (const r of rows) {
        const act = activityOfStored(r.provider as ProviderKey, r.event, r.body);
        if (!act) await q.query('DELETE FROM activity WHERE event_id = $1', [r.event_id]);
        else await q.query('UPDATE activity SET domain = $1, person = $2, demo = $3, occurred_at = $4 WHERE event_id = $5', [act.domain, act.person, act.demo, act.occurredAt ?? Number(r.received_at), r.event_id]);
      }
      await q.query('DROP INDEX activity_by_domain');
      await q.query('CREATE INDEX activity_by_company ON activity (account_id, domain, occurred_at, event_id)');
    },
  },
  {
    version: 7,
    why: 'operators know at the first failure: subscription health, alerts to a Slack-compatible URL, replays and manual retries marked, the URL the relay serves for the CLI',
    async up(q) {
      // Health: failing from the first failed attempt after a success (or none), until the next success.
      await q.query('ALTER TABLE hooks ADD COLUMN failing_since BIGINT');
      await q.query('ALTER TABLE hooks ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0');
      // Given-up deliveries not yet told, and when they last were (at most one alert an hour).
      await q.query('ALTER TABLE hooks ADD COLUMN given_up_unreported INTEGER NOT NULL DEFAULT 0');
      await q.query('ALTER TABLE hooks ADD COLUMN given_up_alert_at BIGINT');
      await q.query('ALTER TABLE accounts ADD COLUMN alert_url TEXT');
      // `replay` for a delivery made by a replay (vendor deliveries have none); manual retries counted.
      await q.query('ALTER TABLE deliveries ADD COLUMN origin TEXT');
      await q.query('ALTER TABLE deliveries ADD COLUMN manual_retries INTEGER NOT NULL DEFAULT 0');
      await q.query(`CREATE TABLE alerts (
         id TEXT PRIMARY KEY,
         account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
         hook_id TEXT,
         type TEXT NOT NULL,
         payload TEXT NOT NULL,
         status TEXT NOT NULL,
         attempts INTEGER NOT NULL DEFAULT 0,
         next_at BIGINT NOT NULL,
         locked_until BIGINT,
         last_error TEXT,
         created_at BIGINT NOT NULL,
         updated_at BIGINT NOT NULL)`);
      await q.query('CREATE INDEX alerts_due ON alerts (status, next_at)');
      await q.query('CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    },
  },
  {
    version: 8,
    why: 'the ack writes the event and a 16-byte dedup key only; the activity index and the fan-out follow from the event log by sequence number (a cursor), once per event and subscription',
    async up(q, dialect) {
      // The event log is read by sequence: SQLite's seq is the rowid, PostgreSQL's needs an index.
      if (dialect === 'postgres') await q.query('CREATE INDEX events_by_seq ON events (seq)');
      // The dedup key: 16 bytes of SHA-256 over account, identity and body, unique on its own
      // (a 64-character hex key beside the account id made the largest index of the ack).
      await q.query(`ALTER TABLE events ADD COLUMN dkey ${dialect === 'postgres' ? 'BYTEA' : 'BLOB'}`);
      for (let after = -1; ; ) {
        const rows = await q.query<{ seq: number | string; account_id: string; identity: string; body: string }>(
          'SELECT seq, account_id, identity, body FROM events WHERE seq > $1 ORDER BY seq LIMIT 500',
          [after],
        );
        if (rows.length === 0) break;
        // One statement per 500 events (one each took PostgreSQL about 2 minutes per million).
        const cast = (n: number, type: string) => (dialect === 'postgres' ? `$${n}::${type}` : `$${n}`);
        await q.query(
          `UPDATE events SET dkey = v.column2 FROM (VALUES ${rows.map((_, i) => `(${cast(2 * i + 1, 'bigint')}, ${cast(2 * i + 2, 'bytea')})`).join(', ')}) AS v WHERE events.seq = v.column1`,
          rows.flatMap((r) => [Number(r.seq), dedupKey(r.account_id, r.identity, r.body)]),
        );
        after = Number(rows[rows.length - 1].seq);
      }
      if (dialect === 'postgres') await q.query('ALTER TABLE events ALTER COLUMN dkey SET NOT NULL');
      await q.query('DROP INDEX events_dedup');
      await q.query('ALTER TABLE events DROP COLUMN dedup_key');
      await q.query('CREATE UNIQUE INDEX events_by_dkey ON events (dkey)');
      // Once per event and subscription: a fan-out row has replay 0, each replay the next number.
      await q.query('ALTER TABLE deliveries ADD COLUMN replay INTEGER NOT NULL DEFAULT 0');
      // (Rows from before replays were marked may repeat an event and subscription: numbered too.)
      await q.query(
        `UPDATE deliveries SET replay = x.n FROM (
           SELECT id, row_number() OVER (PARTITION BY event_id, hook_id ORDER BY origin IS NOT NULL, created_at, id) - 1 AS n FROM deliveries) x
         WHERE deliveries.id = x.id AND x.n > 0`,
      );
      await q.query('DROP INDEX deliveries_by_event');
      await q.query('CREATE UNIQUE INDEX deliveries_by_event ON deliveries (event_id, hook_id, replay)');
      // Every event stored so far was indexed and fanned out when it was stored.
      await q.query('CREATE TABLE derive_cursor (id INTEGER PRIMARY KEY, seq BIGINT NOT NULL)');
      await q.query('INSERT INTO derive_cursor (id, seq) SELECT 1, COALESCE(MAX(seq), 0) FROM events');
    },
  },
];

export const SCHEMA_V1 = [
  `CREATE TABLE IF NOT EXISTS accounts (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     api_key_hash TEXT NOT NULL UNIQUE,
     created_at BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS inbound_tokens (
     token TEXT PRIMARY KEY,
     account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
     provider TEXT NOT NULL,
     UNIQUE (account_id, provider))`,
  `CREATE TABLE IF NOT EXISTS hooks (
     id TEXT PRIMARY KEY,
     account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
     event TEXT NOT NULL,
     target_url TEXT NOT NULL,
     created_at BIGINT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS hooks_by_account_event ON hooks (account_id, event)`,
  `CREATE TABLE IF NOT EXISTS events (
     id TEXT PRIMARY KEY,
     account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
     provider TEXT NOT NULL,
     event TEXT NOT NULL,
     identity TEXT NOT NULL,
     received_at BIGINT NOT NULL,
     headers TEXT NOT NULL,
     body TEXT NOT NULL,
     UNIQUE (account_id, identity))`,
  `CREATE INDEX IF NOT EXISTS events_by_account_time ON events (account_id, provider, received_at)`,
  `CREATE INDEX IF NOT EXISTS events_by_time ON events (received_at)`,
  `CREATE TABLE IF NOT EXISTS deliveries (
     id TEXT PRIMARY KEY,
     event_id TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
     hook_id TEXT,
     target_url TEXT NOT NULL,
     status TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_at BIGINT NOT NULL,
     locked_by TEXT,
     locked_until BIGINT,
     last_status INTEGER,
     last_error TEXT,
     created_at BIGINT NOT NULL,
     updated_at BIGINT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_at)`,
  `CREATE INDEX IF NOT EXISTS deliveries_by_event ON deliveries (event_id)`,
];

/** Which subscriptions an event goes to: its exact name, its provider's `*`, and for a test-only event type every subscription of the provider. */
export function matchingPatterns(provider: ProviderKey, event: string): { exact: string[]; anyOfProvider: boolean } {
  const eventType = event.slice(provider.length + 1);
  return {
    exact: [event, `${provider}.*`],
    anyOfProvider: PROVIDERS[provider].testEventTypes.includes(eventType),
  };
}

export class Store {
  constructor(readonly db: Db) {}

  /**
   * Brings the schema to the newest version. Safe for several relay processes starting at
   * once: PostgreSQL takes an advisory lock, SQLite's BEGIN IMMEDIATE takes the write lock.
   */
  /** Brings the schema to the newest version (or, for the migration tests, to `upTo`). */
  async migrate(upTo = Infinity): Promise<void> {
    const { db } = this;
    await db.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
    const current = async (q: Queryable) => Number((await q.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations'))[0].v ?? 0);
    if ((await current(db)) >= Math.min(upTo, MIGRATIONS[MIGRATIONS.length - 1].version)) return;
    // SQLite rebuilds tables in a migration: foreign keys off meanwhile (only outside a transaction).
    if (db.dialect === 'sqlite') await db.query('PRAGMA foreign_keys = OFF');
    try {
      await db.tx(async (q) => {
        if (db.dialect === 'postgres') await q.query('SELECT pg_advisory_xact_lock(7201542)');
        const from = await current(q);
        for (const m of MIGRATIONS) {
          if (m.version <= from || m.version > upTo) continue;
          await m.up(q, db.dialect);
          await q.query(`INSERT INTO schema_migrations (version, applied_at) VALUES ($1, ${db.nowSql})`, [m.version]);
        }
      });
    } finally {
      if (db.dialect === 'sqlite') await db.query('PRAGMA foreign_keys = ON');
    }
  }

  async ping(): Promise<void> {
    await this.db.query('SELECT 1 AS ok');
  }

  close(): Promise<void> {
    return this.db.close();
  }

  // Accounts ---------------------------------------------------------------------------

  /** Creates an account; the API key is returned once and stored only as a hash. */
  async createAccount(name: string): Promise<{ account: Account; apiKey: string; tokens: Record<ProviderKey, string> }> {
    const account = { id: newId('acc'), name };
    const apiKey = `dh_${randomBytes(24).toString('base64url')}`;
    const tokens = Object.fromEntries(PROVIDER_KEYS.map((p) => [p, randomBytes(24).toString('base64url')])) as Record<ProviderKey, string>;
    await this.db.tx(async (q) => {
      await q.query('INSERT INTO accounts (id, name, api_key_hash, created_at) VALUES ($1, $2, $3, $4)', [account.id, name, sha256(apiKey), Date.now()]);
      for (const p of PROVIDER_KEYS) {
        await q.query('INSERT INTO inbound_tokens (token, account_id, provider) VALUES ($1, $2, $3)', [tokens[p], account.id, p]);
      }
    });
    return { account, apiKey, tokens };
  }

  async countAccounts(): Promise<number> {
    const [row] = await this.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM accounts');
    return Number(row.n);
  }

  async accountByApiKey(apiKey: string): Promise<Account | null> {
    const [row] = await this.db.query<Account>('SELECT id, name FROM accounts WHERE api_key_hash = $1 AND disabled_at IS NULL', [sha256(apiKey)]);
    return row ?? null;
  }

  /** The account an inbound URL belongs to: its current token, or a rotated one still in its overlap. */
  async accountByToken(provider: string, token: string): Promise<Account | null> {
    const [row] = await this.db.query<Account>(
      `SELECT a.id, a.name FROM inbound_tokens t JOIN accounts a ON a.id = t.account_id
         WHERE t.token = $1 AND t.provider = $2 AND a.disabled_at IS NULL
       UNION ALL
       SELECT a.id, a.name FROM retired_tokens r JOIN accounts a ON a.id = r.account_id
         WHERE r.token = $1 AND r.provider = $2 AND r.valid_until > ${this.db.nowSql} AND a.disabled_at IS NULL`,
      [token, provider],
    );
    return row ?? null;
  }

  /**
   * The account's inbound token for every vendor the relay knows. An account made before a
   * vendor was added has none for it: one is minted on this first need (concurrent calls agree
   * on one, the first stored), so its URL is never `…/undefined`.
   */
  async inboundTokens(accountId: string, q: Queryable = this.db): Promise<Record<string, string>> {
    const read = async () =>
      Object.fromEntries((await q.query<{ provider: string; token: string }>('SELECT provider, token FROM inbound_tokens WHERE account_id = $1', [accountId])).map((r) => [r.provider, r.token]));
    const tokens = await read();
    const missing = PROVIDER_KEYS.filter((p) => !tokens[p]);
    if (missing.length === 0) return tokens;
    for (const p of missing) {
      await q.query('INSERT INTO inbound_tokens (token, account_id, provider) VALUES ($1, $2, $3) ON CONFLICT (account_id, provider) DO NOTHING', [randomBytes(24).toString('base64url'), accountId, p]);
    }
    return read();
  }

  // Subscriptions ----------------------------------------------------------------------

  /** Subscribes; throws HookLimit when the account already holds `max` subscriptions. */
  async createHook(accountId: string, event: string, targetUrl: string, max = Number.MAX_SAFE_INTEGER): Promise<Hook> {
    const now = Date.now();
    const hook = { id: newId('hook'), event, target_url: targetUrl, created_at: iso(now) };
    const rows = await this.db.query(
      `INSERT INTO hooks (id, account_id, event, target_url, created_at)
       SELECT $1, $2, $3, $4, $5 WHERE (SELECT COUNT(*) FROM hooks WHERE account_id = $2) < $6 RETURNING id`,
      [hook.id, accountId, event, targetUrl, now, max],
    );
    if (rows.length === 0) throw new HookLimit(max);
    return hook;
  }

  /**
   * Deletes an account's hook; false when it is not this account's. When this resolves nothing
   * more is sent to it: its queued deliveries are cancelled, and an attempt already in flight
   * (claimed before the delete) is waited for, up to `inflightWaitMs` (the lease: after it the
   * attempt is over or its process gone). Claims and fan-outs lock the hooks they use, so on
   * PostgreSQL the delete waits for those that read the hook before it went, and then sees
   * their deliveries.
   */
  async deleteHook(accountId: string, id: string, inflightWaitMs = 0): Promise<boolean> {
    const deleted = await this.db.tx(async (q) => {
      const rows = await q.query('DELETE FROM hooks WHERE id = $1 AND account_id = $2 RETURNING id', [id, accountId]);
      if (rows.length === 0) return false;
      await cancelPending(q, this.db.nowSql, 'hook_id = $1', [id], 'subscription deleted', true);
      return true;
    });
    if (!deleted) return false;
    await this.waitForInflight('hook_id = $1', [id], inflightWaitMs);
    await cancelPending(this.db, this.db.nowSql, 'hook_id = $1', [id], 'subscription deleted', false);
    return true;
  }

  /** Waits until no delivery matching `where` is leased (an attempt in flight), up to `ms`. */
  async waitForInflight(where: string, params: unknown[], ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const [r] = await this.db.query<{ n: number }>(
        `SELECT COUNT(*) AS n FROM deliveries WHERE ${where} AND status = 'pending' AND locked_until IS NOT NULL AND locked_until >= ${this.db.nowSql} AND locked_by <> '${PAUSED}'`,
        params,
      );
      if (Number(r.n) === 0 || Date.now() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  // Events -----------------------------------------------------------------------------

  /**
   * Stores a batch of inbound events in one transaction (group commit): the event rows and
   * their dedup keys, nothing else, so the ack waits for as little as it can. A vendor retry
   * (same identity, same bytes) is reported duplicate. When this resolves, every event in the
   * batch is durable; when it throws, none is (the caller retries the members one by one). The
   * activity index and the fan-out follow from the stored events (`derive`).
   */
  async ingest(all: InboundItem[]): Promise<IngestResult[]> {
    if (all.length === 0) return [];
    for (const item of all) {
      if (item.identity.length > MAX_IDENTITY_CHARS) throw new RangeError(`event identity longer than ${MAX_IDENTITY_CHARS} characters`);
    }
    const now = Date.now();
    if (this.db.dialect === 'postgres') return this.ingestOneStatement(all, now);
    return this.db.tx(async (q) => {
      // 0. Tokens still valid now (current, or rotated and within their overlap; account not
      //    disabled): an event on any other token is refused, not stored.
      const tokens = [...new Set(all.map((i) => i.token).filter((t): t is string => t !== undefined))];
      const valid = new Set<string>();
      for (const chunk of chunks(tokens, 200)) {
        const list = chunk.map((_, i) => `$${i + 1}`).join(', ');
        const rows = await q.query<{ token: string }>(
          `SELECT t.token FROM inbound_tokens t JOIN accounts a ON a.id = t.account_id WHERE t.token IN (${list}) AND a.disabled_at IS NULL
           UNION ALL
           SELECT r.token FROM retired_tokens r JOIN accounts a ON a.id = r.account_id
             WHERE r.token IN (${list}) AND r.valid_until > ${this.db.nowSql} AND a.disabled_at IS NULL`,
          chunk,
        );
        for (const r of rows) valid.add(r.token);
      }
      const items = all.filter((i) => i.token === undefined || valid.has(i.token));
      const stored = await this.ingestValid(q, items, now);
      let k = 0;
      return all.map((i) => (i.token === undefined || valid.has(i.token) ? stored[k++] : { id: '', duplicate: false, gone: true as const }));
    });
  }

  /**
   * PostgreSQL: the whole of `ingest` (token check, insert, duplicates found) as one statement:
   * a batch costs one round trip and one commit. The same rules as the SQLite path, which the
   * relay tests run on both stores.
   */
  private async ingestOneStatement(all: InboundItem[], now: number): Promise<IngestResult[]> {
    const keys = all.map((item) => dedupKey(item.accountId, item.identity, item.body));
    const ids = all.map(() => newId('evt'));
    const col = <T>(f: (item: InboundItem) => T) => all.map(f);
    const rows = await this.db.query<{ valid: boolean; inserted: boolean; existing: string | null }>(
      `WITH input AS (
         -- The ingest lock, shared, taken per row before any sequence number is: \`derive\` takes
         -- it alone to know which numbers are settled (see there).
         SELECT x.* FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::text[], $8::text[], $9::text[])
           WITH ORDINALITY AS x(id, account_id, provider, event, identity, dkey, headers, body, token, ord)
           CROSS JOIN LATERAL (SELECT pg_advisory_xact_lock_shared(${INGEST_LOCK}, hashtext(current_schema()) + 0 * x.ord::int)) l
       ), valid AS (
         SELECT i.* FROM input i
         WHERE i.token IS NULL
            OR EXISTS (SELECT 1 FROM inbound_tokens t JOIN accounts a ON a.id = t.account_id WHERE t.token = i.token AND a.disabled_at IS NULL)
            OR EXISTS (SELECT 1 FROM retired_tokens r JOIN accounts a ON a.id = r.account_id
                       WHERE r.token = i.token AND r.valid_until > ${this.db.nowSql} AND a.disabled_at IS NULL)
       ), ins AS (
         INSERT INTO events (id, account_id, provider, event, identity, dkey, received_at, headers, body)
         SELECT id, account_id, provider, event, identity, dkey, $10, headers, body FROM valid ORDER BY ord
         ON CONFLICT (dkey) DO NOTHING
         RETURNING id
       )
       SELECT v.id IS NOT NULL AS valid, EXISTS (SELECT 1 FROM ins WHERE ins.id = i.id) AS inserted,
              -- Per input row, so it is an index lookup whatever the planner thinks of the table's size.
              (SELECT e.id FROM events e WHERE e.dkey = i.dkey) AS existing
       FROM input i
       LEFT JOIN valid v ON v.id = i.id
       ORDER BY i.ord`,
      [
        ids,
        col((i) => i.accountId),
        col((i) => i.provider),
        col((i) => i.event),
        col((i) => i.identity),
        keys,
        col((i) => JSON.stringify(i.headers)),
        col((i) => i.body),
        col((i) => i.token ?? null),
        now,
      ],
      true,
    );
    // A statement does not see its own inserts: a repeat within the batch is a duplicate of the
    // batch's first copy, found here rather than in the table.
    const firstInBatch = new Map<string, string>();
    return rows.map((r, i) => {
      if (!r.valid) return { id: '', duplicate: false, gone: true as const };
      const k = keys[i].toString('hex');
      if (r.inserted) {
        firstInBatch.set(k, ids[i]);
        this.handOff(ids[i], all[i].activity);
        return { id: ids[i], duplicate: false };
      }
      return { id: r.existing ?? firstInBatch.get(k) ?? '', duplicate: true };
    });
  }

  private async ingestValid(q: Queryable, items: InboundItem[], now: number): Promise<IngestResult[]> {
    if (items.length === 0) return [];
    const keys = items.map((item) => dedupKey(item.accountId, item.identity, item.body));
    // 1. Every event of the batch in one statement; vendor retries (same key) are skipped.
    //    Rows go in arrival order, so the sequence orders events within a batch too. That is
    //    all the ack writes: the activity index and the fan-out follow (`derive`).
    const ids = items.map(() => newId('evt'));
    const inserted = new Map<string, string>(); // key (hex) → new event id
    const rows = items.map((item, i) => ({ item, id: ids[i], key: keys[i] }));
    for (const chunk of chunks(rows, 400)) {
      const got = await q.query<{ id: string; dkey: Uint8Array }>(
        `INSERT INTO events (id, account_id, provider, event, identity, dkey, received_at, headers, body)
         VALUES ${values(chunk.length, 9)}
         ON CONFLICT (dkey) DO NOTHING RETURNING id, dkey`,
        chunk.flatMap(({ item, id, key }) => [id, item.accountId, item.provider, item.event, item.identity, key, now, JSON.stringify(item.headers), item.body]),
      );
      for (const r of got) inserted.set(Buffer.from(r.dkey).toString('hex'), r.id);
    }
    // 2. Which are duplicates, and of which stored event.
    const results: Array<{ id: string; duplicate: boolean }> = [];
    const missing: Buffer[] = [];
    items.forEach((item, i) => {
      const id = inserted.get(keys[i].toString('hex'));
      if (id === ids[i]) {
        results.push({ id, duplicate: false });
        this.handOff(id, item.activity);
      } else {
        results.push({ id: id ?? '', duplicate: true });
        if (!id) missing.push(keys[i]);
      }
    });
    if (missing.length > 0) {
      const existing = new Map<string, string>();
      for (const chunk of chunks(missing, 400)) {
        const got = await q.query<{ id: string; dkey: Uint8Array }>(`SELECT id, dkey FROM events WHERE dkey IN (${chunk.map((_, i) => `$${i + 1}`).join(', ')})`, chunk);
        for (const r of got) existing.set(Buffer.from(r.dkey).toString('hex'), r.id);
      }
      items.forEach((_, i) => {
        if (results[i].id === '') results[i].id = existing.get(keys[i].toString('hex')) ?? '';
      });
    }
    return results;
  }

  /**
   * What the HTTP layer already derived of a fresh event (its demo activity), kept in memory
   * for `derive` so it need not parse the body again. Only a shortcut: the store is the truth,
   * and an event not found here (another process's, or stored before a restart) is derived
   * from its stored bytes.
   */
  private readonly handoff = new Map<string, ActivityIndex | null>();
  private handOff(id: string, activity: ActivityIndex | undefined): void {
    // Bounded: entries another process derived first are never taken here; the oldest go.
    if (this.handoff.size >= 20_000) this.handoff.delete(this.handoff.keys().next().value!);
    this.handoff.set(id, activity ?? null);
  }

  /**
   * Builds what follows from stored events, behind the ack: the activity index and the fan-out
   * to the subscriptions that existed when the event arrived, for the events after the cursor,
   * in sequence order, up to `limit` of them, in one transaction that also moves the cursor.
   * The cursor moves with the rows it covers, so a crash anywhere leaves each event either
   * derived or not, and the next call (any process's) takes up from there; a unique index on
   * (event, subscription) makes a second fan-out of one event impossible besides. An
   * unsubscribe stays final: a deleted subscription is no longer there to match.
   */
  async derive(limit = 1000): Promise<{ events: number; deliveries: number; handed: number }> {
    // Nothing stored past the cursor: one read, no lock taken (a poll of an idle relay).
    if (!(await this.behind())) return { events: 0, deliveries: 0, handed: 0 };
    const offer = this.leaseOffer;
    const leasedAt = performance.now();
    const taken: string[] = [];
    let r: { events: number; deliveries: number; handed: Claimed[] };
    try {
      r = await this.deriveIn(limit, offer ? { offer, taken } : null);
    } catch (err) {
      offer?.untake(taken);
      throw err;
    }
    if (offer && r.handed.length) offer.give(r.handed, leasedAt);
    return { events: r.events, deliveries: r.deliveries, handed: r.handed.length };
  }

  /** The deliverer that takes fresh deliveries leased at insert (see LeaseOffer); null: none in this process. */
  private leaseOffer: LeaseOffer | null = null;
  offerLeases(offer: LeaseOffer | null): void {
    this.leaseOffer = offer;
  }

  private async deriveIn(limit: number, lease: { offer: LeaseOffer; taken: string[] } | null): Promise<{ events: number; deliveries: number; handed: Claimed[] }> {
    const pg = this.db.dialect === 'postgres';
    const none = { events: 0, deliveries: 0, handed: [] };
    // PostgreSQL: a sequence number is taken before its transaction commits, so a later number
    // can be visible while an earlier one is not yet. Every ingest holds a shared lock from
    // before it takes numbers until it commits; taking the lock exclusively for a moment
    // waits those out, and every number handed out until then is settled (stored or never).
    let upTo = Number.MAX_SAFE_INTEGER;
    if (pg) {
      upTo = await this.db.tx(async (q) => {
        // A process that stalls here (a pause, a stop) must not hold every ingest up: the
        // database ends such a session after 5 s, and the lock with it.
        await q.query(`SET LOCAL idle_in_transaction_session_timeout = '5s'`);
        await q.query(`SELECT pg_advisory_xact_lock(${INGEST_LOCK}, hashtext(current_schema()))`);
        const [r] = await q.query<{ last_value: number | string; is_called: boolean }>(`SELECT last_value, is_called FROM ${await this.seqName()}`);
        return r.is_called ? Number(r.last_value) : 0;
      });
    }
    return this.db.tx(async (q) => {
      // FOR UPDATE: one deriver at a time across processes (SQLite has one writer anyway); one
      // that stalls holding it is ended by the database after 5 s, so the others take over.
      if (pg) await q.query(`SET LOCAL idle_in_transaction_session_timeout = '5s'`);
      const [c] = await q.query<{ seq: number | string }>(`SELECT seq FROM derive_cursor WHERE id = 1${pg ? ' FOR UPDATE' : ''}`);
      const from = Number(c.seq);
      if (from >= upTo) return none;
      const rows = await q.query<{ seq: number | string; id: string; account_id: string; provider: ProviderKey; event: string; received_at: number | string }>(
        `SELECT seq, id, account_id, provider, event, received_at FROM events WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3`,
        [from, upTo, limit],
        true,
      );
      if (rows.length === 0) return none;
      // Demo activity: handed off by this process, or derived again from the stored bytes.
      const unknown = rows.filter((r) => !this.handoff.has(r.id)).map((r) => r.id);
      const derived = new Map<string, ActivityIndex | null>();
      for (const chunk of chunks(unknown, 200)) {
        const got = await q.query<{ id: string; provider: ProviderKey; event: string; body: string }>(
          `SELECT id, provider, event, body FROM events WHERE id IN (${chunk.map((_, i) => `$${i + 1}`).join(', ')})`,
          chunk,
        );
        for (const e of got) derived.set(e.id, activityOfStored(e.provider, e.event, e.body));
      }
      const fresh = rows.map((r) => {
        const activity = this.handoff.has(r.id) ? this.handoff.get(r.id)! : (derived.get(r.id) ?? null);
        return { id: r.id, receivedAt: Number(r.received_at), item: { accountId: r.account_id, provider: r.provider, event: r.event, activity } };
      });
      const active = fresh.filter((f) => f.item.activity);
      for (const chunk of chunks(active, 400)) {
        await q.query(
          `INSERT INTO activity (event_id, account_id, domain, email, is_test, received_at, person, demo, occurred_at) VALUES ${values(chunk.length, 9)}
           ON CONFLICT (event_id) DO NOTHING`,
          chunk.flatMap(({ item, id, receivedAt }) => {
            const a = item.activity!;
            return [id, item.accountId, a.domain, a.email, a.isTest ? 1 : 0, receivedAt, a.person, a.demo, a.occurredAt ?? receivedAt];
          }),
        );
      }
      const { queued, leased } = await this.fanOut(q, fresh, null, lease);
      const last = Number(rows[rows.length - 1].seq);
      const moved = await q.query('UPDATE derive_cursor SET seq = $1 WHERE id = 1 AND seq = $2 RETURNING seq', [last, from]);
      if (moved.length !== 1) throw new Error('the derive cursor moved under a running derive');
      for (const r of rows) this.handoff.delete(r.id);
      if (leased.length === 0) return { events: rows.length, deliveries: queued, handed: [] };
      // The bytes of the events handed over with their leases (at most the deliverer's room).
      const events = await eventsById(q, [...new Set(leased.map((d) => d.event_id))]);
      const handed = leased.map((d) => {
        const e = events.get(d.event_id)!;
        return { ...d, attempts: 0, headers: e.headers, body: e.body, received_at: e.received_at };
      });
      return { events: rows.length, deliveries: queued, handed };
    });
  }

  /**
   * Derives whatever is stored but not yet derived, so a read that follows an ack (the
   * activity index, an event's deliveries) sees what the ack stored. One cheap read when
   * nothing is behind.
   */
  async settle(): Promise<void> {
    // Up to what was stored when the read began: under a steady inflow it does not chase new events.
    const { cursor, last } = await this.logEnds();
    if (last <= cursor) return;
    for (;;) {
      if ((await this.derive()).events === 0) return;
      if ((await this.logEnds()).cursor >= last) return;
    }
  }

  /** Whether an event is stored past the derive cursor. */
  private async behind(): Promise<boolean> {
    const { cursor, last } = await this.logEnds();
    return last > cursor;
  }

  /** The derive cursor and the last sequence number stored. */
  private async logEnds(): Promise<{ cursor: number; last: number }> {
    const [r] = await this.db.query<{ c: number | string; m: number | string | null }>('SELECT (SELECT seq FROM derive_cursor WHERE id = 1) AS c, (SELECT MAX(seq) FROM events) AS m', [], true);
    return { cursor: Number(r.c), last: r.m === null ? 0 : Number(r.m) };
  }

  private seqNameCache: string | null = null;
  private async seqName(): Promise<string> {
    if (!this.seqNameCache) {
      const [r] = await this.db.query<{ name: string }>(`SELECT pg_get_serial_sequence('events', 'seq') AS name`);
      this.seqNameCache = r.name;
    }
    return this.seqNameCache;
  }

  /**
   * Queues one delivery per matching subscription for each event (in the caller's transaction).
   * `activity`: anything truthy when the event is demo activity (it then reaches `demo.activity`
   * subscriptions). With `receivedAt` (the derive step), only subscriptions that existed when the
   * event arrived, and at most once per event and subscription (a repeat is skipped); a replay
   * adds a numbered delivery of its own.
   */
  private async fanOut(
    q: Queryable,
    fresh: Array<{ item: Pick<InboundItem, 'accountId' | 'provider' | 'event'> & { activity?: unknown }; id: string; receivedAt?: number }>,
    origin: 'replay' | null = null,
    lease: { offer: LeaseOffer; taken: string[] } | null = null,
  ): Promise<{ queued: number; leased: Array<Omit<Claimed, 'attempts' | 'headers' | 'body' | 'received_at'>> }> {
    if (fresh.length === 0) return { queued: 0, leased: [] };
    const pg = this.db.dialect === 'postgres';
    // The subscriptions of the accounts and providers involved (and of demo activity), matched here.
    const pairs = [...new Set(fresh.map((f) => `${f.item.accountId}|${f.item.provider}`))].map((p) => p.split('|'));
    const activityAccounts = [...new Set(fresh.filter((f) => f.item.activity).map((f) => f.item.accountId))];
    const params = [...pairs.flatMap(([account, provider]) => [account, `${provider}.%`]), ...activityAccounts];
    // PostgreSQL: the hooks read are locked (key share) until commit, so an unsubscribe waits
    // for this fan-out and then cancels what it queued (SQLite runs one transaction at a time).
    // Their accounts are share-locked too, as a claim locks them: a disable waits for this
    // fan-out, and then sees (and waits for) the deliveries it leased.
    const hooks = await q.query<{ id: string; account_id: string; event: string; target_url: string; created_at: number | string; live: boolean | number }>(
      `SELECT h.id, h.account_id, h.event, h.target_url, h.created_at, a.disabled_at IS NULL AS live FROM hooks h JOIN accounts a ON a.id = h.account_id WHERE ${[
        ...pairs.map((_, i) => `(h.account_id = $${2 * i + 1} AND h.event LIKE $${2 * i + 2})`),
        ...activityAccounts.map((_, i) => `(h.account_id = $${2 * pairs.length + i + 1} AND h.event = '${DEMO_ACTIVITY}')`),
      ].join(' OR ')}${pg ? ' FOR KEY SHARE OF h FOR SHARE OF a' : ''}`,
      params,
    );
    const deliveries: unknown[][] = [];
    for (const { item, id, receivedAt } of fresh) {
      const m = matchingPatterns(item.provider, item.event);
      for (const h of hooks) {
        if (h.account_id !== item.accountId) continue;
        if (receivedAt !== undefined && Number(h.created_at) > receivedAt) continue; // subscribed after the event arrived
        if (h.event === DEMO_ACTIVITY ? item.activity : h.event.startsWith(`${item.provider}.`) && (m.anyOfProvider || m.exact.includes(h.event))) {
          // Leased at insert to the deliverer that has room (never for a disabled account).
          const leased = lease !== null && Boolean(h.live) && lease.offer.take(h.account_id);
          if (leased) lease.taken.push(h.account_id);
          deliveries.push([newId('dlv'), id, h.id, h.target_url, h.account_id, leased ? lease.offer.worker : null]);
        }
      }
    }
    // The fan-out, in one statement per thousand deliveries, due now by the database clock.
    const replay = origin ? '(SELECT COALESCE(MAX(x.replay), 0) + 1 FROM deliveries x WHERE x.event_id = v.column2 AND x.hook_id = v.column3)' : '0';
    const leaseMs = lease ? lease.offer.leaseMs : 0;
    let queued = 0;
    const leased: Array<Omit<Claimed, 'attempts' | 'headers' | 'body' | 'received_at'>> = [];
    for (const chunk of chunks(deliveries, 1000)) {
      const rows = await q.query<{ id: string; event_id: string; hook_id: string; target_url: string; account_id: string; locked_by: string | null }>(
        `INSERT INTO deliveries (id, event_id, hook_id, target_url, account_id, status, attempts, next_at, window_start, created_at, updated_at, replay, locked_by, locked_until${origin ? ', origin' : ''})
         SELECT v.column1, v.column2, v.column3, v.column4, v.column5, 'pending', 0, t.now, t.now, t.now, t.now, ${replay}, v.column6,
                CASE WHEN v.column6 IS NULL THEN NULL ELSE t.now + ${Math.trunc(leaseMs)} END${origin ? `, '${origin}'` : ''}
         FROM (VALUES ${values(chunk.length, 6)}) AS v, (SELECT ${this.db.nowSql} AS now) AS t
         WHERE true ON CONFLICT (event_id, hook_id, replay) DO NOTHING RETURNING id, event_id, hook_id, target_url, account_id, locked_by`,
        chunk.flat(),
      );
      queued += rows.length;
      for (const r of rows) if (r.locked_by !== null) leased.push({ id: r.id, event_id: r.event_id, hook_id: r.hook_id, target_url: r.target_url, account_id: r.account_id });
    }
    if (lease && leased.length < lease.taken.length) {
      // Taken for deliveries that were there already (a second derive of an event): given back.
      const stored = new Map<string, number>();
      for (const d of leased) stored.set(d.account_id, (stored.get(d.account_id) ?? 0) + 1);
      const back: string[] = [];
      for (const a of lease.taken) {
        const n = stored.get(a) ?? 0;
        if (n > 0) stored.set(a, n - 1);
        else back.push(a);
      }
      lease.offer.untake(back);
      lease.taken.length = 0;
      lease.taken.push(...leased.map((d) => d.account_id));
    }
    return { queued, leased };
  }

  /** Sends a stored event again to the account's current matching subscriptions. Null: not this account's. */
  async replay(accountId: string, eventId: string): Promise<number | null> {
    await this.settle(); // its activity index row, if it has one
    return this.db.tx(async (q) => {
      const [e] = await q.query<{ provider: ProviderKey; event: string; domain: string | null }>(
        'SELECT e.provider, e.event, a.domain FROM events e LEFT JOIN activity a ON a.event_id = e.id WHERE e.id = $1 AND e.account_id = $2',
        [eventId, accountId],
      );
      if (!e) return null;
      // Demo activity if the index holds it (its company).
      return (await this.fanOut(q, [{ item: { accountId, provider: e.provider, event: e.event, activity: e.domain }, id: eventId }], 'replay')).queued;
    });
  }

  // Delivery ---------------------------------------------------------------------------

  /**
   * Claims up to `limit` due deliveries for `worker` for `leaseMs`, by the database clock. A
   * delivery whose lease ran out (its process died) is due again, so another process takes it.
   *
   * Fair: claims go round-robin across accounts (each account's oldest due work first, found by
   * an index seek per account with pending work), and within an account across its
   * subscriptions; an account never holds more than `perAccount` of this worker's slots
   * (`inflight`: what it holds now), so one account's dead target or bulk replay leaves the
   * others their share. Only live subscriptions of enabled accounts are claimed; PostgreSQL
   * locks (key share) the subscriptions claimed for until commit, so an unsubscribe running at
   * the same time either goes first (nothing claimed) or waits and sees the lease.
   */
  async claim(
    worker: string,
    limit: number,
    leaseMs: number,
    fair: { perAccount?: number; inflight?: Map<string, number>; capped?: Set<string> } = {},
  ): Promise<Claimed[]> {
    const pg = this.db.dialect === 'postgres';
    // An account's share of this worker's slots (what it may hold in flight), not of this claim.
    const share = Math.max(1, fair.perAccount ?? limit);
    // 1. Candidates: each enabled account's oldest due work of live subscriptions, found by an
    //    index seek per account with pending work (a loose index scan over `deliveries_due`),
    //    twice its share so the round-robin across its subscriptions has some to choose from.
    //    The clock is read once (it is volatile: per row it would be read for every row).
    const due = `z.status = 'pending' AND z.account_id = acc.id AND z.next_at <= (SELECT now FROM t) AND (z.locked_until IS NULL OR z.locked_until < (SELECT now FROM t))
                 AND EXISTS (SELECT 1 FROM hooks h WHERE h.id = z.hook_id)`;
    const oldest = `SELECT z.id, z.account_id, z.hook_id FROM deliveries z WHERE ${due} ORDER BY z.next_at LIMIT $1`;
    const candidatesSql = `WITH RECURSIVE t(now) AS MATERIALIZED (SELECT ${this.db.nowSql}),
         acc(id) AS (
           SELECT MIN(account_id) FROM deliveries WHERE status = 'pending'
           UNION ALL
           SELECT (SELECT MIN(d.account_id) FROM deliveries d WHERE d.status = 'pending' AND d.account_id > acc.id) FROM acc WHERE acc.id IS NOT NULL
         )
         SELECT y.id, y.account_id, y.hook_id
         FROM acc JOIN accounts a ON a.id = acc.id AND a.disabled_at IS NULL
         ${pg ? `CROSS JOIN LATERAL (${oldest}) y` : `JOIN deliveries y ON y.id IN (SELECT id FROM (${oldest}))`}`;
    // 2. The round-robin: turns across accounts, and within an account across its
    //    subscriptions (oldest first within each); no account past its share of the slots.
    const allowance = (account: string) => share - (fair.inflight?.get(account) ?? 0);
    const pick = (candidates: Array<{ id: string; account_id: string; hook_id: string }>) => {
      const picked = roundRobin(candidates, limit, allowance);
      if (fair.capped) {
        // `capped`: the accounts that had due work left behind only because they hold their
        // share already (the caller looks again once one of them holds less).
        const chosen = new Set(picked);
        const left = new Map<string, number>();
        const took = new Map<string, number>();
        for (const c of candidates) {
          const m = chosen.has(c.id) ? took : left;
          m.set(c.account_id, (m.get(c.account_id) ?? 0) + 1);
        }
        for (const [account] of left) if ((took.get(account) ?? 0) >= allowance(account)) fair.capped.add(account);
      }
      return picked;
    };
    const now = this.db.nowSql;
    const toClaimed = (rows: any[], events: Map<string, { headers: Record<string, string>; body: string; received_at: number }>): Claimed[] =>
      rows.map((r) => ({
        id: r.id,
        account_id: r.account_id,
        event_id: r.event_id,
        hook_id: r.hook_id,
        target_url: r.target_url,
        attempts: Number(r.attempts),
        headers: r.headers !== undefined ? JSON.parse(r.headers) : events.get(r.event_id)!.headers,
        body: r.body !== undefined ? r.body : events.get(r.event_id)!.body,
        received_at: Number(r.received_at !== undefined ? r.received_at : events.get(r.event_id)!.received_at),
      }));
    if (pg) {
      // 3. The lease and the event bytes in one statement (two round trips a claim, no
      //    transaction): the lease is guarded again where it is taken, rows another worker holds
      //    are skipped, and an unsubscribe's cancel (or a disable's pause) takes the same row
      //    locks, so it either goes first (the row is no longer due, and this skips it) or waits
      //    for this statement and then sees the lease, and waits for the attempt. The account row
      //    is share-locked too: a delivery stored by an ingest that raced the disable (and so was
      //    not paused) is either claimed before the disable takes the account row (which then
      //    waits for the attempt) or seen with the account disabled (its newest version is read
      //    once locked), never claimed by a statement that read the account before the disable.
      const picked = pick(await this.db.query<{ id: string; account_id: string; hook_id: string }>(candidatesSql, [2 * Math.min(limit, share)], true));
      if (picked.length === 0) return [];
      const rows = await this.db.query<any>(
        `WITH leased AS (
           UPDATE deliveries SET locked_by = $1, locked_until = ${now} + $2, updated_at = ${now}
           WHERE id IN (
             SELECT d.id FROM deliveries d JOIN hooks h ON h.id = d.hook_id JOIN accounts a ON a.id = h.account_id
             WHERE d.id = ANY($3::text[]) AND a.disabled_at IS NULL AND d.status = 'pending' AND (d.locked_until IS NULL OR d.locked_until < ${now})
             FOR UPDATE OF d SKIP LOCKED FOR SHARE OF a SKIP LOCKED)
           RETURNING id, account_id, event_id, hook_id, target_url, attempts)
         SELECT l.*, e.headers, e.body, e.received_at FROM leased l JOIN events e ON e.id = l.event_id`,
        [worker, leaseMs, picked],
        true,
      );
      return toClaimed(rows, new Map());
    }
    // SQLite: one connection, so the three statements run as one transaction.
    return this.db.tx(async (q) => {
      const picked = pick(await q.query<{ id: string; account_id: string; hook_id: string }>(candidatesSql, [2 * Math.min(limit, share)]));
      if (picked.length === 0) return [];
      const rows = await q.query<any>(
        `UPDATE deliveries SET locked_by = $1, locked_until = ${now} + $2, updated_at = ${now}
         WHERE id IN (${picked.map((_, i) => `$${i + 3}`).join(', ')}) AND +status = 'pending' AND (locked_until IS NULL OR locked_until < ${now}) -- by id: the unary + keeps SQLite off the status index
           AND EXISTS (SELECT 1 FROM hooks h JOIN accounts a ON a.id = h.account_id WHERE h.id = deliveries.hook_id AND a.disabled_at IS NULL)
         RETURNING id, account_id, event_id, hook_id, target_url, attempts`,
        [worker, leaseMs, ...picked],
      );
      if (rows.length === 0) return [];
      return toClaimed(rows, await eventsById(q, [...new Set(rows.map((r) => r.event_id as string))]));
    });
  }

  /**
   * Records an attempt's outcome in one guarded statement: only while `worker` still holds the
   * lease and the delivery is still pending. An unsubscribe, a 410 or another worker's claim in
   * the meantime wins, and nothing is overwritten (a cancelled delivery never comes back).
   * A retry that would fall past the give-up window (counted from the delivery's creation or
   * its latest manual retry) becomes `given_up`.
   */
  async complete(id: string, worker: string, outcome: Outcome, giveUpMs: number, attempt?: AttemptRecord & { n: number }): Promise<Recorded> {
    return this.db.tx((q) => this.completeIn(q, { id, worker, outcome, giveUpMs, attempt }));
  }

  /**
   * Several attempts' outcomes in one transaction (one commit for the batch), each through the
   * same guarded statements as `complete`: a batch costs one disk sync instead of one each.
   */
  async completeMany(items: Completion[]): Promise<Recorded[]> {
    if (items.length === 0) return [];
    // PostgreSQL: the batch's guarded updates and attempt rows as one statement, one round trip
    // (a 410's unsubscribe, rare, takes the statement-by-statement path below). Each update
    // reports the input row that made it, so a second outcome for one delivery is not recorded.
    if (this.db.dialect === 'postgres' && items.every((c) => c.outcome.kind !== 'gone')) {
      const out = await this.completeOneStatement(items);
      // Each health change is its own guarded statement, so a crash between the two costs at
      // most a late health change, which the subscription's next outcome makes good.
      await this.recordHealth(this.db, items, out);
      return out;
    }
    return this.db.tx(async (q) => {
      const out: Recorded[] = [];
      for (const c of items) out.push(await this.completeIn(q, c));
      await this.recordHealth(q, items, out);
      return out;
    });
  }

  /**
   * Moves the subscriptions' health by the outcomes just recorded: failing from the first failed
   * attempt after a success, healthy again at the next success, with an alert queued at each
   * change (when the account has an alert URL) and given-up deliveries counted for the hourly
   * roll-up. Each change of state is one guarded statement, so two processes recording
   * outcomes of one subscription at once raise one alert, not two. A batch of successes to
   * healthy subscriptions costs one read.
   */
  private async recordHealth(q: Queryable, items: Completion[], out: Recorded[]): Promise<void> {
    const byHook = new Map<string, { fails: number; sawOk: boolean; lastError: string | null; givenUp: number }>();
    items.forEach((c, i) => {
      const r = out[i];
      if (!r.recorded || !c.hookId || c.outcome.kind === 'gone') return;
      const h = byHook.get(c.hookId) ?? { fails: 0, sawOk: false, lastError: null, givenUp: 0 };
      if (c.outcome.kind === 'delivered') {
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
    const failedIds = [...byHook].filter(([, h]) => h.fails > 0 || h.givenUp > 0).map(([id]) => id);
    const ids = [...byHook.keys()];
    const list = (xs: string[], from: number) => xs.map((_, i) => `$${i + from}`).join(', ');
    const rows = await q.query<{ id: string; account_id: string; event: string; target_url: string; failing_since: number | string | null; consecutive_failures: number; alert_url: string | null }>(
      `SELECT h.id, h.account_id, h.event, h.target_url, h.failing_since, h.consecutive_failures, a.alert_url FROM hooks h JOIN accounts a ON a.id = h.account_id
       WHERE h.id IN (${list(ids, 1)}) AND (h.failing_since IS NOT NULL${failedIds.length ? ` OR h.id IN (${list(failedIds, ids.length + 1)})` : ''})`,
      [...ids, ...failedIds],
    );
    const now = this.db.nowSql;
    for (const row of rows) {
      const h = byHook.get(row.id)!;
      const alert = (type: AlertType, extra: Record<string, unknown>) =>
        row.alert_url ? queueAlert(q, now, row.account_id, row.id, type, { subscription: { id: row.id, event: row.event, target_url: row.target_url }, ...extra }) : Promise.resolve();
      if (h.sawOk && row.failing_since !== null) {
        const back = await q.query(`UPDATE hooks SET failing_since = NULL, consecutive_failures = 0 WHERE id = $1 AND failing_since IS NOT NULL RETURNING id`, [row.id]);
        if (back.length) await alert('subscription.recovered', { since: new Date(Number(row.failing_since)).toISOString(), failed_attempts: Number(row.consecutive_failures) });
      }
      if (h.fails > 0) {
        const began = await q.query<{ failing_since: number | string }>(
          `UPDATE hooks SET failing_since = ${now}, consecutive_failures = $2 WHERE id = $1 AND failing_since IS NULL RETURNING failing_since`,
          [row.id, h.fails],
        );
        if (began.length) await alert('subscription.failing', { since: new Date(Number(began[0].failing_since)).toISOString(), last_error: h.lastError });
        else await q.query('UPDATE hooks SET consecutive_failures = consecutive_failures + $2 WHERE id = $1', [row.id, h.fails]);
      }
      if (h.givenUp > 0) await q.query('UPDATE hooks SET given_up_unreported = given_up_unreported + $2 WHERE id = $1', [row.id, h.givenUp]);
    }
  }

  private async completeOneStatement(items: Completion[]): Promise<Recorded[]> {
    const cols = items.map((c) => ({ ...outcomeColumns(c.outcome), c }));
    const rows = await this.db.query<{ recorded: boolean; status: DeliveryStatus | null; attempts: number | null }>(
      `WITH input AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::int[], $7::text[],
                              $8::text[], $9::int[], $10::bigint[], $11::int[], $12::int[], $13::text[], $14::text[])
           WITH ORDINALITY AS x(id, worker, status, delay, give_up, last_status, last_error,
                                att_id, att_n, att_started, att_duration, att_status, att_error, att_snippet, ord)
       ), t AS (SELECT ${this.db.nowSql} AS now),
       upd AS (
         UPDATE deliveries d SET
           status = CASE WHEN i.status = 'retry' THEN (CASE WHEN t.now + i.delay - d.window_start > i.give_up THEN 'given_up' ELSE 'pending' END) ELSE i.status END,
           attempts = d.attempts + 1, next_at = t.now + i.delay, locked_by = NULL, locked_until = NULL,
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
        cols.map(({ c }) => (c.attempt ? newId('att') : null)),
        cols.map(({ c }) => c.attempt?.n ?? null),
        cols.map(({ c }) => c.attempt?.startedAt ?? null),
        cols.map(({ c }) => c.attempt?.durationMs ?? null),
        cols.map(({ c }) => c.attempt?.statusCode ?? null),
        cols.map(({ c }) => c.attempt?.error ?? null),
        cols.map(({ c }) => c.attempt?.responseSnippet ?? null),
      ],
      true,
    );
    return rows.map((r) => (r.recorded ? { recorded: true, status: r.status!, attempts: Number(r.attempts) } : { recorded: false }));
  }

  private async completeIn(q: Queryable, { id, worker, outcome, giveUpMs, attempt }: Completion): Promise<Recorded> {
    const now = this.db.nowSql;
    const { status, delay, error } = outcomeColumns(outcome);
    {
      const rows = await q.query<{ hook_id: string | null; status: DeliveryStatus; attempts: number }>(
        `UPDATE deliveries SET
           status = CASE WHEN $3 = 'retry' THEN (CASE WHEN ${now} + $4 - window_start > $5 THEN 'given_up' ELSE 'pending' END) ELSE $3 END,
           attempts = attempts + 1, next_at = ${now} + $4, locked_by = NULL, locked_until = NULL,
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
        // REST hooks: 410 Gone means the subscriber is gone; stop delivering to it.
        await q.query('DELETE FROM hooks WHERE id = $1', [row.hook_id]);
        await cancelPending(q, now, 'hook_id = $1', [row.hook_id], 'HTTP 410 Gone from the subscriber');
      }
      return { recorded: true, status: row.status, attempts: Number(row.attempts) };
    }
  }

  /**
   * A company's stored demo activity, newest first by when it happened (ties by id): the raw
   * events (bytes and signature header), which the signal triggers verify themselves. `before`
   * (an event id of this company) pages on; null when it names none. An index range scan by
   * account, company and viewing time.
   */
  async activity(
    accountId: string,
    domain: string,
    f: { sinceMs?: number; untilMs?: number; limit: number; before?: string },
  ): Promise<ActivityEvent[] | null> {
    await this.settle();
    const where = ['a.account_id = $1', 'a.domain = $2'];
    const params: unknown[] = [accountId, domain];
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
    return rows.map((r) => ({ id: r.id, event: r.event, received_at: iso(Number(r.received_at)), occurred_at: iso(Number(r.occurred_at)), headers: JSON.parse(r.headers), body: r.body }));
  }

  /** Hands back one delivery this worker leased and did not attempt, so it is due again at once. */
  async releaseOne(id: string, worker: string): Promise<void> {
    await this.db.query('UPDATE deliveries SET locked_by = NULL, locked_until = NULL WHERE id = $1 AND locked_by = $2 AND status = $3', [id, worker, 'pending']);
  }

  /** Releases this worker's leases (graceful shutdown) so they are due at once elsewhere. */
  async release(worker: string): Promise<void> {
    await this.db.query('UPDATE deliveries SET locked_by = NULL, locked_until = NULL WHERE locked_by = $1 AND status = $2', [worker, 'pending']);
  }

  /**
   * Deletes events (and their deliveries) received before `cutoffMs`: payloads hold personal
   * data. Spared: each company's newest demo-activity event (live, and test), when it happened
   * after `memoryCutoffMs`, so a return after a silence longer than retention is still
   * recognised from a verifiable event; its deliveries go.
   */
  async purge(cutoffMs: number, memoryCutoffMs = cutoffMs): Promise<number> {
    return this.db.tx(async (q) => {
      // Per old event, index lookups only: is it its company's newest demo activity, recent enough?
      const spared = `EXISTS (SELECT 1 FROM activity a WHERE a.event_id = events.id AND a.occurred_at >= $2 AND NOT EXISTS (
          SELECT 1 FROM activity b WHERE b.account_id = a.account_id AND b.domain = a.domain AND b.is_test = a.is_test
            AND (b.occurred_at, b.event_id) > (a.occurred_at, a.event_id)))`;
      await q.query('DELETE FROM deliveries WHERE event_id IN (SELECT id FROM events WHERE received_at < $1)', [cutoffMs]);
      const rows = await q.query(`DELETE FROM events WHERE received_at < $1 AND NOT ${spared} RETURNING id`, [cutoffMs, memoryCutoffMs]);
      await q.query(`DELETE FROM retired_tokens WHERE valid_until < ${this.db.nowSql}`);
      await q.query(`DELETE FROM alerts WHERE status <> 'pending' AND created_at < $1`, [cutoffMs]);
      return rows.length;
    });
  }

  /** A relay-wide setting (the public URL the running relay serves, for the CLI). */
  async setSetting(key: string, value: string): Promise<void> {
    await this.db.query('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }

  async setting(key: string): Promise<string | null> {
    const [r] = await this.db.query<{ value: string }>('SELECT value FROM settings WHERE key = $1', [key]);
    return r?.value ?? null;
  }

  /** Delivery rows of an event, for inspection and tests. */
  async deliveriesOf(eventId: string): Promise<Array<{ id: string; hook_id: string | null; status: DeliveryStatus; attempts: number; last_status: number | null; last_error: string | null }>> {
    await this.settle();
    const rows = await this.db.query<any>('SELECT id, hook_id, status, attempts, last_status, last_error FROM deliveries WHERE event_id = $1 ORDER BY created_at, id', [eventId]);
    return rows.map((r) => ({ ...r, attempts: Number(r.attempts), last_status: r.last_status === null ? null : Number(r.last_status) }));
  }
}

/** What an alert tells: a subscription began failing, recovered, or gave deliveries up. */
export type AlertType = 'subscription.failing' | 'subscription.recovered' | 'delivery.given_up';

/** Queues an alert for the account's alert URL (relay/alerts.ts sends it, with retries). */
export async function queueAlert(q: Queryable, nowSql: string, accountId: string, hookId: string | null, type: AlertType, payload: Record<string, unknown>): Promise<void> {
  await q.query(
    `INSERT INTO alerts (id, account_id, hook_id, type, payload, status, attempts, next_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, 'pending', 0, ${nowSql}, ${nowSql}, ${nowSql})`,
    [newId('alr'), accountId, hookId, type, JSON.stringify({ type, ...payload })],
  );
}

/** How an outcome is written: the status to set (`retry` becomes pending or given_up in SQL), the delay, the error. */
function outcomeColumns(outcome: Outcome): { status: DeliveryStatus | 'retry'; delay: number; error: string | null } {
  return {
    status: outcome.kind === 'retry' ? 'retry' : outcome.kind === 'gone' ? 'cancelled' : outcome.kind,
    delay: outcome.kind === 'retry' ? outcome.delayMs : 0,
    error: outcome.kind === 'gone' ? `HTTP ${outcome.status} Gone: the subscriber asked to be removed` : 'error' in outcome ? outcome.error : null,
  };
}

/**
 * Cancels queued deliveries matching `where` (unsubscribe, 410): they are never sent. With
 * `unleasedOnly`, an attempt in flight is left to finish and record its outcome.
 */
async function cancelPending(q: Queryable, nowSql: string, where: string, params: unknown[], why: string, unleasedOnly = false): Promise<void> {
  const n = params.length;
  await q.query(
    `UPDATE deliveries SET status = 'cancelled', locked_by = NULL, locked_until = NULL, last_error = $${n + 1}, updated_at = ${nowSql}
     WHERE ${where} AND status = 'pending'${unleasedOnly ? ` AND (locked_until IS NULL OR locked_until < ${nowSql})` : ''}`,
    [...params, why],
  );
}

/**
 * Picks up to `limit` ids, round-robin: turn 1 is every account's first pick, turn 2 its
 * second …; an account's picks alternate between its subscriptions (each oldest first, as the
 * candidates come); an account gets at most `allowance(account)`.
 */
export function roundRobin(candidates: Array<{ id: string; account_id: string; hook_id: string }>, limit: number, allowance: (account: string) => number): string[] {
  const byAccount = new Map<string, Map<string, string[]>>();
  for (const c of candidates) {
    const hooks = byAccount.get(c.account_id) ?? new Map<string, string[]>();
    byAccount.set(c.account_id, hooks);
    const list = hooks.get(c.hook_id) ?? [];
    hooks.set(c.hook_id, list);
    list.push(c.id);
  }
  // Each account's own order: its subscriptions' oldest, then their second oldest, …
  const queues = [...byAccount].map(([account, hooks]) => {
    const lists = [...hooks.values()];
    const order: string[] = [];
    for (let i = 0; order.length < candidates.length && lists.some((l) => i < l.length); i++) for (const l of lists) if (i < l.length) order.push(l[i]);
    return order.slice(0, Math.max(0, allowance(account)));
  });
  const picked: string[] = [];
  for (let turn = 0; picked.length < limit && queues.some((qu) => turn < qu.length); turn++) {
    for (const qu of queues) if (turn < qu.length && picked.length < limit) picked.push(qu[turn]);
  }
  return picked;
}

function chunks<T>(xs: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/** `($1, $2, …), ($n+1, …)` for `rows` rows of `cols` parameters. */
function values(rows: number, cols: number): string {
  const out: string[] = [];
  for (let r = 0; r < rows; r++) out.push(`(${Array.from({ length: cols }, (_, c) => `$${r * cols + c + 1}`).join(', ')})`);
  return out.join(', ');
}

async function eventsById(q: Queryable, ids: string[]): Promise<Map<string, { headers: Record<string, string>; body: string; received_at: number }>> {
  const out = new Map<string, { headers: Record<string, string>; body: string; received_at: number }>();
  for (let i = 0; i < ids.length; i += 100) {
    const chunk = ids.slice(i, i + 100);
    const params = chunk.map((_, j) => `$${j + 1}`).join(', ');
    const rows = await q.query<any>(`SELECT id, headers, body, received_at FROM events WHERE id IN (${params})`, chunk);
    for (const r of rows) out.set(r.id, { headers: JSON.parse(r.headers), body: r.body, received_at: Number(r.received_at) });
  }
  return out;
}
