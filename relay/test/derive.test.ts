/**
 * The work behind the ack: the ack writes the event and its dedup key only; the
 * activity index and the fan-out follow from the event log by a cursor, once per event and
 * subscription, and a relay killed between the two catches up at its next start.
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { demoSessionSample } from '../../lib/providers/walnut.js';
import { dedupKey } from '../domain/identity.js';
import { openDb, type Db } from '../store/db.js';
import { INGEST_LOCK } from '../store/events.js';
import { startRelay } from '../main.js';
import { silentLogger } from '../log.js';
import type { ClaimRequest, ClaimResult } from '../store/deliveries/claim.js';
import { call, RELAY_BIN, reportPgSkip, sleep, spawnRelay, startSink, STORES, testConfig, until, type SpawnedRelay } from './harness.js';
import { claim, deliveriesOf, deriveOnce, servicesOf, unsubscribe } from './fixtures.js';

reportPgSkip();

/** A Walnut demo session of a company's viewer: demo activity, so it is indexed and reaches `demo.activity`. */
const visit = (tag: string) =>
  JSON.stringify({ ...demoSessionSample, data: { ...demoSessionSample.data, session_id: tag, user: { email: `viewer-${tag}@tyrell.com` } } });

const item = (accountId: string, tag: string) => ({
  accountId,
  provider: 'walnut' as const,
  event: 'walnut.demo_session_finished',
  identity: `walnut:demo_session_finished:${tag}`,
  headers: {},
  body: visit(tag),
  activity: { domain: 'tyrell.com', person: `viewer-${tag}@tyrell.com`, email: `viewer-${tag}@tyrell.com`, demo: 'demo-1', occurredAt: null, isTest: false },
});

