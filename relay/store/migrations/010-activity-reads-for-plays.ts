import type { Migration } from './migration.js';

export const migration: Migration = {
  version: 10,
  why: "the playbook's session and account plays: a person's activity, an account's activity in a window, and its companies by their last session, each read by an index range, flat however much is stored",
  async up(q) {
    await q.query('CREATE INDEX activity_by_person ON activity (account_id, domain, person, occurred_at, event_id)');
    await q.query('CREATE INDEX activity_by_time ON activity (account_id, occurred_at, event_id)');
    // Each company's last live demo session (a test press is not the company coming back),
    // kept as activity is indexed, so "quiet since" is a range of one index.
    await q.query(`CREATE TABLE companies (
      account_id TEXT NOT NULL,
      domain TEXT NOT NULL,
      last_at BIGINT NOT NULL,
      PRIMARY KEY (account_id, domain))`);
    await q.query('CREATE INDEX companies_by_last ON companies (account_id, last_at, domain)');
    await q.query('INSERT INTO companies (account_id, domain, last_at) SELECT account_id, domain, MAX(occurred_at) FROM activity WHERE is_test = 0 GROUP BY account_id, domain');
  },
};
