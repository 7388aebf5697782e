/** Accounts: who owns subscriptions and events, their API key (kept hashed) and alert URL. */
import { PROVIDER_KEYS, type ProviderKey } from '../../lib/providers/index.js';
import { newApiKey, newId, newSecret } from '../domain/ids.js';
import { sha256 } from '../domain/identity.js';
import type { Queryable } from './db.js';
import { Repo } from './sql.js';

export interface Account {
  id: string;
  name: string;
}

export class Accounts extends Repo {
  /** Creates an account and its inbound tokens; the API key is returned once and stored only as a hash. */
  async create(name: string): Promise<{ account: Account; apiKey: string; tokens: Record<ProviderKey, string> }> {
    const account = { id: newId('acc'), name };
    const apiKey = newApiKey();
    const tokens = Object.fromEntries(PROVIDER_KEYS.map((p) => [p, newSecret()])) as Record<ProviderKey, string>;
    await this.db.tx(async (q) => {
      await q.query('INSERT INTO accounts (id, name, api_key_hash, created_at) VALUES ($1, $2, $3, $4)', [account.id, name, sha256(apiKey), Date.now()]);
      for (const p of PROVIDER_KEYS) {
        await q.query('INSERT INTO inbound_tokens (token, account_id, provider) VALUES ($1, $2, $3)', [tokens[p], account.id, p]);
      }
    });
    return { account, apiKey, tokens };
  }

  async count(): Promise<number> {
    const [row] = await this.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM accounts');
    return Number(row.n);
  }

  /** The enabled account an API key belongs to. */
  async byApiKey(apiKey: string): Promise<Account | null> {
    const [row] = await this.db.query<Account>('SELECT id, name FROM accounts WHERE api_key_hash = $1 AND disabled_at IS NULL', [sha256(apiKey)]);
    return row ?? null;
  }

  async list(): Promise<Array<{ id: string; name: string; disabled: boolean }>> {
    const rows = await this.db.query<{ id: string; name: string; disabled_at: unknown }>('SELECT id, name, disabled_at FROM accounts ORDER BY created_at, id');
    return rows.map((r) => ({ id: r.id, name: r.name, disabled: r.disabled_at !== null }));
  }

  /** A new API key; the old one answers 401 from now on. */
  async rotateKey(accountId: string): Promise<string> {
    const apiKey = newApiKey();
    await this.db.query('UPDATE accounts SET api_key_hash = $1 WHERE id = $2', [sha256(apiKey), accountId]);
    return apiKey;
  }

  /** Marks the account disabled (its key and inbound URLs refused at once); false when it already was, or is none. */
  async markDisabled(accountId: string, q: Queryable = this.db): Promise<boolean> {
    return (await q.query(`UPDATE accounts SET disabled_at = ${this.now} WHERE id = $1 AND disabled_at IS NULL RETURNING id`, [accountId])).length > 0;
  }

  /** Lifts a disable; false when there is no such disabled account. */
  async markEnabled(accountId: string, q: Queryable = this.db): Promise<boolean> {
    return (await q.query('UPDATE accounts SET disabled_at = NULL WHERE id = $1 AND disabled_at IS NOT NULL RETURNING id', [accountId])).length > 0;
  }

  /** Where alerts go (null: none). */
  async setAlertUrl(accountId: string, url: string | null): Promise<void> {
    await this.db.query('UPDATE accounts SET alert_url = $1 WHERE id = $2', [url, accountId]);
  }

  async alertUrl(accountId: string): Promise<string | null> {
    return (await this.alertTarget(accountId))?.alert_url ?? null;
  }

  /** The account's name and alert URL, as an alert is sent. */
  async alertTarget(accountId: string): Promise<{ name: string; alert_url: string | null } | null> {
    const [r] = await this.db.query<{ name: string; alert_url: string | null }>('SELECT name, alert_url FROM accounts WHERE id = $1', [accountId]);
    return r ?? null;
  }
}
