/**
 * What the two databases spell differently, so that each statement is written once: the
 * database clock, "one of this array parameter", row locks, time buckets, text search, a
 * lateral join and binary columns. SQLite has one writer, so its row locks are nothing.
 */
export interface Dialect {
  readonly name: 'sqlite' | 'postgres';
  /**
   * The database clock in epoch milliseconds. Lease, due and give-up times are taken from it,
   * so relay processes whose own clocks disagree still agree on what is due.
   */
  readonly now: string;
  /** `col` is one of the values of the array parameter `$n` (pass it through `array`). */
  anyOf(col: string, n: number, type?: 'text' | 'bigint'): string;
  /** An array parameter as `anyOf` reads it. */
  array(values: readonly unknown[]): unknown;
  /** A row-locking clause (`FOR UPDATE …`) after a SELECT; nothing on SQLite. */
  lock(clause: string): string;
  /** The `width`-ms bucket of `col` counted from the parameter `from`, as an integer. */
  bucket(col: string, from: string, width: number): string;
  /** Case-insensitive "`col` contains the parameter". */
  contains(col: string, param: string): string;
  /** Joins the rows of a subquery that refers to the row before it. */
  lateral(sub: string, alias: string): string;
  /** A parameter cast to a column type where PostgreSQL needs to be told. */
  cast(param: string, type: string): string;
  /** The greater of two values. */
  greatest(a: string, b: string): string;
  /** The column type of raw bytes. */
  readonly bytes: string;
  /** How many write transactions are worth running at once (SQLite has one connection). */
  readonly writers: number;
  /**
   * The rows a large multi-row insert writes per statement: on PostgreSQL each statement is a
   * round trip; on SQLite each row count is a statement text of its own to prepare, and a
   * thousand rows take longer to prepare than to run.
   */
  readonly rowsPerStatement: number;
}

export const SQLITE: Dialect = {
  name: 'sqlite',
  now: "CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)",
  anyOf: (col, n) => `${col} IN (SELECT value FROM json_each($${n}))`,
  array: (values) => JSON.stringify(values),
  lock: () => '',
  bucket: (col, from, width) => `CAST((${col} - ${from}) / ${width} AS INTEGER)`,
  contains: (col, param) => `instr(lower(${col}), lower(${param})) > 0`,
  lateral: (sub, alias) => `JOIN deliveries ${alias} ON ${alias}.id IN (SELECT id FROM (${sub}))`,
  cast: (param) => param,
  greatest: (a, b) => `max(${a}, ${b})`,
  bytes: 'BLOB',
  writers: 1,
  rowsPerStatement: 64,
};

export const POSTGRES: Dialect = {
  name: 'postgres',
  now: '(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT',
  anyOf: (col, n, type = 'text') => `${col} = ANY($${n}::${type}[])`,
  array: (values) => values,
  lock: (clause) => ` ${clause}`,
  bucket: (col, from, width) => `((${col} - ${from}) / ${width})::bigint`,
  contains: (col, param) => `strpos(lower(${col}), lower(${param})) > 0`,
  lateral: (sub, alias) => `CROSS JOIN LATERAL (${sub}) ${alias}`,
  cast: (param, type) => `${param}::${type}`,
  greatest: (a, b) => `GREATEST(${a}, ${b})`,
  bytes: 'BYTEA',
  writers: 8,
  rowsPerStatement: 1000,
};
