/**
 * The relay on the public internet: each attack a public endpoint meets (slow clients, floods,
 * SSRF, token leaks, unfair accounts, races with an unsubscribe). Every negative assertion
 * follows its positive control.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { demoSessionSample } from '../../lib/providers/walnut.js';
import { terminalSafe } from '../cli/index.js';
import { silentLogger } from '../log.js';
import { startRelay, type Relay } from '../main.js';
import { roundRobin } from '../domain/fairness.js';
import { connectionCapOf } from '../http/connections.js';
import { call, RELAY_BIN, reportPgSkip, sleep, spawnRelay, startSink, startTestRelay, STORES, testConfig, until } from './harness.js';
import { claim, deliveriesOf, settle, unsubscribe, walnutSession as session } from './fixtures.js';

reportPgSkip();


/** A raw socket: what it read, and a promise of its close (error or end). */
function rawSocket(url: string) {
  const u = new URL(url);
  const socket = net.connect(Number(u.port), u.hostname);
  let read = '';
  socket.on('data', (c) => (read += c.toString('latin1')));
  const closed = new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.on('error', () => undefined);
  });
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, closed, connected, read: () => read };
}

/** Resolves true once `p` settles, false after `ms` (a bound on waiting for a state, not a timing claim). */
const within = (p: Promise<unknown>, ms: number) => Promise.race([p.then(() => true), sleep(ms).then(() => false)]);

/** Writes 64 KiB chunks until the socket closes or `max` bytes went; returns how many went. */
async function streamUntilClosed(s: ReturnType<typeof rawSocket>, max: number, chunked = false): Promise<number> {
  let sent = 0;
  let open = true;
  void s.closed.then(() => (open = false));
  const chunk = Buffer.alloc(64 * 1024, 'a');
  while (open && sent < max) {
    const piece = chunked ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]) : chunk;
    const ok = s.socket.write(piece);
    sent += chunk.length;
    if (!ok) await within(new Promise((r) => s.socket.once('drain', r)), 200);
    await sleep(5);
  }
  return sent;
}

describe('the OpenAPI document', () => {
  let relay: Relay;
  beforeAll(async () => {
    relay = await startTestRelay(STORES[0][1]());
  });
  afterAll(() => relay.close());

  it('is a valid OpenAPI 3.1 document with every /v1 route, generated from the schemas that validate requests', async () => {
    const doc = (await call(relay.url, 'GET', '/openapi.json')).json;
    // A real OpenAPI 3.1 validator (the official schemas), run as Node runs ES modules.
    const result = JSON.parse(execFileSync(process.execPath, [path.resolve(__dirname, '..', '..', '..', 'scripts', 'validate-openapi.mjs')], { input: JSON.stringify(doc), encoding: 'utf8' }));
    expect(result.errors).toStrictEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
    const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    expect(routes.sort()).toStrictEqual(
      [
        'GET /healthz',
        'GET /metrics',
        'POST /v1/inbound/{provider}/{token}',
        'GET /v1/me',
        'POST /v1/hooks',
        'DELETE /v1/hooks/{id}',
        'GET /v1/hooks',
        'GET /v1/events',
        'GET /v1/events/{id}',
        'POST /v1/events/{id}/replay',
        'GET /v1/deliveries',
        'POST /v1/deliveries/{id}/retry',
        'POST /v1/hooks/{id}/retry-failed',
        'POST /v1/hooks/{id}/retry-now',
        'POST /v1/hooks/{id}/runs',
        'POST /v1/me/rotate-key',
        'POST /v1/me/rotate-inbound',
        'POST /v1/me/disable',
        'PUT /v1/me/alerts',
        'DELETE /v1/me/alerts',
        'GET /v1/stats/deliveries',
        'GET /v1/activity',
        'GET /v1/activity/companies',
      ].sort(),
    );
    // The document says what the validator enforces: limit's range, the event names, the error shape.
    const events = doc.paths['/v1/events'].get;
    const limit = events.parameters.find((p: any) => p.name === 'limit');
    expect(limit.in).toBe('query');
    expect(doc.paths['/v1/hooks'].post.requestBody.content['application/json'].schema.required).toStrictEqual(['target_url', 'event']);
    // What may be left out is documented as optional, and what may not as required.
    const required = (p: string) => Object.fromEntries(doc.paths[p].get.parameters.filter((x: any) => x.in === 'query').map((x: any) => [x.name, x.required === true]));
    expect(required('/v1/events')).toStrictEqual({ provider: false, event: false, since: false, until: false, q: false, delivery_status: false, limit: false, before: false, body: false });
    expect(required('/v1/activity')).toStrictEqual({ domain: false, person: false, since: false, until: false, limit: false, before: false });
    expect(required('/v1/activity/companies')).toStrictEqual({ since: false, until: false, limit: false, before: false });
    expect(doc.paths['/v1/hooks/{id}/retry-failed'].post.requestBody.content['application/json'].schema.required ?? []).toStrictEqual([]);
    expect(doc.paths['/v1/hooks'].post.responses['422']).toBeDefined();
    // A request the document refuses is refused, naming the field.
    const key = (await relay.store.accounts.create('doc')).apiKey;
    const bad = await call(relay.url, 'GET', '/v1/events?limit=101', { key });
    expect([bad.status, bad.json.error]).toStrictEqual([400, 'limit must be an integer from 1 to 100']);
  });
});

