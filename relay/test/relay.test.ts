import { demoSessionSample } from '../../lib/providers/walnut.js';
import { leadCapturedSample } from '../../lib/providers/supademo.js';
import { signBody } from '../../lib/signature.js';
import { backoffMs, classify } from '../deliver.js';
import { checkTarget, isPrivateAddress } from '../targets.js';
import { call, freshSqliteUrl, reportPgSkip, startSink, startTestRelay, STORES, sleep } from './harness.js';

reportPgSkip();

describe.each(STORES)('relay on %s', (_name, dbUrl) => {
  let relay: Awaited<ReturnType<typeof startTestRelay>>;
  let key: string;
  let inbound: Record<string, string>;
  let sink: Awaited<ReturnType<typeof startSink>>;
  let statuses: number[];

  beforeEach(async () => {
    relay = await startTestRelay(dbUrl());
    const created = await relay.store.createAccount('test account');
    key = created.apiKey;
    inbound = (await call(relay.url, 'GET', '/v1/me', { key })).json.inbound;
    statuses = [];
    sink = await startSink((_r, n) => statuses[n - 1] ?? 200);
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

  it('acks a vendor retry of a stored event as a duplicate and delivers it once', async () => {
    await subscribe('walnut.*');
    const first = await postWalnut(demoSessionSample);
    // Walnut retries carry the same event and session_id (the timestamp may differ).
    const retry = await postWalnut({ ...demoSessionSample, timestamp: '2023-11-01T19:20:00Z' });
    expect(retry.status).toBe(200);
    expect(retry.json).toStrictEqual({ id: first.json.id, duplicate: true });
    await sink.until(() => sink.received.length >= 1);
    await sleep(300);
    expect(sink.received).toHaveLength(1);
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
    const [d] = await relay.store.deliveriesOf(ack.json.id);
    expect(d).toMatchObject({ status: 'done', attempts: 3, last_status: 200 });
  });

  it('retries 408 and 429 too', async () => {
    statuses = [408, 429, 200];
    await subscribe('walnut.*');
    await postWalnut(demoSessionSample);
    await sink.until(() => sink.received.length === 3);
  });

  it('removes the subscription when the target answers 410 Gone', async () => {
    statuses = [410];
    const hook = await subscribe('walnut.*');
    await postWalnut(demoSessionSample);
    await sink.until(() => sink.received.length === 1);
    await sleep(150);
    const second = { ...demoSessionSample, data: { ...demoSessionSample.data, session_id: 'another' } };
    await postWalnut(second);
    await sleep(300);
    expect(sink.received).toHaveLength(1);
    expect((await call(relay.url, 'DELETE', `/v1/hooks/${hook.json.id}`, { key })).status).toBe(404);
  });

  it('keeps a delivery refused with another 4xx as failed, for inspection, without retrying', async () => {
    statuses = [400];
    await subscribe('walnut.*');
    const ack = await postWalnut(demoSessionSample);
    await sink.until(() => sink.received.length === 1);
    await sleep(300);
    expect(sink.received).toHaveLength(1);
    const [d] = await relay.store.deliveriesOf(ack.json.id);
    expect(d.status).toBe('failed');
    expect(d.last_status).toBe(400);
  });

  it('stops delivering to a subscription once it is deleted', async () => {
    const hook = await subscribe('walnut.*');
    expect((await call(relay.url, 'DELETE', `/v1/hooks/${hook.json.id}`, { key })).status).toBe(204);
    await postWalnut(demoSessionSample);
    await sleep(300);
    expect(sink.received).toHaveLength(0);
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
    const other = await relay.store.createAccount('other');
    const hook = await subscribe('walnut.*');
    await postWalnut(demoSessionSample);
    expect((await call(relay.url, 'GET', '/v1/events?event=walnut.*', { key: other.apiKey })).json).toStrictEqual([]);
    expect((await call(relay.url, 'DELETE', `/v1/hooks/${hook.json.id}`, { key: other.apiKey })).status).toBe(404);
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

  it('answers health checks while the store answers', async () => {
    expect(await call(relay.url, 'GET', '/healthz')).toStrictEqual({ status: 200, json: { ok: true } });
  });

  it('purges events past the retention period, with their deliveries', async () => {
    await subscribe('walnut.*');
    const ack = await postWalnut(demoSessionSample);
    await sink.until(() => sink.received.length === 1);
    expect(await relay.store.purge(Date.now() - 60_000)).toBe(0);
    expect(await relay.store.purge(Date.now() + 1)).toBe(1);
    expect(await relay.store.deliveriesOf(ack.json.id)).toStrictEqual([]);
    expect((await call(relay.url, 'GET', '/v1/events?event=walnut.*', { key })).json).toStrictEqual([]);
  });
});

describe('target safety (SSRF)', () => {
  const strict = { targetHosts: ['hooks.zapier.com'], allowPrivateTargets: false };

  it('accepts Zapier hook URLs and refuses everything else by default', () => {
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
    const relay = await startTestRelay(freshSqliteUrl(), { targetHosts: ['hooks.zapier.com', '127.0.0.1'], allowPrivateTargets: false });
    try {
      const { apiKey } = await relay.store.createAccount('x');
      const r = await call(relay.url, 'POST', '/v1/hooks', { key: apiKey, body: { target_url: 'https://127.0.0.1:9/hook', event: 'walnut.*' } });
      expect(r.status).toBe(422);
      expect(r.json.error).toContain('private');
    } finally {
      await relay.close();
    }
  });
});

describe('retry schedule', () => {
  const cfg = { retryBaseMs: 1000, retryMaxMs: 3_600_000, giveUpMs: 86_400_000 };
  it('starts near 1 s and doubles, with jitter, capped at an hour', () => {
    expect(backoffMs(0, 1000, 3_600_000, () => 0.5)).toBe(1000);
    expect(backoffMs(1, 1000, 3_600_000, () => 0.5)).toBe(2000);
    expect(backoffMs(3, 1000, 3_600_000, () => 0.5)).toBe(8000);
    expect(backoffMs(30, 1000, 3_600_000, () => 0.5)).toBe(3_600_000);
    expect(backoffMs(0, 1000, 3_600_000, () => 0)).toBe(800);
    expect(backoffMs(0, 1000, 3_600_000, () => 1)).toBe(1200);
  });

  it('gives up after 24 hours and never retries other 4xx', () => {
    const now = Date.now();
    expect(classify(503, null, { attempts: 2, created_at: now - 1000 }, cfg, now).kind).toBe('retry');
    expect(classify(null, 'ECONNREFUSED', { attempts: 20, created_at: now - 86_000_000 }, cfg, now).kind).toBe('failed');
    expect(classify(404, null, { attempts: 0, created_at: now }, cfg, now).kind).toBe('failed');
    expect(classify(410, null, { attempts: 0, created_at: now }, cfg, now).kind).toBe('gone');
    expect(classify(204, null, { attempts: 0, created_at: now }, cfg, now).kind).toBe('done');
  });
});
