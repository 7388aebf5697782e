/**
 * Acks first: the work behind the ack (the derive, the deliverer's claims and new attempts)
 * takes its turn in a pause between inbound events, or once the longest wait has passed.
 */
import { demoSessionSample } from '../../lib/providers/walnut.js';
import { Deliverer } from '../delivery/deliverer.js';
import { Deriver } from '../ingest/deriver.js';
import { Handoff } from '../ingest/handoff.js';
import { Intake } from '../ingest/intake.js';
import { silentLogger } from '../log.js';
import { AcksFirst } from '../loops/acks-first.js';
import { startRelay } from '../main.js';
import type { Store } from '../store/index.js';
import { sleep, startSink, STORES, testConfig, until } from './harness.js';

const settled = <T>(p: Promise<T>) => {
  const s = { done: false };
  void p.then(() => (s.done = true));
  return s;
};

describe('acks first', () => {
  it('a turn comes at once when no inbound event waits, and not while one does: only once it is answered and a quiet moment has passed', async () => {
    // Positive control: nothing waiting, the turn comes.
    const calm = new AcksFirst(5, 60_000);
    await calm.turn();

    const acks = new AcksFirst(5, 60_000);
    acks.enter();
    const turn = acks.turn();
    const s = settled(turn);
    await sleep(60); // the waiter is looked at again and again meanwhile
    expect(s.done).toBe(false);
    const answeredAt = performance.now();
    acks.leave();
    await turn;
    expect(performance.now() - answeredAt).toBeGreaterThanOrEqual(5);
  });

  it('is decided after the event loop has read what arrived, not when asked: an event that comes in meanwhile goes first', async () => {
    const acks = new AcksFirst(1, 60_000);
    // Positive control: asked and nothing arrives, the turn comes.
    await acks.turn();
    await sleep(5);
    const turn = acks.turn();
    acks.enter(); // as a request read before the turn is looked at
    const s = settled(turn);
    await sleep(30);
    expect(s.done).toBe(false);
    acks.leave();
    await turn;
  });

  it('under a stream of acks with no pause, the work still has a turn once the longest wait has passed', async () => {
    const before = performance.now();
    const acks = new AcksFirst(1, 40);
    try {
      acks.enter(); // never answered: no pause ever comes
      await acks.turn();
      expect(performance.now() - before).toBeGreaterThanOrEqual(40);
      const again = performance.now();
      await acks.turn();
      expect(performance.now() - again).toBeGreaterThanOrEqual(39);
    } finally {
      acks.close();
    }
  }, 10_000);

  it('closing releases every waiter at once', async () => {
    const acks = new AcksFirst(1, 60_000);
    acks.enter();
    const turns = [acks.turn(), acks.turn()];
    const s = settled(Promise.all(turns));
    await sleep(20);
    expect(s.done).toBe(false);
    acks.close();
    await Promise.all(turns);
    await acks.turn(); // and any asked for after
  });
});

/** A Walnut session stored as intake stores one (no activity handed over). */
const storeSession = (store: Store, accountId: string, tag: string) =>
  store.events.ingest([{ accountId, provider: 'walnut', event: 'walnut.demo_session_finished', identity: `walnut:s:${tag}`, headers: {}, body: JSON.stringify({ ...demoSessionSample, data: { ...demoSessionSample.data, session_id: tag } }) }]);

const countOf = async (store: Store, sql: string) => Number((await store.db.query<{ n: number | string }>(sql))[0].n);