/** A target that holds its answers while told to (so the deliverer's room is known), recording each event id it gets. */
async function holdingTarget() {
  const got: string[] = [];
  const held: Array<() => void> = [];
  let holding = true;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      got.push(String(req.headers['x-relay-event-id']));
      const answer = () => res.writeHead(200).end('{}');
      if (holding) held.push(answer);
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/zap`,
    got,
    hold: () => {
      holding = true;
    },
    /** Answers what is held and everything after. */
    release: () => {
      holding = false;
      held.splice(0).forEach((a) => a());
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const count = async (db: Db, sql: string, params: unknown[] = []) => Number((await db.query<{ n: number | string }>(sql, params))[0].n);

describe('ids', () => {
  it('made later sort later, byte for byte, also within one millisecond', async () => {
    const relay = await startRelay(testConfig(STORES[0][1]()), silentLogger, { deliver: false });
    try {
      const { account } = await relay.store.accounts.create('ids');
      const stored = await relay.store.events.ingest(Array.from({ length: 1000 }, (_, i) => item(account.id, `id-${i}`)));
      const ids = stored.map((s) => s.id);
      expect(new Set(ids).size).toBe(1000);
      // Positive control: the ids came out in the order they were made…
      const rows = await relay.store.db.query<{ id: string }>('SELECT id FROM events ORDER BY seq');
      expect(rows.map((r) => r.id)).toStrictEqual(ids);
      // …and byte order is that order (base64url's own alphabet would put digits before letters).
      expect([...ids].sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))))).toStrictEqual(ids);
    } finally {
      await relay.close();
    }
  });
});

describe.each(STORES)('the work behind the ack, on %s', (_name, dbUrl) => {
  it('the ack stores the event only; derive indexes and fans it out once, to the subscriptions that existed when it arrived', async () => {
    const relay = await startRelay(testConfig(dbUrl()), silentLogger, { deliver: false });
    try {
      await relay.deliverer.stop();
      const { store } = relay;
      const { account } = await store.accounts.create('derive');
      const hook = await store.hooks.create(account.id, 'walnut.*', 'http://127.0.0.1:9/zap');
      const activityHook = await store.hooks.create(account.id, 'demo.activity', 'http://127.0.0.1:9/signals');
      const gone = await store.hooks.create(account.id, 'walnut.*', 'http://127.0.0.1:9/gone');
      // The relay's own deriver would race this test's look at the table between ack and derive:
      // stop it (what it would do, the test does by hand).
      await relay.deriver.stop();
      const [a] = await store.events.ingest([item(account.id, 'd-1')]);
      const db = store.db;
      // Acked: the event row is there; nothing derived yet.
      expect(await count(db, 'SELECT COUNT(*) AS n FROM events WHERE id = $1', [a.id])).toBe(1);
      expect(await count(db, 'SELECT COUNT(*) AS n FROM deliveries WHERE event_id = $1', [a.id])).toBe(0);
      expect(await count(db, 'SELECT COUNT(*) AS n FROM activity WHERE event_id = $1', [a.id])).toBe(0);
      // An unsubscribe before the derive is final; a subscription made after the event arrived does not get it.
      expect(await unsubscribe(store, account.id, gone.id)).toBe(true);
      await sleep(5);
      const late = await store.hooks.create(account.id, 'walnut.*', 'http://127.0.0.1:9/late');
      expect(await deriveOnce(store)).toStrictEqual({ events: 1, deliveries: 2, handed: 0 });
      const rows = await db.query<{ hook_id: string }>('SELECT hook_id FROM deliveries WHERE event_id = $1', [a.id]);
      expect(rows.map((r) => r.hook_id).sort()).toStrictEqual([hook.id, activityHook.id].sort());
      expect(await count(db, 'SELECT COUNT(*) AS n FROM activity WHERE event_id = $1', [a.id])).toBe(1);
      expect((await servicesOf(store).reads.activity(account.id, { domain: 'tyrell.com', limit: 10 }))!.map((e) => e.id)).toStrictEqual([a.id]);
      // Nothing left: a second derive does nothing.
      expect(await deriveOnce(store)).toStrictEqual({ events: 0, deliveries: 0, handed: 0 });
      // Were the cursor ever lost, the same events would not be fanned out twice: one row per
      // event and subscription (the unique index), the index row kept once.
      await db.query('UPDATE derive_cursor SET seq = 0 WHERE id = 1');
      expect(await deriveOnce(store)).toStrictEqual({ events: 1, deliveries: 0, handed: 0 });
      expect(await count(db, 'SELECT COUNT(*) AS n FROM deliveries WHERE event_id = $1', [a.id])).toBe(2);
      expect(await count(db, 'SELECT COUNT(*) AS n FROM activity WHERE event_id = $1', [a.id])).toBe(1);
      // A replay is a delivery of its own, as before, the late subscription included.
      expect(await servicesOf(store).deliveries.replay(account.id, a.id)).toBe(3);
      expect(await count(db, 'SELECT COUNT(*) AS n FROM deliveries WHERE event_id = $1', [a.id])).toBe(5);
      expect(late.id).toBeDefined();
    } finally {
      await relay.close();
    }
  });

  it('fresh deliveries go to the deliverer leased at insert, as far as it has room; the rest wait for a claim; none for a disabled account', async () => {
    // A target that holds its answers until let go, so the deliverer's room is known.
    const target = await holdingTarget();
    const { got } = target;
    // One slot, and a ready queue as deep: the deliverer takes two fresh deliveries at most.
    const relay = await startRelay(testConfig(dbUrl(), { deliveryConcurrency: 1, accountConcurrency: 1, deliveryTimeoutMs: 5000, leaseMs: 10_000 }), silentLogger);
    const { store } = relay;
    // Every row a claim found (the hand-off is what leaves claims nothing to find).
    let claimed = 0;
    const claim = store.claims.claim.bind(store.claims);
    store.claims.claim = async (r: ClaimRequest): Promise<ClaimResult> => {
      const got = await claim(r);
      claimed += got.claimed.length;
      return got;
    };
    const statusOf = async (eventId: string) => (await store.db.query<{ status: string }>('SELECT status FROM deliveries WHERE event_id = $1', [eventId]))[0]?.status;
    try {
      const { account } = await store.accounts.create('handoff');
      await store.hooks.create(account.id, 'walnut.*', target.url);
      target.release();
      const [first] = await store.events.ingest([item(account.id, 'h-0')]);
      relay.deriver.kick();
      await until('the first delivery recorded delivered', async () => (await statusOf(first.id)) === 'delivered', 10_000);
      // Positive: it was attempted and its attempt kept; no claim found it (it came leased).
      expect(got).toStrictEqual([first.id]);
      expect(await count(store.db, 'SELECT COUNT(*) AS n FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.event_id = $1', [first.id])).toBe(1);
      expect(claimed).toBe(0);
      // Recorded is not yet let go: the attempt's slot frees just after its outcome commits.
      await until('the deliverer holds nothing', () => relay.deliverer.holds() === 0, 10_000);

      // Five at once while the target holds its answers: two are handed over (one attempted,
      // one queued), three are left for claims, and all five arrive, each once.
      target.hold();
      const five = await store.events.ingest(Array.from({ length: 5 }, (_, i) => item(account.id, `h-${i + 1}`)));
      relay.deriver.kick();
      await until('the first of the five at the target', () => got.length === 2, 10_000);
      const leased = await store.db.query<{ event_id: string; locked_by: string | null }>(
        `SELECT event_id, locked_by FROM deliveries WHERE event_id IN (${five.map((_, i) => `$${i + 1}`).join(', ')})`,
        five.map((e) => e.id),
      );
      const byEvent = new Map(leased.map((r) => [r.event_id, r.locked_by]));
      expect(five.map((e) => byEvent.get(e.id))).toStrictEqual([relay.deliverer.worker, relay.deliverer.worker, null, null, null]);
      target.release();
      await until('all five recorded delivered', async () => (await Promise.all(five.map((e) => statusOf(e.id)))).every((s) => s === 'delivered'), 15_000);
      // The two handed over went first, in the order they came; the three claimed after them
      // (one stored batch shares one due time, and ties have no order).
      expect(got.slice(0, 3)).toStrictEqual([first.id, five[0].id, five[1].id]);
      expect([...got.slice(3)].sort()).toStrictEqual(five.slice(2).map((e) => e.id).sort());
      expect(claimed).toBe(3);

      // A disabled account's delivery is stored, not leased and not sent; enabled, it goes.
      const operator = relay.services.accounts;
      expect(await operator.disable(account.id, 0)).toBe(true);
      const [late] = await store.events.ingest([item(account.id, 'h-late')]);
      await deliveriesOf(relay, late.id); // derived by the relay's own deriver, which hands fresh deliveries over
      const [row] = await store.db.query<{ status: string; locked_by: string | null }>('SELECT status, locked_by FROM deliveries WHERE event_id = $1', [late.id]);
      expect({ ...row }).toStrictEqual({ status: 'pending', locked_by: null });
      await sleep(200);
      expect(got).not.toContain(late.id);
      expect(await operator.enable(account.id)).toBe(true);
      relay.deliverer.kick();
      await until('delivered once enabled', async () => (await statusOf(late.id)) === 'delivered', 10_000);
      expect(got.at(-1)).toBe(late.id);
    } finally {
      target.release();
      await relay.close();
      await target.close();
    }
  }, 60_000);

  it("one account's backlog drains without waiting for the poll: a claim left work behind for its share, so a finished attempt looks again", async () => {
    const target = await holdingTarget();
    const { got } = target;
    // A poll far longer than the test: only the deliverer's own bookkeeping can move the backlog.
    const relay = await startRelay(testConfig(dbUrl(), { deliveryConcurrency: 2, accountConcurrency: 1, pollMs: 60_000, idlePollMs: 60_000, deliveryTimeoutMs: 5000, leaseMs: 10_000 }), silentLogger);
    const { store } = relay;
    try {
      const { account } = await store.accounts.create('backlog');
      await store.hooks.create(account.id, 'walnut.*', target.url);
      const ten = await store.events.ingest(Array.from({ length: 10 }, (_, i) => item(account.id, `b-${i}`)));
      relay.deriver.kick();
      // The account's share in flight (one), one more handed over and queued; eight left stored.
      await until('the first at the target', () => got.length === 1, 10_000);
      await until('the rest stored unleased', async () => (await count(store.db, 'SELECT COUNT(*) AS n FROM deliveries WHERE locked_by IS NULL')) === 8, 10_000);
      target.release();
      await until(
        'all ten recorded delivered',
        async () => (await count(store.db, `SELECT COUNT(*) AS n FROM deliveries WHERE status = 'delivered'`)) === 10,
        15_000,
      );
      // Each once (one stored batch shares one due time: ties have no order).
      expect([...got].sort()).toStrictEqual(ten.map((e) => e.id).sort());
    } finally {
      target.release();
      await relay.close();
      await target.close();
    }
  }, 60_000);

  it('a relay killed by SIGKILL between the ack and the derived work, again and again under load: nothing lost, nothing fanned out twice, the index complete', async () => {
    const url = dbUrl();
    const acct = JSON.parse(execFileSync(process.execPath, [RELAY_BIN, 'account', 'create', '--name', 'crash', '--json'], { env: { ...process.env, RELAY_DATABASE_URL: url }, encoding: 'utf8' }));
    const path = new URL(acct.inbound.walnut).pathname;
    const sink = await startSink();
    const env = { RELAY_DATABASE_URL: url, RELAY_LEASE_MS: '1000' };
    let relay: SpawnedRelay = await spawnRelay(env);
    const db = await openDb(url);
    const acked = new Set<string>();
    const backlog = async () => count(db, 'SELECT COALESCE((SELECT MAX(seq) FROM events) - (SELECT seq FROM derive_cursor WHERE id = 1), 0) AS n');
    const backlogs: number[] = [];
    try {
      for (const event of ['walnut.*', 'demo.activity']) {
        expect((await call(relay.url, 'POST', '/v1/hooks', { key: acct.api_key, body: { target_url: `${sink.url}/${event}`, event } })).status).toBe(201);
      }
      let n = 0;
      for (let round = 0; round < 6; round++) {
        // Load: 16 in flight, each event new; a request cut by the kill is not acked (the vendor
        // would retry it) and is simply not counted.
        let stop = false;
        const base = relay.url;
        const worker = async () => {
          while (!stop) {
            const tag = `crash-${n++}`;
            try {
              const r = await call(base, 'POST', path, { body: visit(tag) });
              if (r.status === 200) acked.add(r.json.id);
            } catch {
              return;
            }
          }
        };
        const workers = Array.from({ length: 16 }, worker);
        const before = acked.size;
        await until('acks under load', () => acked.size >= before + 100 + round * 37, 20_000);
        // Killed the moment this test sees stored events not yet derived (or after 2 s of looking).
        await until('a backlog seen', async () => (await backlog()) > 0, 2_000).catch(() => undefined);
        relay.proc.kill('SIGKILL');
        await new Promise((r) => relay.proc.once('exit', r));
        stop = true;
        await Promise.all(workers);
        // What the dead relay acked but had not derived.
        backlogs.push(await backlog());
        relay = await spawnRelay(env);
      }
      // The last start caught up: the cursor reaches the end of the log, and every delivery is recorded delivered.
      await until('derived', async () => (await backlog()) === 0, 30_000);
      await until('delivered', async () => (await count(db, `SELECT COUNT(*) AS n FROM deliveries WHERE status <> 'delivered'`)) === 0, 60_000);
      const events = await count(db, 'SELECT COUNT(*) AS n FROM events');
      const ids = new Set((await db.query<{ id: string }>('SELECT id FROM events')).map((r) => r.id));
      const lost = [...acked].filter((id) => !ids.has(id));
      const perPair = await db.query<{ event_id: string; hook_id: string; n: number | string }>(
        'SELECT event_id, hook_id, COUNT(*) AS n FROM deliveries GROUP BY event_id, hook_id HAVING COUNT(*) <> 1',
      );
      const summary = {
        lost,
        // Every event: one delivery to each subscription, one activity row.
        deliveries: await count(db, 'SELECT COUNT(*) AS n FROM deliveries'),
        activity: await count(db, 'SELECT COUNT(*) AS n FROM activity'),
        eventsWithoutBoth: await count(db, 'SELECT COUNT(*) AS n FROM events e WHERE (SELECT COUNT(*) FROM deliveries d WHERE d.event_id = e.id) <> 2'),
        notOnce: perPair,
        killedWithBacklog: backlogs.some((b) => b > 0),
      };
      expect(acked.size).toBeGreaterThanOrEqual(600);
      expect(summary).toStrictEqual({ lost: [], deliveries: 2 * events, activity: events, eventsWithoutBoth: 0, notOnce: [], killedWithBacklog: true });
      // Positive control for the sink: it received each acked event once per subscription at least.
      const got = new Set(sink.received.map((r) => r.headers['x-relay-event-id'] as string));
      expect([...acked].filter((id) => !got.has(id))).toStrictEqual([]);
    } finally {
      relay.proc.kill('SIGKILL');
      await db.close();
      await sink.close();
      // eslint-disable-next-line no-console
      if (backlogs.length) console.log(`crash test on ${_name}: events acked but not derived at each kill: ${backlogs.join(', ')}`);
    }
  }, 120_000);

  it('a round stops at its deliveries, whatever number of events it read: events that fan out to a hundred subscriptions are derived a few a round, each whole, the rest in the rounds after', async () => {
    const relay = await startRelay(testConfig(dbUrl()), silentLogger, { deliver: false });
    try {
      await relay.deliverer.stop();
      await relay.deriver.stop();
      const { store } = relay;
      const db = store.db;
      const { account } = await store.accounts.create('budget');
      for (let i = 0; i < 100; i++) await store.hooks.create(account.id, 'walnut.*', `http://127.0.0.1:9/s${i}`);
      await store.events.ingest(Array.from({ length: 6 }, (_, i) => item(account.id, `b-${i}`)));
      // Positive control: a round without a budget takes every event it reads, all their deliveries.
      const first = await store.derive.next({ limit: 1 });
      expect({ events: first.ids.length, deliveries: first.deliveries, full: first.full }).toStrictEqual({ events: 1, deliveries: 100, full: true });
      // Room for 2,000 events, 250 deliveries: three events, the third with all of its hundred.
      const r = await store.derive.next({ limit: 2000, maxDeliveries: 250 });
      expect({ events: r.ids.length, deliveries: r.deliveries, full: r.full }).toStrictEqual({ events: 3, deliveries: 300, full: true });
      // The two after them were read but not derived: no deliveries, no activity, the cursor before them.
      expect(await count(db, 'SELECT COUNT(*) AS n FROM deliveries')).toBe(400);
      expect(await count(db, 'SELECT COUNT(*) AS n FROM activity')).toBe(4);
      const [{ seq }] = await db.query<{ seq: number | string }>('SELECT seq FROM derive_cursor WHERE id = 1');
      const rest = await db.query<{ id: string }>('SELECT id FROM events WHERE seq > $1 ORDER BY seq', [Number(seq)]);
      expect(rest).toHaveLength(2);
      const r2 = await store.derive.next({ limit: 2000, maxDeliveries: 250 });
      expect({ ids: r2.ids, deliveries: r2.deliveries, full: r2.full }).toStrictEqual({ ids: rest.map((e) => e.id), deliveries: 200, full: false });
      expect(await count(db, 'SELECT COUNT(*) AS n FROM activity')).toBe(6);
      expect((await store.derive.next({ limit: 2000, maxDeliveries: 250 })).ids).toStrictEqual([]);
    } finally {
      await relay.close();
    }
  });
});

