/**
 * One test per relay fault found in review, each named after the fault. Every
 * negative assertion follows a positive control: the event was accepted, the call succeeded.
 */
import { spawnSync } from 'node:child_process';
import { demoSessionSample } from '../../lib/providers/walnut.js';
import { processDelivery } from '../../lib/pipeline.js';
import { PROVIDERS } from '../../lib/providers/index.js';
import { signBody } from '../../lib/signature.js';
import { ConfigError, loadConfig } from '../config.js';
import { openDb, type Db, type Queryable } from '../store/db.js';
import { SCHEMA_V1 } from '../store/migrations/index.js';
import { Outcomes } from '../store/deliveries/outcomes.js';
import { Store } from '../store/index.js';
import { isPrivateAddress, resolveTarget } from '../delivery/targets.js';
import { call, freshSqliteUrl, PG_URL, pgAvailable, RELAY_BIN, reportPgSkip, sleep, spawnRelay, startSink, startTestRelay, STORES, until } from './harness.js';
import { claim, complete, deliveriesOf, servicesOf, settle, unsubscribe, walnutSession as session } from './fixtures.js';

reportPgSkip();

const KEY = 'walnut-key';

/**
 * A Db whose next transaction pauses after its first statement until released, so a test can
 * run another statement exactly between two of a transaction's (a race made deterministic).
 */
function pausable(db: Db) {
  let armed = false;
  let reached!: () => void;
  let release!: () => void;
  const state = { reached: Promise.resolve(), release: () => release() };
  const wrapped: Db = {
    ...db,
    query: db.query.bind(db),
    close: db.close.bind(db),
    tx<T>(fn: (q: Queryable) => Promise<T>) {
      const pause = armed;
      armed = false;
      let first = true;
      return db.tx((q) =>
        fn({
          async query<R>(sql: string, params?: unknown[]) {
            const rows = await q.query<R>(sql, params);
            if (pause && first) {
              first = false;
              reached();
              await new Promise<void>((r) => (release = r));
            }
            return rows;
          },
        }),
      );
    },
  };
  return {
    db: wrapped,
    arm() {
      armed = true;
      state.reached = new Promise<void>((r) => (reached = r));
      return state;
    },
  };
}

