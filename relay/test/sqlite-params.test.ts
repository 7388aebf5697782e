import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDb, positional, type Db } from '../store/db.js';

/**
 * Statements are written once with `$n` parameters; on SQLite they run with plain `?` and the
 * values passed in the order the text names them (numbered `?NNN` bind in time that grows with
 * the square of their number).
 */
describe('SQLite statement parameters', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'demohooks-params-'));
  let db: Db;
  beforeAll(async () => {
    db = await openDb(`sqlite:${path.join(dir, 'relay.db')}`);
  });
  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('binds parameters named out of order and more than once', async () => {
    const [row] = await db.query<{ a: string; b: string; c: string; d: number }>('SELECT $1 AS a, $2 AS b, $1 AS c, $3 AS d', ['A', 'B', 7]);
    expect(row).toEqual({ a: 'A', b: 'B', c: 'A', d: 7 });
    const [swapped] = await db.query<{ first: string; second: string }>('SELECT $2 AS first, $1 AS second', ['one', 'two']);
    expect(swapped).toEqual({ first: 'two', second: 'one' });
  });

  it('inserts a thousand rows of a multi-row statement, each value in its place', async () => {
    await db.query('CREATE TABLE t (n INTEGER, s TEXT, flag INTEGER)');
    const rows = Array.from({ length: 1000 }, (_, i) => [i, `row ${i}`, i % 2 === 0]);
    const sql = `INSERT INTO t (n, s, flag) VALUES ${rows.map((_, i) => `($${3 * i + 1}, $${3 * i + 2}, $${3 * i + 3})`).join(', ')} RETURNING n`;
    expect(await db.query(sql, rows.flat())).toHaveLength(1000);
    const back = await db.query<{ n: number; s: string; flag: number }>('SELECT n, s, flag FROM t ORDER BY n');
    expect(back).toHaveLength(1000);
    expect(back.every((r, i) => r.n === i && r.s === `row ${i}` && r.flag === (i % 2 === 0 ? 1 : 0))).toBe(true);
  });

  it('passes the values as given when the text names them in order, and reorders them otherwise', () => {
    expect(positional('SELECT $1, $2, $3')).toEqual({ text: 'SELECT ?, ?, ?', order: null });
    expect(positional('UPDATE x SET a = $2 WHERE id = $1')).toEqual({ text: 'UPDATE x SET a = ? WHERE id = ?', order: [1, 0] });
  });
});
