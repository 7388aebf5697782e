import type { Queryable } from '../db.js';
import type { Dialect } from '../dialect.js';

/** One schema version: what it is for, and the statements that make it. */
export interface Migration {
  version: number;
  why: string;
  up(q: Queryable, dialect: Dialect): Promise<void>;
}
