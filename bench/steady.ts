/**
 * The relay at a realistic rate and at rest, and where its CPU goes: `npm run bench --
 * --only=idle,steady,stages`. Each relay runs at its defaults (a blank variable is the
 * default), not the test harness's quick settings.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TURN_MARGIN_MS, URL_WINDOW_MS } from '../relay/domain/pacing.js';
import { spawnRelay } from '../relay/test/harness.js';
import { closedLoop, cpuMsOf, fmt, median, openLoop, percentile, post, spawnBareForwarder, startTimingSink, table, waitFor, walnutEvent } from './lib.js';
import { AT_DEFAULTS, exited, newAccount, pgCpuMs, stores, subscribe, UNLIMITED } from './relays.js';
import { STAGES, stagesOf } from './stages.js';

const quick = process.argv.includes('--quick');
const say = (s = '') => process.stdout.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isPg = (name: string) => name === 'PostgreSQL';
/** CPU of the relay, plus the database's for PostgreSQL (ms so far). */
const cpuNow = (name: string, proc: Parameters<typeof cpuMsOf>[0]) => cpuMsOf(proc) + (isPg(name) ? pgCpuMs() : 0);

/** A relay at its defaults with `accounts` accounts, each with one subscription to the sink; events are sent round-robin to their inbound URLs. */
async function fanned(databaseUrl: string, accounts: number, sinkUrl: string, env: Record<string, string> = {}, cpuProfDir?: string) {
  const accts = Array.from({ length: accounts }, (_, i) => newAccount(databaseUrl, `bench ${i}`));
  const saved = process.env.RELAY_CPU_PROF_DIR;
  if (cpuProfDir) process.env.RELAY_CPU_PROF_DIR = cpuProfDir;
  const r = await spawnRelay({ RELAY_DATABASE_URL: databaseUrl, ...AT_DEFAULTS, ...UNLIMITED, ...env }, false).finally(() => {
    if (saved === undefined) delete process.env.RELAY_CPU_PROF_DIR;
    else process.env.RELAY_CPU_PROF_DIR = saved;
  });
  for (const [i, a] of accts.entries()) await subscribe({ url: r.url, key: a.key }, `${sinkUrl}/a${i}`, 1);
  let seq = 0;
  const sentAt = new Map<string, number>();
  const send = async (i: number) => {
    const e = walnutEvent(`steady-${process.pid}-${seq++}`);
    const res = await post(`${r.url}${accts[i % accounts].path}`, e.body, e.headers);
    if (res.status === 200) sentAt.set(JSON.parse(res.text).id, performance.now() - res.ms);
    return res;
  };
  return { proc: r.proc, send, sentAt };
}

export async function idleCpu(): Promise<void> {
  const seconds = quick ? 5 : 20;
  // A fresh process's heap is trimmed by V8 (its memory reducer) in the tens of seconds after
  // start-up: that is the start's cost, not the idle relay's.
  const settle = quick ? 10 : 40;
  say(`## an idle relay at its defaults: one account with one subscription, nothing arriving, CPU over ${seconds} s after a ${settle} s settle (the relay's process; for PostgreSQL also the database's)`);
  const rows: Array<Array<string | number>> = [];
  for (const [name, url] of stores()) {
    const sink = await startTimingSink();
    const r = await fanned(url(), 1, sink.url);
    try {
      await sleep(settle * 1000);
      const relay0 = cpuMsOf([r.proc]);
      const db0 = isPg(name) ? pgCpuMs() : 0;
      await sleep(seconds * 1000);
      const relay = (cpuMsOf([r.proc]) - relay0) / seconds;
      const db = isPg(name) ? (pgCpuMs() - db0) / seconds : 0;
      rows.push([name, fmt(relay, 2), isPg(name) ? fmt(db, 2) : '-', relay + db < 5 ? 'met' : 'NOT met']);
    } finally {
      r.proc.kill('SIGTERM');
      await exited(r.proc);
      await sink.close();
    }
  }
  say(table(['store', 'relay CPU ms/s', 'database CPU ms/s', '< 5 ms/s'], rows));
  say('(CPU from /proc at 10 ms resolution; the database figure is every PostgreSQL process on the machine)');
  say();
}

