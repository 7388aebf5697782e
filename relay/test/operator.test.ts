/**
 * The operator API over real loopback HTTP, on SQLite and PostgreSQL: subscriptions and their
 * health, the event log and its filters, every attempt kept, retry, bulk retry, replay,
 * rotation with overlap, disabling, metrics, and logs an operator can act on.
 */
import { demoSessionSample } from '../../lib/providers/walnut.js';
import { leadCapturedSample } from '../../lib/providers/supademo.js';
import { signBody } from '../../lib/signature.js';
import type { Level } from '../log.js';
import { call, freshSqliteUrl, reportPgSkip, sleep, startSink, startTestRelay, STORES, until } from './harness.js';
import { deliveriesOf, walnutSession as session } from './fixtures.js';

reportPgSkip();


describe.each(STORES)('operator API on %s', (_name, dbUrl) => {
  let relay: Awaited<ReturnType<typeof startTestRelay>>;
  let key: string;
  let inbound: Record<string, string>;
  let sink: Awaited<ReturnType<typeof startSink>>;
  let logs: Array<{ level: Level; msg: string; fields: Record<string, unknown> }>;
  const BIG = 'x'.repeat(3000);

  beforeEach(async () => {
    logs = [];
    relay = await startTestRelay(dbUrl(), { giveUpMs: 300, retryBaseMs: 40, retryMaxMs: 80 }, (level, msg, fields = {}) => logs.push({ level, msg, fields }));
    const created = await relay.store.accounts.create('ops');
    key = created.apiKey;
    inbound = (await call(relay.url, 'GET', '/v1/me', { key })).json.inbound;
    // /ok accepts; /bad refuses for good (400) with a long answer; /down keeps failing (500).
    sink = await startSink((r) => (r.path === '/bad' ? { status: 400, body: `{"error":"bad","pad":"${BIG}"}` } : r.path === '/down' ? 500 : 200));
  });

  afterEach(async () => {
    await relay.close();
    await sink.close();
  });

  const subscribe = async (path: string, event = 'walnut.*') => (await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${sink.url}${path}`, event } })).json;
  const post = async (body: string) => {
    const r = await call('', 'POST', inbound.walnut, { body, headers: { 'X-Walnut-Signature': signBody(body, 'k') } });
    expect(r.status).toBe(200);
    return r.json.id as string;
  };
  const statusOf = async (eventId: string, hookId: string) => (await deliveriesOf(relay, eventId)).find((d) => d.hook_id === hookId)?.status;

  it('lists subscriptions with their health, and keeps every attempt with its answer', async () => {
    const ok = await subscribe('/ok');
    const bad = await subscribe('/bad');
    const down = await subscribe('/down');
    const id = await post(session('health-1'));
    await until('all settled', async () => (await statusOf(id, ok.id)) === 'delivered' && (await statusOf(id, bad.id)) === 'failed' && (await statusOf(id, down.id)) === 'given_up');
    const hooks = (await call(relay.url, 'GET', '/v1/hooks', { key })).json as any[];
    const byId = new Map(hooks.map((h) => [h.id, h]));
    expect(byId.get(ok.id)).toMatchObject({ event: 'walnut.*', pending: 0, failed: 0, last_success_at: expect.any(String), last_failure_at: null, last_error: null });
    expect(byId.get(bad.id)).toMatchObject({ pending: 0, failed: 1, last_success_at: null, last_failure_at: expect.any(String), last_error: 'HTTP 400: not retried (4xx other than 408/429)' });
    expect(byId.get(down.id)).toMatchObject({ failed: 1, last_error: 'HTTP 500' });

    const detail = (await call(relay.url, 'GET', `/v1/events/${id}`, { key })).json;
    expect(detail).toMatchObject({ id, event: 'walnut.demo_session_finished', headers: { 'X-Walnut-Signature': expect.any(String) }, body: session('health-1') });
    const d = new Map<string, any>(detail.deliveries.map((x: any) => [x.hook_id, x]));
    expect(d.get(ok.id).attempts).toStrictEqual([{ n: 1, started_at: expect.any(String), duration_ms: expect.any(Number), status_code: 200, error: null, response_snippet: '{}' }]);
    const badAttempt = d.get(bad.id).attempts[0];
    expect(badAttempt.status_code).toBe(400);
    expect(Buffer.byteLength(badAttempt.response_snippet)).toBe(1024); // the first 1 KiB only
    expect(badAttempt.response_snippet.startsWith('{"error":"bad"')).toBe(true);
    const downAttempts = d.get(down.id).attempts;
    expect(downAttempts.length).toBeGreaterThan(1);
    expect(downAttempts.map((a: any) => a.n)).toStrictEqual(downAttempts.map((_: any, i: number) => i + 1));
    expect(d.get(down.id)).toMatchObject({ status: 'given_up', next_attempt_at: null });

    // Logs an operator can act on: the give-up at error, with subscription, host, attempts, reason.
    // (Logged once the outcome is on disk, which can be just after another reader sees it.)
    await until('give-up logged', () => logs.some((l) => l.msg === 'delivery given up'));
    const gaveUp = logs.find((l) => l.msg === 'delivery given up');
    expect(gaveUp).toMatchObject({ level: 'error', fields: { hook_id: down.id, target_host: new URL(sink.url).host, attempts: downAttempts.length, last_reason: 'HTTP 500' } });
    expect(logs.some((l) => l.level === 'warn' && l.msg === 'delivery will be retried' && l.fields.hook_id === down.id)).toBe(true);
    expect(logs.find((l) => l.msg === 'delivered')?.level).toBe('debug');

    // Purged with their event.
    expect(await relay.store.retention.purge(Date.now() + 1)).toBe(1);
    expect(await relay.store.db.query('SELECT id FROM delivery_attempts')).toHaveLength(0);
  });

  it('filters and pages the event log, and says which filter is bad', async () => {
    await subscribe('/ok');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await post(session(`log-${i}`, i === 3 ? { user: { email: 'needle@acme.io' } } : {})));
    const s = await call('', 'POST', inbound.supademo, { body: leadCapturedSample });
    expect(s.status).toBe(200);
    const list = async (qs: string) => {
      const r = await call(relay.url, 'GET', `/v1/events?${qs}`, { key });
      expect([qs, r.status]).toStrictEqual([qs, 200]);
      return (r.json as any[]).map((e) => e.id);
    };
    expect(await list('limit=100')).toStrictEqual([s.json.id, ...ids.slice().reverse()]);
    expect(await list('provider=walnut&limit=100')).toStrictEqual(ids.slice().reverse());
    expect(await list('event=supademo.lead.captured')).toStrictEqual([s.json.id]);
    expect(await list('q=NEEDLE@acme')).toStrictEqual([ids[3]]);
    const page1 = await list('provider=walnut&limit=2');
    expect(page1).toStrictEqual([ids[4], ids[3]]);
    expect(await list(`provider=walnut&limit=2&before=${page1[1]}`)).toStrictEqual([ids[2], ids[1]]);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect(await list(`since=${encodeURIComponent(future)}`)).toStrictEqual([]);
    expect(await list(`until=${encodeURIComponent(future)}&limit=100`)).toHaveLength(6);
    await until('delivered', async () => (await call(relay.url, 'GET', '/v1/events?limit=1&provider=walnut', { key })).json[0].delivery_status === 'delivered');
    expect((await call(relay.url, 'GET', '/v1/events?event=supademo.*', { key })).json[0].delivery_status).toBe('no_subscription');
    for (const [qs, why] of [
      ['provider=hubspot', 'unknown provider'],
      ['event=walnut.nope', 'unknown event "walnut.nope": use'],
      ['event=walnut.demo_session_finishd', 'unknown event "walnut.demo_session_finishd" (did you mean "walnut.demo_session_finished"?)'],
      ['event=Supademo.lead_captured', '(did you mean "supademo.lead.captured"?)'],
      ['since=yesterday', 'since must be an ISO 8601 time'],
      ['until=2026-13-45T99:00:00Z', 'until must be an ISO 8601 time'],
      ['limit=0', 'limit must be an integer from 1 to 100'],
      ['before=evt_nope', 'before: no event evt_nope in this account'],
    ]) {
      const r = await call(relay.url, 'GET', `/v1/events?${qs}`, { key });
      expect([qs, r.status, r.json.error]).toStrictEqual([qs, 400, expect.stringContaining(why)]);
    }
  });

  it('lists deliveries by status and subscription, newest first, and refuses an unknown status', async () => {
    const ok = await subscribe('/ok');
    const bad = await subscribe('/bad');
    const a = await post(session('dl-1'));
    const b = await post(session('dl-2'));
    await until('settled', async () => (await statusOf(b, bad.id)) === 'failed' && (await statusOf(b, ok.id)) === 'delivered' && (await statusOf(a, bad.id)) === 'failed');
    const failed = (await call(relay.url, 'GET', '/v1/deliveries?status=failed', { key })).json as any[];
    expect(failed.map((d) => d.event_id)).toStrictEqual([b, a]);
    expect(failed[0]).toMatchObject({ event: 'walnut.demo_session_finished', hook_id: bad.id, status: 'failed', attempt_count: 1, last_status_code: 400, next_attempt_at: null });
    expect((await call(relay.url, 'GET', `/v1/deliveries?hook_id=${ok.id}`, { key })).json.map((d: any) => d.status)).toStrictEqual(['delivered', 'delivered']);
    // Another account's subscription, or one that never was, is not an empty list: 404.
    const other = await relay.store.accounts.create('other-filter');
    const theirs = await call(relay.url, 'GET', `/v1/deliveries?hook_id=${ok.id}`, { key: other.apiKey });
    expect([theirs.status, theirs.json.error]).toStrictEqual([404, `hook_id: no subscription ${ok.id} in this account`]);
    expect((await call(relay.url, 'GET', '/v1/deliveries?hook_id=hook_never', { key })).status).toBe(404);
    // A subscription this account deleted still lists the deliveries it had.
    expect((await call(relay.url, 'DELETE', `/v1/hooks/${ok.id}`, { key })).status).toBe(204);
    expect((await call(relay.url, 'GET', `/v1/deliveries?hook_id=${ok.id}`, { key })).json.map((d: any) => d.status)).toStrictEqual(['delivered', 'delivered']);
    const page = (await call(relay.url, 'GET', `/v1/deliveries?status=failed&limit=1&before=${failed[0].id}`, { key })).json;
    expect(page.map((d: any) => d.id)).toStrictEqual([failed[1].id]);
    const unknown = await call(relay.url, 'GET', '/v1/deliveries?status=lost', { key });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toContain('one of pending, retrying, delivered, failed, given_up, cancelled');
  });

  it("retries one delivery, refuses delivered, cancelled and other accounts' ones", async () => {
    const ok = await subscribe('/ok');
    const bad = await subscribe('/bad');
    const id = await post(session('retry-1'));
    await until('settled', async () => (await statusOf(id, bad.id)) === 'failed' && (await statusOf(id, ok.id)) === 'delivered');
    const dels = await deliveriesOf(relay, id);
    const failed = dels.find((d) => d.hook_id === bad.id)!;
    const delivered = dels.find((d) => d.hook_id === ok.id)!;
    const other = await relay.store.accounts.create('other');
    expect((await call(relay.url, 'POST', `/v1/deliveries/${failed.id}/retry`, { key: other.apiKey })).status).toBe(404);
    expect(await call(relay.url, 'POST', `/v1/deliveries/${failed.id}/retry`, { key })).toStrictEqual({ status: 202, json: { id: failed.id, status: 'pending' } });
    await until('second attempt', async () => (await deliveriesOf(relay, id)).find((d) => d.id === failed.id)!.attempts === 2);
    const conflict = await call(relay.url, 'POST', `/v1/deliveries/${delivered.id}/retry`, { key });
    expect([conflict.status, conflict.json.error]).toStrictEqual([409, 'delivery is delivered; only retrying, failed or given-up deliveries can be retried']);
    // A subscription that is gone: its failed delivery cannot be retried.
    await until('failed again', async () => (await statusOf(id, bad.id)) === 'failed');
    expect((await call(relay.url, 'DELETE', `/v1/hooks/${bad.id}`, { key })).status).toBe(204);
    const gone = await call(relay.url, 'POST', `/v1/deliveries/${failed.id}/retry`, { key });
    expect([gone.status, gone.json.error]).toStrictEqual([409, 'its subscription no longer exists (the Zap was turned off or deleted)']);
  });

  it("bulk-retries a subscription's failures since a time, and replays an event to the current subscriptions", async () => {
    const bad = await subscribe('/bad');
    const e1 = await post(session('bulk-1'));
    const e2 = await post(session('bulk-2'));
    await until('both failed', async () => (await statusOf(e1, bad.id)) === 'failed' && (await statusOf(e2, bad.id)) === 'failed');
    const other = await relay.store.accounts.create('other');
    expect((await call(relay.url, 'POST', `/v1/hooks/${bad.id}/retry-failed`, { key: other.apiKey, body: { since: '2020-01-01T00:00:00Z' } })).status).toBe(404);
    expect((await call(relay.url, 'POST', `/v1/hooks/${bad.id}/retry-failed`, { key, body: { since: 'last week' } })).status).toBe(400);
    expect(await call(relay.url, 'POST', `/v1/hooks/${bad.id}/retry-failed`, { key, body: { since: new Date(Date.now() + 60_000).toISOString() } })).toStrictEqual({ status: 202, json: { queued: 0 } });
    expect(await call(relay.url, 'POST', `/v1/hooks/${bad.id}/retry-failed`, { key, body: { since: '2020-01-01T00:00:00Z' } })).toStrictEqual({ status: 202, json: { queued: 2 } });
    await until('retried', async () => (await deliveriesOf(relay, e1))[0].attempts === 2 && (await deliveriesOf(relay, e2))[0].attempts === 2);
    // Without a body (no `since`): every failure of the subscription it still keeps.
    await until('failed again', async () => (await statusOf(e1, bad.id)) === 'failed' && (await statusOf(e2, bad.id)) === 'failed');
    expect(await call(relay.url, 'POST', `/v1/hooks/${bad.id}/retry-failed`, { key })).toStrictEqual({ status: 202, json: { queued: 2 } });
    await until('retried again', async () => (await deliveriesOf(relay, e1))[0].attempts === 3 && (await deliveriesOf(relay, e2))[0].attempts === 3);

    // Replay: a Zap turned on after the event still gets it.
    const late = await subscribe('/ok', 'walnut.demo_session_finished');
    await subscribe('/ok', 'supademo.*'); // does not match a Walnut event
    expect((await call(relay.url, 'POST', `/v1/events/${e1}/replay`, { key: other.apiKey })).status).toBe(404);
    expect(await call(relay.url, 'POST', `/v1/events/${e1}/replay`, { key })).toStrictEqual({ status: 202, json: { deliveries: 2 } });
    // Wait for the state asserted (the relay has recorded the delivery), not for the target to
    // have received it: the outcome is written after the target answers.
    const lateStatuses = async () => (await deliveriesOf(relay, e1)).filter((d) => d.hook_id === late.id).map((d) => d.status);
    await until('replayed to the late Zap and recorded', async () => (await lateStatuses()).join() === 'delivered');
    expect(await lateStatuses()).toStrictEqual(['delivered']);
    expect(sink.received.some((r) => r.path === '/ok' && r.headers['x-relay-event-id'] === e1)).toBe(true);
    expect((await call(relay.url, 'GET', `/v1/events/${e1}`, { key: other.apiKey })).status).toBe(404);
  });

  it('rotates the API key: the new one works, the old one 401s', async () => {
    const r = await call(relay.url, 'POST', '/v1/me/rotate-key', { key });
    expect(r.status).toBe(200);
    expect(r.json.api_key).toMatch(/^dh_[A-Za-z0-9_-]{32}$/);
    expect((await call(relay.url, 'GET', '/v1/me', { key: r.json.api_key })).status).toBe(200);
    expect((await call(relay.url, 'GET', '/v1/me', { key })).status).toBe(401);
  });

  it('rotates an inbound URL with an overlap: both work, then the old one 404s', async () => {
    const old = inbound.walnut;
    const r = await call(relay.url, 'POST', '/v1/me/rotate-inbound', { key, body: { provider: 'walnut', overlap_hours: 0.0005 } }); // 1.8 s
    expect(r.status).toBe(200);
    expect(r.json.inbound.walnut).not.toBe(old);
    expect(r.json.inbound.pendo).toBe(inbound.pendo);
    const validUntil = Date.parse(r.json.old_url_valid_until);
    expect(validUntil).toBeGreaterThan(Date.now());
    const postTo = (url: string, id: string) => call('', 'POST', url, { body: session(id) }).then((x) => x.status);
    expect(await postTo(old, 'overlap-old')).toBe(200);
    expect(await postTo(r.json.inbound.walnut, 'overlap-new')).toBe(200);
    await sleep(Math.max(0, validUntil - Date.now()) + 100);
    expect(await postTo(old, 'after-old')).toBe(404);
    expect(await postTo(r.json.inbound.walnut, 'after-new')).toBe(200);
    // No overlap: the old URL stops at once.
    const now = await call(relay.url, 'POST', '/v1/me/rotate-inbound', { key, body: { provider: 'pendo', overlap_hours: 0 } });
    expect(await call('', 'POST', inbound.pendo, { body: '{"event":"guideDisplayed"}' }).then((x) => x.status)).toBe(404);
    expect(await call('', 'POST', now.json.inbound.pendo, { body: '{"event":"guideDisplayed"}' }).then((x) => x.status)).toBe(200);
    expect((await call(relay.url, 'POST', '/v1/me/rotate-inbound', { key, body: { provider: 'hubspot' } })).status).toBe(400);
    expect((await call(relay.url, 'POST', '/v1/me/rotate-inbound', { key, body: { provider: 'walnut', overlap_hours: -1 } })).status).toBe(400);
  });

  it('disables an account at once: inbound 404, key 401, another account unaffected', async () => {
    const other = await relay.store.accounts.create('other');
    const otherInbound = (await call(relay.url, 'GET', '/v1/me', { key: other.apiKey })).json.inbound;
    expect(await post(session('before-disable'))).toMatch(/^evt_/); // remembered by this process now
    expect((await call(relay.url, 'POST', '/v1/me/disable', { key })).status).toBe(204);
    expect((await call('', 'POST', inbound.walnut, { body: session('after-disable') })).status).toBe(404);
    expect((await call(relay.url, 'GET', '/v1/me', { key })).status).toBe(401);
    expect((await call('', 'POST', otherInbound.walnut, { body: session('other-still-works') })).status).toBe(200);
    expect((await call(relay.url, 'GET', '/v1/me', { key: other.apiKey })).status).toBe(200);
  });

  it('serves Prometheus metrics: inbound by provider and outcome, deliveries, latency, the pending queue', async () => {
    await subscribe('/down');
    const m1 = await post(session('m-1'));
    await post(session('m-1')); // a vendor retry
    expect((await call('', 'POST', inbound.walnut.replace(/[^/]+$/, 'nope'), { body: session('m-2') })).status).toBe(404);
    // The counters move once the relay has recorded the outcome, just after the row is written:
    // wait for the recorded attempt, then for the counter that says so (the state asserted).
    await until('a failed attempt recorded', async () => ((await deliveriesOf(relay, m1))[0]?.attempts ?? 0) >= 1);
    await until('the retry counted', async () => /demohooks_relay_deliveries_total\{outcome="retry"\} [1-9]/.test(await (await fetch(`${relay.url}/metrics`)).text()));
    const r = await fetch(`${relay.url}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/plain');
    const text = await r.text();
    expect(text).toContain('demohooks_relay_inbound_events_total{provider="walnut",outcome="stored"} 1');
    expect(text).toContain('demohooks_relay_inbound_events_total{provider="walnut",outcome="duplicate"} 1');
    expect(text).toContain('demohooks_relay_inbound_events_total{provider="walnut",outcome="refused_404"} 1');
    expect(text).toMatch(/demohooks_relay_deliveries_total\{outcome="retry"\} [1-9]/);
    expect(text).toMatch(/demohooks_relay_delivery_duration_seconds_count [1-9]/);
    expect(text).toMatch(/demohooks_relay_pending_deliveries 1\n/);
    expect(text).toMatch(/demohooks_relay_oldest_pending_age_seconds [0-9.]+/);
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).not.toContain(key);
  });
});

