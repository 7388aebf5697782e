/**
 * A minimal SQL adapter over the two stores the relay supports, so the schema and every
 * query are written once: `$1`-style parameters, `query` and `tx`. SQLite is Node's own
 * `node:sqlite` (no native build, nothing downloaded); PostgreSQL is `pg`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { POSTGRES, SQLITE, type Dialect } from './dialect.js';
import { WalSync } from './wal-sync.js';

export { WalSync };

export type Row = Record<string, unknown>;

export interface Queryable {
  /**
   * `prepare`: a hot statement of fixed text. PostgreSQL prepares it once per connection (by a
   * name made from its text) and skips parsing and planning it again; SQLite keeps every
   * statement prepared anyway.
   */
  query<T = Row>(sql: string, params?: unknown[], prepare?: boolean): Promise<T[]>;
}

export interface TxOptions {
  first?: boolean;
  /**
   * PostgreSQL ends the transaction's session when it stalls idle this long between statements
   * (a paused or stopped process holding locks others wait for), so the others take over. Sent
   * with its BEGIN, in the same round trip. SQLite: one process's own file, nothing to do.
   */
  stallLimitSeconds?: number;
}

export interface Db extends Queryable {
  /** How this database spells what the two spell differently (the clock among them). */
  dialect: Dialect;
  /**
   * Runs `fn` in one transaction; commits when it resolves, rolls back when it throws. `first`:
   * an ack waits on it (an inbound batch): on SQLite, whose one connection takes work in turn, it
   * goes before background work already waiting (a fan-out, an outcome), never before a
   * statement already running.
   */
  tx<T>(fn: (q: Queryable) => Promise<T>, opts?: TxOptions): Promise<T>;
  /**
   * Statements without parameters, run in order as one transaction, and the last one's rows:
   * on PostgreSQL in one round trip (a simple query of several statements is one transaction),
   * so a lock taken by the first is held while the next run and no longer.
   */
  atOnce<T = Row>(statements: string[]): Promise<T[]>;
  close(): Promise<void>;
  /** Where the data lives, without credentials (for logs). */
  describe: string;
}

// node:sqlite is still flagged experimental in Node 22 and says so once per process on
// stderr; that line is noise in a service's structured logs. Other warnings still print.
let warningFiltered = false;
function quietSqliteWarning(): void {
  if (warningFiltered) return;
  warningFiltered = true;
  const listeners = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (w: Error) => {
    if (w.name === 'ExperimentalWarning' && /SQLite/.test(w.message)) return;
    for (const l of listeners) l(w);
  });
}

/** Where the adapters report what they cannot throw to a caller (a pooled connection dying). */
export type DbLog = (level: 'warn' | 'error', msg: string, fields: Record<string, unknown>) => void;

/** `atOnce` where one round trip is all there is anyway (SQLite, in process): each statement in turn, in one transaction. */
function oneByOneInTx<T>(db: Pick<Db, 'tx'>, statements: string[]): Promise<T[]> {
  return db.tx(async (q) => {
    let rows: T[] = [];
    for (const sql of statements) rows = await q.query<T>(sql);
    return rows;
  });
}

/** Statements that change nothing need no sync. */
/** A statement that only reads (no durability to wait for, nothing written). */
export const READ_ONLY = /^\s*(SELECT|PRAGMA)\b/i;

/** One SQLite connection's turns: what runs now, what waits (acks' work first). */
interface Turns {
  first: Array<() => void>;
  rest: Array<() => void>;
  busy: boolean;
  users: number;
  drained: Array<() => void>;
}

/** The statement queue of each SQLite file open in this process (see openSqlite). */
const QUEUES = new Map<string | symbol, Turns>();

/**
 * A statement's `$n` parameters as SQLite's plain `?`, and the order to pass the values in (null:
 * as given). Numbered `?NNN` parameters cost node:sqlite a bind time that grows with the square
 * of their number: a 1,000-row insert's 7,000 took six times as long a row as 50-row inserts.
 */
export function positional(sql: string): { text: string; order: number[] | null } {
  const order: number[] = [];
  const text = sql.replace(/\$(\d+)/g, (_, n: string) => {
    order.push(Number(n) - 1);
    return '?';
  });
  return { text, order: order.every((n, i) => n === i) ? null : order };
}