describe.each(STORES)('relay faults on %s', (_name, dbUrl) => {
  let relay: Awaited<ReturnType<typeof startTestRelay>>;
  let key: string;
  let inbound: Record<string, string>;
  let sink: Awaited<ReturnType<typeof startSink>>;

  beforeEach(async () => {
    relay = await startTestRelay(dbUrl());
    const created = await relay.store.accounts.create('faults');
    key = created.apiKey;
    inbound = (await call(relay.url, 'GET', '/v1/me', { key })).json.inbound;
    sink = await startSink();
  });

  afterEach(async () => {
    await relay.close();
    await sink.close();
  });

  const postWalnut = (url: string, body: string, secret = KEY) => call('', 'POST', url, { body, headers: { 'X-Walnut-Signature': signBody(body, secret) } });

  it('fault 1: a forged post carrying a real event\'s identity does not shadow the genuine event', async () => {
    await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${sink.url}/zap`, event: 'walnut.*' } });
    const genuine = session('s-real');
    // The attacker knows the inbound URL and the identity (event + session_id), not the key.
    const forged = session('s-real', { demo: { ...demoSessionSample.data.demo, name: 'Forged' } });
    const f = await postWalnut(inbound.walnut, forged, 'attacker-guess');
    expect(f.json).toStrictEqual({ id: expect.stringMatching(/^evt_/), duplicate: false });
    const g = await postWalnut(inbound.walnut, genuine);
    expect(g.status).toBe(200);
    expect(g.json).toStrictEqual({ id: expect.stringMatching(/^evt_/), duplicate: false });
    expect(g.json.id).not.toBe(f.json.id);
    // Walnut's retry of the genuine event (the same bytes) is still a duplicate of it.
    expect((await postWalnut(inbound.walnut, genuine)).json).toStrictEqual({ id: g.json.id, duplicate: true });
    await sink.until(() => sink.received.length === 2);
    await sleep(200);
    expect(sink.received).toHaveLength(2);
    // Through the trigger's verification, as Zapier would run it: the genuine one becomes a record.
    const outcomes = sink.received.map((r) => {
      try {
        const out = processDelivery(PROVIDERS.walnut, { rawBody: r.body, signature: r.headers['x-walnut-signature'] as string }, [KEY], { want: '*', includeTest: false });
        return out.kind === 'record' ? `record ${out.record.demo_name}` : out.kind;
      } catch (err) {
        return `refused: ${(err as Error).message.split(':')[0]}`;
      }
    });
    expect(outcomes.sort()).toStrictEqual(['record My Awesome Demo', 'refused: Walnut signature mismatch']);
  });

  it('fault 2: an event with an oversized identity gets its own 400 and fails none of the events committed with it', async () => {
    const good = Array.from({ length: 40 }, (_, i) => session(`burst-${i}`));
    const bad = session('x'.repeat(12_000));
    const answers = await Promise.all([...good, bad].map((b) => postWalnut(inbound.walnut, b)));
    expect(answers.slice(0, 40).map((a) => a.status)).toStrictEqual(Array(40).fill(200));
    expect(answers[40].status).toBe(400);
    expect(answers[40].json.error).toMatch(/identifying fields are \d+ characters long; at most 512/);
    const listed = await call(relay.url, 'GET', '/v1/events?event=walnut.*&limit=100', { key });
    expect(listed.json).toHaveLength(40);
  });

  it('fault 2: an account deleted while its inbound token is remembered gets 404 and poisons no other account\'s batch', async () => {
    const other = await relay.store.accounts.create('other');
    const otherInbound = (await call(relay.url, 'GET', '/v1/me', { key: other.apiKey })).json.inbound;
    // Both tokens are remembered after one event each.
    expect((await postWalnut(inbound.walnut, session('warm-a'))).status).toBe(200);
    expect((await postWalnut(otherInbound.walnut, session('warm-b'))).status).toBe(200);
    await relay.store.db.query('DELETE FROM accounts WHERE id = $1', [other.account.id]);
    const mine = Array.from({ length: 20 }, (_, i) => postWalnut(inbound.walnut, session(`mine-${i}`)));
    const theirs = Array.from({ length: 5 }, (_, i) => postWalnut(otherInbound.walnut, session(`theirs-${i}`)));
    const [a, b] = await Promise.all([Promise.all(mine), Promise.all(theirs)]);
    expect(a.map((r) => r.status)).toStrictEqual(Array(20).fill(200));
    expect(b.map((r) => r.status)).toStrictEqual(Array(5).fill(404));
    // And stays 404 (forgotten), while this account keeps working.
    expect((await postWalnut(otherInbound.walnut, session('later'))).status).toBe(404);
    expect((await postWalnut(inbound.walnut, session('later'))).status).toBe(200);
  });

  it('fault 2: a group commit that fails for any reason is retried member by member; only the bad member fails', async () => {
    // A storage failure tied to one event (here injected: the store refuses any batch holding it).
    // A slow commit (50 ms), so the posts queue up behind it and share the next group commit.
    const real = relay.store.events.ingest.bind(relay.store.events);
    const sizes: number[] = [];
    relay.store.events.ingest = async (items) => {
      sizes.push(items.length);
      await sleep(50);
      if (items.some((i) => i.body.includes('poison'))) throw new Error('row rejected by the database');
      return real(items);
    };
    try {
      const good = Array.from({ length: 20 }, (_, i) => session(`member-${i}`));
      const answers = await Promise.all([...good, session('poison')].map((b) => postWalnut(inbound.walnut, b)));
      expect(answers.slice(0, 20).map((a) => a.status)).toStrictEqual(Array(20).fill(200));
      expect(answers[20]).toStrictEqual({ status: 503, json: { error: 'temporarily unavailable; retry' } });
      expect(Math.max(...sizes)).toBeGreaterThan(1); // the poison really shared a batch with good events
    } finally {
      relay.store.events.ingest = real;
    }
    expect((await call(relay.url, 'GET', '/v1/events?event=walnut.*&limit=100', { key })).json).toHaveLength(20);
  });

  it('fault 3: a delivery cancelled between an attempt\'s answer and its recording is not sent again', async () => {
    const db = await openDb(dbUrl());
    const gated = pausable(db);
    const store = new Store(gated.db);
    try {
      await store.migrate();
      const { account } = await store.accounts.create('race');
      const hook = await store.hooks.create(account.id, 'walnut.*', `${sink.url}/zap`);
      const [stored] = await store.events.ingest([{ accountId: account.id, provider: 'walnut', event: 'walnut.demo_session_finished', identity: 'race-1', headers: {}, body: session('race-1') }]);
      await settle(store); // the fan-out follows the ack
      const [claimed] = await claim(store, 'w1', 10, 5000);
      expect(claimed.id).toBeDefined();
      // The attempt failed (500): its outcome is being recorded when the Zap is turned off.
      const gate = gated.arm();
      const completing = complete(store, claimed.id, 'w1', { kind: 'retry', status: 500, error: 'HTTP 500', delayMs: 0 }, 60_000);
      await gate.reached;
      const deleting = unsubscribe(new Store(db), account.id, hook.id);
      await Promise.race([deleting, sleep(300)]);
      gate.release();
      expect(await deleting).toBe(true);
      await completing;
      const [d] = await deliveriesOf(store, stored.id);
      expect(d.status).toBe('cancelled');
      expect(await claim(store, 'w2', 10, 5000)).toStrictEqual([]);
    } finally {
      await db.close();
    }
  });

  it('fault 3: a delivery cancelled while its attempt is in flight stays cancelled when the answer is recorded', async () => {
    const store = relay.store;
    await relay.deliverer.stop();
    const { account } = await store.accounts.create('in-flight');
    for (const [n, outcome] of [
      ['retry', { kind: 'retry', status: 503, error: 'HTTP 503', delayMs: 0 }],
      ['failed', { kind: 'failed', status: 400, error: 'HTTP 400' }],
      ['delivered', { kind: 'delivered', status: 200 }],
    ] as const) {
      const hook = await store.hooks.create(account.id, 'walnut.*', `${sink.url}/zap`);
      const [stored] = await store.events.ingest([{ accountId: account.id, provider: 'walnut', event: 'walnut.demo_session_finished', identity: `flight-${n}`, headers: {}, body: session(`flight-${n}`) }]);
      await settle(store); // the fan-out follows the ack
      const [claimed] = await claim(store, 'w1', 10, 5000);
      expect(claimed.event_id).toBe(stored.id);
      expect(await unsubscribe(store, account.id, hook.id)).toBe(true);
      expect(await complete(store, claimed.id, 'w1', outcome, 60_000)).toStrictEqual({ recorded: false });
      expect((await deliveriesOf(store, stored.id))[0]).toMatchObject({ status: 'cancelled', attempts: 0 });
    }
    expect(await claim(store, 'w2', 10, 5000)).toStrictEqual([]);
  });

  it('outcomes recorded in one batch keep each guard: a lost lease or a cancelled delivery is not overwritten, every attempt row is kept', async () => {
    const store = relay.store;
    await relay.deliverer.stop();
    const { account } = await store.accounts.create('batch-outcomes');
    const keep = await store.hooks.create(account.id, 'walnut.*', `${sink.url}/keep`);
    const gone = await store.hooks.create(account.id, 'walnut.*', `${sink.url}/gone`);
    const [stored] = await store.events.ingest([{ accountId: account.id, provider: 'walnut', event: 'walnut.demo_session_finished', identity: 'batch-1', headers: {}, body: session('batch-1') }]);
    await settle(store); // the fan-out follows the ack
    const claimed = await claim(store, 'w1', 10, 5000);
    const byHook = new Map(claimed.map((c) => [c.hook_id, c]));
    expect(await unsubscribe(store, account.id, gone.id)).toBe(true);
    const attempt = (n: number) => ({ n, startedAt: Date.now(), durationMs: 3, statusCode: 503, error: 'HTTP 503', responseSnippet: 'down' });
    const retry = { kind: 'retry', status: 503, error: 'HTTP 503', delayMs: 0 } as const;
    const recorded = await store.outcomes.record([
      { id: byHook.get(keep.id)!.id, worker: 'w1', outcome: retry, giveUpMs: 60_000, attempt: attempt(1) },
      { id: byHook.get(keep.id)!.id, worker: 'someone-else', outcome: { kind: 'delivered', status: 200 }, giveUpMs: 60_000 },
      { id: byHook.get(gone.id)!.id, worker: 'w1', outcome: retry, giveUpMs: 60_000, attempt: attempt(1) },
    ]);
    expect(recorded).toStrictEqual([{ recorded: true, status: 'pending', attempts: 1 }, { recorded: false }, { recorded: false }]);
    const after = new Map((await deliveriesOf(store, stored.id)).map((d) => [d.hook_id, d]));
    expect(after.get(keep.id)).toMatchObject({ status: 'pending', attempts: 1, last_error: 'HTTP 503' });
    expect(after.get(gone.id)).toMatchObject({ status: 'cancelled', attempts: 0 });
    const attempts = await store.db.query<{ delivery_id: string }>('SELECT delivery_id FROM delivery_attempts WHERE delivery_id IN ($1, $2)', [byHook.get(keep.id)!.id, byHook.get(gone.id)!.id]);
    expect(attempts).toHaveLength(2);
  });
  it('outcomes of distinct deliveries in one batch keep each guard: a lease taken by another worker or a cancel wins, given up past the window, every attempt row kept', async () => {
    const store = relay.store;
    await relay.deliverer.stop();
    const { account } = await store.accounts.create('batch-distinct');
    const hooks = await Promise.all(['a', 'b', 'c', 'd'].map((p) => store.hooks.create(account.id, 'walnut.*', `${sink.url}/${p}`)));
    const [stored] = await store.events.ingest([{ accountId: account.id, provider: 'walnut', event: 'walnut.demo_session_finished', identity: 'batch-2', headers: {}, body: session('batch-2') }]);
    await settle(store); // the fan-out follows the ack
    const claimed = await claim(store, 'w1', 10, 5000);
    const [ok, lost, cancelled, late] = hooks.map((h) => claimed.find((c) => c.hook_id === h.id)!);
    expect(await unsubscribe(store, account.id, hooks[2].id)).toBe(true);
    // A snippet with quotes, a newline and non-ASCII text: kept exactly, whatever carries the batch.
    const attempt = (status: number) => ({ n: 1, startedAt: 1_700_000_000_123, durationMs: 3, statusCode: status, error: status === 200 ? null : `HTTP ${status}`, responseSnippet: `{"ok": ${status === 200}}\n“Zapier” ü ${status}` });
    const recorded = await store.outcomes.record([
      { id: ok.id, worker: 'w1', outcome: { kind: 'delivered', status: 200 }, giveUpMs: 60_000, attempt: attempt(200) },
      { id: lost.id, worker: 'someone-else', outcome: { kind: 'delivered', status: 200 }, giveUpMs: 60_000, attempt: attempt(200) },
      { id: cancelled.id, worker: 'w1', outcome: { kind: 'retry', status: 503, error: 'HTTP 503', delayMs: 0 }, giveUpMs: 60_000, attempt: attempt(503) },
      { id: late.id, worker: 'w1', outcome: { kind: 'retry', status: 503, error: 'HTTP 503', delayMs: 10_000 }, giveUpMs: 1_000, attempt: attempt(503) },
    ]);
    // Positive control first: the delivered one is recorded delivered.
    expect(recorded).toStrictEqual([{ recorded: true, status: 'delivered', attempts: 1 }, { recorded: false }, { recorded: false }, { recorded: true, status: 'given_up', attempts: 1 }]);
    const after = new Map((await deliveriesOf(store, stored.id)).map((d) => [d.hook_id, d]));
    expect(after.get(hooks[0].id)).toMatchObject({ status: 'delivered', attempts: 1, last_status: 200 });
    expect(after.get(hooks[1].id)).toMatchObject({ status: 'pending', attempts: 0 }); // still w1's lease, not overwritten
    expect(after.get(hooks[2].id)).toMatchObject({ status: 'cancelled', attempts: 0 });
    expect(after.get(hooks[3].id)).toMatchObject({ status: 'given_up', attempts: 1, last_error: 'HTTP 503' });
    const attempts = await store.db.query<Record<string, unknown>>(
      'SELECT delivery_id, n, started_at, duration_ms, status_code, error, response_snippet FROM delivery_attempts WHERE delivery_id IN ($1, $2, $3, $4)',
      [ok.id, lost.id, cancelled.id, late.id],
    );
    const byDelivery = new Map(attempts.map((a) => [a.delivery_id, { ...a }]));
    expect([ok, lost, cancelled, late].map((d) => byDelivery.get(d.id))).toStrictEqual(
      [[ok, 200], [lost, 200], [cancelled, 503], [late, 503]].map(([d, status]) => ({
        delivery_id: (d as { id: string }).id,
        n: 1,
        started_at: 1_700_000_000_123,
        duration_ms: 3,
        status_code: status,
        error: status === 200 ? null : `HTTP ${status}`,
        response_snippet: `{"ok": ${status === 200}}\n“Zapier” ü ${status}`,
      })),
    );
  });


  it('fault 3: lease and due times come from the database clock, not a process clock running ahead', async () => {
    const store = relay.store;
    await relay.deliverer.stop();
    const { account } = await store.accounts.create('clock');
    await store.hooks.create(account.id, 'walnut.*', `${sink.url}/zap`);
    await store.events.ingest([{ accountId: account.id, provider: 'walnut', event: 'walnut.demo_session_finished', identity: 'clock-1', headers: {}, body: session('clock-1') }]);
    await settle(store); // the fan-out follows the ack
    expect(await claim(store, 'w1', 10, 60_000)).toHaveLength(1);
    const real = Date.now;
    const spy = jest.spyOn(Date, 'now').mockImplementation(() => real() + 3_600_000);
    try {
      // Another process whose clock is an hour ahead must not see the lease as expired.
      expect(await claim(store, 'w2', 10, 60_000)).toStrictEqual([]);
    } finally {
      spy.mockRestore();
    }
  });

  it('fault 4: a write outside a transaction is never rolled back with one', async () => {
    const store = relay.store;
    const { account } = await store.accounts.create('rollback');
    let release!: () => void;
    let began!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const open = new Promise<void>((r) => (began = r));
    const failing = store.db.tx(async (q) => {
      await q.query('UPDATE accounts SET name = $1 WHERE id = $2', ['renamed', account.id]);
      began();
      await held;
      throw new Error('ingest failed');
    });
    await open; // the transaction is open now: the write below is issued while it is
    const creating = store.hooks.create(account.id, 'walnut.*', `${sink.url}/zap`);
    await sleep(100);
    release();
    await expect(failing).rejects.toThrow('ingest failed');
    const hook = await creating;
    const rows = await store.db.query<{ id: string }>('SELECT id FROM hooks WHERE id = $1', [hook.id]);
    expect(rows.map((r) => r.id)).toStrictEqual([hook.id]);
    const [acct] = await store.db.query<{ name: string }>('SELECT name FROM accounts WHERE id = $1', [account.id]);
    expect(acct.name).toBe('rollback');
  });

  it('fault 7: newest first is the order of arrival, also inside one group commit', async () => {
    const { account } = await relay.store.accounts.create('order');
    const items = Array.from({ length: 8 }, (_, i) => ({ accountId: account.id, provider: 'walnut' as const, event: 'walnut.demo_session_finished', identity: `o-${i}`, headers: {}, body: session(`o-${i}`) }));
    const stored = await relay.store.events.ingest(items);
    expect(stored.every((s) => !s.duplicate)).toBe(true);
    const listed = (await servicesOf(relay.store).reads.events(account.id, { event: 'walnut.*', limit: 100 })).rows;
    expect(listed.map((e) => JSON.parse(e.body).data.session_id)).toStrictEqual(items.map((_, i) => `o-${i}`).reverse());
    // Ids made by different processes do not sort by arrival: two events in one millisecond, the
    // later-arriving with the smaller id, still list in the order they arrived.
    const at = Date.now();
    for (const [id, tag] of [['evt_zzzzzzzzzzzzzzzz', 'o-late-id-first'], ['evt_0000000000000000', 'o-late-id-second']]) {
      await relay.store.db.query(
        `INSERT INTO events (id, account_id, provider, event, identity, dkey, received_at, headers, body) VALUES ($1, $2, 'walnut', 'walnut.demo_session_finished', $3, $4, $5, '{}', $6)`,
        [id, account.id, tag, Buffer.from(id.padEnd(16, '0').slice(-16)), at, session(tag)],
      );
    }
    const again = (await servicesOf(relay.store).reads.events(account.id, { event: 'walnut.*', limit: 2 })).rows;
    expect(again.map((e) => e.id)).toStrictEqual(['evt_0000000000000000', 'evt_zzzzzzzzzzzzzzzz']);
  });

  it('a vendor retry inside the same group commit is a duplicate of the first copy, fanned out once', async () => {
    const { account } = await relay.store.accounts.create('same-batch');
    await relay.store.hooks.create(account.id, 'walnut.*', `${sink.url}/zap`);
    const item = (tag: string) => ({ accountId: account.id, provider: 'walnut' as const, event: 'walnut.demo_session_finished', identity: `walnut:demo_session_finished:${tag}`, headers: {}, body: session(tag) });
    const [first, retry, other] = await relay.store.events.ingest([item('b-1'), item('b-1'), item('b-2')]);
    expect(first).toStrictEqual({ id: expect.stringMatching(/^evt_/), duplicate: false });
    expect(other).toStrictEqual({ id: expect.stringMatching(/^evt_/), duplicate: false });
    expect(retry).toStrictEqual({ id: first.id, duplicate: true });
    expect((await deliveriesOf(relay, first.id)).map((d) => d.id)).toHaveLength(1);
    expect((await deliveriesOf(relay, other.id)).map((d) => d.id)).toHaveLength(1);
  });

  it('fault 7: listing an unknown event is a 400, as subscribing to it is', async () => {
    expect((await call(relay.url, 'GET', '/v1/events?event=walnut.demo_session_finished', { key })).status).toBe(200);
    // (An empty event= is the operator's "any event" filter, not an unknown event.)
    for (const event of ['walnut.unknown', 'hubspot.*', 'walnut', 'walnut.']) {
      const listed = await call(relay.url, 'GET', `/v1/events?event=${encodeURIComponent(event)}`, { key });
      const subscribed = await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${sink.url}/zap`, event } });
      expect([event, listed.status, subscribed.status]).toStrictEqual([event, 400, 400]);
      expect(listed.json.error).toContain('unknown event');
    }
  });

  it('fault 8: a manually retried delivery gets a fresh give-up window, not one attempt', async () => {
    await relay.close();
    relay = await startTestRelay(dbUrl(), { giveUpMs: 250, retryBaseMs: 30, retryMaxMs: 60 });
    const created = await relay.store.accounts.create('window');
    key = created.apiKey;
    const failing = await startSink(() => 500);
    try {
      await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${failing.url}/zap`, event: 'walnut.*' } });
      const me = (await call(relay.url, 'GET', '/v1/me', { key })).json;
      const ack = await postWalnut(me.inbound.walnut, session('window-1'));
      await until('given up', async () => (await deliveriesOf(relay, ack.json.id))[0].status === 'given_up');
      const [before] = await deliveriesOf(relay, ack.json.id);
      expect(before.attempts).toBeGreaterThan(1);
      expect(before.last_error).toBe('HTTP 500');
      const retried = await call(relay.url, 'POST', `/v1/deliveries/${before.id}/retry`, { key });
      expect(retried).toStrictEqual({ status: 202, json: { id: before.id, status: 'pending' } });
      await until('given up again', async () => (await deliveriesOf(relay, ack.json.id))[0].status === 'given_up');
      const [after] = await deliveriesOf(relay, ack.json.id);
      expect(after.attempts - before.attempts).toBeGreaterThan(1);
      // Pending or delivered deliveries, and other accounts' ids, are refused.
      const other = await relay.store.accounts.create('other');
      expect((await call(relay.url, 'POST', `/v1/deliveries/${before.id}/retry`, { key: other.apiKey })).status).toBe(404);
      expect((await call(relay.url, 'POST', `/v1/deliveries/${before.id}/retry`, { key })).status).toBe(202);
      const conflict = await call(relay.url, 'POST', `/v1/deliveries/${before.id}/retry`, { key });
      // Due now already: claimed and in flight, or about to be.
      expect(conflict.status).toBe(409);
      expect(conflict.json.error).toMatch(/^delivery is (being attempted now|due now already)/);
    } finally {
      await failing.close();
    }
  });
});

// SQLite's planner picks its own join order for an UPDATE … FROM: the batch's statements must
// look each delivery up by its id, or each batch walks every pending delivery.
describe('SQLite: the outcomes of a batch, as the database plans them', () => {
  it('a batch of outcomes finds each delivery by its id, whatever number of deliveries are pending (the plan of the statements that record them)', async () => {
    const relay = await startTestRelay(freshSqliteUrl());
    const sink = await startSink();
    try {
      const store = relay.store;
      await relay.deliverer.stop();
      const { account } = await store.accounts.create('batch-plan');
      await store.hooks.create(account.id, 'walnut.*', `${sink.url}/plan`);
      const [stored] = await store.events.ingest([{ accountId: account.id, provider: 'walnut', event: 'walnut.demo_session_finished', identity: 'batch-plan', headers: {}, body: session('batch-plan') }]);
      await settle(store);
      const [d] = await claim(store, 'w1', 10, 5000);
      // The statements the batch runs, captured on their way to the database.
      const seen: Array<{ sql: string; params: unknown[] }> = [];
      const capturing: Db = {
        ...store.db,
        tx: (fn, opts) =>
          store.db.tx((q) => fn({ query: (sql: string, params: unknown[] = []) => (seen.push({ sql, params }), q.query(sql, params)) as Promise<never[]> }), opts),
      };
      const outcomes = new Outcomes(capturing, store.hooks, store.alerts);
      const attempt = { n: 1, startedAt: Date.now(), durationMs: 2, statusCode: 200, error: null, responseSnippet: 'ok' };
      // Positive control: it records.
      expect(await outcomes.record([{ id: d.id, worker: 'w1', outcome: { kind: 'delivered', status: 200 }, giveUpMs: 60_000, attempt }])).toStrictEqual([{ recorded: true, status: 'delivered', attempts: 1 }]);
      expect((await deliveriesOf(store, stored.id))[0]).toMatchObject({ status: 'delivered' });
      const writes = seen.filter(({ sql }) => /^\s*(UPDATE deliveries|INSERT INTO delivery_attempts)/.test(sql));
      expect(writes.map(({ sql }) => sql.trim().split(/\s+/).slice(0, 3).join(' '))).toStrictEqual(['UPDATE deliveries SET', 'INSERT INTO delivery_attempts']);
      for (const { sql, params } of writes) {
        const plan = (await store.db.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params)).map((r) => r.detail);
        const lookups = plan.filter((line) => /^(SCAN|SEARCH) (deliveries|d)\b/.test(line));
        // Each delivery by its id (its primary key's index), never a scan of the table or of the due ones.
        expect(lookups.length).toBeGreaterThan(0);
        for (const line of lookups) expect({ sql: sql.trim().slice(0, 40), line }).toStrictEqual({ sql: sql.trim().slice(0, 40), line: expect.stringMatching(/^SEARCH (deliveries|d) USING (COVERING )?INDEX sqlite_autoindex_deliveries_1 \(id=\?\)$/) });
      }
    } finally {
      await relay.close();
      await sink.close();
    }
  });
});

describe('fault 5: configuration that makes double delivery routine is refused at start', () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return [];
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).problems;
    }
  };

  it('accepts the defaults and sound settings', () => {
    expect(loadConfig({})).toMatchObject({ port: 8787, leaseMs: 20_000, deliveryTimeoutMs: 10_000, allowPrivateTargets: false, targetHosts: ['hooks.zapier.com'] });
    expect(loadConfig({ PORT: '0', RELAY_ALLOW_PRIVATE_TARGETS: 'true', RELAY_LEASE_MS: '1000', RELAY_DELIVERY_TIMEOUT_MS: '500' })).toMatchObject({ port: 0, allowPrivateTargets: true, leaseMs: 1000 });
    expect(loadConfig({ RELAY_ALLOW_PRIVATE_TARGETS: '1' }).allowPrivateTargets).toBe(true);
  });

  it('names each bad variable and says what it must be', () => {
    expect(problems({ PORT: '80.5' })).toStrictEqual(['PORT must be a whole number from 0 to 65535 (got "80.5")']);
    expect(problems({ RELAY_DELIVERY_CONCURRENCY: '2.5' })).toStrictEqual(['RELAY_DELIVERY_CONCURRENCY must be a whole number from 1 to 1000 (got "2.5")']);
    expect(problems({ RELAY_LEASE_MS: '5000', RELAY_DELIVERY_TIMEOUT_MS: '10000' })[0]).toMatch(/^RELAY_LEASE_MS \(5000\) must be at least RELAY_DELIVERY_TIMEOUT_MS \+ 500/);
    expect(problems({ RELAY_GIVE_UP_MS: String(40 * 86_400_000), RELAY_RETENTION_DAYS: '30' })[0]).toMatch(/^RELAY_GIVE_UP_MS .* must not exceed RELAY_RETENTION_DAYS/);
    expect(problems({ RELAY_ALLOW_PRIVATE_TARGETS: 'maybe' })).toStrictEqual(['RELAY_ALLOW_PRIVATE_TARGETS must be 1/true or 0/false (got "maybe")']);
    expect(problems({ RELAY_DATABASE_URL: 'mysql://x' })[0]).toMatch(/^RELAY_DATABASE_URL must be sqlite:PATH or postgres:/);
    expect(problems({ PORT: 'x', RELAY_POLL_MS: '1' })).toHaveLength(2);
    // A variable that is wrong on its own and a rule between two others: both in one go.
    expect(problems({ PORT: 'x', RELAY_LEASE_MS: '5000', RELAY_DELIVERY_TIMEOUT_MS: '10000', RELAY_RETRY_BASE_MS: '500', RELAY_RETRY_MAX_MS: '100' }).map((p) => p.split(' ')[0])).toStrictEqual([
      'PORT',
      'RELAY_LEASE_MS',
      'RELAY_RETRY_MAX_MS',
    ]);
    // A rule is judged only when the variables it reads are valid: no second message about a bad one.
    expect(problems({ RELAY_LEASE_MS: 'soon', RELAY_DELIVERY_TIMEOUT_MS: '10000' }).map((p) => p.split(' ')[0])).toStrictEqual(['RELAY_LEASE_MS']);
  });

  it('the relay refuses to start and exits 2 with the message', () => {
    const ok = spawnSync(process.execPath, [RELAY_BIN, 'account', 'create', '--name', 'x', '--json'], { env: { ...process.env, RELAY_DATABASE_URL: freshSqliteUrl() }, encoding: 'utf8' });
    expect(ok.status).toBe(0);
    const r = spawnSync(process.execPath, [RELAY_BIN, 'serve'], { env: { ...process.env, PORT: '80.5' }, encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('PORT must be a whole number from 0 to 65535 (got "80.5")');
  });
});

describe('fault 6: the SSRF guard', () => {
  const strict = { targetHosts: ['hooks.zapier.com', 'vm', 'pub.example'], allowPrivateTargets: false };
  const hosts: Record<string, string[]> = { 'hooks.zapier.com': ['54.86.1.1'], vm: ['127.0.0.1'], 'pub.example': ['93.184.216.34', '10.0.0.5'] };
  const resolve = async (h: string) => {
    if (!hosts[h]) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${h}`), { code: 'ENOTFOUND' });
    return hosts[h].map((address) => ({ address, family: 4 }));
  };

  it('resolves the host at subscribe time and refuses one that resolves to a private address', async () => {
    expect((await resolveTarget('https://hooks.zapier.com/hooks/1', strict, resolve)).ok).toBe(true);
    const vm = await resolveTarget('https://vm/hook', strict, resolve);
    expect(vm).toStrictEqual({ ok: false, status: 422, error: expect.stringContaining('resolves to a private, loopback or link-local address (127.0.0.1)') });
    // One private answer among public ones is enough to refuse.
    expect((await resolveTarget('https://pub.example/x', strict, resolve)).ok).toBe(false);
    expect(await resolveTarget('https://nowhere.zapier.com/x', { ...strict, targetHosts: ['*.zapier.com'] }, resolve)).toStrictEqual({ ok: false, status: 422, error: 'target host nowhere.zapier.com does not resolve (ENOTFOUND)' });
    // With the local-testing opt-in, the same host is accepted.
    expect((await resolveTarget('https://vm/hook', { ...strict, allowPrivateTargets: true }, resolve)).ok).toBe(true);
  });

  it('says in a refusal what else local testing needs', async () => {
    const r = await resolveTarget('https://vm/hook', strict, resolve);
    expect(!r.ok && r.error).toContain('set RELAY_ALLOW_PRIVATE_TARGETS=1 and list the host in RELAY_TARGET_HOSTS');
  });

  it('treats 6to4, NAT64 local-use, IPv4-compatible and site-local IPv6 as private', () => {
    expect(isPrivateAddress('2606:4700:4700::1111')).toBe(false); // control: a public IPv6 address
    expect(isPrivateAddress('8.8.8.8')).toBe(false);
    for (const a of ['2002:7f00:1::1', '2002:a00:1::1', '64:ff9b:1::a00:1', '64:ff9b::7f00:1', '::127.0.0.1', '::a00:1', 'fec0::1', '2001:0:4136:e378::1', '::', '::1']) {
      expect([a, isPrivateAddress(a)]).toStrictEqual([a, true]);
    }
  });
});

