import { sha256 } from '../../domain/identity.js';
import type { Migration } from './migration.js';

export const migration: Migration = {
  version: 2,
  why: 'de-duplicate on identity and body (a forged twin must not shadow the real event); a monotonic sequence for "newest first"; a restartable give-up window; the operator API\'s delivery statuses',
  async up(q, dialect) {
    if (dialect.name === 'postgres') {
      await q.query('ALTER TABLE events ADD COLUMN seq BIGSERIAL');
      await q.query('ALTER TABLE events ADD COLUMN dedup_key TEXT');
      await q.query('ALTER TABLE events DROP CONSTRAINT IF EXISTS events_account_id_identity_key');
    } else {
      // SQLite cannot drop a table constraint: rebuild the table (foreign keys are off
      // during migrations, so the deliveries that reference it stay).
      await q.query(`CREATE TABLE events_v2 (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        provider TEXT NOT NULL,
        event TEXT NOT NULL,
        identity TEXT NOT NULL,
        dedup_key TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        headers TEXT NOT NULL,
        body TEXT NOT NULL)`);
      // The id stands in for the key until the backfill below computes it.
      await q.query('INSERT INTO events_v2 (id, account_id, provider, event, identity, dedup_key, received_at, headers, body) SELECT id, account_id, provider, event, identity, id, received_at, headers, body FROM events ORDER BY received_at, id');
      await q.query('DROP TABLE events');
      await q.query('ALTER TABLE events_v2 RENAME TO events');
      await q.query('CREATE INDEX events_by_account_time ON events (account_id, provider, received_at)');
      await q.query('CREATE INDEX events_by_time ON events (received_at)');
    }
    for (;;) {
      const rows = await q.query<{ id: string; identity: string; body: string }>('SELECT id, identity, body FROM events WHERE dedup_key IS NULL OR dedup_key = id LIMIT 500');
      if (rows.length === 0) break;
      for (const r of rows) await q.query('UPDATE events SET dedup_key = $1 WHERE id = $2', [sha256(`${r.identity}\n${sha256(r.body)}`), r.id]); // version 8 replaces it
    }
    if (dialect.name === 'postgres') await q.query('ALTER TABLE events ALTER COLUMN dedup_key SET NOT NULL');
    await q.query('CREATE UNIQUE INDEX events_dedup ON events (account_id, dedup_key)');
    await q.query('CREATE INDEX events_by_account_seq ON events (account_id, provider, seq)');
    await q.query('ALTER TABLE deliveries ADD COLUMN window_start BIGINT');
    await q.query('UPDATE deliveries SET window_start = created_at');
    await q.query(`UPDATE deliveries SET status = 'delivered' WHERE status = 'done'`);
    await q.query(`UPDATE deliveries SET status = 'cancelled' WHERE status IN ('gone', 'unsubscribed')`);
    await q.query('CREATE INDEX deliveries_by_hook ON deliveries (hook_id, status)');
  },
};
