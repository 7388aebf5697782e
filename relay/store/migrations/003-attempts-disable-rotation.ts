import type { Migration } from './migration.js';

export const migration: Migration = {
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
};
