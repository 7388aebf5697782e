/**
 * What tells an operator, within a minute, that a Zap stopped receiving: subscription health
 * from the first failed attempt, `retrying` deliveries, alerts to a Slack-compatible URL (a
 * local stand-in for Slack counts them), the hourly stats the console charts, paging with
 * `Link` on every list, replays and manual retries marked, disable and enable. On SQLite and
 * PostgreSQL; every wait is for the state the relay has recorded.
 */
import { signBody } from '../../lib/signature.js';
import { call, reportPgSkip, startSink, startTestRelay, STORES, until } from './harness.js';
import { deliveriesOf, walnutSession as session } from './fixtures.js';

reportPgSkip();


describe.each(STORES)('operator health and alerts on %s', (_name, dbUrl) => {
  let relay: Awaited<ReturnType<typeof startTestRelay>>;
  let key: string;
  let accountId: string;
  let inbound: Record<string, string>;
  /** The Zap's hook URL: answers `zap.status`. */
  let zap: Awaited<ReturnType<typeof startSink>>;
  const target = { status: 200 };
  /** The stand-in for a Slack incoming webhook. */
  let slack: Awaited<ReturnType<typeof startSink>>;
  const slackAnswer = { status: 200 };

  beforeEach(async () => {
    target.status = 200;
    slackAnswer.status = 200;
    // Give-up after 3 s of retries: long enough that a check of `retrying` on a busy machine
    // still sees the delivery before it is given up, short enough for the outage test.
    relay = await startTestRelay(dbUrl(), { giveUpMs: 3000, retryBaseMs: 40, retryMaxMs: 80, alertHosts: ['127.0.0.1:*'] });
    const created = await relay.store.accounts.create('ops');
    key = created.apiKey;
    accountId = created.account.id;
    inbound = (await call(relay.url, 'GET', '/v1/me', { key })).json.inbound;
    zap = await startSink(() => target.status);
    slack = await startSink(() => slackAnswer.status);
  });

  afterEach(async () => {
    await relay.close();
    await zap.close();
    await slack.close();
  });

  const subscribe = async (path = '/zap') => (await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${zap.url}${path}`, event: 'walnut.*' } })).json;
  const post = async (body: string) => {
    const r = await call('', 'POST', inbound.walnut, { body, headers: { 'X-Walnut-Signature': signBody(body, 'k') } });
    expect(r.status).toBe(200);
    return r.json.id as string;
  };
  const hook = async (id: string) => ((await call(relay.url, 'GET', '/v1/hooks', { key })).json as any[]).find((h) => h.id === id);
  const alerts = () => slack.received.map((r) => JSON.parse(r.body));
  /** The alerts the relay has queued or sent for this account (its own record of them). */
  const queued = async () => (await relay.store.db.query<{ type: string; status: string }>('SELECT type, status FROM alerts WHERE account_id = $1 ORDER BY created_at, id', [accountId])).map((r) => `${r.type}:${r.status}`);

  it('a subscription is failing from its first failed attempt (retrying, not yet given up), and healthy again at the next success', async () => {
    const sub = await subscribe();
    // Positive control: a delivered event leaves it healthy.
    const first = await post(session('h-1'));
    await until('delivered', async () => (await deliveriesOf(relay, first))[0]?.status === 'delivered');
    expect(await hook(sub.id)).toMatchObject({ health: 'healthy', failing_since: null, consecutive_failures: 0, success_rate_24h: 1 });

    target.status = 500;
    const second = await post(session('h-2'));
    // The state asserted: the subscription's health as the relay recorded it (on PostgreSQL just after the attempt's outcome).
    await until('failing from the first failed attempt', async () => (await hook(sub.id)).health === 'failing');
    expect((await deliveriesOf(relay, second))[0].status).toBe('pending'); // not given up: failing from the first attempt
    const failing = await hook(sub.id);
    expect(failing).toMatchObject({ health: 'failing', failing_since: expect.any(String), pending: 1 });
    expect(failing.consecutive_failures).toBeGreaterThanOrEqual(1);
    expect(failing.success_rate_24h).toBeLessThan(1);
    // The delivery reads `retrying` (pending after a failed attempt), and the filter finds it.
    const retrying = (await call(relay.url, 'GET', '/v1/deliveries?status=retrying', { key })).json as any[];
    expect(retrying.map((d) => [d.event_id, d.status])).toStrictEqual([[second, 'retrying']]);
    expect((await call(relay.url, 'GET', '/v1/deliveries?status=pending', { key })).json).toStrictEqual([]);
    expect((await call(relay.url, 'GET', `/v1/events?delivery_status=retrying&limit=10`, { key })).json.map((e: any) => e.id)).toStrictEqual([second]);

    target.status = 200;
    await until('recovered', async () => (await hook(sub.id)).health === 'healthy');
    expect(await hook(sub.id)).toMatchObject({ failing_since: null, consecutive_failures: 0 });
    expect((await deliveriesOf(relay, second))[0].status).toBe('delivered');
  });

  it('alerts: one outage sends one failing, one given-up and one recovered message to a Slack-compatible URL; a healthy subscription sends none', async () => {
    // The URL is checked like a target, against RELAY_ALERT_HOSTS.
    const refused = await call(relay.url, 'PUT', '/v1/me/alerts', { key, body: { url: 'https://example.com/hook' } });
    expect(refused.status).toBe(422);
    expect(refused.json.error).toContain('RELAY_ALERT_HOSTS');
    const set = await call(relay.url, 'PUT', '/v1/me/alerts', { key, body: { url: `${slack.url}/services/T0/B0/secret` } });
    expect(set.status).toBe(200);
    expect((await call(relay.url, 'GET', '/v1/me', { key })).json.alert_url).toBe(`${slack.url}/services/T0/B0/secret`);

    // Healthy: three events delivered, and after an alert round nothing was queued or sent.
    const sub = await subscribe();
    const ok = [await post(session('a-1')), await post(session('a-2')), await post(session('a-3'))];
    await until('delivered', async () => (await Promise.all(ok.map((id) => deliveriesOf(relay, id)))).every((d) => d[0]?.status === 'delivered'));
    await relay.alerter.tick();
    expect(await queued()).toStrictEqual([]);
    expect(slack.received).toHaveLength(0);

    // The outage: an event fails until it is given up (3 s), then the target answers again.
    target.status = 500;
    const lost = await post(session('a-4'));
    await until('given up', async () => (await deliveriesOf(relay, lost))[0]?.status === 'given_up');
    await until('the failing and given-up alerts sent', async () => (await queued()).filter((q) => q.endsWith(':sent')).length === 2);
    target.status = 200;
    const back = await post(session('a-6'));
    await until('the recovered alert sent', async () => (await queued()).length === 3 && (await queued()).every((q) => q.endsWith(':sent')));
    expect((await deliveriesOf(relay, back))[0].status).toBe('delivered');

    expect(alerts().map((a) => a.type)).toStrictEqual(['subscription.failing', 'delivery.given_up', 'subscription.recovered']);
    const [failing, givenUp, recovered] = alerts();
    expect(failing).toMatchObject({ account: 'ops', subscription: { id: sub.id, event: 'walnut.*', target_url: `${zap.url}/zap` }, since: expect.any(String), last_error: 'HTTP 500' });
    expect(failing.text).toContain(':red_circle:');
    expect(failing.text).toContain('is failing since');
    expect(failing.console_url).toBe(`${relay.publicUrl}/#/failed?hook=${sub.id}`);
    expect(givenUp).toMatchObject({ count: 1, subscription: { id: sub.id } });
    expect(givenUp.text).toContain('1 delivery to');
    expect(recovered.text).toContain('delivering again');
    // The subscription's event as code: `walnut.*` in bold (*walnut.**) would break Slack's formatting.
    for (const a of alerts()) expect([a.text.includes('`walnut.*` →'), a.text.includes('*walnut.*')]).toStrictEqual([true, false]);
    // Slack's own mrkdwn: the target URL's & and < > are escaped in the text.
    for (const a of alerts()) expect(a.text).not.toMatch(/<(?!http)/);

    // No more alerts after it: the state did not change again.
    await relay.alerter.tick();
    expect(slack.received).toHaveLength(3);

    // Given-up deliveries are told at most once a subscription an hour, with their count.
    await relay.store.db.query('UPDATE hooks SET given_up_unreported = 3 WHERE id = $1', [sub.id]);
    await relay.alerter.tick();
    expect(await queued()).toHaveLength(3);
    await relay.store.db.query('UPDATE hooks SET given_up_alert_at = given_up_alert_at - 3600001 WHERE id = $1', [sub.id]);
    await relay.alerter.tick();
    await until('the hourly roll-up sent', async () => slack.received.length === 4);
    expect(alerts()[3]).toMatchObject({ type: 'delivery.given_up', count: 3 });
  });

  it('an alert the URL refuses is retried, and alerts never hold a delivery back', async () => {
    await call(relay.url, 'PUT', '/v1/me/alerts', { key, body: { url: `${slack.url}/down` } });
    slackAnswer.status = 500;
    await subscribe();
    target.status = 500;
    const id = await post(session('r-1'));
    await until('the alert tried at least twice', async () => slack.received.length >= 2);
    expect((await relay.store.db.query<{ status: string }>("SELECT status FROM alerts WHERE type = 'subscription.failing'"))[0].status).toBe('pending');
    // Meanwhile the delivery went on being attempted on its own schedule.
    target.status = 200;
    await until('delivered despite the dead alert URL', async () => (await deliveriesOf(relay, id))[0]?.status === 'delivered');
    slackAnswer.status = 200;
    await until('the alert sent once the URL answers', async () => (await queued()).includes('subscription.failing:sent'));
    // Removing the URL: no more alerts.
    expect((await call(relay.url, 'DELETE', '/v1/me/alerts', { key })).status).toBe(204);
    expect((await call(relay.url, 'GET', '/v1/me', { key })).json.alert_url).toBeNull();
  });

  it('stats: one row per hour, oldest first, zeros included, counting what happened', async () => {
    await subscribe();
    const ids = [await post(session('s-1')), await post(session('s-2'))];
    await until('delivered', async () => (await Promise.all(ids.map((id) => deliveriesOf(relay, id)))).every((d) => d[0]?.status === 'delivered'));
    const r = await call(relay.url, 'GET', '/v1/stats/deliveries?hours=3', { key });
    expect(r.status).toBe(200);
    expect(r.json).toHaveLength(3);
    const hours = r.json.map((x: any) => Date.parse(x.hour));
    expect(hours[1] - hours[0]).toBe(3_600_000);
    expect(hours[2] - hours[1]).toBe(3_600_000);
    // The two events and their deliveries, in the current hour (or across it, at an hour's turn).
    const total = (k: string) => r.json.reduce((n: number, x: any) => n + x[k], 0);
    expect([total('delivered'), total('failed_attempts'), total('given_up'), total('inbound'), total('no_subscription')]).toStrictEqual([2, 0, 0, 2, 0]);
    expect(r.json[0]).toMatchObject({ delivered: 0, inbound: 0 });
    // An event of a kind no subscription listens for: received, sent nowhere, and counted so.
    const unheard = await call('', 'POST', inbound.supademo, { body: JSON.stringify({ event: 'demo.viewed', data: { id: 'u-1' } }) });
    expect(unheard.status).toBe(200);
    await until('counted as heard by no subscription', async () => {
      const again = (await call(relay.url, 'GET', '/v1/stats/deliveries?hours=3', { key })).json as any[];
      return again.reduce((n, x) => n + x.no_subscription, 0) === 1 && again.reduce((n, x) => n + x.inbound, 0) === 3;
    });
    expect((await call(relay.url, 'GET', '/v1/stats/deliveries', { key })).json).toHaveLength(24);
    const bad = await call(relay.url, 'GET', '/v1/stats/deliveries?hours=0', { key });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toContain('hours must be an integer from 1 to 168');
  });

  it('every list pages with before= and says where the next page is in a Link header', async () => {
    const subs = [await subscribe('/a'), await subscribe('/b'), await subscribe('/c')];
    const events = [await post(session('p-1')), await post(session('p-2'))];
    await until('delivered', async () => (await Promise.all(events.map((id) => deliveriesOf(relay, id)))).every((d) => d.length === 3 && d.every((x) => x.status === 'delivered')));
    const walk = async (first: string) => {
      const seen: string[] = [];
      let next: string | null = first;
      let pages = 0;
      while (next) {
        const res = await fetch(`${relay.url}${next}`, { headers: { Authorization: `Bearer ${key}` } });
        expect(res.status).toBe(200);
        seen.push(...((await res.json()) as any[]).map((x) => x.id));
        const link = res.headers.get('link');
        next = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1] : null;
        pages++;
      }
      return { seen, pages };
    };
    const hooks = await walk('/v1/hooks?limit=2');
    expect(hooks).toStrictEqual({ seen: [...subs].reverse().map((s) => s.id), pages: 2 });
    const evs = await walk('/v1/events?limit=1');
    expect(evs).toStrictEqual({ seen: [...events].reverse(), pages: 2 });
    const dels = await walk('/v1/deliveries?limit=4&status=delivered');
    expect(dels.seen).toHaveLength(6);
    expect(new Set(dels.seen).size).toBe(6);
    expect(dels.pages).toBe(2);
    // A page that is the last says so by having no Link.
    const all = await fetch(`${relay.url}/v1/hooks?limit=3`, { headers: { Authorization: `Bearer ${key}` } });
    expect(all.headers.get('link')).toBeNull();
  });

  it('replays and manual retries are marked on the delivery', async () => {
    await subscribe();
    target.status = 400; // refused for good: failed at once
    const id = await post(session('m-1'));
    await until('failed', async () => (await deliveriesOf(relay, id))[0]?.status === 'failed');
    const [d] = (await call(relay.url, 'GET', '/v1/deliveries', { key })).json;
    expect(d).toMatchObject({ origin: 'vendor', manual_retries: 0 });
    target.status = 200;
    expect((await call(relay.url, 'POST', `/v1/deliveries/${d.id}/retry`, { key })).status).toBe(202);
    await until('delivered', async () => (await deliveriesOf(relay, id))[0]?.status === 'delivered');
    expect((await call(relay.url, 'POST', `/v1/events/${id}/replay`, { key })).status).toBe(202);
    await until('the replay delivered', async () => (await deliveriesOf(relay, id)).length === 2 && (await deliveriesOf(relay, id)).every((x) => x.status === 'delivered'));
    const detail = (await call(relay.url, 'GET', `/v1/events/${id}`, { key })).json;
    expect(detail.deliveries.map((x: any) => [x.origin, x.manual_retries])).toStrictEqual([
      ['vendor', 1],
      ['replay', 0],
    ]);
  });

  it('disable pauses queued deliveries (kept, not sent); enable resumes them', async () => {
    const operator = relay.services.accounts;
    await subscribe();
    target.status = 500;
    const id = await post(session('d-1'));
    await until('retrying', async () => (await deliveriesOf(relay, id))[0]?.attempts >= 1);
    expect((await call(relay.url, 'POST', '/v1/me/disable', { key })).status).toBe(204);
    target.status = 200;
    const before = zap.received.length;
    // Paused: kept pending, not attempted, however long past due.
    const [row] = await relay.store.db.query<{ locked_by: string; status: string }>('SELECT locked_by, status FROM deliveries WHERE event_id = $1', [id]);
    expect(row).toMatchObject({ status: 'pending', locked_by: 'paused:account-disabled' });
    await relay.deliverer.kick();
    expect(zap.received.length).toBe(before);
    expect(await operator.enable(accountId)).toBe(true);
    expect(await operator.enable(accountId)).toBe(false); // already enabled
    relay.deliverer.kick();
    await until('delivered after enable', async () => (await deliveriesOf(relay, id))[0]?.status === 'delivered');
    expect((await call(relay.url, 'GET', '/v1/me', { key })).status).toBe(200);
  });
});
