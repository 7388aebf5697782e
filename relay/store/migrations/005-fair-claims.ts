import type { Migration } from './migration.js';

export const migration: Migration = {
  version: 5,
  why: 'fair claims: each delivery names its account, and due work is indexed by account, so claims go round-robin across accounts',
  async up(q) {
    await q.query('ALTER TABLE deliveries ADD COLUMN account_id TEXT');
    await q.query('UPDATE deliveries SET account_id = (SELECT e.account_id FROM events e WHERE e.id = deliveries.event_id)');
    await q.query('DROP INDEX deliveries_due');
    await q.query('CREATE INDEX deliveries_due ON deliveries (status, account_id, next_at)');
  },
};
