import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WalSync } from '../store/db.js';

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

  it('resolves a write only after a sync that began after it, sharing one sync among the writes that waited', async () => {
    const probe = await open(wal, 'r');
    const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
    await probe.close();
    const real = proto.datasync;
    const started: Array<() => void> = [];
    proto.datasync = function (this: unknown) {
      return new Promise<void>((resolve, reject) => started.push(() => real.call(this).then(resolve, reject)));
    };
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
      proto.datasync = real;
    }
  });
});
