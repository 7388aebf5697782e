/**
 * `npm run bench`: speed and scale figures, each a ratio against a baseline measured in the
 * same run on the same machine (these machines are shared and noisy), plus the absolute
 * numbers for context. `--quick` runs smaller sizes.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { processDelivery } from '../lib/pipeline.js';
import { PROVIDERS } from '../lib/providers/index.js';
import { demoSessionSample } from '../lib/providers/walnut.js';
import { ACTIVITY_PAGE } from '../lib/signal-trigger.js';
import { asZapierHookHeaders, signRequest } from '../lib/signature.js';
import { openDb, type Db, type Queryable } from '../relay/store/db.js';
import { activityIndex } from '../relay/domain/activity.js';
import { dedupKey } from '../relay/domain/identity.js';
import { Store } from '../relay/store/index.js';
import { demoActivityOf } from '../lib/activity.js';
import { dropStores, freshPgUrl, freshSqliteUrl, pgAvailable, spawnRelay } from '../relay/test/harness.js';
import { relayOn, type Running, stores, subscribe, UNLIMITED } from './relays.js';
import { idleCpu, stageProfile, steadyRate } from './steady.js';
import { startZapier } from '../relay/test/zapier-standin.js';
import { closedLoop, cpuMsOf, fmt, median, openLoop, percentile, post, spawnBareForwarder, spawnBareServer, spawnCollector, startTimingSink, table, waitFor, walnutEvent } from './lib.js';

const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const ROOT = path.resolve(__dirname, '..', '..');
const say = (s = '') => process.stdout.write(`${s}\n`);

/**
 * "Stays flat": a growth row's cost against the row of the same store at the smallest size.
 * 1.25× is the allowance for this shared machine's noise; the ack cost of more subscriptions
 * per event is not judged (an ack writes every subscriber's delivery, by design), the cost per
 * delivery is.
 */
const FLAT = 1.25;
const flat = (...costs: number[]) => (costs.every((c) => c <= FLAT) ? 'flat: met' : `NOT met (${fmt(Math.max(...costs), 2)}× > ${FLAT}×)`);

// 1. perform cost ---------------------------------------------------------------------------

function timeOps(fn: () => unknown, n: number): number {
  const t = performance.now();
  for (let i = 0; i < n; i++) fn();
  return ((performance.now() - t) * 1000) / n; // µs per op
}

function performCost(): void {
  say('## perform cost: verify ▸ validate ▸ flatten, per event, against JSON.parse + one HMAC-SHA256 of the same body');
  const rows: Array<Array<string | number>> = [];
  for (const p of Object.values(PROVIDERS)) {
    for (const ev of [p.events[0], p.events[p.events.length - 1]]) {
      const body = JSON.stringify(ev.sample);
      const secret = 'bench-secret';
      const sig = signRequest(p.scheme, body, secret)[p.scheme.header];
      const floor = () => {
        JSON.parse(body);
        return createHmac('sha256', secret).update(body).digest('hex');
      };
      const work = () => processDelivery(p, { rawBody: body, signature: sig }, [secret], { want: '*', includeTest: true });
      if (work().kind !== 'record') throw new Error('bench payload did not produce a record');
      const n = quick ? 2000 : 10000;
      timeOps(floor, n);
      timeOps(work, n);
      const f: number[] = [];
      const w: number[] = [];
      for (let r = 0; r < (quick ? 5 : 11); r++) {
        f.push(timeOps(floor, n));
        w.push(timeOps(work, n));
      }
      const fm = median(f);
      const wm = median(w);
      rows.push([`${p.key} ${ev.event}`, body.length, fmt(fm, 2), fmt(wm, 2), fmt(wm / fm, 2), wm / fm <= 2.5 ? 'met' : 'NOT met']);
    }
  }
  say(table(['payload', 'bytes', 'floor µs', 'perform µs', 'ratio', '≤ 2.5×'], rows));
  say();
}

// 2. cold start -----------------------------------------------------------------------------

