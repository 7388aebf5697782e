import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openSqlite, WalSync } from '../store/db.js';

/**
 * SQLite's durability: COMMIT writes the log, and a write's promise may resolve only after an
 * fdatasync of the log that *began after* that write. Commits made while one sync runs share
 * the next one. The file handle's datasync is held open here to watch the order.
 */
describe('WalSync (what an ack waits for on SQLite)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'demohooks-walsync-'));
  const wal = path.join(dir, 'relay.db-wal');
  writeFileSync(wal, 'log');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Every file handle's datasync held until the test starts it (`started`, in order); `restore` lets them run again. */
  async function holdDatasync() {
    const probe = await open(wal, 'r');
    const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
    await probe.close();
    const real = proto.datasync;
    const started: Array<() => void> = [];
    proto.datasync = function (this: unknown) {
      return new Promise<void>((resolve, reject) => started.push(() => real.call(this).then(resolve, reject)));
    };
    return { started, restore: () => void (proto.datasync = real) };
  }

  it('resolves a write only after a sync that began after it, sharing one sync among the writes that waited', async () => {
    const { started, restore } = await holdDatasync();
    try {
      const sync = new WalSync(wal);
      const settled: string[] = [];
      const first = sync.sync().then(() => settled.push('first'));
      while (started.length < 1) await new Promise((r) => setTimeout(r, 1));
      // Written while the first sync runs: that sync may not cover them.
      const second = sync.sync().then(() => settled.push('second'));
      const third = sync.sync().then(() => settled.push('third'));
      started[0]();
      await first;
      await new Promise((r) => setTimeout(r, 20));
      expect(settled).toStrictEqual(['first']);
      expect(started).toHaveLength(2); // one more sync, begun after the second and third writes
      started[1]();
      await Promise.all([second, third]);
      expect(settled).toStrictEqual(['first', 'second', 'third']);
      expect(started).toHaveLength(2);
      await sync.close();
    } finally {
      restore();
    }
  });

  it('a transaction that changed nothing starts no sync, yet resolves only once the syncs already asked for are done', async () => {
    const { started, restore } = await holdDatasync();
    const db = await openSqlite(path.join(dir, 'changes.db'));
    try {
      await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)').catch(() => undefined);
      while (started.length > 0) started.shift()!();
      await new Promise((r) => setTimeout(r, 20));
      while (started.length > 0) started.shift()!();
      const done: string[] = [];
      // A write asks for a sync, and waits for it.
      const write = db.tx((q) => q.query('INSERT INTO t (v) VALUES ($1)', ['x'])).then(() => done.push('write'));
      while (started.length < 1) await new Promise((r) => setTimeout(r, 1));
      // One that reads what the write committed (an update that matches nothing): no sync of
      // its own, but not answered before the write's sync is done.
      const empty = db.tx((q) => q.query("UPDATE t SET v = 'y' WHERE v = 'none'")).then(() => done.push('empty'));
      const none = db.query("UPDATE t SET v = 'y' WHERE v = 'none'").then(() => done.push('none'));
      await new Promise((r) => setTimeout(r, 30));
      expect(done).toStrictEqual([]);
      expect(started).toHaveLength(1);
      started.shift()!();
      await Promise.all([write, empty, none]);
      expect(done).toContain('write');
      expect(done).toHaveLength(3);
      expect(started).toHaveLength(0);
      // With no sync pending, one that changed nothing is answered at once.
      await db.tx((q) => q.query("UPDATE t SET v = 'y' WHERE v = 'none'"));
      expect(started).toHaveLength(0);
    } finally {
      restore();
      await db.close();
    }
  });

  it("an ack's transaction takes the next turn ahead of background work waiting, never the running one's", async () => {
    const db = await openSqlite(path.join(dir, 'turns.db'));
    try {
      await db.query('CREATE TABLE IF NOT EXISTS turns (n INTEGER)');
      const order: string[] = [];
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const running = db.tx(async (q) => {
        await gate;
        await q.query('INSERT INTO turns (n) VALUES (1)');
        order.push('running');
      });
      const background = [1, 2].map((n) => db.tx(async (q) => {
        await q.query('INSERT INTO turns (n) VALUES ($1)', [n]);
        order.push(`background ${n}`);
      }));
      const ack = db.tx(async (q) => {
        await q.query('INSERT INTO turns (n) VALUES (9)');
        order.push('ack');
      }, { first: true });
      await new Promise((r) => setTimeout(r, 20));
      expect(order).toStrictEqual([]); // all wait for the one running
      release();
      await Promise.all([running, ack, ...background]);
      expect(order).toStrictEqual(['running', 'ack', 'background 1', 'background 2']);
      expect((await db.query<{ c: number }>('SELECT COUNT(*) AS c FROM turns'))[0].c).toBe(4);
    } finally {
      await db.close();
    }
  });
});