describe.each(STORES)('nothing is sent after an unsubscribe, on %s', (_name, dbUrl) => {
  let relay: Relay;
  let key: string;
  let inbound: string;
  let server: http.Server;
  let base: string;
  /** Paths whose DELETE has answered 204, and requests that arrived on such a path (must stay 0). */
  const deleted = new Set<string>();
  const late: string[] = [];
  const received: string[] = [];
  const failFirst = new Set<string>();

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const p = req.url ?? '';
      if (deleted.has(p)) late.push(p);
      received.push(p);
      req.resume();
      req.on('end', () => {
        const fail = failFirst.delete(p);
        res.writeHead(fail ? 400 : 200).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    relay = await startTestRelay(dbUrl(), { replaysPerMinute: 1_000_000 });
    const acct = await relay.store.accounts.create('race');
    key = acct.apiKey;
    inbound = `/v1/inbound/walnut/${acct.tokens.walnut}`;
  });
  afterAll(async () => {
    await relay.close();
    await new Promise((r) => server.close(r));
  });

  const subscribe = async (p: string) => (await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${base}${p}`, event: 'walnut.*' } })).json.id as string;
  const unsubscribe = async (id: string, p: string) => {
    const r = await call(relay.url, 'DELETE', `/v1/hooks/${id}`, { key });
    expect(r.status).toBe(204);
    deleted.add(p);
  };

  /** The positive case: a subscription that is not deleted gets what the action sends. */
  const control = async (p: string, act: () => Promise<unknown>) => {
    const id = await subscribe(p);
    await act();
    await until(`${p} received`, () => received.includes(p));
    await unsubscribe(id, p);
  };

  it('a new inbound event racing DELETE (100 times)', async () => {
    await control('/ingest-control', () => call(relay.url, 'POST', inbound, { body: session('race-in-control') }));
    for (let i = 0; i < 100; i++) {
      const p = `/ingest-${i}`;
      const id = await subscribe(p);
      const [ack] = await Promise.all([call(relay.url, 'POST', inbound, { body: session(`race-in-${i}`) }), unsubscribe(id, p)]);
      expect(ack.status).toBe(200);
    }
    await sleep(300); // a send the relay still had queued would arrive now
    expect(late).toStrictEqual([]);
  });

  it('a replay racing DELETE (100 times)', async () => {
    const ev = (await call(relay.url, 'POST', inbound, { body: session('race-replay') })).json.id as string;
    await control('/replay-control', () => call(relay.url, 'POST', `/v1/events/${ev}/replay`, { key }));
    for (let i = 0; i < 100; i++) {
      const p = `/replay-${i}`;
      const id = await subscribe(p);
      const [replayed] = await Promise.all([call(relay.url, 'POST', `/v1/events/${ev}/replay`, { key }), unsubscribe(id, p)]);
      expect(replayed.status).toBe(202);
    }
    await sleep(300);
    expect(late).toStrictEqual([]);
  });

  it('a manual retry racing DELETE (100 times)', async () => {
    let retried = 0;
    for (let i = 0; i < 100; i++) {
      const p = `/retry-${i}`;
      failFirst.add(p);
      const id = await subscribe(p);
      const ev = (await call(relay.url, 'POST', inbound, { body: session(`race-retry-${i}`) })).json.id as string;
      await until('first attempt failed', async () => (await deliveriesOf(relay, ev)).some((d) => d.hook_id === id && d.status === 'failed'));
      const dlv = (await deliveriesOf(relay, ev)).find((d) => d.hook_id === id)!;
      const [retry] = await Promise.all([call(relay.url, 'POST', `/v1/deliveries/${dlv.id}/retry`, { key }), unsubscribe(id, p)]);
      expect([202, 409]).toContain(retry.status);
      if (retry.status === 202) retried++;
    }
    await sleep(300);
    expect(retried).toBeGreaterThan(0); // some retries won the race and were accepted…
    expect(late).toStrictEqual([]); // …and still nothing reached a subscription after its 204
  });
});

describe.each(STORES)('an unsubscribe and an attempt in flight, on %s', (_name, dbUrl) => {
  it('DELETE answers only once the attempt in flight has its outcome recorded', async () => {
    // No deliverer: the test holds the lease itself, as an attempt in flight does.
    const relay = await startRelay(testConfig(dbUrl()), silentLogger, { deliver: false });
    try {
      const acct = await relay.store.accounts.create('inflight');
      const hook = (await call(relay.url, 'POST', '/v1/hooks', { key: acct.apiKey, body: { target_url: 'http://127.0.0.1:9/inflight', event: 'walnut.*' } })).json;
      const ev = (await call(relay.url, 'POST', `/v1/inbound/walnut/${acct.tokens.walnut}`, { body: session('inflight') })).json.id;
      await settle(relay.store); // the fan-out follows the ack
      const [claimed] = await claim(relay.store, 'w_test', 10, 30_000);
      expect([claimed.event_id, claimed.hook_id]).toStrictEqual([ev, hook.id]);
      let answered = false;
      const deleting = call(relay.url, 'DELETE', `/v1/hooks/${hook.id}`, { key: acct.apiKey }).then((r) => ((answered = true), r));
      await sleep(300);
      expect(answered).toBe(false); // still waiting for the attempt
      await relay.store.outcomes.record([{ id: claimed.id, worker: 'w_test', outcome: { kind: 'delivered', status: 200 }, giveUpMs: 60_000 }]);
      expect((await deleting).status).toBe(204);
      expect((await deliveriesOf(relay, ev)).map((d) => d.status)).toStrictEqual(['delivered']);
    } finally {
      await relay.close();
    }
  });
});

describe.each(STORES)('nothing is sent after a disable, on %s', (_name, dbUrl) => {
  it('a new event racing POST /v1/me/disable (100 accounts), and queued retries pause, kept', async () => {
    const disabled = new Set<string>();
    const late: string[] = [];
    const received: string[] = [];
    const server = http.createServer((req, res) => {
      const p = req.url ?? '';
      if (disabled.has(p)) late.push(p);
      received.push(p);
      req.resume();
      req.on('end', () => res.writeHead(p.endsWith('/retry') ? 500 : 200).end('{}'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const relay = await startTestRelay(dbUrl(), { retryBaseMs: 200, retryMaxMs: 200 });
    try {
      // The positive case: an account that is not disabled gets its event.
      const control = await relay.store.accounts.create('control');
      await call(relay.url, 'POST', '/v1/hooks', { key: control.apiKey, body: { target_url: `${base}/control`, event: 'walnut.*' } });
      await call(relay.url, 'POST', `/v1/inbound/walnut/${control.tokens.walnut}`, { body: session('control') });
      await until('control delivered', () => received.includes('/control'));
      for (let i = 0; i < 100; i++) {
        const p = `/acct-${i}`;
        const a = await relay.store.accounts.create(`race-${i}`);
        await call(relay.url, 'POST', '/v1/hooks', { key: a.apiKey, body: { target_url: `${base}${p}`, event: 'walnut.*' } });
        const [, off] = await Promise.all([
          call(relay.url, 'POST', `/v1/inbound/walnut/${a.tokens.walnut}`, { body: session(`dis-${i}`) }),
          call(relay.url, 'POST', '/v1/me/disable', { key: a.apiKey }).then((r) => (disabled.add(p), r)),
        ]);
        expect(off.status).toBe(204);
      }
      // A delivery being retried when its account is disabled pauses: kept pending, never sent.
      const r = await relay.store.accounts.create('retrying');
      await call(relay.url, 'POST', '/v1/hooks', { key: r.apiKey, body: { target_url: `${base}/retry`, event: 'walnut.*' } });
      const ev = (await call(relay.url, 'POST', `/v1/inbound/walnut/${r.tokens.walnut}`, { body: session('retrying') })).json.id;
      await until('first attempt failed', async () => ((await deliveriesOf(relay, ev))[0]?.attempts ?? 0) >= 1);
      expect((await call(relay.url, 'POST', '/v1/me/disable', { key: r.apiKey })).status).toBe(204);
      disabled.add('/retry');
      await sleep(800); // four retry periods: a retry still scheduled would have gone by now
      expect(late).toStrictEqual([]);
      expect((await deliveriesOf(relay, ev))[0].status).toBe('pending');
    } finally {
      await relay.close();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('the target rule is checked again at every delivery', () => {
  it('a loopback target accepted under RELAY_ALLOW_PRIVATE_TARGETS=1 is refused after a restart with the defaults', async () => {
    const dbUrl = STORES[0][1]();
    const sink = await startSink();
    let relay = await startTestRelay(dbUrl);
    const acct = await relay.store.accounts.create('ssrf');
    const hook = (await call(relay.url, 'POST', '/v1/hooks', { key: acct.apiKey, body: { target_url: `${sink.url}/internal`, event: 'walnut.*' } })).json;
    const first = (await call(relay.url, 'POST', `/v1/inbound/walnut/${acct.tokens.walnut}`, { body: session('ssrf-1') })).json.id;
    await until('delivered while allowed', async () => (await deliveriesOf(relay, first))[0]?.status === 'delivered');
    expect(sink.received).toHaveLength(1);
    await relay.close();
    // The same database, the production defaults: https only, hooks.zapier.com only, no loopback.
    relay = await startTestRelay(dbUrl, { allowPrivateTargets: false, targetHosts: ['hooks.zapier.com'] });
    try {
      const second = (await call(relay.url, 'POST', `/v1/inbound/walnut/${acct.tokens.walnut}`, { body: session('ssrf-2') })).json.id;
      await until('refused', async () => (await deliveriesOf(relay, second))[0]?.status === 'failed');
      const [d] = await deliveriesOf(relay, second);
      expect(d.hook_id).toBe(hook.id);
      expect(d.last_error).toContain("target refused by this relay's configuration");
      expect(sink.received).toHaveLength(1);
    } finally {
      await relay.close();
      await sink.close();
    }
  });
});

describe('connections, time limits and bodies', () => {
  let relay: Relay;
  let inbound: string;
  beforeAll(async () => {
    relay = await startTestRelay(STORES[0][1](), { maxConnections: 16, headersTimeoutMs: 1000, requestTimeoutMs: 3000, maxBufferedBytes: 1_500_000 });
    inbound = `/v1/inbound/walnut/${(await relay.store.accounts.create('limits')).tokens.walnut}`;
  });
  afterAll(() => relay.close());

  it('caps open connections: at RELAY_MAX_CONNECTIONS the longest idle one makes room; with every one busy, a new one is closed', async () => {
    expect((await call(relay.url, 'GET', '/healthz')).status).toBe(200);
    const idle = Array.from({ length: 16 }, () => rawSocket(relay.url));
    await Promise.all(idle.map((s) => s.connected));
    await sleep(50);
    const admitted = rawSocket(relay.url);
    admitted.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await until('the new client is answered', () => admitted.read().startsWith('HTTP/1.1 200'));
    const gone = idle.map(() => false);
    idle.forEach((s, i) => void s.closed.then(() => (gone[i] = true)));
    await until('an idle connection made room', () => gone.some(Boolean));
    expect(gone.filter(Boolean)).toHaveLength(1); // one, the rest are open
    for (const s of [...idle, admitted]) s.socket.destroy();
    await Promise.all([...idle, admitted].map((s) => s.closed));
    // Every connection in the middle of a request (headers read, body stalled): nothing to close.
    const busy = Array.from({ length: 16 }, () => rawSocket(relay.url));
    await Promise.all(busy.map((s) => s.connected));
    for (const s of busy) s.socket.write(`POST ${inbound} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`);
    await until('16 requests in progress', () => connectionCapOf(relay.server)!.busy === 16);
    const extra = rawSocket(relay.url);
    extra.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await within(extra.closed, 2000)).toBe(true);
    expect(extra.read()).toBe('');
    for (const s of busy) s.socket.destroy();
    await Promise.all(busy.map((s) => s.closed));
    await until('answers again', async () => (await call(relay.url, 'GET', '/healthz').catch(() => ({ status: 0 }))).status === 200);
  });

  it('cuts off a client that sends its headers slowly, and one that sends nothing', async () => {
    const ok = rawSocket(relay.url);
    ok.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await until('a prompt client is answered', () => ok.read().startsWith('HTTP/1.1 200'));
    ok.socket.destroy();
    const slow = rawSocket(relay.url);
    slow.socket.write(`POST ${inbound} HTTP/1.1\r\nHost: x\r\n`);
    const silent = rawSocket(relay.url);
    // RELAY_HEADERS_TIMEOUT_MS is 1 s here; Node's own default would hold them for a minute or more.
    expect(await within(slow.closed, 10_000)).toBe(true);
    expect(await within(silent.closed, 10_000)).toBe(true);
  });

  it('closes the connection after a 413 instead of reading the rest of the body (declared and chunked)', async () => {
    const fine = rawSocket(relay.url);
    const body = session('small');
    fine.socket.write(`POST ${inbound} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await until('a small body is stored', () => fine.read().startsWith('HTTP/1.1 200'));
    expect(await within(fine.closed, 300)).toBe(false); // kept alive for the next request
    fine.socket.destroy();

    const declared = rawSocket(relay.url);
    declared.socket.write(`POST ${inbound} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n`);
    const sentDeclared = await streamUntilClosed(declared, 64 * 1024 * 1024);
    expect(declared.read()).toMatch(/^HTTP\/1\.1 413/);
    expect(sentDeclared).toBeLessThan(8 * 1024 * 1024);

    const chunked = rawSocket(relay.url);
    chunked.socket.write(`POST ${inbound} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const sentChunked = await streamUntilClosed(chunked, 64 * 1024 * 1024, true);
    expect(chunked.read()).toMatch(/^HTTP\/1\.1 413/);
    expect(sentChunked).toBeLessThan(8 * 1024 * 1024);
  });

  it('closes the connection after a 404 on an unknown inbound URL, whatever the client keeps sending', async () => {
    const s = rawSocket(relay.url);
    s.socket.write(`POST /v1/inbound/walnut/not-a-token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${1024 * 1024}\r\n\r\n`);
    const sent = await streamUntilClosed(s, 64 * 1024 * 1024);
    expect(s.read()).toMatch(/^HTTP\/1\.1 404/);
    expect(s.read()).toContain('unknown inbound URL');
    expect(sent).toBeLessThan(1024 * 1024);
  });

  it('holds at most RELAY_MAX_BUFFERED_MB of bodies at once: past it 503 + Retry-After, and room again once a body is done', async () => {
    // 1 MiB declared and stalled: it holds its bytes against the 1.5 MB budget.
    const staller = rawSocket(relay.url);
    staller.socket.write(`POST ${inbound} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${1024 * 1024}\r\n\r\n{`);
    await sleep(100);
    const body = session('big', { pad: 'x'.repeat(600_000) });
    const refused = await call(relay.url, 'POST', inbound, { body });
    expect(refused.status).toBe(503);
    expect(refused.json.error).toContain('too many request bodies');
    staller.socket.destroy();
    await staller.closed;
    await until('room again', async () => (await call(relay.url, 'POST', inbound, { body })).status === 200);
  });
});

describe('rate limits and per-account limits', () => {
  let relay: Relay;
  let acct: Awaited<ReturnType<Relay['store']['accounts']['create']>>;
  beforeAll(async () => {
    relay = await startTestRelay(STORES[0][1](), { apiRatePerMinute: 5, inboundRatePerMinute: 3, replaysPerMinute: 2, maxHooksPerAccount: 2 });
    acct = await relay.store.accounts.create('limited');
  });
  afterAll(() => relay.close());

  it('answers 429 with Retry-After past the per-URL inbound rate, and only for that URL', async () => {
    const url = `/v1/inbound/walnut/${acct.tokens.walnut}`;
    for (let i = 0; i < 3; i++) expect((await call(relay.url, 'POST', url, { body: session(`rate-${i}`) })).status).toBe(200);
    const res = await fetch(`${relay.url}${url}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: session('rate-4') });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await res.json()) as { error: string }).error).toContain("rate limit exceeded");
    const other = await call(relay.url, 'POST', `/v1/inbound/supademo/${acct.tokens.supademo}`, { body: JSON.stringify({ event: 'webhook.test' }) });
    expect(other.status).toBe(200);
  });

  it('limits subscriptions and replays per account, and API calls per key', async () => {
    const other = await relay.store.accounts.create('other');
    const sub = (key: string) => call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: 'http://127.0.0.1:9/x', event: 'walnut.*' } });
    expect((await sub(acct.apiKey)).status).toBe(201);
    expect((await sub(acct.apiKey)).status).toBe(201);
    const third = await sub(acct.apiKey);
    expect([third.status, third.json.error]).toStrictEqual([422, expect.stringContaining('RELAY_MAX_HOOKS_PER_ACCOUNT')]);
    expect((await sub(other.apiKey)).status).toBe(201); // another account is not affected
    const ev = (await call(relay.url, 'GET', '/v1/events?limit=1', { key: other.apiKey })).json;
    expect(ev).toStrictEqual([]);
    const own = (await relay.store.events.ingest([{ accountId: other.account.id, provider: 'walnut', event: 'walnut.demo_session_finished', identity: 'r', headers: {}, body: session('replayed') }]))[0].id;
    expect((await call(relay.url, 'POST', `/v1/events/${own}/replay`, { key: other.apiKey })).status).toBe(202);
    expect((await call(relay.url, 'POST', `/v1/events/${own}/replay`, { key: other.apiKey })).status).toBe(202);
    const thirdReplay = await call(relay.url, 'POST', `/v1/events/${own}/replay`, { key: other.apiKey });
    expect([thirdReplay.status, thirdReplay.json.error]).toStrictEqual([429, expect.stringContaining('replays a minute per account')]);
    // That key's 6th call in the minute (subscribe, list, three replays, this) is refused.
    const limited = await fetch(`${relay.url}/v1/me`, { headers: { Authorization: `Bearer ${other.apiKey}` } });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await call(relay.url, 'GET', '/v1/me', { key: acct.apiKey })).status).toBe(200); // per key
  });
});

