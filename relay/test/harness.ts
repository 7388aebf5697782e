import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, type RelayConfig } from '../config.js';
import { capturingLogger, silentLogger, type Logger, type LogSink } from '../log.js';
import { startRelay, type Relay } from '../main.js';

export const PG_URL = process.env.RELAY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROOT = path.resolve(__dirname, '..', '..', '..');
export const RELAY_BIN = path.join(ROOT, 'bin', 'demohooks-relay.js');

/** Whether PostgreSQL answers, checked once in a child (describe blocks are synchronous). */
export const pgAvailable: { ok: boolean; why: string } = (() => {
  const probe = spawnSync(
    process.execPath,
    ['-e', `const {Client}=require('pg');const c=new Client({connectionString:${JSON.stringify(PG_URL)},connectionTimeoutMillis:3000});c.connect().then(()=>c.end()).then(()=>process.exit(0),e=>{console.error(e.message);process.exit(1)})`],
    { cwd: ROOT, encoding: 'utf8', timeout: 10_000 },
  );
  return probe.status === 0 ? { ok: true, why: '' } : { ok: false, why: `PostgreSQL at ${PG_URL} did not answer (${(probe.stderr || 'timeout').trim().split('\n')[0]})` };
})();

// Every store a test or a benchmark makes is removed after it: temporary folders when the
// test file (or the process) ends, PostgreSQL schemas in the test file's afterAll, or through
// `dropStores()` in a script.
const madeDirs: string[] = [];
const madeSchemas: string[] = [];

export const freshSqliteUrl = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'demohooks-relay-'));
  madeDirs.push(dir);
  return `sqlite:${path.join(dir, 'relay.db')}`;
};
export const freshPgUrl = () => {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  madeSchemas.push(schema);
  return `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}`;
};

/** Removes the stores made so far (folders and PostgreSQL schemas). */
export async function dropStores(): Promise<void> {
  for (const dir of madeDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  const schemas = madeSchemas.splice(0);
  if (schemas.length === 0) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Client } = require('pg') as typeof import('pg');
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  try {
    for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  } finally {
    await client.end();
  }
}

process.once('exit', () => {
  for (const dir of madeDirs) rmSync(dir, { recursive: true, force: true });
});
if (typeof afterAll === 'function') afterAll(dropStores);

/** The stores every relay test runs against: SQLite always, PostgreSQL when it answers. */
export const STORES: Array<[string, () => string]> = [['sqlite', freshSqliteUrl], ...(pgAvailable.ok ? ([['postgres', freshPgUrl]] as Array<[string, () => string]>) : [])];

export function reportPgSkip(): void {
  if (!pgAvailable.ok) {
    // eslint-disable-next-line no-console
    console.warn(`PostgreSQL relay tests skipped: ${pgAvailable.why}. Set RELAY_TEST_PG_URL to run them.`);
  }
}

/** A relay configured for loopback testing: private targets allowed, fast retries. */
export function testConfig(databaseUrl: string, overrides: Partial<RelayConfig> = {}): RelayConfig {
  return {
    ...loadConfig({}),
    port: 0,
    databaseUrl,
    targetHosts: ['127.0.0.1:*', 'localhost:*'],
    allowPrivateTargets: true,
    retryBaseMs: 50,
    retryMaxMs: 400,
    pollMs: 20,
    idlePollMs: 20,
    leaseMs: 2000,
    deliveryTimeoutMs: 1500,
    retentionDays: 0,
    // The relay shares its event loop with the test, whose spawnSync calls block it for a
    // second at a time: that is the test's lag, not the relay's; and its heap with the test
    // runner, which holds every test file's leftovers by the end of a run (the overload tests
    // set their own).
    maxEventLoopDelayMs: 0,
    maxHeapBytes: 0,
    // The relay's own rules are tested here; pacing and the alert limits have their own tests
    // (relay/test/pacing.test.ts), which set them.
    targetRate: 0,
    zapierUserRate: 0,
    alertRepeatMs: 0,
    recoveredAfterMs: 0,
    ...overrides,
  };
}

/** `log`: a Logger, or a function handed each line the relay logs (at debug and above), parsed. */
export async function startTestRelay(databaseUrl: string, overrides: Partial<RelayConfig> = {}, log: LogSink = silentLogger): Promise<Relay> {
  const cfg = testConfig(databaseUrl, overrides);
  return startRelay(cfg, 'pino' in log ? (log as Logger) : capturingLogger(log));
}

