import { demoSessionSample } from '../../lib/providers/walnut.js';
import { leadCapturedSample } from '../../lib/providers/supademo.js';
import { signBody } from '../../lib/signature.js';
import { backoffMs, classify } from '../domain/retry.js';
import { checkTarget, isPrivateAddress } from '../delivery/targets.js';
import { call, freshSqliteUrl, reportPgSkip, startSink, startTestRelay, STORES, sleep, until } from './harness.js';
import { deliveriesOf } from './fixtures.js';

reportPgSkip();

describe.each(STORES)('relay on %s', (_name, dbUrl) => {
  let relay: Awaited<ReturnType<typeof startTestRelay>>;
  let key: string;
  let inbound: Record<string, string>;
  let sink: Awaited<ReturnType<typeof startSink>>;
  let statuses: number[];
  /** How the sink answers: by default the n-th request gets statuses[n - 1], else 200. */
  let respond: (r: { path: string; body: string }, n: number) => number;

  beforeEach(async () => {
    relay = await startTestRelay(dbUrl());
    const created = await relay.store.accounts.create('test account');
    key = created.apiKey;
    inbound = (await call(relay.url, 'GET', '/v1/me', { key })).json.inbound;
    statuses = [];
    respond = (_r, n) => statuses[n - 1] ?? 200;
    sink = await startSink((r, n) => respond(r, n));
  });

  afterEach(async () => {
    await relay.close();
    await sink.close();
  });

  const subscribe = (event: string, path = '/hook') =>
    call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${sink.url}${path}`, event } });

  const postWalnut = (payload: unknown, extraHeaders: Record<string, string> = {}) => {
    const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
    return call('', 'POST', inbound.walnut, { body, headers: { 'X-Walnut-Signature': signBody(body, 'k'), ...extraHeaders } });
  };

  it('tells the account its inbound URLs', async () => {
    const me = await call(relay.url, 'GET', '/v1/me', { key });
    expect(me.status).toBe(200);
    expect(me.json.name).toBe('test account');
    expect(Object.keys(me.json.inbound)).toStrictEqual(['walnut', 'supademo', 'pendo']);
    expect(me.json.inbound.walnut).toMatch(new RegExp(`^${relay.url}/v1/inbound/walnut/[A-Za-z0-9_-]{32}$`));
  });

  it('delivers the exact bytes and the signature header under its original name', async () => {
    const hook = await subscribe('walnut.demo_session_finished');
    expect(hook.status).toBe(201);
    expect(hook.json).toMatchObject({ event: 'walnut.demo_session_finished', target_url: `${sink.url}/hook` });
    // Odd spacing and key order: the bytes must survive untouched, or the signature breaks.
    const body = `{ "event":"demo_session_finished",  "data": {"session_id":"s-1", "z":1, "a":2} }`;
    const ack = await postWalnut(body);
    expect(ack.status).toBe(200);
    expect(ack.json).toStrictEqual({ id: expect.stringMatching(/^evt_/), duplicate: false });
    await sink.until(() => sink.received.length === 1);
    const got = sink.received[0];
    expect(got.body).toBe(body);
    expect(got.headers['x-walnut-signature']).toBe(signBody(body, 'k'));
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['x-relay-event-id']).toBe(ack.json.id);
    expect(got.headers['x-relay-attempt']).toBe('1');
  });

  it('acks a vendor retry (the same bytes) as a duplicate and delivers it once', async () => {
    await subscribe('walnut.*');
    const first = await postWalnut(demoSessionSample);
    expect(first.json).toStrictEqual({ id: expect.stringMatching(/^evt_/), duplicate: false });
    const retry = await postWalnut(demoSessionSample);
    expect(retry.status).toBe(200);
    expect(retry.json).toStrictEqual({ id: first.json.id, duplicate: true });
    await sink.until(() => sink.received.length >= 1);
    await sleep(300);
    expect(sink.received).toHaveLength(1);
  });

  it('stores and delivers a retry whose bytes differ (the trigger drops the repeat by record id)', async () => {
    await subscribe('walnut.*');
    const first = await postWalnut(demoSessionSample);
    // Same event and session_id, another timestamp: the relay cannot tell a re-sent event from
    // a forged twin, so it keeps both; perform's exactly-once memory drops the repeat.
    const second = await postWalnut({ ...demoSessionSample, timestamp: '2023-11-01T19:20:00Z' });
    expect(second.json).toStrictEqual({ id: expect.stringMatching(/^evt_/), duplicate: false });
    expect(second.json.id).not.toBe(first.json.id);
    await sink.until(() => sink.received.length === 2);
  });

  it('fans one event out to every matching subscription: exact and provider-wide', async () => {
    await subscribe('walnut.demo_session_finished', '/a');
    await subscribe('walnut.*', '/b');
    await subscribe('walnut.playlist_session_finished', '/c');
    await subscribe('supademo.*', '/d');
    await postWalnut(demoSessionSample);
    await sink.until(() => sink.received.length === 2);
    await sleep(200);
    expect(sink.received.map((r) => r.path).sort()).toStrictEqual(['/a', '/b']);
  });

  it('delivers a Supademo test event to every Supademo subscription', async () => {
    await subscribe('supademo.lead.captured', '/lead');
    await subscribe('walnut.*', '/walnut');
    const r = await call('', 'POST', inbound.supademo, { body: { event: 'webhook.test' } });
    expect(r.status).toBe(200);
    await sink.until(() => sink.received.length === 1);
    await sleep(150);
    expect(sink.received.map((x) => x.path)).toStrictEqual(['/lead']);
  });

  it('retries a failing target with backoff, then succeeds, with the same event id', async () => {
    statuses = [500, 503, 200];
    await subscribe('walnut.*');
    const ack = await postWalnut(demoSessionSample);
    await sink.until(() => sink.received.length === 3);
    expect(sink.received.map((r) => r.headers['x-relay-attempt'])).toStrictEqual(['1', '2', '3']);
    expect(new Set(sink.received.map((r) => r.headers['x-relay-event-id']))).toStrictEqual(new Set([ack.json.id]));
    await sleep(100);
    const [d] = await deliveriesOf(relay, ack.json.id);
    expect(d).toMatchObject({ status: 'delivered', attempts: 3, last_status: 200 });
  });

  it('retries 408 and 429 too', async () => {
    statuses = [408, 429, 200];
    await subscribe('walnut.*');
    await postWalnut(demoSessionSample);
    await sink.until(() => sink.received.length === 3);
  });

  it('removes the subscription when the target answers 410 Gone', async () => {
    respond = (r) => (r.path === '/hook' ? 410 : 200);
    const hook = await subscribe('walnut.*');
    const control = await subscribe('walnut.*', '/control');
    const first = await postWalnut(demoSessionSample);
    await sink.until(() => sink.received.length === 2);
    await sleep(150);
    const second = { ...demoSessionSample, data: { ...demoSessionSample.data, session_id: 'another' } };
    const ack = await postWalnut(second);
    // Positive control: the second event was stored and reached the subscription still there.
    expect(ack.json).toStrictEqual({ id: expect.stringMatching(/^evt_/), duplicate: false });
    await sink.until(() => sink.received.filter((r) => r.headers['x-relay-event-id'] === ack.json.id).length === 1);
    await sleep(300);
    expect(sink.received.map((r) => [r.path, r.headers['x-relay-event-id']]).sort()).toStrictEqual(
      [['/hook', first.json.id], ['/control', first.json.id], ['/control', ack.json.id]].sort(),
    );
    // The whole answer, so that a wrong status says why.
    expect(await call(relay.url, 'DELETE', `/v1/hooks/${hook.json.id}`, { key })).toStrictEqual({ status: 404, json: { error: 'no such subscription' } });
    expect(await call(relay.url, 'DELETE', `/v1/hooks/${control.json.id}`, { key })).toStrictEqual({ status: 204, json: null });
  });

  it('cancels the queued retries of a subscription that answered 410 Gone', async () => {
    // One event keeps failing (500) and waits for its retries; then another event gets 410.
    respond = (r) => (r.body.includes('"gone"') ? 410 : 500);
    await subscribe('walnut.*');
    const failing = await postWalnut(demoSessionSample);
    await sink.until(() => sink.received.length >= 2); // it failed and was retried
    const gone = await postWalnut({ ...demoSessionSample, data: { ...demoSessionSample.data, session_id: 'gone' } });
    await sink.until(() => sink.received.some((r) => r.headers['x-relay-event-id'] === gone.json.id));
    await sleep(100);
    const attemptsAtGone = sink.received.filter((r) => r.headers['x-relay-event-id'] === failing.json.id).length;
    await sleep(800); // several retry periods (50 ms doubling to 400 ms)
    expect((await deliveriesOf(relay, gone.json.id))[0]).toMatchObject({ status: 'cancelled', last_status: 410 });
    expect((await deliveriesOf(relay, failing.json.id))[0].status).toBe('cancelled');
    expect(sink.received.filter((r) => r.headers['x-relay-event-id'] === failing.json.id)).toHaveLength(attemptsAtGone);
  });

  it('keeps a delivery refused with another 4xx as failed, for inspection, without retrying', async () => {
    statuses = [400];
    await subscribe('walnut.*');
    const ack = await postWalnut(demoSessionSample);
    await sink.until(() => sink.received.length === 1);
    await sleep(300);
    expect(sink.received).toHaveLength(1);
    const [d] = await deliveriesOf(relay, ack.json.id);
    expect(d.status).toBe('failed');
    expect(d.last_status).toBe(400);
  });

  it('stops delivering to a subscription once it is deleted', async () => {
    const hook = await subscribe('walnut.*', '/deleted');
    await subscribe('walnut.*', '/kept');
    expect((await call(relay.url, 'DELETE', `/v1/hooks/${hook.json.id}`, { key })).status).toBe(204);
    const ack = await postWalnut(demoSessionSample);
    // Positive control: the event was stored and delivered to the subscription that remains.
    expect(ack.json).toStrictEqual({ id: expect.stringMatching(/^evt_/), duplicate: false });
    await sink.until(() => sink.received.length === 1);
    await sleep(300);
    expect(sink.received.map((r) => r.path)).toStrictEqual(['/kept']);
  });

  it('cancels the queued retries of a subscription when it is deleted', async () => {
    statuses = [500];
    const hook = await subscribe('walnut.*');
    const ack = await postWalnut(demoSessionSample);
    // Positive control: it was tried, failed and is queued for a retry.
    await until('first attempt recorded', async () => (await deliveriesOf(relay, ack.json.id))[0].attempts >= 1);
    expect((await deliveriesOf(relay, ack.json.id))[0]).toMatchObject({ status: 'pending', last_status: 500 });
    expect((await call(relay.url, 'DELETE', `/v1/hooks/${hook.json.id}`, { key })).status).toBe(204);
    await sleep(50); // an attempt already in flight may land
    const atDelete = sink.received.length;
    await sleep(800); // past several retry periods
    expect(sink.received).toHaveLength(atDelete);
    expect((await deliveriesOf(relay, ack.json.id))[0]).toMatchObject({ status: 'cancelled', last_error: 'subscription deleted' });
  });

  it('lists the newest events first with their raw body and signature header', async () => {
    for (let i = 0; i < 4; i++) {
      await postWalnut({ ...demoSessionSample, data: { ...demoSessionSample.data, session_id: `s${i}` } });
      await sleep(5);
    }
    await call('', 'POST', inbound.supademo, { body: leadCapturedSample });
    const list = await call(relay.url, 'GET', '/v1/events?event=walnut.demo_session_finished&limit=3', { key });
    expect(list.status).toBe(200);
    expect(list.json.map((e: any) => JSON.parse(e.body).data.session_id)).toStrictEqual(['s3', 's2', 's1']);
    expect(Object.keys(list.json[0].headers)).toStrictEqual(['X-Walnut-Signature']);
    expect((await call(relay.url, 'GET', '/v1/events?event=walnut.*', { key })).json).toHaveLength(3);
    expect((await call(relay.url, 'GET', '/v1/events?event=supademo.*', { key })).json).toHaveLength(1);
    expect((await call(relay.url, 'GET', '/v1/events?event=walnut.*&limit=101', { key })).status).toBe(400);
  });

  it("keeps accounts apart: another account's key sees and deletes nothing", async () => {
    const other = await relay.store.accounts.create('other');
    const hook = await subscribe('walnut.*');
    const ack = await postWalnut(demoSessionSample);
    // Positive control: the owner sees the event.
    expect((await call(relay.url, 'GET', '/v1/events?event=walnut.*', { key })).json.map((e: any) => e.id)).toStrictEqual([ack.json.id]);
    expect((await call(relay.url, 'GET', '/v1/events?event=walnut.*', { key: other.apiKey })).json).toStrictEqual([]);
    expect((await call(relay.url, 'DELETE', `/v1/hooks/${hook.json.id}`, { key: other.apiKey })).status).toBe(404);
    expect((await call(relay.url, 'DELETE', `/v1/hooks/${hook.json.id}`, { key })).status).toBe(204);
  });

  it('refuses bad requests with the contract codes', async () => {
    const body = JSON.stringify(demoSessionSample);
    expect((await call(relay.url, 'POST', '/v1/inbound/walnut/not-a-token', { body })).status).toBe(404);
    expect((await call('', 'POST', inbound.walnut.replace('/walnut/', '/hubspot/'), { body })).status).toBe(404);
    expect((await call('', 'POST', inbound.walnut.replace('/walnut/', '/pendo/'), { body })).status).toBe(404);
    const huge = JSON.stringify({ event: 'x', pad: 'a'.repeat(1024 * 1024) });
    expect((await call('', 'POST', inbound.walnut, { body: huge })).status).toBe(413);
    expect((await call('', 'POST', inbound.walnut, { body, type: 'text/plain' })).status).toBe(415);
    expect((await call('', 'POST', inbound.walnut, { body: '{"event": "demo_session_finished", "data": ' })).status).toBe(400);
    expect((await call('', 'POST', inbound.walnut, { body: '[1,2]' })).status).toBe(400);
    // A byte-order mark is kept, not silently dropped (the forwarded bytes must be the ones
    // signed), so the body is not JSON.
    expect((await call('', 'POST', inbound.walnut, { body: `\ufeff${body}` })).status).toBe(400);
    expect((await call(relay.url, 'GET', '/v1/me')).status).toBe(401);
    expect((await call(relay.url, 'GET', '/v1/me', { key: 'dh_wrong' })).status).toBe(401);
    expect((await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${sink.url}/x`, event: 'walnut.nope' } })).status).toBe(400);
    expect((await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: 'not a url', event: 'walnut.*' } })).status).toBe(400);
    expect((await call(relay.url, 'DELETE', '/v1/hooks/hook_missing', { key })).status).toBe(404);
    // A malformed %-escape names nothing: 404, never a 5xx that a vendor would retry.
    expect((await call(relay.url, 'POST', '/v1/inbound/walnut/%E0%A4%A', { body })).status).toBe(404);
    expect((await call(relay.url, 'DELETE', '/v1/hooks/%ZZ', { key })).status).toBe(404);
    expect((await call(relay.url, 'POST', '/v1/inbound/walnut/', { body })).status).toBe(404);
    expect((await call(relay.url, 'POST', '/v1/inbound/walnut/a/b', { body })).status).toBe(404);
  });

  it('acks only what is stored: a store failure answers 503 (the vendor retries), never 200', async () => {
    const ok = await postWalnut(demoSessionSample);
    expect(ok.json).toStrictEqual({ id: expect.stringMatching(/^evt_/), duplicate: false });
    const real = relay.store.events.ingest.bind(relay.store.events);
    relay.store.events.ingest = async () => {
      throw new Error('disk full');
    };
    try {
      const failed = await postWalnut({ ...demoSessionSample, data: { ...demoSessionSample.data, session_id: 'unstored' } });
      expect(failed).toStrictEqual({ status: 503, json: { error: 'temporarily unavailable; retry' } });
    } finally {
      relay.store.events.ingest = real;
    }
    const listed = await call(relay.url, 'GET', '/v1/events?event=walnut.*', { key });
    expect(listed.json.map((e: any) => e.id)).toStrictEqual([ok.json.id]);
  });

  it('answers health checks while the store answers', async () => {
    expect(await call(relay.url, 'GET', '/healthz')).toStrictEqual({ status: 200, json: { ok: true } });
  });

  it('purges events past the retention period, with their deliveries', async () => {
    await subscribe('walnut.*');
    const ack = await postWalnut(demoSessionSample);
    await sink.until(() => sink.received.length === 1);
    expect(await relay.store.retention.purge(Date.now() - 60_000)).toBe(0);
    expect(await relay.store.retention.purge(Date.now() + 1)).toBe(1);
    expect(await deliveriesOf(relay, ack.json.id)).toStrictEqual([]);
    expect((await call(relay.url, 'GET', '/v1/events?event=walnut.*', { key })).json).toStrictEqual([]);
  });
});