async function coldStart(): Promise<void> {
  say('## cold start: a fresh process loads the built app and runs one signed delivery through a trigger, against loading zapier-platform-core alone and doing JSON.parse + one HMAC-SHA256 (fresh process each, median)');
  const zip = path.join(ROOT, 'build', 'build.zip');
  let appDir = ROOT;
  let where = 'the project (build/build.zip not built yet: run npm test first)';
  let tmp: string | null = null;
  if (existsSync(zip)) {
    tmp = mkdtempSync(path.join(tmpdir(), 'demohooks-cold-'));
    // The CLI's own unzip, as in the zip smoke test.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    await (require('zapier-platform-cli/src/utils/decompress') as (zip: string, dir: string) => Promise<unknown>)(zip, tmp);
    appDir = tmp;
    where = 'build/build.zip, unzipped';
  }
  const key = 'cold-start-key';
  const { body } = walnutEvent('cold', key);
  const env = { ...process.env, COLD_BODY: body, COLD_SIG: signRequest(PROVIDERS.walnut.scheme, body, key)[PROVIDERS.walnut.scheme.header], COLD_KEY: key };
  const core = JSON.stringify(path.join(appDir, 'node_modules', 'zapier-platform-core'));
  const app = JSON.stringify(path.join(appDir, 'index.js'));
  const scripts = {
    core: `const t=process.hrtime.bigint();require(${core});JSON.parse(process.env.COLD_BODY);require('node:crypto').createHmac('sha256',process.env.COLD_KEY).update(process.env.COLD_BODY).digest('hex');console.log(Number(process.hrtime.bigint()-t)/1e6)`,
    // The trigger's own perform with the z it uses: core's error classes and a z.cache that
    // has seen nothing (Zapier's cache is a service call, not the app's work).
    app: `const t=process.hrtime.bigint();const app=require(${app});const {errors}=require(${core});
const z={errors,cache:{get:async()=>null,set:async()=>true}};
const bundle={authData:{walnut_signing_key:process.env.COLD_KEY},inputData:{},subscribeData:{id:'cold'},rawRequest:{content:process.env.COLD_BODY,headers:{'Http-X-Walnut-Signature':process.env.COLD_SIG}}};
app.triggers.walnut_demo_session_finished.operation.perform(z,bundle).then((r)=>{const ms=Number(process.hrtime.bigint()-t)/1e6;if(r.length!==1||r[0].signature_verified!==true)throw new Error('cold start: the delivery did not come out as a verified record');console.log(ms)})`,
  };
  const measure = (which: keyof typeof scripts) => Number(execFileSync(process.execPath, ['-e', scripts[which]], { cwd: appDir, env, encoding: 'utf8' }).trim());
  measure('core');
  measure('app');
  const c: number[] = [];
  const a: number[] = [];
  for (let i = 0; i < (quick ? 5 : 21); i++) {
    c.push(measure('core'));
    a.push(measure('app'));
  }
  const cm = median(c);
  const am = median(a);
  say(table(['fresh process', 'ms (median)', 'ratio', '≤ 1.10×'], [
    ['zapier-platform-core loaded, JSON.parse + HMAC once', fmt(cm), '1.00', ''],
    [`the app loaded, one signed Walnut delivery through its trigger (${where})`, fmt(am), fmt(am / cm, 2), am / cm <= 1.1 ? 'met' : `NOT met (${fmt(am - cm * 1.1)} ms over)`],
  ]));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  say();
}

// 3–5. the relay ----------------------------------------------------------------------------

let seq = 0;
const send = (r: Running) => (i: number) => {
  const e = walnutEvent(`bench-${process.pid}-${seq++}-${i}`);
  return post(r.inbound, e.body, e.headers);
};

