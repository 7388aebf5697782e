import type { Migration } from './migration.js';

export const migration: Migration = {
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
};