/** Statements run on one SQLite connection, each prepared once (`$1` parameters, booleans as 0/1). */
function sqliteStatements(db: import('node:sqlite').DatabaseSync): Queryable {
  type Prepared = { stmt: ReturnType<typeof db.prepare>; order: number[] | null };
  const cache = new Map<string, Prepared>();
  const prepare = (sql: string): Prepared => {
    let prepared = cache.get(sql);
    if (!prepared) {
      // Batch statements vary in row count: keep the cache bounded.
      if (cache.size >= 256) cache.clear();
      const { text, order } = positional(sql);
      prepared = { stmt: db.prepare(text), order };
      cache.set(sql, prepared);
    }
    return prepared;
  };
  const value = (p: unknown) => (p === undefined ? null : typeof p === 'boolean' ? (p ? 1 : 0) : p);
  return {
    async query<T>(sql: string, params: unknown[] = []) {
      const { stmt, order } = prepare(sql);
      const args = (order ? order.map((i) => value(params[i])) : params.map(value)) as never[];
      return stmt.all(...args) as T[];
    },
  };
}

/**
 * One connection, so one queue: every statement, inside a transaction or not, takes its
 * turn. A statement issued while a transaction is open would otherwise run inside it and be
 * rolled back with it, after its caller was told it had succeeded. The wait for the disk is
 * outside the queue: the next transaction runs while the last one's log is being synced.
 * Connections of one process to one file share the queue: SQLite's busy wait is synchronous,
 * so a second connection waiting for the first's write lock would block the very thread
 * that has to finish the first's transaction (two relays in one process, as tests run them).
 * Work an ack waits for (`first`) takes the next turn ahead of background work waiting; at
 * most one inbound batch is written at a time, so background work is never starved by it.
 */
function sharedQueue(key: string | symbol): (<T>(work: () => Promise<T>, first?: boolean) => Promise<T>) & { close(): Promise<void> } {
  const turns = QUEUES.get(key) ?? { first: [], rest: [], busy: false, users: 0, drained: [] };
  QUEUES.set(key, turns);
  turns.users++;
  const next = () => {
    const run = turns.first.shift() ?? turns.rest.shift();
    if (run) {
      turns.busy = true;
      run();
    } else {
      turns.busy = false;
      turns.drained.splice(0).forEach((d) => d());
    }
  };
  const enqueue = <T>(work: () => Promise<T>, first = false): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      (first ? turns.first : turns.rest).push(() => {
        let out: Promise<T>;
        try {
          out = work();
        } catch (err) {
          out = Promise.reject(err);
        }
        out.then(resolve, reject).finally(next);
      });
      if (!turns.busy) next();
    });
  return Object.assign(enqueue, {
    async close() {
      if (turns.busy) await new Promise<void>((resolve) => turns.drained.push(resolve));
      if (--turns.users === 0) QUEUES.delete(key);
    },
  });
}

/**
 * `changed()`: what this connection has changed so far. `durable`: a result once it is on disk.
 * Work that changed nothing (a claim or an alert round that found nothing due) starts no sync
 * of its own; it waits only for those already asked for, since what it read (a duplicate's
 * original, say) may not be on disk before them.
 */
function durability(db: import('node:sqlite').DatabaseSync, wal: WalSync | null) {
  const changes = db.prepare('SELECT total_changes() AS n');
  return {
    changed: () => Number((changes.get() as { n: number }).n),
    durable: <T>([out, wrote]: [T, boolean]): Promise<T> => (!wal ? Promise.resolve(out) : (wrote ? wal.sync() : wal.settled()).then(() => out)),
  };
}