export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A local stand-in for a Zapier hook URL: records every request, answers with `respond`'s status. */
export async function startSink(respond: (r: Received, n: number) => number | { status: number; body: string; headers?: Record<string, string> } = () => 200) {
  const received: Received[] = [];
  const waiters: Array<() => void> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const r = { path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(r);
      const answer = respond(r, received.length);
      const { status, body, headers } = typeof answer === 'number' ? { status: answer, body: '{}', headers: {} } : answer;
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(body);
      waiters.splice(0).forEach((w) => w());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    /** Waits until `pred` holds, failing after `ms`. */
    async until(pred: () => boolean, ms = 10_000): Promise<void> {
      const deadline = Date.now() + ms;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`sink: condition not met within ${ms} ms (received ${received.length})`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 50);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export async function call(base: string, method: string, p: string, opts: { key?: string; body?: string | object; type?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.key) headers.Authorization = `Bearer ${opts.key}`;
  if (opts.body !== undefined) headers['Content-Type'] = opts.type ?? 'application/json';
  const res = await fetch(`${base}${p}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

/**
 * A relay in its own process, as production runs it (for SIGKILL and multi-process tests).
 * It is ready when it logs "relay listening"; with `keepLogs` false the rest of its output is
 * drained unread (benchmarks: parsing log lines would load the measuring process).
 */
export interface SpawnedRelay {
  proc: ChildProcess;
  url: string;
  /** Everything it printed, stdout lines and stderr chunks, in order. */
  logs: string[];
  stdoutLines(): string[];
  stderrLines(): string[];
}

export function spawnRelay(env: Record<string, string>, keepLogs = true): Promise<SpawnedRelay> {
  // RELAY_CPU_PROF_DIR (the bench's profiles): each relay writes a .cpuprofile there when it
  // stops; Node does not take --cpu-prof from NODE_OPTIONS.
  const prof = process.env.RELAY_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.RELAY_CPU_PROF_DIR}`] : [];
  const proc = spawn(process.execPath, [...prof, RELAY_BIN, 'serve'], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', RELAY_ALLOW_PRIVATE_TARGETS: '1', RELAY_TARGET_HOSTS: '127.0.0.1:*', RELAY_DELIVERY_TIMEOUT_MS: '500', RELAY_POLL_MS: '20', RELAY_IDLE_POLL_MS: '20', RELAY_RETRY_BASE_MS: '50', RELAY_RETRY_MAX_MS: '400', RELAY_TARGET_RATE: '0', RELAY_ZAPIER_USER_RATE: '0', RELAY_ALERT_REPEAT_MS: '0', RELAY_RECOVERED_AFTER_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const out: string[] = [];
  let err = '';
  const stdoutLines = () => out.slice();
  const stderrLines = () => err.split('\n').filter(Boolean);
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`relay did not start: ${logs.join('\n')}`)), 15_000);
    proc.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        logs.push(line);
        out.push(line);
        try {
          const j = JSON.parse(line);
          if (j.msg === 'relay listening') {
            clearTimeout(timer);
            if (!keepLogs) {
              proc.stdout!.removeAllListeners('data');
              proc.stdout!.resume();
            }
            resolve({ proc, url: j.url, logs, stdoutLines, stderrLines });
          }
        } catch {
          // the first-start account banner is plain text
        }
      }
    });
    proc.stderr!.on('data', (c: Buffer) => {
      logs.push(c.toString());
      err += c.toString();
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`relay exited with ${code}: ${logs.join('\n')}`));
    });
  });
}

/** An account made with the CLI, as an operator does, on the store at `databaseUrl`. */
export const createAccountCli = (databaseUrl: string, name = 'proc-test') =>
  JSON.parse(
    execFileSync(process.execPath, [RELAY_BIN, 'account', 'create', '--name', name, '--json'], {
      env: { ...process.env, RELAY_DATABASE_URL: databaseUrl },
      encoding: 'utf8',
    }),
  ) as { account_id: string; api_key: string; inbound: Record<string, string> };

/** Stops a relay in its own process as an orchestrator does (SIGTERM), once it has exited. */
export async function stopRelay(relay: SpawnedRelay): Promise<void> {
  if (relay.proc.exitCode !== null || relay.proc.signalCode !== null) return;
  const exited = new Promise((resolve) => relay.proc.once('exit', resolve));
  relay.proc.kill('SIGTERM');
  await exited;
}

/** Holds `n` idle connections open from `from` (spread over those local addresses), each one cut reopened at once, until stopped. */
export function idleFlood(port: number, n: number, from: string[] = ['127.0.0.1']) {
  let on = true;
  let reopened = 0;
  let k = 0;
  const open = new Set<net.Socket>();
  const one = () => {
    if (!on) return;
    const s = net.connect({ port, host: '127.0.0.1', localAddress: from[k++ % from.length] });
    open.add(s);
    s.on('error', () => undefined);
    s.on('close', () => {
      open.delete(s);
      reopened++;
      setTimeout(one, 2);
    });
  };
  for (let i = 0; i < n; i++) one();
  return {
    get open() {
      return open.size;
    },
    get reopened() {
      return reopened;
    },
    stop() {
      on = false;
      for (const s of open) s.destroy();
    },
  };
}

/** One GET /healthz on a connection of its own, as a new client makes one: answered 200 within 2 s? */
export const probeHealth = (port: number) =>
  new Promise<boolean>((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `pred` every 20 ms until it holds; fails with `what` after `ms`. */
export async function until(what: string, pred: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`not met within ${ms} ms: ${what}`);
    await sleep(20);
  }
}
