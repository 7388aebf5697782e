/**
 * The torture suite's third round of attacks, each on a relay in its own process (as
 * production runs it) with the figure that says how it held: a sustained idle-connection
 * flood (new clients answered), key guessing from one address (how soon it is slowed, a valid
 * key meanwhile), wide events listed while another account acks (its ack latency), and a disk
 * that fills (the cause in the log, /healthz, recovery, nothing acked lost).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { walnutSession as session } from '../relay/test/fixtures.js';
import { createAccountCli, freshSqliteUrl, idleFlood, probeHealth, spawnRelay, startSink, stopRelay, type SpawnedRelay } from '../relay/test/harness.js';
import { percentile, post, table } from './lib.js';

type Say = (s?: string) => void;

const sleepMs = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function idleConnections(short: boolean, rows: Array<Array<string | number>>, failures: string[]): Promise<void> {
  const relay = await spawnRelay({ RELAY_DATABASE_URL: freshSqliteUrl() }, false);
  const port = Number(new URL(relay.url).port);
  // From eight addresses (each under its per-address share), more than the whole cap together.
  const flood = idleFlood(port, short ? 1100 : 3000, Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`));
  try {
    await sleepMs(1000);
    const probes = short ? 60 : 200;
    let answered = 0;
    for (let i = 0; i < probes; i++) if (await probeHealth(port)) answered++;
    const share = answered / probes;
    rows.push([`idle-connection flood: ${short ? 1100 : 3000} held open from 8 addresses past the cap of 1,024, each cut one reopened (${flood.reopened} times)`, `${answered} of ${probes} new-connection /healthz probes answered (${(share * 100).toFixed(0)} %; ≥ 95 %)`]);
    if (share < 0.95) failures.push(`idle flood: only ${(share * 100).toFixed(0)} % of new clients answered`);
  } finally {
    flood.stop();
    await stopRelay(relay);
  }
}

async function keyGuessing(short: boolean, rows: Array<Array<string | number>>, failures: string[]): Promise<void> {
  const db = freshSqliteUrl();
  const acct = createAccountCli(db, 'guessed');
  const relay = await spawnRelay({ RELAY_DATABASE_URL: db, RELAY_API_RATE_PER_MINUTE: '10000000' }, false);
  try {
    const seconds = short ? 3 : 30;
    const counts: Record<number, number> = {};
    let firstSlowed = 0;
    let sent = 0;
    const end = Date.now() + seconds * 1000;
    const valid: number[] = [];
    const guess = async () => {
      while (Date.now() < end) {
        const r = await fetch(`${relay.url}/v1/me`, { headers: { Authorization: `Bearer dh_${randomBytes(24).toString('base64url')}` } });
        await r.arrayBuffer();
        sent++;
        counts[r.status] = (counts[r.status] ?? 0) + 1;
        if (r.status === 429 && !firstSlowed) firstSlowed = sent;
      }
    };
    const owner = async () => {
      while (Date.now() < end) {
        valid.push((await fetch(`${relay.url}/v1/me`, { headers: { Authorization: `Bearer ${acct.api_key}` } })).status);
        await sleepMs(200);
      }
    };
    await Promise.all([...Array.from({ length: 32 }, guess), owner()]);
    const ok = valid.filter((s) => s === 200).length;
    rows.push([`key guessing: ${sent.toLocaleString('en')} wrong keys from one address in ${seconds} s`, `${counts[401] ?? 0} answered 401, ${counts[429] ?? 0} 429 (slowed from request ${firstSlowed} on; limit 30 a minute); the owner's valid key meanwhile: ${ok} of ${valid.length} answered 200`]);
    if ((counts[401] ?? 0) > 30 * Math.ceil(seconds / 60) + 32) failures.push(`key guessing: ${counts[401]} wrong keys answered 401, past the limit`);
    if (ok !== valid.length) failures.push(`key guessing: the valid key was refused ${valid.length - ok} times`);
  } finally {
    await stopRelay(relay);
  }
}

async function wideEvents(short: boolean, rows: Array<Array<string | number>>, failures: string[]): Promise<void> {
  const db = freshSqliteUrl();
  const x = createAccountCli(db, 'wide');
  const y = createAccountCli(db, 'other');
  const relay = await spawnRelay({ RELAY_DATABASE_URL: db }, false);
  const pid = relay.proc.pid!;
  try {
    // Events of about 1 MiB with 79,000 keys each, as the attack sent.
    const n = short ? 10 : 100;
    const keys = Object.fromEntries(Array.from({ length: 79_000 }, (_, i) => [`k${i}`, i % 10]));
    for (let i = 0; i < n; i++) {
      const r = await post(`${relay.url}${new URL(x.inbound.walnut).pathname}`, session(`wide-${i}`, { keys }));
      if (r.status !== 200) throw new Error(`wide event refused: ${r.status}`);
    }
    const inbound = `${relay.url}${new URL(y.inbound.walnut).pathname}`;
    const acksOf = async (count: number, tag: string) => {
      const ms: number[] = [];
      for (let i = 0; i < count; i++) {
        const r = await post(inbound, session(`${tag}-${i}`));
        if (r.status === 200) ms.push(r.ms);
        await sleepMs(20);
      }
      return ms;
    };
    const quiet = await acksOf(short ? 100 : 300, 'quiet');
    const before = rssMb(pid);
    let peak = before;
    let on = true;
    let listings = 0;
    // The console's listing (previews; ten times as often as an open Events page asks) and the
    // Zapier app's (whole bodies, as a Zap's "Test trigger" asks, every second), side by side.
    const list = async (q: string, pauseMs: number) => {
      while (on) {
        const r = await fetch(`${relay.url}/v1/events?limit=100${q}`, { headers: { Authorization: `Bearer ${x.api_key}` } });
        await r.arrayBuffer();
        listings++;
        peak = Math.max(peak, rssMb(pid));
        await sleepMs(pauseMs);
      }
    };
    const listing = Promise.all([list('&body=preview', 200), list('', 1000)]);
    const acks = await acksOf(short ? 150 : 500, 'narrow');
    on = false;
    await listing;
    const p99 = percentile(acks, 99);
    rows.push([`wide events: ${n} of 1 MiB with 79,000 keys, listed ${listings} times (previews and whole) while another account posts`, `its acks p99 ${p99.toFixed(1)} ms (< 100 ms; ${percentile(quiet, 99).toFixed(1)} ms with nothing listed), ${acks.length} acked; relay memory ${before.toFixed(0)} → ${peak.toFixed(0)} MB`]);
    if (p99 >= 100) failures.push(`wide events: another account's acks p99 ${p99.toFixed(1)} ms while they were listed`);
  } finally {
    await stopRelay(relay);
  }
}

async function fullDisk(rows: Array<Array<string | number>>, failures: string[]): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'demohooks-torture-disk-'));
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir]).status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    rows.push(['a full disk', 'not run: this machine does not allow mounting a tmpfs (it needs root)']);
    return;
  }
  const db = `sqlite:${path.join(dir, 'relay.db')}`;
  const acct = createAccountCli(db, 'full');
  const sink = await startSink();
  let relay: SpawnedRelay | null = null;
  try {
    relay = await spawnRelay({ RELAY_DATABASE_URL: db });
    await fetch(`${relay.url}/v1/hooks`, { method: 'POST', headers: { Authorization: `Bearer ${acct.api_key}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ target_url: `${sink.url}/hooks/standard/1/a/`, event: 'walnut.*' }) });
    const inbound = `${relay.url}${new URL(acct.inbound.walnut).pathname}`;
    const acked = new Set<string>();
    let refused = 0;
    let retryAfter = true;
    for (let i = 0; i < 400 && refused < 5; i++) {
      const r = await fetch(inbound, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: session(`fill-${i}`, { pad: 'x'.repeat(48 * 1024) }) });
      if (r.status === 200) acked.add(((await r.json()) as { id: string }).id);
      else {
        refused++;
        retryAfter &&= Number(r.headers.get('retry-after')) > 0;
        await r.arrayBuffer();
      }
    }
    const health = await fetch(`${relay.url}/healthz`);
    const said = ((await health.json()) as { error?: string }).error ?? '';
    const logged = relay.stdoutLines().some((l) => l.includes('the store cannot write') && l.includes('database or disk is full'));
    const masked = relay.stdoutLines().filter((l) => l.includes('cannot rollback')).length;
    spawnSync('mount', ['-o', 'remount,size=64m', dir]);
    const t0 = Date.now();
    let back = 0;
    while (back !== 200 && Date.now() - t0 < 10_000) {
      back = (await fetch(`${relay.url}/healthz`)).status;
      if (back !== 200) await sleepMs(100);
    }
    const deadline = Date.now() + 30_000;
    const delivered = () => new Set(sink.received.map((r) => String(r.headers['x-relay-event-id'])));
    while (Date.now() < deadline && [...acked].some((id) => !delivered().has(id))) await sleepMs(100);
    const lost = [...acked].filter((id) => !delivered().has(id)).length;
    rows.push([
      `a full disk (a 4 MiB tmpfs): ${acked.size} acked, then refused`,
      `503 with Retry-After: ${retryAfter ? 'yes' : 'NO'}; the log names it (database or disk is full): ${logged ? 'yes' : 'NO'}, "cannot rollback" lines: ${masked}; /healthz ${health.status} "${said}", 200 again ${((Date.now() - t0) / 1000).toFixed(1)} s after room was made; acked and lost: ${lost}`,
    ]);
    if (refused === 0) failures.push('full disk: the disk never filled');
    if (!retryAfter || !logged || masked || health.status !== 503 || back !== 200 || lost) failures.push(`full disk: Retry-After ${retryAfter}, logged ${logged}, masked ${masked}, /healthz ${health.status} then ${back}, lost ${lost}`);
  } finally {
    if (relay) await stopRelay(relay);
    await sink.close();
    spawnSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function roundThree(short: boolean, say: Say, failures: string[]): Promise<void> {
  const rows: Array<Array<string | number>> = [];
  await idleConnections(short, rows, failures);
  await keyGuessing(short, rows, failures);
  await wideEvents(short, rows, failures);
  await fullDisk(rows, failures);
  say('## round three: an idle-connection flood, key guessing, wide events listed, a full disk (each on a relay in its own process)');
  say(table(['attack', 'how it held'], rows));
  say();
}
