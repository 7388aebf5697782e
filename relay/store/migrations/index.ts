/**
 * Schema changes, one file per version, applied in order once each; `schema_migrations`
 * records which ran. Safe for several relay processes starting at once: PostgreSQL takes an
 * advisory lock, SQLite's BEGIN IMMEDIATE takes the write lock.
 */
import type { Db, Queryable } from '../db.js';
import type { Migration } from './migration.js';
import { migration as v1 } from './001-accounts-tokens-hooks-events-deliveries.js';
import { migration as v2 } from './002-dedup-on-identity-and-body.js';
import { migration as v3 } from './003-attempts-disable-rotation.js';
import { migration as v4 } from './004-activity-index.js';
import { migration as v5 } from './005-fair-claims.js';
import { migration as v6 } from './006-activity-person-demo-time.js';
import { migration as v7 } from './007-health-alerts-settings.js';
import { migration as v8 } from './008-derive-from-event-log.js';
import { migration as v9 } from './009-pacing-throttling-alert-limits.js';
import { migration as v10 } from './010-activity-reads-for-plays.js';
import { migration as v11 } from './011-event-trace-context.js';
import { migration as v12 } from './012-zaps-refusals.js';

export const MIGRATIONS: Migration[] = [v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12];
export { SCHEMA_V1 } from './001-accounts-tokens-hooks-events-deliveries.js';

/** Brings the schema to the newest version (or, for the migration tests, to `upTo`). */
export async function migrate(db: Db, upTo = Infinity): Promise<void> {
  await db.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
  const current = async (q: Queryable) => Number((await q.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations'))[0].v ?? 0);
  if ((await current(db)) >= Math.min(upTo, MIGRATIONS[MIGRATIONS.length - 1].version)) return;
  const sqlite = db.dialect.name === 'sqlite';
  // SQLite rebuilds tables in a migration: foreign keys off meanwhile (only outside a transaction).
  if (sqlite) await db.query('PRAGMA foreign_keys = OFF');
  try {
    await db.tx(async (q) => {
      if (!sqlite) await q.query('SELECT pg_advisory_xact_lock(7201542)');
      const from = await current(q);
      for (const m of MIGRATIONS) {
        if (m.version <= from || m.version > upTo) continue;
        await m.up(q, db.dialect);
        await q.query(`INSERT INTO schema_migrations (version, applied_at) VALUES ($1, ${db.dialect.now})`, [m.version]);
      }
    });
  } finally {
    if (sqlite) await db.query('PRAGMA foreign_keys = ON');
  }
}
