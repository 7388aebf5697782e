import type { Migration } from './migration.js';

/** The first schema, as it was created (later versions change it). */
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

export const migration: Migration = {
  version: 1,
  why: 'accounts, inbound tokens, subscriptions, events and deliveries',
  async up(q) {
    for (const stmt of SCHEMA_V1) await q.query(stmt);
  },
};