(STORES.length > 1 ? describe : describe.skip)('a PostgreSQL connection ended by the server inside a transaction', () => {
  it('fails that transaction only: the process lives on and the next one works', async () => {
    const db = await openDb(STORES[1][1]());
    const other = await openDb(STORES[1][1]());
    try {
      // Positive control: a transaction on a healthy connection commits.
      expect(await db.tx(async (q) => (await q.query<{ ok: number }>('SELECT 1 AS ok'))[0].ok)).toBe(1);
      // As the 5 s idle-in-transaction limit does to a stalled derive: the server ends the session.
      const failed = db.tx(async (q) => {
        const [{ pid }] = await q.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await other.query('SELECT pg_terminate_backend($1)', [pid]);
        await sleep(200); // the connection's 'error' arrives while it is checked out
        return q.query('SELECT 1 AS ok');
      });
      await expect(failed).rejects.toThrow();
      expect((await db.query<{ ok: number }>('SELECT 1 AS ok'))[0].ok).toBe(1);
      expect(await db.tx(async (q) => (await q.query<{ ok: number }>('SELECT 2 AS ok'))[0].ok)).toBe(2);
    } finally {
      await db.close();
      await other.close();
    }
  });
});

describe.each(STORES)('statements at once (%s)', (_name, dbUrl) => {
  it('run in order as one transaction, answering with the last one’s rows; a statement that fails undoes those before it', async () => {
    const db = await openDb(dbUrl());
    try {
      await db.query("CREATE TABLE IF NOT EXISTS at_once (k TEXT PRIMARY KEY)");
      // Positive control: both run, in order, and the answer is the second's.
      expect((await db.atOnce<{ n: number | string }>(["INSERT INTO at_once (k) VALUES ('first')", 'SELECT COUNT(*) AS n FROM at_once'])).map((r) => Number(r.n))).toStrictEqual([1]);
      await expect(db.atOnce(["INSERT INTO at_once (k) VALUES ('second')", 'SELECT no_such_column FROM at_once'])).rejects.toThrow(/no_such_column/);
      expect((await db.query<{ k: string }>('SELECT k FROM at_once ORDER BY k')).map((r) => r.k)).toStrictEqual(['first']);
    } finally {
      await db.query('DROP TABLE IF EXISTS at_once').catch(() => undefined);
      await db.close();
    }
  });
});