describe('target safety (SSRF)', () => {
  const strict = { targetHosts: ['hooks.zapier.com'], allowPrivateTargets: false };

  it('accepts Zapier hook URLs and refuses everything else by default', () => {
    expect(checkTarget('https://hooks.zapier.com:443/hooks/standard/1/abc/', strict).ok).toBe(true);
    expect(checkTarget('https://hooks.zapier.com/hooks/standard/1/abc/', strict).ok).toBe(true);
    const refused = (u: string) => {
      const r = checkTarget(u, strict);
      return r.ok ? 'accepted' : r.status;
    };
    expect(refused('http://hooks.zapier.com/x')).toBe(422);
    expect(refused('https://user:pass@hooks.zapier.com/x')).toBe(422);
    expect(refused('https://evil.example.com/x')).toBe(422);
    expect(refused('https://127.0.0.1/x')).toBe(422);
    expect(refused('ftp://hooks.zapier.com/x')).toBe(400);
    expect(refused('::not a url')).toBe(400);
    // Only the default port, unless the allowlist names one.
    expect(refused('https://hooks.zapier.com:6379/x')).toBe(422);
    expect(checkTarget('https://hooks.zapier.com:8443/x', { ...strict, targetHosts: ['hooks.zapier.com:8443'] }).ok).toBe(true);
    expect(checkTarget('https://hooks.zapier.com:8444/x', { ...strict, targetHosts: ['hooks.zapier.com:8443'] }).ok).toBe(false);
    expect(checkTarget('https://a.zapier.com:9/x', { ...strict, targetHosts: ['*.zapier.com:*'] }).ok).toBe(true);
  });

  it('refuses private, loopback and link-local addresses even when allowlisted', () => {
    const policy = { targetHosts: ['127.0.0.1', '169.254.169.254', '10.1.2.3', '[::1]', '::1', 'localhost'], allowPrivateTargets: false };
    for (const u of ['https://127.0.0.1/', 'https://169.254.169.254/latest/meta-data', 'https://10.1.2.3/', 'https://[::1]/', 'https://localhost/']) {
      expect([u, checkTarget(u, policy).ok]).toStrictEqual([u, false]);
    }
    expect(isPrivateAddress('::ffff:127.0.0.1')).toBe(true);
    expect(isPrivateAddress('192.168.1.1')).toBe(true);
    expect(isPrivateAddress('8.8.8.8')).toBe(false);
  });

  it('refuses a private target at subscribe time on a relay with default settings', async () => {
    const relay = await startTestRelay(freshSqliteUrl(), { targetHosts: ['hooks.zapier.com', '127.0.0.1:*'], allowPrivateTargets: false });
    try {
      const { apiKey } = await relay.store.accounts.create('x');
      const r = await call(relay.url, 'POST', '/v1/hooks', { key: apiKey, body: { target_url: 'https://127.0.0.1:9/hook', event: 'walnut.*' } });
      expect(r.status).toBe(422);
      expect(r.json.error).toContain('private');
    } finally {
      await relay.close();
    }
  });
});

