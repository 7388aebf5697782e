import type { Migration } from './migration.js';

export const migration: Migration = {
  version: 10,
  why: "viewer history on every session record: a person's demo activity read by an index range, flat however much the company has",
  async up(q) {
    await q.query('CREATE INDEX activity_by_person ON activity (account_id, domain, person, occurred_at, event_id)');
  },
};
