/**
 * Whether the store can write: a write refused because the disk (or the database's quota) is
 * full sets the reason, and it stays until `recheck` finds room again: a probe write succeeds
 * and, for SQLite, the file system holding the database has room for the largest event twice
 * over (a nearly full disk takes small writes and still refuses every real one). The log says
 * each change once, with the database's own words, so a full disk reads as a full disk, not as
 * whatever failed after it.
 */
import { statfs } from 'node:fs/promises';
import path from 'node:path';
import { READ_ONLY, type Db, type DbLog, type Queryable, type TxOptions } from './db.js';

/** Free space a SQLite store needs to be called writable again: two of the largest inbound bodies. */
const ROOM_BYTES = 2 * 1024 * 1024;

/** SQLite's SQLITE_FULL, the file system's ENOSPC/EDQUOT, PostgreSQL's disk_full (53100). */
export function isOutOfSpace(err: unknown): boolean {
  const e = err as { code?: unknown; errcode?: unknown; message?: unknown } | null;
  if (!e) return false;
  if (e.code === '53100' || e.code === 'ENOSPC' || e.code === 'EDQUOT' || e.errcode === 13) return true;
  return typeof e.message === 'string' && /database or disk is full|no space left on device|disk quota exceeded/i.test(e.message);
}

export interface WatchedDb extends Db {
  /** Why the store cannot write now (the database's words); null when it can, as far as is known. */
  readonly cannotWrite: string | null;
  /** After a refusal: whether there is room again, by `probe` (a small write) and the free space; the reason, or null. */
  recheck(probe: () => Promise<void>): Promise<string | null>;
}

export function watchWrites(db: Db, log: DbLog = () => undefined): WatchedDb {
  let reason: string | null = null;
  const file = db.describe.startsWith('sqlite:') ? db.describe.slice('sqlite:'.length) : null;
  const roomy = async () => {
    if (!file || file === ':memory:') return true;
    const fs = await statfs(path.dirname(path.resolve(file)));
    return fs.bavail * fs.bsize >= ROOM_BYTES;
  };
  const failed = (err: unknown) => {
    if (!isOutOfSpace(err)) return;
    const now = (err as Error).message.slice(0, 200);
    if (reason === null) log('error', 'the store cannot write: out of disk space; every ingest is answered 503 until there is room again', { store: db.describe, error: now });
    reason = now;
  };
  const watch = <T>(p: Promise<T>): Promise<T> =>
    p.catch((err: unknown) => {
      failed(err);
      throw err;
    });
  return {
    dialect: db.dialect,
    describe: db.describe,
    get cannotWrite() {
      return reason;
    },
    async recheck(probe) {
      if (reason === null) return null;
      try {
        await probe();
      } catch {
        return reason;
      }
      if (!(await roomy().catch(() => false))) return reason;
      log('warn', 'the store can write again', { was: reason });
      reason = null;
      return null;
    },
    query<T>(sql: string, params?: unknown[], ...rest: unknown[]): Promise<T[]> {
      const run = (db.query as (s: string, p?: unknown[], ...r: unknown[]) => Promise<T[]>)(sql, params, ...rest);
      return READ_ONLY.test(sql) ? run : watch(run);
    },
    tx<T>(fn: (q: Queryable) => Promise<T>, opts?: TxOptions): Promise<T> {
      return watch(db.tx(fn, opts));
    },
    atOnce: <T>(statements: string[]) => watch(db.atOnce<T>(statements)),
    close: () => db.close(),
  };
}
