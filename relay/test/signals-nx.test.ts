/**
 * Exactly once, under concurrency: a signal's firing is claimed with z.cache set-if-absent
 * (`nx`). createAppTester's cache double ignores `nx`, so here Zapier's cache RPC is replaced
 * by a double that honours it (as Zapier's does) and lets runs interleave between their read
 * and their write; the same parallel double delivery is then run against a double that ignores
 * `nx`, to show the test sees the difference.
 */
import { reportPgSkip, STORES } from './harness.js';
import { signalWorld, type SignalWorld } from './signal-fixture.js';

const mockCache = { honourNx: true, store: new Map<string, string>(), sets: 0, gates: new Map<string, Array<() => void>>() };

jest.mock('zapier-platform-core/src/tools/create-rpc-client', () => () => async (method: string, key: string, value: string | null, _ttl: unknown, _scope: unknown, nx: boolean | null) => {
  if (method === 'zcache_get') return mockCache.store.get(key) ?? null;
  if (method === 'zcache_set') {
    // The two runs' first writes of a signal's key are held until both have come: each run
    // has read the key before either write lands, the interleaving set-if-absent is for (a
    // timeout lets a lone run go on).
    if (key.startsWith('signal:')) {
      const waiting = mockCache.gates.get(key) ?? [];
      mockCache.gates.set(key, waiting);
      if (waiting.length === 0) await new Promise<void>((resolve) => (waiting.push(resolve), setTimeout(resolve, 3000)));
      else if (waiting.length === 1) (waiting.push(() => undefined), waiting[0]());
    }
    mockCache.sets++;
    if (nx && mockCache.honourNx && mockCache.store.has(key)) return false;
    mockCache.store.set(key, value as string);
    return true;
  }
  if (method === 'zcache_delete') return mockCache.store.delete(key);
  throw new Error(`unexpected RPC ${method}`);
});

reportPgSkip();

describe.each(STORES)('exactly-once signals on %s', (_name, dbUrl) => {
  let w: SignalWorld;
  beforeEach(async () => {
    mockCache.store.clear();
    mockCache.sets = 0;
    mockCache.gates.clear();
    w = await signalWorld(dbUrl());
    (w.appTester as unknown as { zcacheTestObj: unknown }).zcacheTestObj = null; // not a plain object: z.cache goes through the RPC double above
  });
  afterEach(async () => {
    await w.close();
  });

  async function parallelDoubleDelivery(trigger: string, inputData: Record<string, unknown>, setup: () => Promise<string>) {
    const { deliver } = await w.subscribe(trigger, inputData);
    const id = await setup();
    // At-least-once: the relay's delivery and a redelivery of it, run by Zapier at the same moment.
    const [a, b] = await Promise.all([deliver(id), deliver(id)]);
    expect(mockCache.sets).toBeGreaterThan(0); // the runs went through the double
    return [...a, ...b];
  }

  const committee = async () => {
    await w.visit('ana@acme.io');
    await w.visit('ben@acme.io');
    return w.visit('cy@acme.io');
  };
  const comeback = async () => {
    await w.visit('ana@globex.com');
    w.clock += 30 * 86_400_000;
    return w.visit('ben@globex.com');
  };

  it.each([
    ['account_buying_committee', {}, committee],
    ['account_reengaged', { quiet_days: 21 }, comeback],
  ] as const)('%s: a parallel double delivery fires once with a cache that honours nx, twice with one that ignores it', async (trigger, input, setup) => {
    mockCache.honourNx = true;
    expect(await parallelDoubleDelivery(trigger, input, setup)).toHaveLength(1);
    // The same runs against a cache that ignores nx (createAppTester's double): both fire.
    mockCache.honourNx = false;
    mockCache.store.clear();
    mockCache.gates.clear();
    expect(await parallelDoubleDelivery(trigger, input, setup)).toHaveLength(2);
  });
});
