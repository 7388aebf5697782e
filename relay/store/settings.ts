/** Relay-wide settings (the public URL the running relay serves, for the CLI). */
import { Repo } from './sql.js';

export class Settings extends Repo {
  async set(key: string, value: string): Promise<void> {
    await this.db.query('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }

  async get(key: string): Promise<string | null> {
    const [r] = await this.db.query<{ value: string }>('SELECT value FROM settings WHERE key = $1', [key]);
    return r?.value ?? null;
  }
}
