/**
 * The relay under hostile clients and a broken machine: guessing API keys and inbound URLs is
 * slowed per address (the forwarded one only behind a trusted proxy) while valid credentials
 * keep working, and no flood of made-up credentials can empty the limiters' memory; a full disk
 * is logged as one and seen by /healthz until there is room again, losing nothing acked.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connectionCapOf } from '../http/connections.js';
import { clientKey, FailedAuth } from '../http/failed-auth.js';
import type { LogSink } from '../log.js';
import type { Relay } from '../main.js';
import { isOutOfSpace } from '../store/write-health.js';
import { deliveriesOf, walnutSession } from './fixtures.js';
import { call, idleFlood, probeHealth, startSink, startTestRelay, STORES, until } from './harness.js';

const wrongKey = () => `dh_${randomBytes(24).toString('base64url')}`;

/** Runs `n` calls of `f`, `width` at a time; their statuses, counted. */
async function flood(n: number, width: number, f: () => Promise<number>): Promise<Record<number, number>> {
  const counts: Record<number, number> = {};
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next++ < n) {
        const s = await f();
        counts[s] = (counts[s] ?? 0) + 1;
      }
    }),
  );
  return counts;
}

describe('failed authentication, counted per address', () => {
  let relay: Relay;
  afterEach(() => relay?.close());

  it('slows a key-guessing flood to 429 within the limit, while a valid key from the same address keeps working', async () => {
    relay = await startTestRelay(STORES[0][1](), { authFailuresPerMinute: 10 });
    const { apiKey } = await relay.store.accounts.create('guessed');
    expect((await call(relay.url, 'GET', '/v1/me', { key: apiKey })).status).toBe(200);
    for (let i = 0; i < 10; i++) expect((await call(relay.url, 'GET', '/v1/me', { key: wrongKey() })).status).toBe(401);
    const res = await fetch(`${relay.url}/v1/me`, { headers: { Authorization: `Bearer ${wrongKey()}` } });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await res.json()) as { error: string }).error).toMatch(/unknown API keys from this address.*RELAY_AUTH_FAILURES_PER_MINUTE/);
    // Still refused while it lasts; the valid key is not.
    expect((await call(relay.url, 'GET', '/v1/me', { key: wrongKey() })).status).toBe(429);
    expect((await call(relay.url, 'GET', '/v1/me', { key: apiKey })).status).toBe(200);
  });

  it("a flood of made-up keys does not reset a key's exhausted rate limit", async () => {
    relay = await startTestRelay(STORES[0][1](), { apiRatePerMinute: 5, authFailuresPerMinute: 20 });
    const { apiKey } = await relay.store.accounts.create('limited');
    for (let i = 0; i < 5; i++) expect((await call(relay.url, 'GET', '/v1/me', { key: apiKey })).status).toBe(200);
    expect((await call(relay.url, 'GET', '/v1/me', { key: apiKey })).status).toBe(429);
    // More distinct keys than the per-key limiter keeps (5,000): none of them is a key.
    const got = await flood(5100, 32, async () => (await fetch(`${relay.url}/v1/me`, { headers: { Authorization: `Bearer ${wrongKey()}` } })).status);
    expect(got).toStrictEqual({ 401: 20, 429: 5080 });
    expect((await call(relay.url, 'GET', '/v1/me', { key: apiKey })).status).toBe(429);
  });

  it('slows guessing of inbound URLs the same way; the real URL from that address is still stored', async () => {
    relay = await startTestRelay(STORES[0][1](), { authFailuresPerMinute: 5 });
    const { tokens } = await relay.store.accounts.create('inbound');
    const post = (token: string, id: string) => call(relay.url, 'POST', `/v1/inbound/walnut/${token}`, { body: walnutSession(id) });
    expect((await post(tokens.walnut, 'real-1')).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await post(randomBytes(24).toString('base64url'), `guess-${i}`)).status).toBe(404);
    const res = await fetch(`${relay.url}/v1/inbound/walnut/${randomBytes(24).toString('base64url')}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: walnutSession('guess-x') });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await post(tokens.walnut, 'real-2')).status).toBe(200);
  });

  it('counts the forwarded address only behind a trusted proxy', async () => {
    const asFrom = (key: string, address: string) => call(relay.url, 'GET', '/v1/me', { key, headers: { 'X-Forwarded-For': address } });
    relay = await startTestRelay(STORES[0][1](), { authFailuresPerMinute: 3, trustProxy: ['127.0.0.1'] });
    for (let i = 0; i < 3; i++) expect((await asFrom(wrongKey(), '203.0.113.7')).status).toBe(401);
    expect((await asFrom(wrongKey(), '203.0.113.7')).status).toBe(429);
    expect((await asFrom(wrongKey(), '198.51.100.9')).status).toBe(401); // another client behind the same proxy
    await relay.close();
    // Not trusted: the header is anyone's to forge, so the connection's address is counted.
    relay = await startTestRelay(STORES[0][1](), { authFailuresPerMinute: 3 });
    for (let i = 0; i < 3; i++) expect((await asFrom(wrongKey(), `203.0.113.${i}`)).status).toBe(401);
    expect((await asFrom(wrongKey(), '198.51.100.9')).status).toBe(429);
  });
});

describe('the failed-authentication table', () => {
  it('is one entry per client: an IPv4 address, an IPv6 /64', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('2001:db8:abcd:12:1::7')).toBe('2001:db8:abcd:12::/64');
    expect(clientKey('2001:0db8:abcd:0012:ffff:1:2:3')).toBe('2001:db8:abcd:12::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
  });

  it('stays bounded, and a flood of new addresses never frees one that is over the limit', () => {
    let now = 1_000_000;
    const t = new FailedAuth(3, 100, () => now);
    for (let i = 0; i < 3; i++) t.fail('198.51.100.1');
    expect(t.blockedFor('198.51.100.1')).toBe(60);
    for (let i = 0; i < 10_000; i++) t.fail(`10.0.${i >> 8}.${i & 255}`);
    expect(t.size).toBeLessThanOrEqual(100);
    expect(t.blockedFor('198.51.100.1')).toBe(60);
    now += 60_000; // the minute is over
    expect(t.blockedFor('198.51.100.1')).toBe(0);
  });
});

/** A small tmpfs of its own (root only): a disk that really fills. Null where mounting is not allowed. */
function smallDisk(mb: number): { dir: string; grow(mb: number): void; remove(): void } | null {
  const dir = mkdtempSync(path.join(tmpdir(), 'demohooks-full-'));
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${mb}m`, 'tmpfs', dir], { encoding: 'utf8' });
  if (mount.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    // eslint-disable-next-line no-console
    console.warn(`full-disk test skipped: cannot mount a tmpfs here (${(mount.stderr || mount.error?.message || '').trim()}); it runs as root, as CI does`);
    return null;
  }
  return {
    dir,
    grow: (to) => void spawnSync('mount', ['-o', `remount,size=${to}m`, dir]),
    remove: () => {
      spawnSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('a full disk', () => {
  it('is logged as what it is, /healthz answers 503 with the reason until there is room, and every acked event is delivered', async () => {
    const disk = smallDisk(3);
    if (!disk) return;
    const lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = [];
    const log: LogSink = (level, msg, fields) => lines.push({ level, msg, fields });
    const sink = await startSink();
    const relay = await startTestRelay(`sqlite:${path.join(disk.dir, 'relay.db')}`, {}, log);
    try {
      const acct = await relay.store.accounts.create('full');
      await call(relay.url, 'POST', '/v1/hooks', { key: acct.apiKey, body: { target_url: `${sink.url}/hooks/standard/1/a/`, event: 'walnut.*' } });
      const post = (id: string) => fetch(`${relay.url}/v1/inbound/walnut/${acct.tokens.walnut}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: walnutSession(id, { padding: 'x'.repeat(64 * 1024) }) });
      const acked: string[] = [];
      expect((await fetch(`${relay.url}/healthz`)).status).toBe(200);
      let refused: Response | null = null;
      for (let i = 0; i < 200 && !refused; i++) {
        const r = await post(`fill-${i}`);
        if (r.status === 200) acked.push(((await r.json()) as { id: string }).id);
        else refused = r;
      }
      expect(acked.length).toBeGreaterThan(0);
      expect(refused?.status).toBe(503);
      expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThan(0);
      const health = await fetch(`${relay.url}/healthz`);
      expect(health.status).toBe(503);
      expect(Number(health.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await health.json()) as { error: string }).error).toBe('the store cannot write: database or disk is full');
      const said = lines.filter((l) => l.level === 'error').map((l) => `${l.msg} ${JSON.stringify(l.fields)}`);
      expect(said.some((l) => l.startsWith('the store cannot write: out of disk space') && l.includes('database or disk is full'))).toBe(true);
      expect(said.filter((l) => /cannot rollback/.test(l))).toStrictEqual([]);

      // Room again: healthy without any other write, then ingesting.
      disk.grow(64);
      await until('healthy again', async () => (await fetch(`${relay.url}/healthz`)).status === 200);
      const after = await post('room-again');
      expect(after.status).toBe(200);
      acked.push(((await after.json()) as { id: string }).id);
      expect(lines.some((l) => l.msg === 'the store can write again')).toBe(true);
      for (const id of acked) await until(`${id} delivered and recorded`, async () => (await deliveriesOf(relay, id))[0]?.status === 'delivered', 30_000);
      expect(new Set(sink.received.map((r) => r.headers['x-relay-event-id']))).toStrictEqual(new Set(acked));
    } finally {
      await relay.close();
      await sink.close();
      disk.remove();
    }
  });

  it("recognises each store's out-of-space error", () => {
    expect(isOutOfSpace(new Error('database or disk is full'))).toBe(true);
    expect(isOutOfSpace(Object.assign(new Error('could not extend file "base/16384/2619": No space left on device'), { code: '53100' }))).toBe(true);
    expect(isOutOfSpace(Object.assign(new Error('write failed'), { code: 'ENOSPC' }))).toBe(true);
    expect(isOutOfSpace(new Error('UNIQUE constraint failed: events.dkey'))).toBe(false);
  });
});

describe('an idle-connection flood', () => {
  let relay: Relay;
  afterEach(() => relay?.close());

  it('locks nobody out: at the cap the longest idle connection makes room for a new client', async () => {
    relay = await startTestRelay(STORES[0][1](), { maxConnections: 64, maxConnectionsPerAddress: 0 });
    const port = Number(new URL(relay.url).port);
    const before = await Promise.all(Array.from({ length: 10 }, () => probeHealth(port)));
    expect(before.every(Boolean)).toBe(true);
    // Three times the cap held open, each one cut reopened at once, for the whole run.
    const flood = idleFlood(port, 192);
    try {
      await until('the flood holds the cap', () => flood.open >= 150);
      let answered = 0;
      for (let i = 0; i < 100; i++) if (await probeHealth(port)) answered++;
      expect(flood.reopened).toBeGreaterThan(100); // it kept flooding throughout
      expect(answered).toBeGreaterThanOrEqual(95);
    } finally {
      flood.stop();
    }
  });

  it('holds one address to its share of connections; another address is not touched', async () => {
    relay = await startTestRelay(STORES[0][1](), { maxConnections: 1000, maxConnectionsPerAddress: 20 });
    const port = Number(new URL(relay.url).port);
    const mine = idleFlood(port, 10, ['127.0.0.3']);
    const flood = idleFlood(port, 60, ['127.0.0.2']);
    try {
      await until('the flood was cut to its share', async () => {
        const accepted = (await probeHealth(port)) ? 1 : 0;
        return accepted === 1 && flood.reopened >= 40;
      });
      // 127.0.0.3's ten were never closed for 127.0.0.2's flood.
      expect([mine.open, mine.reopened]).toStrictEqual([10, 0]);
      expect(await probeHealth(port)).toBe(true);
    } finally {
      flood.stop();
      mine.stop();
    }
  });
});

describe('wide events', () => {
  let relay: Relay;
  afterEach(() => relay?.close());

  it('are cheap to list: a preview reads a bounded part of each body, no summary past 64 KiB, the whole on the event page', async () => {
    relay = await startTestRelay(STORES[0][1]());
    const acct = await relay.store.accounts.create('wide');
    const post = async (body: string) => (await call(relay.url, 'POST', `/v1/inbound/walnut/${acct.tokens.walnut}`, { body })).json.id as string;
    const narrow = await post(walnutSession('narrow-1'));
    const keys = Object.fromEntries(Array.from({ length: 30_000 }, (_, i) => [`k${i}`, i]));
    const wideBody = walnutSession('wide-1', { keys });
    expect(wideBody.length).toBeGreaterThan(300_000);
    const wide = await post(wideBody);
    const list = async (q: string) => (await call(relay.url, 'GET', `/v1/events?limit=10${q}`, { key: acct.apiKey })).json as Array<{ id: string; body: string; summary: string | null; body_truncated?: boolean }>;
    // The whole bodies (what the Zapier app asks for): a summary for the narrow one only.
    const full = new Map((await list('')).map((e) => [e.id, e]));
    expect(full.get(narrow)!.summary).toContain('someone-awesome@walnut.io');
    expect([full.get(wide)!.body.length, full.get(wide)!.summary, full.get(wide)!.body_truncated]).toStrictEqual([wideBody.length, null, undefined]);
    // Previews: each body's first 1,024 characters.
    const preview = new Map((await list('&body=preview')).map((e) => [e.id, e]));
    expect(preview.get(narrow)!.summary).toBe(full.get(narrow)!.summary);
    expect(preview.get(narrow)!.body).toBe(full.get(narrow)!.body.slice(0, 1024));
    expect([preview.get(wide)!.body, preview.get(wide)!.body_truncated, preview.get(wide)!.summary]).toStrictEqual([wideBody.slice(0, 1024), true, null]);
    // The event itself, whole.
    expect((await call(relay.url, 'GET', `/v1/events/${wide}`, { key: acct.apiKey })).json.body).toBe(wideBody);
    expect((await call(relay.url, 'GET', '/v1/events?body=some', { key: acct.apiKey })).json.error).toBe('body must be full or preview');
  });

  it('a page of whole bodies stops at 1 MiB of them, and the next page goes on from there', async () => {
    relay = await startTestRelay(STORES[0][1]());
    const acct = await relay.store.accounts.create('wider');
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await call(relay.url, 'POST', `/v1/inbound/walnut/${acct.tokens.walnut}`, { body: walnutSession(`big-${i}`, { pad: 'p'.repeat(600 * 1024) }) })).json.id);
    const pages: string[][] = [];
    let next: string | null = '/v1/events?limit=10';
    while (next) {
      const res = await fetch(`${relay.url}${next}`, { headers: { Authorization: `Bearer ${acct.apiKey}` } });
      pages.push(((await res.json()) as Array<{ id: string }>).map((e) => e.id));
      next = /<([^>]+)>; rel="next"/.exec(res.headers.get('link') ?? '')?.[1] ?? null;
    }
    // Two of 600 KiB a page: a third would start past 1 MiB.
    expect(pages).toStrictEqual([ids.slice(4).reverse(), ids.slice(2, 4).reverse(), ids.slice(0, 2).reverse()]);
  });
});

describe('every 503 says when to come back', () => {
  it('a request that arrives while the relay shuts down is told 503 with Retry-After', async () => {
    const relay = await startTestRelay(STORES[0][1]());
    const { tokens } = await relay.store.accounts.create('closing');
    const body = walnutSession('during-close');
    const socket = net.connect(Number(new URL(relay.url).port), '127.0.0.1');
    let read = '';
    socket.on('data', (c) => (read += c.toString('latin1')));
    await new Promise((r) => socket.once('connect', r));
    // A request in progress (its body half sent) when the shutdown begins, and one after it on the same connection.
    socket.write(`POST /v1/inbound/walnut/${tokens.walnut} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`);
    await until('the first request is in progress', () => connectionCapOf(relay.server)!.busy === 1);
    const closed = relay.close();
    socket.write(`${body.slice(10)}GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`);
    await until('both answered', () => (read.match(/HTTP\/1\.1 /g) ?? []).length === 2);
    await closed;
    socket.destroy();
    const [first, second] = read.split(/(?=HTTP\/1\.1 )/);
    expect(first).toMatch(/^HTTP\/1\.1 200/); // the one in progress was finished
    expect(second).toMatch(/^HTTP\/1\.1 503/);
    expect(second).toMatch(/\r\nretry-after: 5\r\n/i);
    expect(second).toContain('the relay is shutting down; retry shortly');
  });
});