async function ingest(): Promise<void> {
  say('## relay ingest: durable acks on loopback, against a bare Node HTTP server answering 200 (same load, same run)');
  const n = quick ? 2000 : 6000;
  const rounds = quick ? 2 : 5;
  const concurrency = 32;
  const bare = await spawnBareServer();
  let tally = () => ({ exports: 0, bytes: 0 });
  // The baseline gets the same load as the relays: a fresh event signed per request (the
  // generator's signing cost is then in every row alike).
  // `procs`: stopped and resumed with the row; `cost`: whose CPU is the row's cost (the server's, not a collector's).
  const targets: Array<{ name: string; load: (i: number) => Promise<{ status: number; ms: number }>; stop: () => void; procs: ChildProcess[]; cost?: ChildProcess[] }> = [
    { name: 'bare Node HTTP (baseline)', load: (i) => { const e = walnutEvent(`bare-${seq++}-${i}`); return post(bare.url, e.body, e.headers); }, stop: () => bare.proc.kill(), procs: [bare.proc] },
  ];
  for (const [name, url] of stores()) {
    const r = await relayOn(url());
    targets.push({ name: `relay, ${name}`, load: send(r), stop: r.stop, procs: r.procs ?? [] });
    if (name !== 'SQLite') continue;
    // Tracing on: every event's request and derive exported over OTLP/HTTP (protobuf, the
    // default) to a collector in its own process, measured right after the same relay with it
    // off (PostgreSQL's background work after its rows would otherwise fall on one of the two).
    const collector = await spawnCollector();
    const traced = await relayOn(freshSqliteUrl(), { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url });
    tally = collector.tally;
    targets.push({ name: 'relay, SQLite, tracing on', load: send(traced), stop: () => (traced.stop(), collector.proc.kill()), procs: [...(traced.procs ?? []), collector.proc], cost: traced.procs });
  }
  if (pgAvailable.ok) {
    // Scale-out: two relay processes on one PostgreSQL database, the load split between them.
    const url = freshPgUrl();
    const first = await relayOn(url);
    const second = await spawnRelay({ RELAY_DATABASE_URL: url, RELAY_DELIVERY_CONCURRENCY: '32', ...UNLIMITED }, false);
    const both = [first, { ...first, inbound: `${second.url}${new URL(first.inbound).pathname}` }];
    targets.push({
      name: 'relay, PostgreSQL, 2 processes',
      load: (i) => send(both[i % 2])(i),
      stop: () => {
        first.stop();
        second.proc.kill('SIGTERM');
      },
      procs: [...(first.procs ?? []), second.proc],
    });
  }
  try {
    // One server alive at a time: the others are stopped (SIGSTOP), so their polling does not
    // load the row being measured; each is resumed for its turn.
    // A resumed relay has seen its pause as event-loop lag (its overload guard answers 503 until
    // the next sample) and its idle keep-alive sockets have timed out: it is given a moment and
    // a short warm-up, not counted, before it is measured.
    const only = async (t: (typeof targets)[number]) => {
      for (const o of targets) for (const p of o.procs) p.kill(o === t ? 'SIGCONT' : 'SIGSTOP');
      await new Promise((r) => setTimeout(r, 1500));
      await closedLoop(300, concurrency, t.load);
    };
    // Warm-up until steady: batches of 2,000 until two in a row agree within 10 % (at most 8).
    const warmups: string[] = [];
    for (const t of targets) {
      await only(t);
      let last = 0;
      let batches = 0;
      for (; batches < 8; batches++) {
        const w = await closedLoop(quick ? 500 : 2000, concurrency, t.load);
        if (last && Math.abs(w.rate - last) / last < 0.1) break;
        last = w.rate;
      }
      warmups.push(`${t.name.split(' (')[0]}: ${batches + 1}`);
    }
    say(`warm-up batches until steady: ${warmups.join(', ')}`);
    // Rounds alternate between the servers so drift in the machine's load hits all alike.
    const results = targets.map(() => ({ rate: [] as number[], cpu: [] as number[], p50: [] as number[], p99: [] as number[], fp50: [] as number[], fp99: [] as number[], errors: 0 }));
    for (let round = 0; round < rounds; round++) {
      for (const [i, t] of targets.entries()) {
        await only(t);
        const cpu0 = cpuMsOf(t.cost ?? t.procs);
        const x = await closedLoop(n, concurrency, t.load);
        // What the acks cost the server's own process (for PostgreSQL, not the database's).
        results[i].cpu.push(((cpuMsOf(t.cost ?? t.procs) - cpu0) * 1000) / n);
        const f = await openLoop(1000, quick ? 1 : 2, t.load);
        results[i].rate.push(x.rate);
        results[i].p50.push(x.p50);
        results[i].p99.push(x.p99);
        results[i].fp50.push(f.p50);
        results[i].fp99.push(f.p99);
        results[i].errors += x.errors + f.errors;
      }
    }
    const baseRate = median(results[0].rate);
    const rows = targets.map((t, i) => {
      const r = results[i];
      const ratio = median(r.rate) / baseRate;
      const verdict = i === 0 ? '' : ratio >= 0.5 && median(r.fp99) < 25 && r.errors === 0 ? 'met' : `NOT met${r.errors ? ` (${r.errors} errors)` : ''}`;
      return [t.name, fmt(median(r.rate), 0), fmt(ratio, 2), fmt(median(r.cpu), 0), fmt(median(r.p50), 2), fmt(median(r.p99), 2), fmt(median(r.fp50), 2), fmt(median(r.fp99), 2), verdict];
    });
    say(`${rounds} alternating rounds, medians; closed loop: ${n} requests, ${concurrency} in flight; fixed rate: 1,000 events/s for ${quick ? 1 : 2} s`);
    say(table(['server', 'acks/s', 'ratio', 'CPU µs/ack', 'p50 ms', 'p99 ms', 'p50 ms @1k/s', 'p99 ms @1k/s', '≥ 0.5× and p99 < 25 ms'], rows));
    const off = results[targets.findIndex((t) => t.name === 'relay, SQLite')];
    const on = results[targets.findIndex((t) => t.name === 'relay, SQLite, tracing on')];
    // Tracing's cost is judged by the CPU an ack costs the relay (acks/s on 2 shared cores moves
    // with whatever else runs); both are shown.
    const cost = median(on.cpu) / median(off.cpu);
    const got = tally();
    say(
      `tracing on: ${fmt(median(on.cpu), 0)} µs of relay CPU an ack against ${fmt(median(off.cpu), 0)} off (${fmt(cost, 2)}×; within 10 %: ${cost <= 1.1 ? 'met' : 'NOT met'}), ` +
        `${fmt(median(on.rate), 0)} acks/s against ${fmt(median(off.rate), 0)} (${fmt(median(on.rate) / median(off.rate), 2)}×); the collector received ${got.exports.toLocaleString('en')} exports, ${fmt(got.bytes / 1e6, 1)} MB`,
    );
  } finally {
    // A stopped process would not act on SIGTERM until continued.
    for (const t of targets) for (const p of t.procs) p.kill('SIGCONT');
    for (const t of targets) t.stop();
  }
  say();
}

async function deliveryRun(r: Running, arrivals: Map<string, number>, n: number, perEvent: number, count: () => number) {
  const sentAt = new Map<string, number>();
  const started = performance.now();
  const load = await closedLoop(n, 16, async (i) => {
    const res = await send(r)(i);
    if (res.status === 200) sentAt.set(JSON.parse(res.text).id, performance.now() - res.ms);
    return res;
  });
  const ok = await waitFor(() => count() >= n * perEvent, 120_000);
  const elapsed = (performance.now() - started) / 1000;
  const lat = [...sentAt].map(([id, t]) => (arrivals.get(id) ?? NaN) - t).filter(Number.isFinite);
  return { ingestRate: load.rate, deliveriesPerSec: count() / elapsed, eventsPerSec: n / elapsed, p50: median(lat), p99: percentile(lat, 99), complete: ok };
}