(STORES.length > 1 ? describe : describe.skip)('PostgreSQL: locks and limits sent with their statements', () => {
  const advisoryHeld = (db: Db, key: number) =>
    db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted", [key]).then(([r]) => Number(r.n));

  it('at once: a lock the first statement takes is held while the next runs, and let go when they end', async () => {
    const db = await openDb(STORES[1][1]());
    try {
      const key = 424_242;
      const [seen] = await db.atOnce<{ held: boolean }>([
        `SELECT pg_advisory_xact_lock(${key})`,
        `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = ${key} AND granted AND pid = pg_backend_pid()) AS held`,
      ]);
      expect(seen.held).toBe(true);
      expect(await advisoryHeld(db, key)).toBe(0);
    } finally {
      await db.close();
    }
  });

  it('a transaction with a stall limit is ended by the server when it idles past it; the limit is that transaction’s, not its connection’s', async () => {
    const db = await openDb(STORES[1][1]());
    try {
      const idle = (limit?: number) =>
        db.tx(async (q) => {
          const [{ setting }] = await q.query<{ setting: string }>("SELECT current_setting('idle_in_transaction_session_timeout') AS setting");
          await sleep(1500);
          await q.query('SELECT 1');
          return setting;
        }, limit ? { stallLimitSeconds: limit } : undefined);
      // Positive control: without a limit, idling 1.5 s between statements commits.
      expect(await idle()).toBe('0');
      await expect(idle(1)).rejects.toThrow();
      // A limited transaction that does not stall commits, and its connection goes back to the
      // pool without the limit: every transaction after it idles as long as it likes.
      await db.tx((q) => q.query('SELECT 1'), { stallLimitSeconds: 1 });
      const settings = await Promise.all(Array.from({ length: 4 }, () => idle()));
      expect(settings).toStrictEqual(['0', '0', '0', '0']);
    } finally {
      await db.close();
    }
  }, 20_000);

  it('a derive waits for an ingest that has taken its sequence number and not yet committed, and then derives it in its place', async () => {
    const url = STORES[1][1]();
    const relay = await startRelay(testConfig(url), silentLogger, { deliver: false });
    const ingesting = await openDb(url);
    let commit = () => {};
    try {
      await relay.deliverer.stop();
      await relay.deriver.stop();
      const { store } = relay;
      const { account } = await store.accounts.create('in flight');
      const [a] = await store.events.ingest([item(account.id, 'before')]);
      // An ingest in flight: it holds the ingest lock (shared) and has taken the next number.
      const committed = new Promise<void>((r) => (commit = r));
      let numbered!: () => void;
      const hasNumber = new Promise<void>((r) => (numbered = r));
      const inFlight = ingesting.tx(async (q) => {
        await q.query(`SELECT pg_advisory_xact_lock_shared(${INGEST_LOCK}, hashtext(current_schema()))`);
        const late = item(account.id, 'in-flight');
        await q.query(
          `INSERT INTO events (id, account_id, provider, event, identity, dkey, received_at, headers, body) VALUES ('evt_in_flight', $1, $2, $3, $4, $5, $6, '{}', $7)`,
          [account.id, late.provider, late.event, late.identity, dedupKey(account.id, late.identity, late.body), Date.now(), late.body],
        );
        numbered();
        await committed;
      });
      await hasNumber;
      // A later event, stored and committed past it.
      const [b] = await store.events.ingest([item(account.id, 'after')]);
      const derived = store.derive.next({ limit: 100 });
      // The derive waits for the ingest lock while the earlier number is unsettled.
      await until('the derive waits for the ingest lock', async () => Number((await ingesting.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"))[0].n) === 1);
      commit();
      await inFlight;
      // All three, in their order: the one in flight was not skipped.
      expect((await derived).ids).toStrictEqual([a.id, 'evt_in_flight', b.id]);
    } finally {
      commit(); // a failed assertion must not leave the transaction open, or closing waits for it
      await ingesting.close();
      await relay.close();
    }
  }, 20_000);
});