const PACING_OFF = { RELAY_TARGET_RATE: '0', RELAY_ZAPIER_USER_RATE: '0' };

/** `rate` events/s for `seconds` over 10 accounts: end-to-end latencies and the CPU each event cost. */
async function steadyRun(name: string, databaseUrl: string, rate: number, seconds: number, env: Record<string, string>) {
  const sink = await startTimingSink();
  const r = await fanned(databaseUrl, 10, sink.url, env);
  try {
    await closedLoop(200, 8, r.send); // warm-up
    await waitFor(() => sink.count() >= 200, 30_000);
    // The warm-up sent each URL 20 in a moment: at the defaults its turns fill most of every
    // URL's window, and a stream started at once would be timed queueing behind them, not the
    // steady rate. It starts once they have left the window.
    await new Promise((resolve) => setTimeout(resolve, URL_WINDOW_MS + TURN_MARGIN_MS));
    r.sentAt.clear();
    sink.arrivals.clear();
    const before = sink.count();
    const cpu0 = cpuNow(name, [r.proc]);
    const load = await openLoop(rate, seconds, r.send);
    const sent = Math.round(rate * seconds);
    await waitFor(() => sink.count() - before >= sent, 60_000);
    const cpu = (cpuNow(name, [r.proc]) - cpu0) / sent;
    const lat = [...r.sentAt].map(([id, t]) => (sink.arrivals.get(id) ?? NaN) - t).filter(Number.isFinite);
    if (load.errors) throw new Error(`steady load: ${load.errors} errors`);
    return { lat, sent, cpu };
  } finally {
    r.proc.kill('SIGTERM');
    await exited(r.proc);
    await sink.close();
  }
}

/** `n` events as fast as 32 in flight allow, over 10 accounts, pacing off: the CPU each cost. */
async function saturatedCpu(name: string, databaseUrl: string, n: number): Promise<number> {
  const sink = await startTimingSink();
  const r = await fanned(databaseUrl, 10, sink.url, PACING_OFF);
  try {
    await closedLoop(500, 32, r.send);
    await waitFor(() => sink.count() >= 500, 30_000);
    const before = sink.count();
    const cpu0 = cpuNow(name, [r.proc]);
    await closedLoop(n, 32, r.send);
    await waitFor(() => sink.count() - before >= n, 120_000);
    return (cpuNow(name, [r.proc]) - cpu0) / n;
  } finally {
    r.proc.kill('SIGTERM');
    await exited(r.proc);
    await sink.close();
  }
}

/**
 * The machine's own share of the ratio: the bare forwarder (answers, then posts each body on)
 * at the same steady rate and saturated. Work spread thin costs more CPU per unit than the
 * same work back to back (caches go cold, the core clocks down, each request wakes the
 * process), whatever the server does.
 */
async function baselineRatio(rate: number, seconds: number, n: number) {
  const sink = await startTimingSink();
  const fwd = await spawnBareForwarder(sink.url);
  let seq = 0;
  const send = () => {
    const e = walnutEvent(`bare-steady-${seq++}`);
    return post(fwd.url, e.body, e.headers);
  };
  try {
    await closedLoop(500, 32, send);
    await waitFor(() => sink.count() >= 500, 30_000);
    let before = sink.count();
    let cpu0 = cpuMsOf([fwd.proc]);
    const sent = Math.round(rate * seconds);
    await openLoop(rate, seconds, send);
    await waitFor(() => sink.count() - before >= sent, 60_000);
    const steady = (cpuMsOf([fwd.proc]) - cpu0) / sent;
    before = sink.count();
    cpu0 = cpuMsOf([fwd.proc]);
    await closedLoop(n, 32, send);
    await waitFor(() => sink.count() - before >= n, 60_000);
    return { steady, saturated: (cpuMsOf([fwd.proc]) - cpu0) / n };
  } finally {
    fwd.proc.kill();
    await exited(fwd.proc);
    await sink.close();
  }
}