async function delivery(): Promise<void> {
  say('## relay delivery: inbound to a local sink, end to end (one subscription), against a bare forwarder (answers, then POSTs each body on to the same sink, storing nothing); pacing off (RELAY_TARGET_RATE=0): this measures the relay, the burst row below the pace');
  const n = quick ? 1000 : 4000;
  const rounds = quick ? 1 : 3;
  type Row = { name: string; rate: number[]; cpu: number[]; p50: number[]; p99: number[]; complete: boolean };
  const rows: Row[] = [{ name: 'bare forwarder (baseline)', rate: [], cpu: [], p50: [], p99: [], complete: true }, ...stores().map(([name]) => ({ name: `relay, ${name}`, rate: [], cpu: [], p50: [], p99: [], complete: true }))];
  // Rounds alternate between the baseline and the relays so drift in the machine's load hits all alike.
  for (let round = 0; round < rounds; round++) {
    for (const [i, row] of rows.entries()) {
      const sink = await startTimingSink();
      let target: Running;
      if (i === 0) {
        const fwd = await spawnBareForwarder(sink.url);
        target = { url: fwd.url, inbound: fwd.url, key: '', procs: [fwd.proc], stop: () => fwd.proc.kill() };
      } else {
        target = await relayOn(stores()[i - 1][1]());
        await subscribe(target, sink.url, 1);
      }
      try {
        const cpu0 = cpuMsOf(target.procs ?? []);
        const d = await deliveryRun(target, sink.arrivals, n, 1, sink.count);
        // What an event cost the server's own process, ack to delivery (for PostgreSQL, not the database's).
        row.cpu.push(((cpuMsOf(target.procs ?? []) - cpu0) * 1000) / n);
        row.rate.push(d.eventsPerSec);
        row.p50.push(d.p50);
        row.p99.push(d.p99);
        row.complete &&= d.complete;
      } finally {
        target.stop();
        await sink.close();
      }
    }
  }
  const base = median(rows[0].rate);
  say(`${rounds} alternating round${rounds > 1 ? 's' : ''}, medians; ${n} events each, 16 in flight`);
  say(table(['server', 'events/s delivered', 'ratio', 'CPU µs/event', 'p50 ms', 'p99 ms', '≥ 0.5×'], rows.map((r, i) => {
    const ratio = median(r.rate) / base;
    const verdict = i === 0 ? '' : !r.complete ? 'NOT met (INCOMPLETE)' : ratio >= 0.5 ? 'met' : 'NOT met';
    return [r.name, fmt(median(r.rate), 0), fmt(ratio, 2), fmt(median(r.cpu), 0), fmt(median(r.p50), 1), fmt(median(r.p99), 1), verdict];
  })));
  say();
}

/** Events a relay in the growth rows takes before it is measured. */
const WARM_EVENTS = 500;

async function growthSubscriptions(): Promise<void> {
  say(`## growth: 1 → 100 subscriptions per event (each event fans out to every one); each relay first takes ${WARM_EVENTS} events delivered to one subscription`);
  const rows: Array<Array<string | number>> = [];
  for (const [name, url] of stores()) {
    let base: { ingest: number; perDelivery: number } | null = null;
    for (const subs of [1, 10, 100]) {
      const n = Math.max(quick ? 100 : 300, Math.round((quick ? 1000 : 3000) / subs));
      const sink = await startTimingSink();
      const r = await relayOn(url());
      try {
        // Every row's relay is warmed alike (one subscription, delivered in full) before it is
        // measured: a fresh process acks its first few hundred events at a fraction of its pace
        // (its code not yet compiled, its statements not yet prepared), which would be charged
        // to whichever row had the fewest events.
        await subscribe(r, sink.url, 1);
        const warm = await deliveryRun(r, sink.arrivals, WARM_EVENTS, 1, sink.count);
        if (!warm.complete) throw new Error('the warm-up events were not all delivered');
        await subscribe(r, sink.url, subs - 1, 1);
        const d = await deliveryRun(r, sink.arrivals, n, subs, () => sink.count() - WARM_EVENTS);
        const perDelivery = 1e6 / d.deliveriesPerSec;
        base ??= { ingest: d.ingestRate, perDelivery };
        rows.push([name, subs, n, fmt(d.ingestRate, 0), fmt(base.ingest / d.ingestRate, 2), fmt(d.deliveriesPerSec, 0), fmt(perDelivery, 0), fmt(perDelivery / base.perDelivery, 2), d.complete ? flat(perDelivery / base.perDelivery) : 'NOT met (INCOMPLETE)']);
      } finally {
        r.stop();
        await sink.close();
      }
    }
  }
  say(table(['store', 'subs/event', 'events', 'acks/s', 'ack cost ×', 'deliveries/s', 'µs/delivery', 'delivery cost ×', `delivery cost ≤ ${FLAT}×`], rows));
  say();
}

/**
 * A fresh store with one account of its own, filled by `fill` with rows shaped like real ones
 * (a Walnut body); returns the account's API key. A relay that holds a million events gathered
 * them over weeks, with planner statistics and clean pages; right after a bulk load PostgreSQL
 * is still writing back a gigabyte of it (the 1-million row measured 1.05× to 1.6× depending on
 * how much of that landed in it), so the load is settled before any row is measured.
 */
async function seeded(databaseUrl: string, name: string, fill: (db: Db, accountId: string, body: string, now: number) => Promise<void>): Promise<string> {
  const db = await openDb(databaseUrl);
  try {
    const store = new Store(db);
    await store.migrate();
    const { account, apiKey } = await store.accounts.create(name);
    await fill(db, account.id, walnutEvent(name).body, Date.now());
    if (db.dialect.name === 'postgres') {
      await db.query('VACUUM ANALYZE events, activity');
      await db.query('CHECKPOINT');
    }
    return apiKey;
  } finally {
    await db.close();
  }
}

/** SQLite: `count` rows written by `row`, 50,000 to a transaction. */
async function sqliteRows(db: Db, count: number, row: (q: Queryable, g: number) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < count; start += 50_000) {
    await db.tx(async (q) => {
      for (let g = start; g < Math.min(count, start + 50_000); g++) await row(q, g);
    });
  }
}

