import { createHash, randomBytes } from 'node:crypto';
import type { ProviderKey } from '../lib/providers/index.js';
import { PROVIDER_KEYS, PROVIDERS } from '../lib/providers/index.js';
import type { Db, Queryable } from './db.js';

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
}

export interface Claimed {
  id: string;
  event_id: string;
  hook_id: string;
  target_url: string;
  attempts: number;
  created_at: number;
  headers: Record<string, string>;
  body: string;
}

export type Outcome =
  | { kind: 'done'; status: number }
  | { kind: 'gone'; status: number }
  | { kind: 'retry'; status: number | null; error: string; nextAt: number }
  | { kind: 'failed'; status: number | null; error: string };

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url')}`;
const iso = (ms: number) => new Date(ms).toISOString();

const SCHEMA = [
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

  async migrate(): Promise<void> {
    for (const stmt of SCHEMA) await this.db.query(stmt);
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
    const [row] = await this.db.query<Account>('SELECT id, name FROM accounts WHERE api_key_hash = $1', [sha256(apiKey)]);
    return row ?? null;
  }

  async accountByToken(provider: string, token: string): Promise<Account | null> {
    const [row] = await this.db.query<Account>(
      'SELECT a.id, a.name FROM inbound_tokens t JOIN accounts a ON a.id = t.account_id WHERE t.token = $1 AND t.provider = $2',
      [token, provider],
    );
    return row ?? null;
  }

  async inboundTokens(accountId: string): Promise<Record<string, string>> {
    const rows = await this.db.query<{ provider: string; token: string }>('SELECT provider, token FROM inbound_tokens WHERE account_id = $1', [accountId]);
    return Object.fromEntries(rows.map((r) => [r.provider, r.token]));
  }

  // Subscriptions ----------------------------------------------------------------------

  async createHook(accountId: string, event: string, targetUrl: string): Promise<Hook> {
    const now = Date.now();
    const hook = { id: newId('hook'), event, target_url: targetUrl, created_at: iso(now) };
    await this.db.query('INSERT INTO hooks (id, account_id, event, target_url, created_at) VALUES ($1, $2, $3, $4, $5)', [hook.id, accountId, event, targetUrl, now]);
    return hook;
  }

  /** Deletes an account's hook and drops its undelivered work. False when it is not this account's. */
  async deleteHook(accountId: string, id: string): Promise<boolean> {
    return this.db.tx(async (q) => {
      const rows = await q.query('DELETE FROM hooks WHERE id = $1 AND account_id = $2 RETURNING id', [id, accountId]);
      if (rows.length === 0) return false;
      await q.query(`UPDATE deliveries SET status = 'unsubscribed', locked_by = NULL, updated_at = $2 WHERE hook_id = $1 AND status = 'pending'`, [id, Date.now()]);
      return true;
    });
  }

  // Events -----------------------------------------------------------------------------

  /**
   * Stores a batch of inbound events in one transaction (group commit) and fans each new one
   * out to the matching subscriptions. A vendor retry (same identity) is reported duplicate
   * and fans out nothing. When this resolves, every event in the batch is durable.
   */
  async ingest(items: InboundItem[]): Promise<Array<{ id: string; duplicate: boolean }>> {
    if (items.length === 0) return [];
    const now = Date.now();
    return this.db.tx(async (q) => {
      // 1. Every event of the batch in one statement; vendor retries (same identity) are skipped.
      const ids = items.map(() => newId('evt'));
      const inserted = new Map<string, string>(); // account|identity → new event id
      for (const chunk of chunks(items.map((item, i) => ({ item, id: ids[i] })), 400)) {
        const rows = await q.query<{ id: string; account_id: string; identity: string }>(
          `INSERT INTO events (id, account_id, provider, event, identity, received_at, headers, body)
           VALUES ${values(chunk.length, 8)}
           ON CONFLICT (account_id, identity) DO NOTHING RETURNING id, account_id, identity`,
          chunk.flatMap(({ item, id }) => [id, item.accountId, item.provider, item.event, item.identity, now, JSON.stringify(item.headers), item.body]),
        );
        for (const r of rows) inserted.set(`${r.account_id}|${r.identity}`, r.id);
      }
      // 2. Which are duplicates, and of which stored event.
      const results: Array<{ id: string; duplicate: boolean }> = [];
      const fresh: InboundItem[] = [];
      const freshIds: string[] = [];
      const missing: InboundItem[] = [];
      items.forEach((item, i) => {
        const key = `${item.accountId}|${item.identity}`;
        const id = inserted.get(key);
        if (id === ids[i]) {
          results.push({ id, duplicate: false });
          fresh.push(item);
          freshIds.push(id);
        } else {
          results.push({ id: id ?? '', duplicate: true });
          if (!id) missing.push(item);
        }
      });
      if (missing.length > 0) {
        const existing = new Map<string, string>();
        for (const chunk of chunks(missing, 400)) {
          const rows = await q.query<{ id: string; account_id: string; identity: string }>(
            `SELECT id, account_id, identity FROM events WHERE (account_id, identity) IN (VALUES ${values(chunk.length, 2)})`,
            chunk.flatMap((m) => [m.accountId, m.identity]),
          );
          for (const r of rows) existing.set(`${r.account_id}|${r.identity}`, r.id);
        }
        items.forEach((item, i) => {
          if (results[i].id === '') results[i].id = existing.get(`${item.accountId}|${item.identity}`) ?? '';
        });
      }
      if (fresh.length === 0) return results;
      // 3. The subscriptions of the accounts and providers involved, matched here.
      const pairs = [...new Set(fresh.map((f) => `${f.accountId}|${f.provider}`))].map((p) => p.split('|'));
      const hooks = await q.query<{ id: string; account_id: string; event: string; target_url: string }>(
        `SELECT id, account_id, event, target_url FROM hooks WHERE ${pairs.map((_, i) => `(account_id = $${2 * i + 1} AND event LIKE $${2 * i + 2})`).join(' OR ')}`,
        pairs.flatMap(([account, provider]) => [account, `${provider}.%`]),
      );
      const deliveries: unknown[][] = [];
      fresh.forEach((item, i) => {
        const m = matchingPatterns(item.provider, item.event);
        for (const h of hooks) {
          if (h.account_id !== item.accountId || !h.event.startsWith(`${item.provider}.`)) continue;
          if (m.anyOfProvider || m.exact.includes(h.event)) deliveries.push([newId('dlv'), freshIds[i], h.id, h.target_url, now]);
        }
      });
      // 4. The fan-out, in one statement per thousand deliveries.
      for (const chunk of chunks(deliveries, 1000)) {
        await q.query(
          `INSERT INTO deliveries (id, event_id, hook_id, target_url, status, attempts, next_at, created_at, updated_at)
           VALUES ${chunk.map((_, r) => `($${5 * r + 1}, $${5 * r + 2}, $${5 * r + 3}, $${5 * r + 4}, 'pending', 0, $${5 * r + 5}, $${5 * r + 5}, $${5 * r + 5})`).join(', ')}`,
          chunk.flat(),
        );
      }
      return results;
    });
  }

  /** The newest events for `{provider}.{event}` or `{provider}.*`, for performList. */
  async listEvents(accountId: string, event: string, limit: number): Promise<StoredEvent[]> {
    const provider = event.split('.')[0];
    const rows = event.endsWith('.*')
      ? await this.db.query<any>('SELECT id, event, received_at, headers, body FROM events WHERE account_id = $1 AND provider = $2 ORDER BY received_at DESC, id DESC LIMIT $3', [accountId, provider, limit])
      : await this.db.query<any>('SELECT id, event, received_at, headers, body FROM events WHERE account_id = $1 AND provider = $2 AND event = $3 ORDER BY received_at DESC, id DESC LIMIT $4', [accountId, provider, event, limit]);
    return rows.map((r) => ({ id: r.id, event: r.event, received_at: iso(Number(r.received_at)), headers: JSON.parse(r.headers), body: r.body }));
  }

  // Delivery ---------------------------------------------------------------------------

  /**
   * Claims up to `limit` due deliveries for `worker` for `leaseMs`. A delivery whose lease ran
   * out (its process died) is due again, so another process picks it up.
   */
  async claim(worker: string, limit: number, leaseMs: number): Promise<Claimed[]> {
    const now = Date.now();
    const lock = this.db.dialect === 'postgres' ? 'FOR UPDATE SKIP LOCKED' : '';
    return this.db.tx(async (q) => {
      const rows = await q.query<any>(
        `UPDATE deliveries SET locked_by = $1, locked_until = $2, updated_at = $3
         WHERE id IN (SELECT id FROM deliveries
                      WHERE status = 'pending' AND next_at <= $3 AND (locked_until IS NULL OR locked_until < $3)
                      ORDER BY next_at LIMIT $4 ${lock})
         RETURNING id, event_id, hook_id, target_url, attempts, created_at`,
        [worker, now + leaseMs, now, limit],
      );
      if (rows.length === 0) return [];
      const events = await eventsById(q, [...new Set(rows.map((r) => r.event_id as string))]);
      return rows.map((r) => ({
        id: r.id,
        event_id: r.event_id,
        hook_id: r.hook_id,
        target_url: r.target_url,
        attempts: Number(r.attempts),
        created_at: Number(r.created_at),
        headers: events.get(r.event_id)!.headers,
        body: events.get(r.event_id)!.body,
      }));
    });
  }

  /** Records an attempt's outcome; ignored when the lease was lost to another worker meanwhile. */
  async complete(id: string, worker: string, outcome: Outcome): Promise<boolean> {
    const now = Date.now();
    return this.db.tx(async (q) => {
      const owned = await q.query<{ hook_id: string | null }>('SELECT hook_id FROM deliveries WHERE id = $1 AND locked_by = $2 AND status = $3', [id, worker, 'pending']);
      if (owned.length === 0) return false;
      const status = outcome.kind === 'retry' ? 'pending' : outcome.kind;
      await q.query(
        `UPDATE deliveries SET status = $1, attempts = attempts + 1, next_at = $2, locked_by = NULL, locked_until = NULL,
           last_status = $3, last_error = $4, updated_at = $5 WHERE id = $6`,
        [status, outcome.kind === 'retry' ? outcome.nextAt : now, outcome.status, 'error' in outcome ? outcome.error : null, now, id],
      );
      if (outcome.kind === 'gone' && owned[0].hook_id) {
        // REST hooks: 410 Gone means the subscriber is gone; stop delivering to it.
        await q.query('DELETE FROM hooks WHERE id = $1', [owned[0].hook_id]);
        await q.query(`UPDATE deliveries SET status = 'gone', updated_at = $2 WHERE hook_id = $1 AND status = 'pending'`, [owned[0].hook_id, now]);
      }
      return true;
    });
  }

  /** Releases this worker's leases (graceful shutdown) so they are due at once elsewhere. */
  async release(worker: string): Promise<void> {
    await this.db.query('UPDATE deliveries SET locked_by = NULL, locked_until = NULL WHERE locked_by = $1 AND status = $2', [worker, 'pending']);
  }

  /** Deletes events (and their deliveries) received before `cutoffMs`: payloads hold personal data. */
  async purge(cutoffMs: number): Promise<number> {
    return this.db.tx(async (q) => {
      await q.query('DELETE FROM deliveries WHERE event_id IN (SELECT id FROM events WHERE received_at < $1)', [cutoffMs]);
      const rows = await q.query('DELETE FROM events WHERE received_at < $1 RETURNING id', [cutoffMs]);
      return rows.length;
    });
  }

  /** Delivery rows of an event, for inspection and tests. */
  async deliveriesOf(eventId: string): Promise<Array<{ id: string; hook_id: string | null; status: string; attempts: number; last_status: number | null; last_error: string | null }>> {
    const rows = await this.db.query<any>('SELECT id, hook_id, status, attempts, last_status, last_error FROM deliveries WHERE event_id = $1 ORDER BY created_at, id', [eventId]);
    return rows.map((r) => ({ ...r, attempts: Number(r.attempts), last_status: r.last_status === null ? null : Number(r.last_status) }));
  }
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

async function eventsById(q: Queryable, ids: string[]): Promise<Map<string, { headers: Record<string, string>; body: string }>> {
  const out = new Map<string, { headers: Record<string, string>; body: string }>();
  for (let i = 0; i < ids.length; i += 100) {
    const chunk = ids.slice(i, i + 100);
    const params = chunk.map((_, j) => `$${j + 1}`).join(', ');
    const rows = await q.query<any>(`SELECT id, headers, body FROM events WHERE id IN (${params})`, chunk);
    for (const r of rows) out.set(r.id, { headers: JSON.parse(r.headers), body: r.body });
  }
  return out;
}