describe('overload', () => {
  it('answers 503 + Retry-After while the event loop lags, then serves again', async () => {
    const relay = await startTestRelay(STORES[0][1](), { maxEventLoopDelayMs: 50 });
    try {
      // Positive control: it serves (its own start-up may have held the loop past the mark a moment ago).
      await until('serves', async () => (await call(relay.url, 'GET', '/healthz')).status === 200);
      let seen = null as Response | null;
      for (let i = 0; i < 40 && !seen; i++) {
        const end = Date.now() + 150;
        while (Date.now() < end); // a blocked event loop, as a runaway handler would cause
        const res = await fetch(`${relay.url}/healthz`);
        if (res.status === 503) seen = res;
        else await res.arrayBuffer();
      }
      expect(seen?.status).toBe(503);
      expect(Number(seen!.headers.get('retry-after'))).toBeGreaterThan(0);
      await until('serves again', async () => (await call(relay.url, 'GET', '/healthz')).status === 200);
    } finally {
      await relay.close();
    }
  });

  it('answers 503 + Retry-After while the heap in use is past its mark (RELAY_MAX_HEAP_MB)', async () => {
    // Positive control: a mark far above the heap in use, read (once a second) and passed.
    const roomy = await startTestRelay(STORES[0][1](), { maxHeapBytes: 1024 ** 4 });
    try {
      await sleep(1300);
      expect((await call(roomy.url, 'GET', '/healthz')).status).toBe(200);
    } finally {
      await roomy.close();
    }
    const full = await startTestRelay(STORES[0][1](), { maxHeapBytes: 1 });
    try {
      let seen = null as { status: number; json: any } | null;
      await until('the heap read and found past its mark', async () => {
        const r = await call(full.url, 'GET', '/healthz');
        if (r.status === 503) seen = r;
        return seen !== null;
      });
      expect(seen!.json).toStrictEqual({ error: 'the relay is overloaded; retry later' });
    } finally {
      await full.close();
    }
  });
});