describe.each(STORES)('acks first in the relay, on %s', (_name, dbUrl) => {
  it('the deriver waits while an inbound event waits for its commit, and derives once it is answered', async () => {
    const relay = await startRelay(testConfig(dbUrl()), silentLogger, { deliver: false });
    const acks = new AcksFirst(1, 60_000);
    const deriver = new Deriver(relay.store, new Handoff(), silentLogger, 20, () => undefined, 2000, null, acks);
    try {
      await relay.deriver.stop(); // this test's deriver is the only one
      const { store } = relay;
      const { account } = await store.accounts.create('turns');
      await store.hooks.create(account.id, 'walnut.*', 'http://127.0.0.1:9/zap');
      const ingest = (tag: string) => storeSession(store, account.id, tag);
      const delivered = () => countOf(store, 'SELECT COUNT(*) AS n FROM deliveries');
      deriver.start();
      // Positive control: no ack waiting, the event is derived.
      await ingest('calm');
      deriver.kick();
      await until('the calm event derived', async () => (await delivered()) === 1);
      // An ack waiting: kicked and polled every 20 ms, the deriver leaves the next event alone…
      acks.enter();
      await ingest('busy');
      deriver.kick();
      await sleep(150);
      expect(await delivered()).toBe(1);
      // …until it is answered.
      acks.leave();
      await until('the event derived once its ack was answered', async () => (await delivered()) === 2);
    } finally {
      acks.close();
      await deriver.stop();
      await relay.close();
    }
  });

  it("the deliverer's claims wait while an inbound event waits for its commit, and go on once it is answered", async () => {
    const sink = await startSink();
    const cfg = testConfig(dbUrl());
    const relay = await startRelay(cfg, silentLogger, { deliver: false });
    const acks = new AcksFirst(1, 60_000);
    const deliverer = new Deliverer(relay.store, cfg, silentLogger, undefined, null, acks);
    try {
      await relay.deliverer.stop();
      await relay.deriver.stop();
      const { store } = relay;
      const { account } = await store.accounts.create('claims');
      await store.hooks.create(account.id, 'walnut.*', `${sink.url}/zap`);
      const ingest = (tag: string) => storeSession(store, account.id, tag);
      const deliveredCount = () => countOf(store, "SELECT COUNT(*) AS n FROM deliveries WHERE status = 'delivered'");
      deliverer.start();
      // Positive control: no ack waiting, a delivery queued for a claim is recorded delivered.
      await ingest('calm');
      await store.derive.next({ limit: 10 }); // stored unleased: a claim's
      deliverer.kick();
      await until('the calm delivery recorded', async () => (await deliveredCount()) === 1);
      // An ack waiting: kicked and polled, the deliverer claims nothing…
      acks.enter();
      await ingest('busy');
      await store.derive.next({ limit: 10 });
      deliverer.kick();
      await sleep(150);
      expect(sink.received).toHaveLength(1);
      expect(await deliveredCount()).toBe(1);
      // …until it is answered.
      acks.leave();
      await until('the second delivery recorded', async () => (await deliveredCount()) === 2);
    } finally {
      acks.close();
      await deliverer.stop();
      await relay.close();
      await sink.close();
    }
  });

  it('intake counts an event as waiting until it is answered, stored or refused', async () => {
    const relay = await startRelay(testConfig(dbUrl()), silentLogger, { deliver: false });
    const acks = new AcksFirst();
    try {
      const intake = new Intake(relay.store, new Handoff(), () => undefined, null, acks);
      const { account, tokens } = await relay.store.accounts.create('count');
      const body = Buffer.from(JSON.stringify({ ...demoSessionSample, data: { ...demoSessionSample.data, session_id: 'w-1' } }));
      const storing = intake.receive(account, 'walnut', tokens.walnut, body, {});
      expect(acks.waiting).toBe(1);
      await storing;
      expect(acks.waiting).toBe(0);
      // Refused at the store (the account is gone): answered, so no longer waiting.
      await relay.store.db.query('DELETE FROM inbound_tokens WHERE account_id = $1', [account.id]);
      await relay.store.db.query('DELETE FROM accounts WHERE id = $1', [account.id]);
      const refused = intake.receive(account, 'walnut', tokens.walnut, Buffer.from(JSON.stringify({ ...demoSessionSample, data: { ...demoSessionSample.data, session_id: 'w-2' } })), {});
      expect(acks.waiting).toBe(1);
      await expect(refused).rejects.toThrow('unknown inbound URL');
      expect(acks.waiting).toBe(0);
    } finally {
      await relay.close();
    }
  });
});
