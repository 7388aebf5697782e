import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { demoSessionSample } from '../../lib/providers/walnut.js';
import { signBody } from '../../lib/signature.js';
import { call, createAccountCli, freshPgUrl, freshSqliteUrl, pgAvailable, RELAY_BIN, reportPgSkip, sleep, spawnRelay, startSink, until } from './harness.js';

reportPgSkip();

const createAccount = (databaseUrl: string) => createAccountCli(databaseUrl);

const eventBody = (i: number) => JSON.stringify({ ...demoSessionSample, data: { ...demoSessionSample.data, session_id: `load-${i}` } });

/** Posts events 0..n-1 with `concurrency` in flight to whatever base `baseOf()` returns at the time; returns the acked event ids. */
async function load(n: number, concurrency: number, baseOf: () => string, path: string, onAck?: (count: number) => void) {
  const acked = new Map<number, string>();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const body = eventBody(i);
      try {
        const r = await call(baseOf(), 'POST', path, { body, headers: { 'X-Walnut-Signature': signBody(body, 'k') } });
        if (r.status === 200) {
          acked.set(i, r.json.id);
          onAck?.(acked.size);
        }
      } catch {
        // Not acked (the relay was killed mid-request): the vendor would retry; so do we, once it is back.
        next = Math.min(next, i);
        await sleep(50);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return acked;
}

describe('a relay killed with SIGKILL under load', () => {
  it('loses no acked event: every one is delivered after the restart', async () => {
    const dbUrl = freshSqliteUrl();
    const acct = createAccount(dbUrl);
    const path = new URL(acct.inbound.walnut).pathname;
    const sink = await startSink();
    let relay = await spawnRelay({ RELAY_DATABASE_URL: dbUrl, RELAY_LEASE_MS: '1000' });
    try {
      await call(relay.url, 'POST', '/v1/hooks', { key: acct.api_key, body: { target_url: `${sink.url}/hook`, event: 'walnut.*' } });
      let base = relay.url;
      let killed = false;
      const restarting = { p: null as Promise<void> | null };
      const acked = await load(400, 16, () => base, path, (count) => {
        if (count === 150 && !killed) {
          killed = true;
          relay.proc.kill('SIGKILL');
          restarting.p = (async () => {
            await new Promise((r) => relay.proc.once('exit', r));
            relay = await spawnRelay({ RELAY_DATABASE_URL: dbUrl, RELAY_LEASE_MS: '1000' });
            base = relay.url;
          })();
        }
      });
      await restarting.p;
      expect(killed).toBe(true);
      const ackedIds = new Set(acked.values());
      await sink.until(() => {
        const got = new Set(sink.received.map((r) => r.headers['x-relay-event-id'] as string));
        return [...ackedIds].every((id) => got.has(id));
      }, 30_000);
      const delivered = new Set(sink.received.map((r) => r.headers['x-relay-event-id'] as string));
      const lost = [...ackedIds].filter((id) => !delivered.has(id));
      expect({ acked: ackedIds.size >= 400, lost }).toStrictEqual({ acked: true, lost: [] });
    } finally {
      relay.proc.kill('SIGKILL');
      await sink.close();
    }
  }, 90_000);
});

(pgAvailable.ok ? describe : describe.skip)('two relay processes on one PostgreSQL', () => {
  it('deliver each event exactly once between them', async () => {
    const dbUrl = freshPgUrl();
    const acct = createAccount(dbUrl);
    const path = new URL(acct.inbound.walnut).pathname;
    const sink = await startSink();
    // The test relays' 500 ms delivery timeout would make a busy machine's slow answer a retry (at least
    // once, by design): this test is of the claims between processes, so attempts wait longer.
    const env = { RELAY_DATABASE_URL: dbUrl, RELAY_LOG_LEVEL: 'debug', RELAY_DELIVERY_CONCURRENCY: '4', RELAY_DELIVERY_TIMEOUT_MS: '10000' };
    const a = await spawnRelay(env);
    const b = await spawnRelay(env);
    try {
      await call(a.url, 'POST', '/v1/hooks', { key: acct.api_key, body: { target_url: `${sink.url}/hook`, event: 'walnut.demo_session_finished' } });
      let turn = 0;
      const acked = await load(300, 12, () => (turn++ % 2 === 0 ? a.url : b.url), path);
      expect(acked.size).toBe(300);
      await sink.until(() => sink.received.length >= 300, 30_000);
      await sleep(500);
      const perEvent = new Map<string, number>();
      for (const r of sink.received) perEvent.set(r.headers['x-relay-event-id'] as string, (perEvent.get(r.headers['x-relay-event-id'] as string) ?? 0) + 1);
      expect(perEvent.size).toBe(300);
      // Each event once; a twice-delivered one shows what both processes logged of it.
      const twice = [...perEvent].filter(([, n]) => n !== 1).map(([id]) => id);
      expect(twice.map((id) => ({ id, logged: [...a.logs.map((l) => `a ${l}`), ...b.logs.map((l) => `b ${l}`)].filter((l) => l.includes(id)) }))).toStrictEqual([]);
      // Both processes took part in the deliveries.
      const attempts = (logs: string[]) => logs.filter((l) => l.includes('"msg":"delivered"')).length;
      expect(attempts(a.logs)).toBeGreaterThan(0);
      expect(attempts(b.logs)).toBeGreaterThan(0);
      expect(attempts(a.logs) + attempts(b.logs)).toBe(300);
    } finally {
      a.proc.kill('SIGTERM');
      b.proc.kill('SIGTERM');
      await sink.close();
    }
  }, 90_000);
});

describe('graceful shutdown', () => {
  it('SIGTERM drains and exits 0', async () => {
    const r = await spawnRelay({ RELAY_DATABASE_URL: freshSqliteUrl() });
    const code = await new Promise((resolve) => {
      r.proc.once('exit', resolve);
      r.proc.kill('SIGTERM');
    });
    expect(code).toBe(0);
    expect(r.logs.some((l) => l.includes('"relay stopped"'))).toBe(true);
  });

  it('prints the local account on first start and never logs the API key', async () => {
    const r = await spawnRelay({ RELAY_DATABASE_URL: freshSqliteUrl() });
    await sleep(300);
    r.proc.kill('SIGTERM');
    await new Promise((resolve) => r.proc.once('exit', resolve));
    const text = r.logs.join('\n');
    const key = /API key[^\n]*\n\s+(dh_\S+)/.exec(text)?.[1];
    expect(key).toBeDefined();
    const jsonLines = r.logs.filter((l) => l.startsWith('{'));
    expect(jsonLines.length).toBeGreaterThan(0);
    for (const l of jsonLines) expect(l).not.toContain(key!);
  });

  it('npm start stops on SIGTERM to the npm process itself (the relay is not left running)', async () => {
    const root = path.resolve(__dirname, '..', '..', '..');
    // The real start script, minus its compile step (which would rewrite dist/ under the other
    // test files): run by npm from a folder that links to this build.
    const script = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).scripts.start as string;
    expect(script).toMatch(/^tsc -p \. && exec node bin\/demohooks-relay\.js serve$/);
    const dir = mkdtempSync(path.join(tmpdir(), 'demohooks-npm-start-'));
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'npm-start-test', private: true, scripts: { start: script.replace(/^tsc -p \. && /, '') } }));
    for (const d of ['bin', 'dist', 'node_modules']) symlinkSync(path.join(root, d), path.join(dir, d));
    const npm = spawn('npm', ['start'], {
      cwd: dir,
      env: { ...process.env, PATH: `${path.join(root, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}`, HOST: '127.0.0.1', PORT: '0', RELAY_DATABASE_URL: freshSqliteUrl() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    npm.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    npm.stderr!.resume();
    const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    await until('listening', () => /"msg":"relay listening"/.test(out), 80_000);
    const url = JSON.parse(out.split('\n').find((l) => l.includes('"relay listening"'))!).url as string;
    // Positive control: it answers.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    npm.kill('SIGTERM');
    await exited;
    await until('the relay has stopped answering', async () => fetch(`${url}/healthz`).then(() => false, () => true), 10_000);
    expect(out).toContain('"relay stopped"');
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});