/** Two accounts on one relay: x with `n` subscriptions to `xTarget`, y with one to `yTarget`; x's first event is posted. */
async function twoTenants(relay: Relay, xTarget: string, n: number, yTarget: string) {
  const x = await relay.store.accounts.create('x');
  const y = await relay.store.accounts.create('y');
  for (let i = 0; i < n; i++) await call(relay.url, 'POST', '/v1/hooks', { key: x.apiKey, body: { target_url: `${xTarget}/x${i}`, event: 'walnut.*' } });
  await call(relay.url, 'POST', '/v1/hooks', { key: y.apiKey, body: { target_url: `${yTarget}/y`, event: 'walnut.*' } });
  const xe = (await call(relay.url, 'POST', `/v1/inbound/walnut/${x.tokens.walnut}`, { body: session('x-first') })).json.id as string;
  const postY = async () => (await call(relay.url, 'POST', `/v1/inbound/walnut/${y.tokens.walnut}`, { body: session('y-first') })).json.id as string;
  return { x, xe, postY };
}

describe('tenant fairness', () => {
  it('picks round-robin across accounts, then across an account\'s subscriptions, within each account\'s share', () => {
    // Candidates as the store lists them: each account's oldest due work, oldest first.
    const c = (id: string, account_id: string, hook_id: string) => ({ id, account_id, hook_id });
    const candidates = [c('x1', 'X', 'h1'), c('x2', 'X', 'h1'), c('x3', 'X', 'h1'), c('x4', 'X', 'h2'), c('x5', 'X', 'h2'), c('y1', 'Y', 'g1'), c('z1', 'Z', 'k1')];
    expect(roundRobin(candidates, 10, () => 10)).toStrictEqual(['x1', 'y1', 'z1', 'x4', 'x2', 'x5', 'x3']);
    expect(roundRobin(candidates, 3, () => 10)).toStrictEqual(['x1', 'y1', 'z1']);
    // X already holds all but one of its slots: one more for X, Y and Z as before.
    expect(roundRobin(candidates, 10, (a) => (a === 'X' ? 1 : 10))).toStrictEqual(['x1', 'y1', 'z1']);
    expect(roundRobin(candidates, 10, (a) => (a === 'X' ? 0 : 10))).toStrictEqual(['y1', 'z1']);
  });

  it("a claim with few free slots still gives an account under its share what it may take", async () => {
    const relay = await startRelay(testConfig(STORES[0][1]()), silentLogger, { deliver: false });
    try {
      const a = await relay.store.accounts.create('share');
      await relay.store.hooks.create(a.account.id, 'walnut.*', 'http://127.0.0.1:9/share');
      for (let i = 0; i < 5; i++) await relay.store.events.ingest([{ accountId: a.account.id, provider: 'walnut', event: 'walnut.demo_session_finished', identity: `share-${i}`, headers: {}, body: session(`share-${i}`) }]);
      await settle(relay.store); // the fan-out follows the ack
      // 2 slots free; the account holds 5 of its share of 14: it gets both.
      expect(await claim(relay.store, 'w_share', 2, 30_000, { perAccount: 14, inflight: new Map([[a.account.id, 5]]) })).toHaveLength(2);
      // At its share it gets none, whatever is free.
      expect(await claim(relay.store, 'w_share', 2, 30_000, { perAccount: 14, inflight: new Map([[a.account.id, 14]]) })).toHaveLength(0);
    } finally {
      await relay.close();
    }
  });

  it("one account's dead target and its backlog do not hold up another account's delivery", async () => {
    const hung: http.ServerResponse[] = [];
    const dead = http.createServer((req, res) => {
      req.resume();
      hung.push(res); // never answers
    });
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
    const ok = await startSink();
    const relay = await startTestRelay(STORES[0][1](), { deliveryConcurrency: 8, accountConcurrency: 6, deliveryTimeoutMs: 60_000, leaseMs: 61_000 });
    try {
      const { xe, postY } = await twoTenants(relay, deadUrl, 10, ok.url);
      await until("x's attempts fill its share", () => hung.length === 6);
      const ye = await postY();
      await until("y's event delivered", async () => (await deliveriesOf(relay, ye))[0]?.status === 'delivered');
      // y got through while every one of x's attempts was still hanging: none has an outcome yet,
      // and x never held more than its share of the slots.
      const xs = await deliveriesOf(relay, xe);
      expect(xs).toHaveLength(10);
      expect(xs.every((d) => d.status === 'pending' && d.attempts === 0)).toBe(true);
      expect(hung).toHaveLength(6);
    } finally {
      for (const r of hung) r.socket?.destroy();
      await relay.close();
      await ok.close();
      await new Promise((r) => dead.close(r));
    }
  });

  it("a bulk replay by one account does not queue another account's event behind it", async () => {
    const slow = http.createServer((req, res) => {
      req.resume();
      setTimeout(() => res.writeHead(200).end('{}'), 150);
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    const ok = await startSink();
    const relay = await startTestRelay(STORES[0][1](), { deliveryConcurrency: 4, accountConcurrency: 3, replaysPerMinute: 1000 });
    try {
      const { x, xe, postY } = await twoTenants(relay, slowUrl, 5, ok.url);
      for (let i = 0; i < 20; i++) expect((await call(relay.url, 'POST', `/v1/events/${xe}/replay`, { key: x.apiKey })).status).toBe(202);
      const ye = await postY();
      await until("y's event delivered", async () => (await deliveriesOf(relay, ye))[0]?.status === 'delivered');
      const xPending = (await deliveriesOf(relay, xe)).filter((d) => d.status === 'pending').length;
      expect(xPending).toBeGreaterThan(50); // most of x's 105 deliveries were still queued when y's went out
    } finally {
      await relay.close();
      await ok.close();
      await new Promise((r) => slow.close(r));
    }
  });
});

describe.each(STORES)('NUL bytes and concurrent rotations on %s', (_name, dbUrl) => {
  let relay: Relay;
  let acct: Awaited<ReturnType<Relay['store']['accounts']['create']>>;
  beforeAll(async () => {
    relay = await startTestRelay(dbUrl());
    acct = await relay.store.accounts.create('nul');
  });
  afterAll(() => relay.close());

  it('answers a NUL in a path, a query or a body the same on every store, never 503', async () => {
    const inbound = `/v1/inbound/walnut/${acct.tokens.walnut}`;
    const key = acct.apiKey;
    const withNul = JSON.stringify({ ...demoSessionSample, data: { ...demoSessionSample.data, session_id: 'a\u0000b' } });
    const stored = await call(relay.url, 'POST', inbound, { body: withNul });
    expect(stored.status).toBe(200);
    expect((await call(relay.url, 'POST', inbound, { body: withNul })).json).toStrictEqual({ id: stored.json.id, duplicate: true });
    const answers = await Promise.all([
      call(relay.url, 'POST', `/v1/inbound/walnut/${acct.tokens.walnut}%00`, { body: session('n1') }),
      call(relay.url, 'POST', inbound, { body: JSON.stringify({ event: 'demo_session_finished\u0000', data: {} }) }),
      call(relay.url, 'GET', '/v1/events?q=%00', { key }),
      call(relay.url, 'GET', '/v1/events?before=evt_%00', { key }),
      call(relay.url, 'GET', '/v1/deliveries?hook_id=%00', { key }),
      call(relay.url, 'GET', '/v1/events/evt_%00', { key }),
      call(relay.url, 'DELETE', '/v1/hooks/hook_%00', { key }),
      call(relay.url, 'GET', '/v1/activity?domain=acme.com%00', { key }),
      call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: 'http://127.0.0.1:9/a', event: 'walnut.*\u0000' } }),
    ]);
    expect(answers.map((a) => a.status)).toStrictEqual([404, 400, 400, 400, 400, 404, 404, 400, 400]);
    expect(answers[2].json.error).toBe('q must not contain a NUL character');
    expect(answers[1].json.error).toContain('control characters');
  });

  it('takes concurrent inbound-URL rotations one at a time: every call succeeds and every URL handed out works', async () => {
    const rotations = await Promise.all(Array.from({ length: 5 }, () => call(relay.url, 'POST', '/v1/me/rotate-inbound', { key: acct.apiKey, body: { provider: 'pendo', overlap_hours: 1 } })));
    expect(rotations.map((r) => r.status)).toStrictEqual([200, 200, 200, 200, 200]);
    const urls = new Set(rotations.map((r) => r.json.inbound.pendo as string));
    expect(urls.size).toBe(5);
    const current = (await call(relay.url, 'GET', '/v1/me', { key: acct.apiKey })).json.inbound.pendo;
    expect(urls.has(current)).toBe(true);
    for (const u of [...urls, `${relay.url}/v1/inbound/pendo/${acct.tokens.pendo}`]) {
      const r = await call(relay.url, 'POST', new URL(u).pathname, { body: JSON.stringify({ event: 'guideDisplayed', uniqueId: `u-${u.slice(-8)}` }) });
      expect([u, r.status]).toStrictEqual([u, 200]);
    }
  });
});