const prefill = (databaseUrl: string, count: number) =>
  seeded(databaseUrl, 'prefill', async (db, accountId, body, now) => {
    if (db.dialect.name === 'postgres') {
      await db.query(
        `INSERT INTO events (id, account_id, provider, event, identity, dkey, received_at, headers, body)
         SELECT 'pre_' || g, $1, 'walnut', 'walnut.demo_session_finished', 'walnut:pre:' || g,
                substring(sha256(convert_to(length($1) || ':' || $1 || E'\n' || length('walnut:pre:' || g) || ':walnut:pre:' || g || E'\n' || $3, 'UTF8')) from 1 for 16), $2::bigint - g, '{}', $3
         FROM generate_series(1, $4::int) g`,
        [accountId, now, body, count],
      );
    } else {
      await sqliteRows(db, count, (q, g) =>
        q.query(`INSERT INTO events (id, account_id, provider, event, identity, dkey, received_at, headers, body) VALUES ($1, $2, 'walnut', 'walnut.demo_session_finished', $3, $4, $5, '{}', $6)`, [`pre_${g}`, accountId, `walnut:pre:${g}`, dedupKey(accountId, `walnut:pre:${g}`, body), now - g, body]),
      );
    }
    await derived(db);
  });

/** Rows written here are the past: the relay's derive cursor starts after them (activity, where wanted, is written directly). */
const derived = (db: Db) => db.query('UPDATE derive_cursor SET seq = (SELECT MAX(seq) FROM events) WHERE id = 1');

async function growthStored(): Promise<void> {
  const sizes = quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
  say(`## growth: ${sizes.map((s) => s.toLocaleString('en')).join(' → ')} events already stored`);
  const rows: Array<Array<string | number>> = [];
  for (const [name, url] of stores()) {
    let base: { ingest: number; delivery: number } | null = null;
    for (const size of sizes) {
      const dbUrl = url();
      const t = performance.now();
      await prefill(dbUrl, size);
      const fillS = (performance.now() - t) / 1000;
      const sink = await startTimingSink();
      const r = await relayOn(dbUrl);
      try {
        await subscribe(r, sink.url, 1);
        const n = quick ? 1000 : 3000;
        const d = await deliveryRun(r, sink.arrivals, n, 1, sink.count);
        base ??= { ingest: d.ingestRate, delivery: d.eventsPerSec };
        rows.push([name, size.toLocaleString('en'), fmt(fillS, 1), fmt(d.ingestRate, 0), fmt(base.ingest / d.ingestRate, 2), fmt(d.eventsPerSec, 0), fmt(base.delivery / d.eventsPerSec, 2), d.complete ? flat(base.ingest / d.ingestRate, base.delivery / d.eventsPerSec) : 'NOT met (INCOMPLETE)']);
      } finally {
        r.stop();
        await sink.close();
        if (dbUrl.startsWith('sqlite:')) rmSync(path.dirname(dbUrl.slice(7)), { recursive: true, force: true });
      }
    }
  }
  say(table(['store', 'stored events', 'prefill s', 'acks/s', 'ack cost ×', 'events/s delivered', 'delivery cost ×', `both ≤ ${FLAT}×`], rows));
  say();
}

/** Stored events with their demo-activity index, ten per company, under one account; returns its key. */
const prefillActivity = (databaseUrl: string, count: number) =>
  seeded(databaseUrl, 'activity', async (db, accountId, body, now) => {
    const companies = Math.max(1, Math.floor(count / 10));
    if (db.dialect.name === 'postgres') {
      await db.query(
        `INSERT INTO events (id, account_id, provider, event, identity, dkey, received_at, headers, body)
         SELECT 'act_' || g, $1, 'walnut', 'walnut.demo_session_finished', 'walnut:act:' || g, decode(md5('act:' || g), 'hex'), $2::bigint - g, '{}', $3
         FROM generate_series(1, $4::int) g`,
        [accountId, now, body, count],
      );
      await db.query(
        `INSERT INTO activity (event_id, account_id, domain, email, is_test, received_at, person, demo, occurred_at)
         SELECT 'act_' || g, $1, 'co' || (g % $3::int) || '.example', 'p' || g || '@co' || (g % $3::int) || '.example', 0, $2::bigint - g,
                'p' || g || '@co' || (g % $3::int) || '.example', 'demo-1', $2::bigint - g
         FROM generate_series(1, $4::int) g`,
        [accountId, now, companies, count],
      );
    } else {
      await sqliteRows(db, count, async (q, g) => {
        await q.query(`INSERT INTO events (id, account_id, provider, event, identity, dkey, received_at, headers, body) VALUES ($1, $2, 'walnut', 'walnut.demo_session_finished', $3, $4, $5, '{}', $6)`, [`act_${g}`, accountId, `walnut:act:${g}`, dedupKey(accountId, `walnut:act:${g}`, body), now - g, body]);
        await q.query(`INSERT INTO activity (event_id, account_id, domain, email, is_test, received_at, person, demo, occurred_at) VALUES ($1, $2, $3, $4, 0, $5, $4, 'demo-1', $5)`, [`act_${g}`, accountId, `co${g % companies}.example`, `p${g}@co${g % companies}.example`, now - g]);
      });
    }
    // Each company's last session, as the relay keeps it while it indexes.
    await db.query('INSERT INTO companies (account_id, domain, last_at) SELECT account_id, domain, MAX(occurred_at) FROM activity GROUP BY account_id, domain');
    await derived(db);
  });