export async function steadyRate(): Promise<void> {
  const rate = 200;
  const seconds = quick ? 5 : 15;
  const saturatedN = quick ? 2000 : 6000;
  say(`## end to end at a steady ${rate} events/s over 10 subscriptions (10 accounts, one Zap each, 20 a second each), vendor POST sent → target received, for ${seconds} s: at the defaults (pacing on) and with pacing off; CPU per event against the same relay saturated (${saturatedN} events, 32 in flight, pacing off)`);
  const rows: Array<Array<string | number>> = [];
  const bare = await baselineRatio(rate, seconds, saturatedN);
  rows.push(['-', 'bare forwarder (baseline)', '-', '-', '-', '-', '', fmt(bare.steady * 1000, 0), fmt(bare.saturated * 1000, 0), fmt(bare.steady / bare.saturated, 2), '']);
  for (const [name, url] of stores()) {
    const paced = await steadyRun(name, url(), rate, seconds, {});
    const unpaced = await steadyRun(name, url(), rate, seconds, PACING_OFF);
    const sat = await saturatedCpu(name, url(), saturatedN);
    const target = isPg(name) ? 50 : 25;
    for (const [label, x] of [['defaults (pacing on)', paced], ['pacing off', unpaced]] as const) {
      const p95 = percentile(x.lat, 95);
      const ratio = x.cpu / sat;
      rows.push([name, label, `${x.lat.length}/${x.sent}`, fmt(median(x.lat), 1), fmt(p95, 1), fmt(percentile(x.lat, 99), 1), p95 <= target && x.lat.length === x.sent ? 'met' : 'NOT met', fmt(x.cpu * 1000, 0), fmt(sat * 1000, 0), fmt(ratio, 2), ratio <= 1.5 ? 'met' : 'NOT met']);
    }
  }
  say(table(['store', 'relay', 'delivered', 'p50 ms', 'p95 ms', 'p99 ms', 'p95 ≤ 25 ms SQLite, ≤ 50 ms PostgreSQL', 'CPU µs/event at 200/s', 'CPU µs/event saturated', 'ratio', '≤ 1.5×'], rows));
  say('(CPU: the relay process, plus every PostgreSQL process for PostgreSQL; an event is its ack, its derive and its delivery)');
  say();
}

export async function stageProfile(): Promise<void> {
  const n = quick ? 2000 : 8000;
  say(`## where the relay's CPU goes: a CPU profile of the relay (--cpu-prof) taking ${n} events at 16 in flight, each delivered to one subscription, pacing off; each sample charged to its innermost stage (bench/stages.ts)`);
  const cols: Array<{ name: string; ms: Map<string, number>; events: number }> = [];
  for (const [name, url] of stores()) {
    const dir = mkdtempSync(path.join(tmpdir(), 'demohooks-prof-'));
    const sink = await startTimingSink();
    const r = await fanned(url(), 1, sink.url, PACING_OFF, dir);
    try {
      await closedLoop(n, 16, r.send);
      await waitFor(() => sink.count() >= n, 120_000);
    } finally {
      r.proc.kill('SIGTERM');
      await exited(r.proc);
      await sink.close();
    }
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no CPU profile was written in ${dir}`);
    cols.push({ name, ms: stagesOf(path.join(dir, file)), events: n });
    rmSync(dir, { recursive: true, force: true });
  }
  const busy = (m: Map<string, number>) => [...m].filter(([s]) => s !== 'idle' && s !== 'start-up').reduce((a, [, v]) => a + v, 0);
  const rows = STAGES.map((stage) => [stage, ...cols.flatMap((c) => [fmt((100 * (c.ms.get(stage) ?? 0)) / busy(c.ms), 1), fmt(((c.ms.get(stage) ?? 0) * 1000) / c.events, 0)])]);
  rows.push(['all (start-up and idle apart)', ...cols.flatMap((c) => ['100.0', fmt((busy(c.ms) * 1000) / c.events, 0)])]);
  say(table(['stage', ...cols.flatMap((c) => [`${c.name} %`, `${c.name} µs/event`])], rows));
  say('(µs/event under the profiler, which slows the process; the shares are what to read. For PostgreSQL the database server\'s own work is not in the profile.)');
  say();
}
