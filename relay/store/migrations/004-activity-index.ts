import type { Migration } from './migration.js';

export const migration: Migration = {
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
};
