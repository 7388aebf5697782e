import { dedupKey } from '../../domain/identity.js';
import type { Migration } from './migration.js';

export const migration: Migration = {
  version: 8,
  why: 'the ack writes the event and a 16-byte dedup key only; the activity index and the fan-out follow from the event log by sequence number (a cursor), once per event and subscription',
  async up(q, dialect) {
    // The event log is read by sequence: SQLite's seq is the rowid, PostgreSQL's needs an index.
    if (dialect.name === 'postgres') await q.query('CREATE INDEX events_by_seq ON events (seq)');
    // The dedup key: 16 bytes of SHA-256 over account, identity and body, unique on its own
    // (a 64-character hex key beside the account id made the largest index of the ack).
    await q.query(`ALTER TABLE events ADD COLUMN dkey ${dialect.bytes}`);
    for (let after = -1; ; ) {
      const rows = await q.query<{ seq: number | string; account_id: string; identity: string; body: string }>(
        'SELECT seq, account_id, identity, body FROM events WHERE seq > $1 ORDER BY seq LIMIT 500',
        [after],
      );
      if (rows.length === 0) break;
      // One statement per 500 events (one each took PostgreSQL about 2 minutes per million).
      const cast = (n: number, type: string) => dialect.cast(`$${n}`, type);
      await q.query(
        `UPDATE events SET dkey = v.column2 FROM (VALUES ${rows.map((_, i) => `(${cast(2 * i + 1, 'bigint')}, ${cast(2 * i + 2, 'bytea')})`).join(', ')}) AS v WHERE events.seq = v.column1`,
        rows.flatMap((r) => [Number(r.seq), dedupKey(r.account_id, r.identity, r.body)]),
      );
      after = Number(rows[rows.length - 1].seq);
    }
    if (dialect.name === 'postgres') await q.query('ALTER TABLE events ALTER COLUMN dkey SET NOT NULL');
    await q.query('DROP INDEX events_dedup');
    await q.query('ALTER TABLE events DROP COLUMN dedup_key');
    await q.query('CREATE UNIQUE INDEX events_by_dkey ON events (dkey)');
    // Once per event and subscription: a fan-out row has replay 0, each replay the next number.
    await q.query('ALTER TABLE deliveries ADD COLUMN replay INTEGER NOT NULL DEFAULT 0');
    // (Rows from before replays were marked may repeat an event and subscription: numbered too.)
    await q.query(
      `UPDATE deliveries SET replay = x.n FROM (
         SELECT id, row_number() OVER (PARTITION BY event_id, hook_id ORDER BY origin IS NOT NULL, created_at, id) - 1 AS n FROM deliveries) x
       WHERE deliveries.id = x.id AND x.n > 0`,
    );
    await q.query('DROP INDEX deliveries_by_event');
    await q.query('CREATE UNIQUE INDEX deliveries_by_event ON deliveries (event_id, hook_id, replay)');
    // Every event stored so far was indexed and fanned out when it was stored.
    await q.query('CREATE TABLE derive_cursor (id INTEGER PRIMARY KEY, seq BIGINT NOT NULL)');
    await q.query('INSERT INTO derive_cursor (id, seq) SELECT 1, COALESCE(MAX(seq), 0) FROM events');
  },
};
