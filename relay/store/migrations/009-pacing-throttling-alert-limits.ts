import type { Migration } from './migration.js';

export const migration: Migration = {
  version: 9,
  why: "deliver within Zapier's limits: each target URL's and Zapier user's sending window, a target paused by its Retry-After, and alerts that a flapping subscription cannot repeat",
  async up(q) {
    // One row per target URL (key: the URL) and per Zapier user (key: `user:<id>`, or
    // `legacy:<url>`): the window of its recent sends, and for a URL when its 429/503 pause ends
    // and until when its window is full (claims pass it over meanwhile).
    await q.query(`CREATE TABLE pacing (
      key TEXT PRIMARY KEY,
      sends TEXT NOT NULL,
      throttled_until BIGINT,
      blocked_until BIGINT,
      updated_at BIGINT)`);
    // A delivery leased ahead of its turn: sent at turn_at (its due time, and so its place in
    // order, stays as it was).
    await q.query('ALTER TABLE deliveries ADD COLUMN turn_at BIGINT');
    // At most one failing and one recovered alert a subscription in any 15 minutes; recovered
    // once its deliveries have succeeded for a minute (ok_since).
    await q.query('ALTER TABLE hooks ADD COLUMN failing_alert_at BIGINT');
    await q.query('ALTER TABLE hooks ADD COLUMN recovered_alert_at BIGINT');
    await q.query('ALTER TABLE hooks ADD COLUMN ok_since BIGINT');
  },
};