describe('secrets stay out of the logs and the terminal', () => {
  it('never logs an inbound token, at debug level, whatever the path spelling', async () => {
    const lines: string[] = [];
    const relay = await startTestRelay(STORES[0][1](), {}, (level, msg, fields) => lines.push(JSON.stringify({ level, msg, ...fields })));
    try {
      const acct = await relay.store.accounts.create('logs');
      const token = acct.tokens.walnut;
      const spellings = [`/v1/inbound/walnut/${token}`, `/v1/./inbound/walnut/${token}`, `/v1//inbound/walnut/${token}`, `/v1/%69nbound/walnut/${token}`, `/v1/inbound/walnut/${token}?x=${token}`, `/v1/inbound/walnut/${token}/extra`];
      const statuses = [];
      for (const p of spellings) {
        const res = await fetch(`${relay.url}${p}`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${acct.apiKey}` }, body: session(`log-${p.length}`) });
        statuses.push(res.status);
        await res.arrayBuffer();
      }
      expect(statuses[0]).toBe(200);
      await until('every request logged', () => lines.filter((l) => l.includes('"msg":"request"')).length >= spellings.length);
      const all = lines.join('\n');
      expect(all).toContain('inbound/[redacted]'); // the requests were logged…
      expect(all).not.toContain(token); // …without the token
      expect(all).not.toContain(acct.apiKey);
    } finally {
      await relay.close();
    }
  });

  it("escapes a payload's terminal control sequences in the CLI's output", async () => {
    const dbUrl = STORES[0][1]();
    const relay = await startTestRelay(dbUrl);
    try {
      const acct = await relay.store.accounts.create('term\u001b[2J\u009b31m');
      await relay.store.events.ingest([{ accountId: acct.account.id, provider: 'walnut', event: 'walnut.\u001b]0;pwned\u0007\u009b2J', identity: 'esc', headers: {}, body: '{}' }]);
      const run = (...args: string[]) => execFileSync(process.execPath, [RELAY_BIN, ...args], { env: { ...process.env, RELAY_DATABASE_URL: dbUrl }, encoding: 'utf8' });
      const text = run('events', 'list', '--account', acct.account.id);
      expect(text).toContain('walnut.\\u001b]0;pwned\\u0007\\u009b2J'); // shown, escaped
      const json = run('events', 'list', '--account', acct.account.id, '--json');
      expect(JSON.parse(json)[0].event).toBe('walnut.\u001b]0;pwned\u0007\u009b2J'); // the same JSON
      for (const out of [text, json, run('account', 'list')]) expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
      expect(terminalSafe('a\u202eb')).toBe('a\\u202eb');
    } finally {
      await relay.close();
    }
  });
});

describe('shutdown', () => {
  it('exits within RELAY_SHUTDOWN_TIMEOUT_MS on SIGTERM even with a slow client mid-body', async () => {
    const dbUrl = STORES[0][1]();
    const acct = JSON.parse(execFileSync(process.execPath, [RELAY_BIN, 'account', 'create', '--name', 'slow', '--json'], { env: { ...process.env, RELAY_DATABASE_URL: dbUrl }, encoding: 'utf8' }));
    const relay = await spawnRelay({ RELAY_DATABASE_URL: dbUrl, RELAY_SHUTDOWN_TIMEOUT_MS: '1000', RELAY_HEADERS_TIMEOUT_MS: '60000', RELAY_REQUEST_TIMEOUT_MS: '120000' });
    const s = rawSocket(relay.url);
    s.socket.write(`POST ${new URL(acct.inbound.walnut).pathname} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`);
    const drip = setInterval(() => s.socket.write(' '), 100); // 10 bytes a second: 100 s to finish
    try {
      await sleep(300);
      const exited = new Promise<number | null>((resolve) => relay.proc.once('exit', (code) => resolve(code)));
      relay.proc.kill('SIGTERM');
      // Bounded far below what the client would take (100 s) and the request limit (120 s).
      expect(await within(exited, 15_000)).toBe(true);
      expect(await (exited as Promise<number | null>)).toBe(0);
      expect(await within(s.closed, 1000)).toBe(true);
    } finally {
      clearInterval(drip);
      s.socket.destroy();
      if (relay.proc.exitCode === null) relay.proc.kill('SIGKILL');
    }
  });
});