describe('fault 7: the command line', () => {
  it('exits 2 with usage when no command is given, 0 for --help', () => {
    const help = spawnSync(process.execPath, [RELAY_BIN, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('demohooks-relay serve');
    const none = spawnSync(process.execPath, [RELAY_BIN], { encoding: 'utf8' });
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('usage:');
  });

  const oldNode = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => {
    const v = spawnSync(p, ['-p', 'process.versions.node'], { encoding: 'utf8' });
    return v.status === 0 && Number(v.stdout.split('.')[0]) < 22;
  });
  (oldNode ? it : it.skip)(`on Node < 22 says to run it with npx, instead of failing on node:sqlite (${oldNode ?? 'no Node < 22 on this machine'})`, () => {
    const r = spawnSync(oldNode!, [RELAY_BIN, 'serve'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Run it with `npx demohooks-relay`');
    expect(r.stderr).not.toContain('node:sqlite');
  });

  it('prints the first-start API key to stderr, once, never to the log stream', async () => {
    const dbUrl = freshSqliteUrl();
    const first = await spawnRelay({ RELAY_DATABASE_URL: dbUrl });
    await until('first-start banner', () => first.stderrLines().some((l) => l.includes('API key')), 10_000);
    first.proc.kill('SIGTERM');
    await new Promise((r) => first.proc.once('exit', r));
    expect(first.stderrLines().join('\n')).toMatch(/ {2}dh_[A-Za-z0-9_-]{32}/);
    // The banner says where the console is: the relay's own address.
    expect(first.stderrLines().join('\n')).toMatch(/^Console \(sign in with the API key above\): http:\/\/127\.0\.0\.1:\d+\/$/m);
    expect(first.stdoutLines().join('\n')).not.toMatch(/dh_[A-Za-z0-9_-]{32}/);
    expect(first.stdoutLines().every((l) => l.startsWith('{'))).toBe(true); // JSON logs only
    const second = await spawnRelay({ RELAY_DATABASE_URL: dbUrl });
    await sleep(300);
    second.proc.kill('SIGTERM');
    await new Promise((r) => second.proc.once('exit', r));
    expect(second.stderrLines().join('\n')).not.toContain('API key');
  });
});

(pgAvailable.ok ? describe : describe.skip)('fault 7: PostgreSQL connection errors are logged', () => {
  it('logs an idle pooled connection that the server closes', async () => {
    const logged: Array<[string, string, Record<string, unknown>]> = [];
    const app = `dh_fault7_${process.pid}`;
    const db = await openDb(`${PG_URL}${PG_URL.includes('?') ? '&' : '?'}application_name=${app}`, (level, msg, fields) => logged.push([level, msg, fields]));
    try {
      expect(await db.query('SELECT 1 AS ok')).toStrictEqual([{ ok: 1 }]);
      const admin = await openDb(PG_URL);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [app]);
      await admin.close();
      await until('pool error logged', () => logged.length > 0, 5000);
      expect(logged[0]).toStrictEqual(['error', 'PostgreSQL connection lost', expect.objectContaining({ error: expect.any(String) })]);
      // The pool recovers on next use.
      expect(await db.query('SELECT 2 AS ok')).toStrictEqual([{ ok: 2 }]);
    } finally {
      await db.close();
    }
  });
});

describe.each(STORES)('schema migration on %s', (_name, dbUrl) => {
  it('derives the demo-activity index again from the stored bytes: person without +tag, demo, viewing time; internal viewers dropped', async () => {
    const db = await openDb(dbUrl());
    try {
      const store = new Store(db);
      await store.migrate(5); // the index as version 5 kept it: domain, email and arrival only
      await db.query(`INSERT INTO accounts (id, name, api_key_hash, created_at) VALUES ('acc_v5', 'v5', 'h', 1)`);
      const sessions: Array<[string, Record<string, unknown>]> = [
        ['evt_a', { email: 'Dana+trial@acme.io' }],
        ['evt_b', { email: 'rep@acme.io', type: 'internal' }],
      ];
      for (const [id, user] of sessions) {
        const body = JSON.stringify({ ...demoSessionSample, data: { ...demoSessionSample.data, session_id: id, user } });
        await db.query(`INSERT INTO events (id, account_id, provider, event, identity, dedup_key, received_at, headers, body) VALUES ($1, 'acc_v5', 'walnut', 'walnut.demo_session_finished', $1, $1, 9000000000000, '{}', $2)`, [id, body]);
        await db.query(`INSERT INTO activity (event_id, account_id, domain, email, is_test, received_at) VALUES ($1, 'acc_v5', 'acme.io', $2, 0, 9000000000000)`, [id, String(user.email).toLowerCase()]);
      }
      await store.migrate();
      const rows = await db.query<any>('SELECT event_id, person, demo, occurred_at FROM activity ORDER BY event_id');
      expect(rows.map((r) => [r.event_id, r.person, r.demo, Number(r.occurred_at)])).toStrictEqual([['evt_a', 'dana@acme.io', demoSessionSample.data.demo.id, Date.parse(demoSessionSample.data.session_started)]]);
      expect((await servicesOf(store).reads.activity('acc_v5', { domain: 'acme.io', limit: 10 }))!.map((e) => e.id)).toStrictEqual(['evt_a']);
    } finally {
      await db.close();
    }
  });

  it('brings a database made by the first relay version to the current schema, events and deliveries kept', async () => {
    const db = await openDb(dbUrl());
    try {
      // A relay of the first version: its schema, an event, and deliveries in its statuses.
      for (const stmt of SCHEMA_V1) await db.query(stmt);
      await db.query(`INSERT INTO accounts (id, name, api_key_hash, created_at) VALUES ('acc_old', 'old', 'h', 1)`);
      await db.query(`INSERT INTO hooks (id, account_id, event, target_url, created_at) VALUES ('hook_old', 'acc_old', 'walnut.*', 'https://hooks.zapier.com/x', 1)`);
      const body = session('old-1');
      await db.query(`INSERT INTO events (id, account_id, provider, event, identity, received_at, headers, body) VALUES ('evt_old', 'acc_old', 'walnut', 'walnut.demo_session_finished', 'walnut:demo_session_finished:old-1', 5, '{}', $1)`, [body]);
      for (const [id, status] of [['d1', 'done'], ['d2', 'unsubscribed'], ['d3', 'gone'], ['d4', 'pending']]) {
        await db.query(`INSERT INTO deliveries (id, event_id, hook_id, target_url, status, attempts, next_at, created_at, updated_at) VALUES ($1, 'evt_old', 'hook_old', 'https://hooks.zapier.com/x', $2, 1, 7, 7, 7)`, [id, status]);
      }
      const store = new Store(db);
      await store.migrate();
      await store.migrate(); // a second start changes nothing
      const rows = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.map((r) => Number(r.version))).toStrictEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      expect((await deliveriesOf(store, 'evt_old')).map((d) => [d.id, d.status])).toStrictEqual([['d1', 'delivered'], ['d2', 'cancelled'], ['d3', 'cancelled'], ['d4', 'pending']]);
      // The pending delivery knows its account now, so the fair claim still finds it.
      expect((await claim(store, 'w_migrated', 10, 1000)).map((d) => [d.id, d.account_id])).toStrictEqual([['d4', 'acc_old']]);
      // The old event is still there and still de-duplicates a retry of the same bytes…
      const again = await store.events.ingest([{ accountId: 'acc_old', provider: 'walnut', event: 'walnut.demo_session_finished', identity: 'walnut:demo_session_finished:old-1', headers: {}, body }]);
      expect(again).toStrictEqual([{ id: 'evt_old', duplicate: true }]);
      // …but not a different body with its identity, and the newer event lists first.
      const [twin] = await store.events.ingest([{ accountId: 'acc_old', provider: 'walnut', event: 'walnut.demo_session_finished', identity: 'walnut:demo_session_finished:old-1', headers: {}, body: session('old-1', { x: 1 }) }]);
      expect(twin.duplicate).toBe(false);
      expect((await servicesOf(store).reads.events('acc_old', { event: 'walnut.*', limit: 10 })).rows.map((e) => e.id)).toStrictEqual([twin.id, 'evt_old']);
    } finally {
      await db.close();
    }
  });
});
