import type { Migration } from './migration.js';

export const migration: Migration = {
  version: 12,
  why: "say which Zap a subscription is, and know when the Zap itself refuses what the relay delivered (a signing key that does not match): its runs' refusals reported back",
  async up(q) {
    // What the Zapier app sends when it subscribes: the Zap's id and the trigger's key.
    await q.query('ALTER TABLE hooks ADD COLUMN zap_id TEXT');
    await q.query('ALTER TABLE hooks ADD COLUMN trigger_key TEXT');
    // Refusing from the first refusal the Zap reports until it reports a delivery it took: the
    // reason's code, the newest event judged (an older verdict arriving late moves nothing),
    // and the last refusing alert (at most one in the alert repeat window).
    await q.query('ALTER TABLE hooks ADD COLUMN refusing_since BIGINT');
    await q.query('ALTER TABLE hooks ADD COLUMN refusing_reason TEXT');
    await q.query('ALTER TABLE hooks ADD COLUMN refusals INTEGER NOT NULL DEFAULT 0');
    await q.query('ALTER TABLE hooks ADD COLUMN verdict_event_at BIGINT');
    await q.query('ALTER TABLE hooks ADD COLUMN refusing_alert_at BIGINT');
  },
};