async function growthActivity(): Promise<void> {
  const sizes = quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
  say(
    `## growth: the activity reads of the signals and plays (10 events or companies each) with ${sizes.map((s) => s.toLocaleString('en')).join(' → ')} indexed events stored: ` +
      'a company (signals), a person (viewer history), the account in a time range (top accounts, demo performance), companies by last session (quiet accounts)',
  );
  const rows: Array<Array<string | number>> = [];
  for (const [name, url] of stores()) {
    const base = new Map<string, number>();
    for (const size of sizes) {
      const dbUrl = url();
      const t = performance.now();
      const key = await prefillActivity(dbUrl, size);
      const fillS = (performance.now() - t) / 1000;
      const relay = await spawnRelay({ RELAY_DATABASE_URL: dbUrl, RELAY_API_RATE_PER_MINUTE: '0' }, false);
      try {
        const companies = Math.floor(size / 10);
        // The prefill's times: event g happened at now − g ms, of company g mod companies, by person p{g}.
        const newest = (await (await fetch(`${relay.url}/v1/activity?limit=1`, { headers: { Authorization: `Bearer ${key}` } })).json()) as Array<{ occurred_at: string }>;
        const now = Date.parse(newest[0].occurred_at) + 1;
        const at = (ms: number) => new Date(ms).toISOString();
        const reads: Array<[string, (i: number) => string, number]> = [
          ['a company', (i) => `/v1/activity?domain=co${(i * 7919) % companies}.example`, 10],
          ['a person', (i) => { const g = 1 + ((i * 7919) % size); return `/v1/activity?domain=co${g % companies}.example&person=p${g}@co${g % companies}.example`; }, 1],
          ['the account, 10 ms of it', (i) => { const from = now - 20 - ((i * 7919) % (size - 40)); return `/v1/activity?since=${at(from)}&until=${at(from + 10)}`; }, 10],
          ['companies by last session', (i) => { const from = now - 20 - ((i * 7919) % (companies - 40)); return `/v1/activity/companies?since=${at(from)}&until=${at(from + 10)}`; }, 10],
        ];
        for (const [what, path_, each] of reads) {
          const times: number[] = [];
          let rowsBack = 0;
          for (let i = 0; i < (quick ? 100 : 300); i++) {
            const t0 = performance.now();
            const r = await fetch(`${relay.url}${path_(i)}`, { headers: { Authorization: `Bearer ${key}` } });
            rowsBack += ((await r.json()) as unknown[]).length;
            times.push(performance.now() - t0);
          }
          const p50 = median(times);
          if (!base.has(what)) base.set(what, p50);
          const cost = p50 / base.get(what)!;
          rows.push([name, size.toLocaleString('en'), what, fmt(fillS, 1), fmt(p50, 2), fmt(percentile(times, 99), 2), fmt(cost, 2), rowsBack === times.length * each ? flat(cost) : `NOT met (WRONG: ${rowsBack} rows)`]);
        }
      } finally {
        relay.proc.kill('SIGTERM');
        if (dbUrl.startsWith('sqlite:')) rmSync(path.dirname(dbUrl.slice(7)), { recursive: true, force: true });
      }
    }
  }
  say(table(['store', 'indexed events', 'read', 'prefill s', 'p50 ms', 'p99 ms', 'cost ×', `≤ ${FLAT}×`], rows));
  say();
}

/**
 * A store holding an account's signed Walnut sessions (`make` builds their payloads from the
 * moment it is given), indexed as intake does, and a relay spawned on it (no API rate limit).
 */
async function relayWithSessions(dbUrl: string, name: string, secret: string, make: (now: number) => Array<{ event: string; data: { session_id: string } } & Record<string, unknown>>) {
  const db = await openDb(dbUrl);
  const store = new Store(db);
  await store.migrate();
  const { account, apiKey } = await store.accounts.create(name);
  const now = Date.now();
  const items = make(now).map((payload) => signedWalnut(account.id, payload, secret));
  for (let i = 0; i < items.length; i += 500) await store.events.ingest(items.slice(i, i + 500));
  if (db.dialect.name === 'postgres') await db.query('VACUUM ANALYZE events, activity');
  await db.close();
  const relay = await spawnRelay({ RELAY_DATABASE_URL: dbUrl, RELAY_API_RATE_PER_MINUTE: '0' }, false);
  return { relay, apiKey, now };
}

/** A signed Walnut demo session as the relay's inbound stores it, indexed as intake does. */
function signedWalnut(accountId: string, payload: { event: string; data: { session_id: string } } & Record<string, unknown>, secret: string) {
  const body = JSON.stringify(payload);
  return {
    accountId,
    provider: 'walnut' as const,
    event: 'walnut.demo_session_finished',
    identity: `walnut:demo_session_finished:${payload.data.session_id}`,
    headers: signRequest(PROVIDERS.walnut.scheme, body, secret),
    body,
    activity: activityIndex(demoActivityOf(PROVIDERS.walnut, payload.event, payload)!),
  };
}

/**
 * One company with 10,000 demo sessions in a committee's window (and one with 10, the baseline
 * in the same store): what reading its activity (every page of GET /v1/activity) and a whole
 * New Buying Committee perform (read, verify each event, judge) cost, through a spawned relay.
 */