describe('metrics behind a token, and disable seen by every process', () => {
  it('asks for the bearer when RELAY_METRICS_TOKEN is set', async () => {
    const relay = await startTestRelay(freshSqliteUrl(), { metricsToken: 'm'.repeat(24) });
    try {
      expect((await fetch(`${relay.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${relay.url}/metrics`, { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
      const ok = await fetch(`${relay.url}/metrics`, { headers: { Authorization: `Bearer ${'m'.repeat(24)}` } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('demohooks_relay_pending_deliveries');
    } finally {
      await relay.close();
    }
  });

  it.each(STORES)('on %s, a disable through one relay process is refused at once by another that remembered the token', async (_n, dbUrl) => {
    const url = dbUrl();
    const a = await startTestRelay(url);
    const b = await startTestRelay(url);
    try {
      const { apiKey, tokens } = await a.store.accounts.create('shared');
      const path = `/v1/inbound/walnut/${tokens.walnut}`;
      expect((await call(a.url, 'POST', path, { body: session('warm') })).status).toBe(200); // a remembers the token
      expect((await call(b.url, 'POST', '/v1/me/disable', { key: apiKey })).status).toBe(204);
      expect((await call(a.url, 'POST', path, { body: session('after') })).status).toBe(404);
      expect((await call(a.url, 'GET', '/v1/me', { key: apiKey })).status).toBe(401);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe.each(STORES)('inbound URLs for a vendor added after the account was made, on %s', (_name, dbUrl) => {
  it('are minted on first need: a working URL, the same on every read, and rotatable', async () => {
    const relay = await startTestRelay(dbUrl());
    try {
      const a = await relay.store.accounts.create('older');
      // Positive control: an account made with every vendor has every URL.
      const before = (await call(relay.url, 'GET', '/v1/me', { key: a.apiKey })).json.inbound;
      expect(Object.values(before).every((u) => typeof u === 'string' && !String(u).endsWith('/undefined'))).toBe(true);
      // As if Supademo had been added after this account was made: its token row is not there.
      await (relay.store as any).db.query("DELETE FROM inbound_tokens WHERE account_id = $1 AND provider = 'supademo'", [a.account.id]);
      const [first, second] = await Promise.all([call(relay.url, 'GET', '/v1/me', { key: a.apiKey }), call(relay.url, 'GET', '/v1/me', { key: a.apiKey })]);
      const url: string = first.json.inbound.supademo;
      expect(url).toMatch(/\/v1\/inbound\/supademo\/[A-Za-z0-9_-]{32}$/);
      expect(url).not.toBe(before.supademo); // a new URL; the deleted one no longer works
      expect(second.json.inbound.supademo).toBe(url); // concurrent first reads agree on one
      expect(first.json.inbound.walnut).toBe(before.walnut); // the others untouched
      expect((await call('', 'POST', url, { body: leadCapturedSample })).status).toBe(200);
      expect((await call('', 'POST', before.supademo, { body: leadCapturedSample })).status).toBe(404);
      // Rotating a URL that was never minted mints it, then rotates it.
      await (relay.store as any).db.query("DELETE FROM inbound_tokens WHERE account_id = $1 AND provider = 'pendo'", [a.account.id]);
      const rotated = await call(relay.url, 'POST', '/v1/me/rotate-inbound', { key: a.apiKey, body: { provider: 'pendo', overlap_hours: 1 } });
      expect(rotated.status).toBe(200);
      expect(rotated.json.inbound.pendo).toMatch(/\/v1\/inbound\/pendo\/[A-Za-z0-9_-]{32}$/);
    } finally {
      await relay.close();
    }
  });
});

describe.each(STORES)('X-Relay-Received-At on every delivery, on %s', (_name, dbUrl) => {
  it('is when the relay received the event, the same on a retry', async () => {
    const sink = await startSink((_r, n) => (n === 1 ? 500 : 200));
    const relay = await startTestRelay(dbUrl());
    try {
      const a = await relay.store.accounts.create('received-at');
      await call(relay.url, 'POST', '/v1/hooks', { key: a.apiKey, body: { target_url: `${sink.url}/h`, event: 'walnut.*' } });
      const body = JSON.stringify({ ...demoSessionSample, data: { ...demoSessionSample.data, session_id: 'received-at' } });
      const id = (await call('', 'POST', `${relay.url}/v1/inbound/walnut/${a.tokens.walnut}`, { body })).json.id;
      await until('delivered', async () => (await deliveriesOf(relay, id))[0]?.status === 'delivered');
      const [stored] = (await call(relay.url, 'GET', '/v1/events?event=walnut.*&limit=1', { key: a.apiKey })).json;
      expect(sink.received.map((r) => [r.headers['x-relay-attempt'], r.headers['x-relay-received-at']])).toStrictEqual([
        ['1', stored.received_at],
        ['2', stored.received_at],
      ]);
    } finally {
      await relay.close();
      await sink.close();
    }
  });
});