export async function openSqlite(file: string): Promise<Db> {
  quietSqliteWarning();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { DatabaseSync } = require('node:sqlite') as typeof import('node:sqlite');
  const memory = file === ':memory:';
  if (!memory) mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new DatabaseSync(file);
  // WAL lets readers run beside the writer. Durability is WalSync's: COMMIT writes the log
  // (NORMAL) and every write's promise waits for the log's fdatasync, so a SIGKILL or a power
  // cut loses nothing acked, and the event loop never waits on the disk. busy_timeout covers
  // a second process (the CLI) touching the same file. temp_store=MEMORY: a statement's
  // journal (kept by a multi-row insert that may fail halfway) stays off the disk.
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${memory ? 'OFF' : 'NORMAL'}; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;`);
  const wal = memory ? null : new WalSync(`${path.resolve(file)}-wal`);
  const { changed, durable } = durability(db, wal);
  const q = sqliteStatements(db);
  const enqueue = sharedQueue(memory ? Symbol('memory') : path.resolve(file));
  const self: Db = {
    dialect: SQLITE,
    describe: `sqlite:${file}`,
    query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
      if (READ_ONLY.test(sql)) return enqueue(() => q.query<T>(sql, params));
      return enqueue(async (): Promise<[T[], boolean]> => {
        const before = changed();
        const rows = await q.query<T>(sql, params);
        return [rows, changed() !== before];
      }).then(durable);
    },
    tx<T>(fn: (q: Queryable) => Promise<T>, opts?: TxOptions): Promise<T> {
      return enqueue(async (): Promise<[T, boolean]> => {
        db.exec('BEGIN IMMEDIATE');
        try {
          const before = changed();
          const out = await fn(q);
          const wrote = changed() !== before;
          db.exec('COMMIT');
          return [out, wrote];
        } catch (err) {
          // SQLite may have rolled back already (a full disk does): a failing ROLLBACK must not
          // replace the error that says what went wrong.
          try {
            db.exec('ROLLBACK');
          } catch {
            // no transaction was open any more
          }
          throw err;
        }
      }, opts?.first).then(durable);
    },
    atOnce: <T>(statements: string[]) => oneByOneInTx<T>(self, statements),
    async close() {
      await enqueue.close();
      await wal?.close();
      db.close();
    },
  };
  return self;
}

export async function openPostgres(url: string, log: DbLog = () => undefined): Promise<Db> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pg = require('pg') as typeof import('pg');
  // BIGINT columns hold millisecond timestamps: safe as JS numbers.
  pg.types.setTypeParser(20, (v: string) => Number(v));
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema');
  parsed.searchParams.delete('schema');
  if (schema && !/^[a-z_][a-z0-9_]{0,62}$/i.test(schema)) throw new Error(`invalid schema name in RELAY_DATABASE_URL: ${schema}`);
  if (schema) {
    const setup = new pg.Client({ connectionString: parsed.toString() });
    await setup.connect();
    try {
      await setup.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } finally {
      await setup.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: parsed.toString(),
    max: 10,
    // Two connections stay open however long the relay is idle (its loops look every few
    // seconds, and a new connection costs the database a process start); the rest close after
    // 30 s unused.
    min: 2,
    idleTimeoutMillis: 30_000,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  return openPostgresPool(pool, parsed, schema, log);
}

/** A prepared statement's name: its text's hash (the same text, the same name, on every connection). */
const NAMES = new Map<string, string>();
function named(text: string, values: unknown[]): { name: string; text: string; values: unknown[] } {
  let name = NAMES.get(text);
  if (!name) {
    name = `dh_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    NAMES.set(text, name);
  }
  return { name, text, values };
}

function openPostgresPool(pool: import('pg').Pool, url: URL, schema: string | null, log: DbLog): Db {
  // An idle pooled connection that dies (server restart, network cut) is reported here; the
  // pool replaces it on next use. Without a listener it would crash the process; without a log
  // line the operator would never learn why queries started failing.
  pool.on('error', (err: Error & { code?: string }) => log('error', 'PostgreSQL connection lost', { error: err.message, code: err.code }));
  const describe = `postgres://${url.hostname}:${url.port || 5432}${url.pathname}${schema ? ` (schema ${schema})` : ''}`;
  return {
    dialect: POSTGRES,
    describe,
    async query<T>(sql: string, params: unknown[] = [], prepare = false) {
      return (await pool.query(prepare ? named(sql, params) : { text: sql, values: params })).rows as T[];
    },
    async atOnce<T>(statements: string[]) {
      // No parameters: pg sends the text as one simple query, and answers with each statement's result.
      const results = (await pool.query(statements.join(';\n'))) as unknown as import('pg').QueryResult | import('pg').QueryResult[];
      return (Array.isArray(results) ? results[results.length - 1] : results).rows as T[];
    },
    async tx<T>(fn: (q: Queryable) => Promise<T>, opts?: TxOptions): Promise<T> {
      const client = await pool.connect();
      // A connection the server ends while it is checked out (a restart, a session timeout)
      // reports it here as well as to the query waiting on it: without a listener the process
      // would crash. The broken connection is released as such, not reused.
      let lost: Error | undefined;
      const onError = (err: Error & { code?: string }) => {
        lost = err;
        log('error', 'PostgreSQL connection lost in a transaction', { error: err.message, code: err.code });
      };
      client.on('error', onError);
      try {
        const limit = opts?.stallLimitSeconds;
        await client.query(limit ? `BEGIN; SET LOCAL idle_in_transaction_session_timeout = '${Math.ceil(limit)}s'` : 'BEGIN');
        const out = await fn({ query: async <R>(sql: string, params: unknown[] = [], prepare = false) => (await client.query(prepare ? named(sql, params) : { text: sql, values: params })).rows as R[] });
        await client.query('COMMIT');
        return out;
      } catch (err) {
        if (!lost) await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.off('error', onError);
        client.release(lost);
      }
    },
    async close() {
      await pool.end();
    },
  };
}

/** `sqlite:PATH` (the default) or `postgres://…` / `postgresql://…`. */
export async function openDb(url: string, log?: DbLog): Promise<Db> {
  if (url.startsWith('sqlite:')) return openSqlite(url.slice('sqlite:'.length) || './data/relay.db');
  if (/^postgres(ql)?:\/\//.test(url)) return openPostgres(url, log);
  throw new Error(`RELAY_DATABASE_URL must be sqlite:PATH or postgres://… (got "${url.split(':')[0]}:…")`);
}