async function bigCompany(): Promise<void> {
  const sizes = [10, quick ? 2000 : 10_000];
  say(`## the account signals on a busy company: ${sizes.map((s) => s.toLocaleString('en')).join(' and ')} sessions of one company in the window (${'`'}npm run bench -- --only=company${'`'})`);
  const zapier = require('zapier-platform-core') as typeof import('zapier-platform-core');
  const App = require('../index.js').default;
  const appTester = zapier.createAppTester(App);
  const secret = 'bench-walnut-key';
  const rows: Array<Array<string | number>> = [];
  for (const [name, url] of stores()) {
    const dbUrl = url();
    // Real signed Walnut sessions, two people taking turns, a minute apart, within the last week.
    const { relay, apiKey, now } = await relayWithSessions(dbUrl, 'busy', secret, (now) =>
      sizes.flatMap((size) => {
        const domain = `busy${size}.example`;
        return Array.from({ length: size }, (_, i) => {
          const started = new Date(now - (i + 1) * 60_000).toISOString();
          return {
            ...demoSessionSample,
            timestamp: started,
            data: { ...demoSessionSample.data, session_id: `${domain}-${i}`, session_started: started, user: { email: `${i % 2 ? 'ana' : 'ben'}@${domain}` } },
          };
        });
      }),
    );
    try {
      const authData = { relay_url: relay.url, api_key: apiKey, walnut_signing_key: secret };
      let base: { read: number; perform: number } | null = null;
      for (const size of sizes) {
        const domain = `busy${size}.example`;
        // The delivery that asks: a third person's session, signed, as Zapier hands it to perform.
        const body = JSON.stringify({ ...demoSessionSample, data: { ...demoSessionSample.data, session_id: `third-${size}`, session_started: new Date(now).toISOString(), user: { email: `cy@${domain}` } } });
        const bundle = { authData, inputData: {}, subscribeData: { id: 'bench' }, rawRequest: { method: 'POST', querystring: '', headers: asZapierHookHeaders(signRequest(PROVIDERS.walnut.scheme, body, secret)), content: body } };
        const reads: number[] = [];
        const performs: number[] = [];
        let rowsBack = 0;
        let fired = 0;
        for (let run = 0; run < (quick ? 3 : 7); run++) {
          let t0 = performance.now();
          rowsBack = 0;
          for (let before: string | null = null, first = true; first || before; first = false) {
            const r = await fetch(`${relay.url}/v1/activity?domain=${domain}&limit=${ACTIVITY_PAGE}${before ? `&before=${before}` : ''}`, { headers: { Authorization: `Bearer ${apiKey}` } });
            const page = (await r.json()) as Array<{ id: string }>;
            rowsBack += page.length;
            before = r.headers.get('link') ? page[page.length - 1].id : null;
          }
          reads.push(performance.now() - t0);
          t0 = performance.now();
          const out = (await appTester(App.triggers.account_buying_committee.operation.perform, { ...bundle, inputData: { min_people: '3', count_views_of: 'any_demo' } } as never, true)) as unknown[];
          performs.push(performance.now() - t0);
          fired += out.length;
        }
        const read = median(reads);
        const perform = median(performs);
        base ??= { read, perform };
        rows.push([
          name,
          size.toLocaleString('en'),
          rowsBack === size ? fmt(read, 1) : `WRONG: ${rowsBack} rows`,
          fmt((read / size) * 1000, 1),
          fired === performs.length ? fmt(perform, 1) : `WRONG: fired ${fired} of ${performs.length}`,
          fmt((perform / size) * 1000, 1),
          fmt(perform / base.perform, 1),
        ]);
      }
    } finally {
      relay.proc.kill('SIGTERM');
      if (dbUrl.startsWith('sqlite:')) rmSync(path.dirname(dbUrl.slice(7)), { recursive: true, force: true });
    }
  }
  say(table(['store', 'sessions in window', `read all pages of ${ACTIVITY_PAGE} ms`, 'µs per session', 'committee perform ms', 'µs per session', 'perform × the 10-session company'], rows));
  say();
}

/**
 * The weekly digest and the monthly demo review over a busy account: 10,000 real signed
 * sessions of 200 companies and 5 demos in the last week, read back page by page and verified
 * by Find Top Engaged Accounts and Get Demo Performance as Zapier runs them, through a spawned
 * relay. Zapier gives a search 30 seconds; the target is 10.
 */
async function playsDigest(): Promise<void> {
  const size = quick ? 2000 : 10_000;
  say(`## the account plays on a busy account: ${size.toLocaleString('en')} verified sessions of 200 companies in the window, each search's whole perform (${'`'}npm run bench -- --only=plays${'`'})`);
  const zapier = require('zapier-platform-core') as typeof import('zapier-platform-core');
  const App = require('../index.js').default;
  const appTester = zapier.createAppTester(App);
  const secret = 'bench-walnut-key';
  const rows: Array<Array<string | number>> = [];
  for (const [name, url] of stores()) {
    const dbUrl = url();
    const { relay, apiKey } = await relayWithSessions(dbUrl, 'plays', secret, (now) => Array.from({ length: size }, (_, i) => {
      const started = new Date(now - 60_000 - ((i * 7919) % (6 * 86_400_000))).toISOString();
      const company = `co${i % 200}.example`;
      const payload = {
        ...demoSessionSample,
        timestamp: started,
        data: {
          ...demoSessionSample.data,
          session_id: `plays-${i}`,
          session_started: started,
          demo: { ...demoSessionSample.data.demo, id: `demo-${i % 5}`, name: `Demo ${i % 5}` },
          demo_engagement: { ...demoSessionSample.data.demo_engagement, session_duration: 5 + (i % 300), screen_completion_rate: i % 101, fab_clicks: i % 3, last_section_viewed: `Section ${i % 4}` },
          user: { email: `p${i % 1000}@${company}` },
        },
      };
      return payload;
    }));
    try {
      const authData = { relay_url: relay.url, api_key: apiKey, walnut_signing_key: secret };
      for (const [key, inputData, check] of [
        ['top_accounts', { days: '7', limit: '10' }, (r: any) => r.accounts.length === 10 && r.complete === true],
        ['demo_performance', { days: '30', limit: '5' }, (r: any) => r.demos.length === 5 && r.demos.reduce((n: number, d: any) => n + d.sessions, 0) === size],
      ] as const) {
        const times: number[] = [];
        let right = true;
        for (let run = 0; run < 3; run++) {
          const t0 = performance.now();
          const [r] = (await appTester((App.searches as any)[key].operation.perform, { authData, inputData } as never, true)) as any[];
          times.push(performance.now() - t0);
          right &&= check(r);
        }
        const ms = median(times);
        rows.push([name, key, size.toLocaleString('en'), right ? fmt(ms / 1000, 2) : 'WRONG: not every session counted', fmt((ms / size) * 1000, 1), right && ms <= 10_000 ? 'met' : 'NOT met']);
      }
    } finally {
      relay.proc.kill('SIGTERM');
      if (dbUrl.startsWith('sqlite:')) rmSync(path.dirname(dbUrl.slice(7)), { recursive: true, force: true });
    }
  }
  say(table(['store', 'search', 'sessions in window', 'perform s', 'µs per session', '≤ 10 s'], rows));
  say();
}

