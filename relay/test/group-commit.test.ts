import { GroupCommit } from '../loops/group-commit.js';

describe('GroupCommit (ingest and delivery outcomes share it)', () => {
  it('writes items that arrive together in one batch, each caller getting its own result', async () => {
    const batches: number[][] = [];
    const gc = new GroupCommit<number, string>(async (items) => {
      batches.push(items);
      return items.map((i) => `r${i}`);
    }, 100);
    const results = await Promise.all([1, 2, 3].map((i) => gc.add(i)));
    expect(results).toStrictEqual(['r1', 'r2', 'r3']);
    expect(batches).toStrictEqual([[1, 2, 3]]);
  });

  it('retries a failed batch one by one, so only the bad item fails', async () => {
    const gc = new GroupCommit<number, number>(async (items) => {
      if (items.includes(2)) throw new Error('item 2 is bad');
      return items.map((i) => i * 10);
    }, 100);
    const settled = await Promise.allSettled([1, 2, 3].map((i) => gc.add(i)));
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toStrictEqual([10, 'item 2 is bad', 30]);
  });

  it('keeps at most `parallel` batches in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const gc = new GroupCommit<number, number>(
      async (items) => {
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        return items;
      },
      1,
      undefined,
      3,
    );
    const out = await Promise.all(Array.from({ length: 12 }, (_, i) => gc.add(i)));
    expect(out).toStrictEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(most).toBe(3);
  });
});