describe('retry schedule', () => {
  const cfg = { retryBaseMs: 1000, retryMaxMs: 3_600_000 };
  it('starts near 1 s and doubles, with jitter, capped at an hour', () => {
    expect(backoffMs(0, 1000, 3_600_000, () => 0.5)).toBe(1000);
    expect(backoffMs(1, 1000, 3_600_000, () => 0.5)).toBe(2000);
    expect(backoffMs(3, 1000, 3_600_000, () => 0.5)).toBe(8000);
    expect(backoffMs(30, 1000, 3_600_000, () => 0.5)).toBe(3_600_000);
    expect(backoffMs(0, 1000, 3_600_000, () => 0)).toBe(800);
    expect(backoffMs(0, 1000, 3_600_000, () => 1)).toBe(1200);
  });

  it('retries 408, 5xx and network errors; throttles on 429 and 503 (their Retry-After, else the backoff); never other 4xx or a redirect', () => {
    expect(classify(500, null, 2, cfg)).toMatchObject({ kind: 'retry', delayMs: expect.any(Number) });
    expect(classify(408, null, 0, cfg).kind).toBe('retry');
    expect(classify(null, 'ECONNREFUSED', 20, cfg).kind).toBe('retry');
    expect(classify(429, null, 0, cfg, 4000)).toMatchObject({ kind: 'throttled', status: 429, delayMs: 4000 });
    expect(classify(503, null, 2, cfg)).toMatchObject({ kind: 'throttled', status: 503, delayMs: expect.any(Number) });
    const pause = (classify(503, null, 2, cfg) as { delayMs: number }).delayMs;
    expect(pause).toBeGreaterThanOrEqual(backoffMs(2, cfg.retryBaseMs, cfg.retryMaxMs, () => 0));
    expect(pause).toBeLessThanOrEqual(backoffMs(2, cfg.retryBaseMs, cfg.retryMaxMs, () => 1));
    expect(classify(404, null, 0, cfg)).toMatchObject({ kind: 'failed', error: 'HTTP 404: not retried (4xx other than 408/429)' });
    expect(classify(302, null, 0, cfg)).toMatchObject({ kind: 'failed', error: 'HTTP 302: not retried (a redirect is not followed)' });
    expect(classify(410, null, 0, cfg).kind).toBe('gone');
    expect(classify(204, null, 0, cfg).kind).toBe('delivered');
  });
});