// 9. a burst within Zapier's limits --------------------------------------------------------

/**
 * A vendor's burst to one Zap, through a stand-in that enforces Zapier's documented limits
 * (30 a second per hook URL, 10,000 per 5 minutes per user, 429 past them), with the relay's
 * default pacing (25 a second per URL): how long it drains against the ideal the pace allows,
 * how many 429s it drew, and the most requests that reached the hook in any second. The other
 * relay rows run with pacing off, so they measure the relay, not the pace.
 */
async function pacedBurst(): Promise<void> {
  const n = quick ? 500 : 5000;
  const rate = 25;
  say(`## a burst within Zapier's limits: ${n.toLocaleString('en')} events to one hook, through a stand-in answering 429 past 30/s per hook and 10,000 per 5 min per user; RELAY_TARGET_RATE=${rate} (\`npm run bench -- --only=pacing\`)`);
  const rows: Array<Array<string | number>> = [];
  for (const [name, makeUrl] of stores()) {
    const zapier = await startZapier({ perHookPerSecond: 30, perUserPer5Min: 10_000 });
    const r = await relayOn(makeUrl(), { RELAY_TARGET_RATE: String(rate), RELAY_ZAPIER_USER_RATE: '9000' });
    try {
      const res = await fetch(`${r.url}/v1/hooks`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${r.key}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ target_url: `${zapier.url}/hooks/catch/1/burst/`, event: 'walnut.*' }),
      });
      if (res.status !== 201) throw new Error(`subscribe failed: ${res.status}`);
      const started = performance.now();
      await closedLoop(n, 16, (i) => send(r)(i));
      const complete = await waitFor(() => zapier.delivered().size >= n, (n / rate) * 1000 * 2 + 60_000);
      const drained = (performance.now() - started) / 1000;
      const ideal = n / rate;
      const throttled = zapier.arrivals.filter((a) => a.status === 429).length;
      rows.push([name, complete ? fmt(drained, 1) : 'INCOMPLETE', fmt(ideal, 0), fmt(drained / ideal, 2), throttled, zapier.peak(1000), complete && throttled === 0 ? 'met' : 'NOT met']);
    } finally {
      r.stop();
      await zapier.close();
    }
  }
  say(table(['store', 'drained in s', `ideal s (${n} / ${rate})`, 'ratio', '429 answers', 'peak in any 1 s', 'whole, no 429'], rows));
  say();
}

/**
 * Delivery slots against targets that answer in 200 ms (as Zapier's hooks do): one account with
 * 16 Zaps, paced as in production (25 a second per hook URL), at the default slots. An in-flight
 * delivery is a wait on a socket, so the slots must be many enough for the latency.
 */
async function slowTargets(): Promise<void> {
  const zaps = 16;
  const events = quick ? 200 : 600;
  say(`## delivery to targets answering in 200 ms: one account, ${zaps} Zaps paced at 25/s each, default slots (RELAY_DELIVERY_CONCURRENCY), SQLite`);
  const sink = await startTimingSink(200, 200);
  const r = await relayOn(freshSqliteUrl(), { RELAY_DELIVERY_CONCURRENCY: '', RELAY_TARGET_RATE: '25', RELAY_ZAPIER_USER_RATE: '0' });
  try {
    await subscribe(r, sink.url, zaps);
    const started = performance.now();
    await closedLoop(events, 16, send(r));
    const want = events * zaps;
    const complete = await waitFor(() => sink.count() >= want, 120_000);
    const seconds = (performance.now() - started) / 1000;
    const rate = sink.count() / seconds;
    say(table(['deliveries', 'seconds', 'deliveries/s', 'the pace allows', '≥ 300/s'], [[sink.count(), fmt(seconds, 1), fmt(rate, 0), zaps * 25, complete && rate >= 300 ? 'met' : `NOT met${complete ? '' : ' (INCOMPLETE)'}`]]));
  } finally {
    r.stop();
    await sink.close();
  }
  say();
}

async function main(): Promise<void> {
  const started = Date.now();
  say(`# demohooks benchmark (${quick ? 'quick' : 'full'}) — Node ${process.version}, ${require('node:os').cpus().length} cores${pgAvailable.ok ? '' : `; PostgreSQL skipped: ${pgAvailable.why}`}`);
  say();
  const sections: Array<[string, () => unknown]> = [
    ['perform', performCost],
    ['cold', coldStart],
    ['ingest', ingest],
    ['delivery', delivery],
    ['steady', steadyRate],
    ['idle', idleCpu],
    ['stages', stageProfile],
    ['subs', growthSubscriptions],
    ['stored', growthStored],
    ['activity', growthActivity],
    ['company', bigCompany],
    ['plays', playsDigest],
    ['pacing', pacedBurst],
    ['slow', slowTargets],
  ];
  try {
    for (const [key, fn] of sections) if (!only || only.split(',').includes(key)) await fn();
  } finally {
    await dropStores();
  }
  say(`(${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
