/** Small helpers every repository of the store uses to write its statements. */
import type { Db, Queryable } from './db.js';
import type { Dialect } from './dialect.js';

/** A repository: the statements of one aggregate; each method takes an optional transaction to compose in. */
export abstract class Repo {
  constructor(protected readonly db: Db) {}

  protected get d(): Dialect {
    return this.db.dialect;
  }

  /** The database clock in epoch ms, as SQL. */
  protected get now(): string {
    return this.db.dialect.now;
  }

  /** Runs `fn` in `q` when it is a transaction already, else in a new one. */
  protected within<T>(q: Queryable | undefined, fn: (q: Queryable) => Promise<T>): Promise<T> {
    return q ? fn(q) : this.db.tx(fn);
  }
}

export function chunks<T>(xs: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/**
 * Placeholder lists by their shape: every batch statement asks for one, and a batch's row
 * counts repeat, so each is built once (a thousand-row one is 7,000 placeholders).
 */
const lists = new Map<string, string>();
function listOf(key: string, build: () => string): string {
  let out = lists.get(key);
  if (out === undefined) {
    if (lists.size >= 1000) lists.clear();
    out = build();
    lists.set(key, out);
  }
  return out;
}

/** `($1, $2, …), ($n+1, …)` for `rows` rows of `cols` parameters (numbered after the first `skip`). */
export function values(rows: number, cols: number, skip = 0): string {
  return listOf(`v${rows},${cols},${skip}`, () => {
    const out: string[] = [];
    for (let r = 0; r < rows; r++) out.push(`(${Array.from({ length: cols }, (_, c) => `$${skip + r * cols + c + 1}`).join(', ')})`);
    return out.join(', ');
  });
}

/** `$from, $from+1, …` for a list of parameters. */
export const params = (n: number, from = 1): string => listOf(`p${n},${from}`, () => Array.from({ length: n }, (_, i) => `$${i + from}`).join(', '));

export const iso = (ms: number | string | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString());
export const isoOf = (ms: number | string): string => new Date(Number(ms)).toISOString();
export const num = (v: unknown): number => Number(v ?? 0);

/** A parameter list builder: `p(v)` appends a value and returns its placeholder. */
export function placeholders(initial: unknown[] = []): { params: unknown[]; p: (v: unknown) => string } {
  const list = [...initial];
  return {
    params: list,
    p: (v: unknown) => {
      list.push(v);
      return `$${list.length}`;
    },
  };
}
