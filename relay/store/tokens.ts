/**
 * Inbound tokens: the capability in each vendor's inbound URL, one current token per account
 * and vendor, and rotated ones that keep working until their overlap ends.
 */
import { PROVIDER_KEYS, type ProviderKey } from '../../lib/providers/index.js';
import { newSecret } from '../domain/ids.js';
import type { Account } from './accounts.js';
import type { Queryable } from './db.js';
import { isoOf, Repo } from './sql.js';

export class Tokens extends Repo {
  /** The enabled account an inbound URL belongs to: its current token, or a rotated one still in its overlap. */
  async account(provider: string, token: string): Promise<Account | null> {
    const [row] = await this.db.query<Account>(
      `SELECT a.id, a.name FROM inbound_tokens t JOIN accounts a ON a.id = t.account_id
         WHERE t.token = $1 AND t.provider = $2 AND a.disabled_at IS NULL
       UNION ALL
       SELECT a.id, a.name FROM retired_tokens r JOIN accounts a ON a.id = r.account_id
         WHERE r.token = $1 AND r.provider = $2 AND r.valid_until > ${this.now} AND a.disabled_at IS NULL`,
      [token, provider],
    );
    return row ?? null;
  }

  /**
   * The account's inbound token for every vendor the relay knows. An account made before a
   * vendor was added has none for it: one is minted on this first need (concurrent calls agree
   * on one, the first stored), so its URL is never `…/undefined`.
   */
  async of(accountId: string, q: Queryable = this.db): Promise<Record<string, string>> {
    const read = async () =>
      Object.fromEntries((await q.query<{ provider: string; token: string }>('SELECT provider, token FROM inbound_tokens WHERE account_id = $1', [accountId])).map((r) => [r.provider, r.token]));
    const tokens = await read();
    const missing = PROVIDER_KEYS.filter((p) => !tokens[p]);
    if (missing.length === 0) return tokens;
    for (const p of missing) {
      await q.query('INSERT INTO inbound_tokens (token, account_id, provider) VALUES ($1, $2, $3) ON CONFLICT (account_id, provider) DO NOTHING', [newSecret(), accountId, p]);
    }
    return read();
  }

  /**
   * A new inbound URL for one vendor; the old one keeps working for `overlapMs` (0: not at
   * all), so the vendor's settings can be switched without losing an event, then 404s.
   */
  async rotate(accountId: string, provider: ProviderKey, overlapMs: number): Promise<{ tokens: Record<string, string>; oldValidUntil: string }> {
    const token = newSecret();
    return this.db.tx(async (q) => {
      // Rotations of one account take turns (the account row is locked until commit on
      // PostgreSQL; SQLite runs one transaction at a time): each retires the URL the one before
      // it made, and every URL handed out keeps working for its overlap.
      await q.query(`SELECT id FROM accounts WHERE id = $1${this.d.lock('FOR UPDATE')}`, [accountId]);
      // An account made before this vendor was added gets its first URL minted, then rotated.
      await this.of(accountId, q);
      const [old] = await q.query<{ token: string }>('SELECT token FROM inbound_tokens WHERE account_id = $1 AND provider = $2', [accountId, provider]);
      const [retired] = await q.query<{ valid_until: number }>(
        `INSERT INTO retired_tokens (token, account_id, provider, valid_until) VALUES ($1, $2, $3, ${this.now} + $4) RETURNING valid_until`,
        [old.token, accountId, provider, overlapMs],
      );
      await q.query('UPDATE inbound_tokens SET token = $1 WHERE account_id = $2 AND provider = $3', [token, accountId, provider]);
      const rows = await q.query<{ provider: string; token: string }>('SELECT provider, token FROM inbound_tokens WHERE account_id = $1', [accountId]);
      return { tokens: Object.fromEntries(rows.map((r) => [r.provider, r.token])), oldValidUntil: isoOf(retired.valid_until) };
    });
  }
}
