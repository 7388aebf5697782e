/**
 * What the operator learns from inside the Zap, and does about it: the Zapier app's perform
 * running on a real relay's deliveries (a Walnut signing key that is not the one Walnut signs
 * with) tells the relay it refused them; the subscription reads `refusing` with words to act
 * on, an alert reaches a Slack stand-in, and it is healthy again once a delivery is taken.
 * Retry now, a 410's alert, and the Zap named on its subscription. On SQLite and PostgreSQL;
 * every wait is for the state the relay has recorded.
 */
import zapier from 'zapier-platform-core';
import App from '../../index.js';
import { asZapierHookHeaders, signBody } from '../../lib/signature.js';
import { authData as directAuth, SECRETS } from '../../test/helpers.js';
import { call, reportPgSkip, startSink, startTestRelay, STORES, until, type Received } from './harness.js';
import { deliveriesOf, walnutSession as session } from './fixtures.js';

reportPgSkip();

const appTester = zapier.createAppTester(App);
const TRIGGER = 'walnut_demo_session_finished';
const op = (App.triggers as any)[TRIGGER].operation;

describe.each(STORES)('the Zap tells the relay, and the operator acts, on %s', (_name, dbUrl) => {
  let relay: Awaited<ReturnType<typeof startTestRelay>>;
  let key: string;
  let inbound: Record<string, string>;
  let zap: Awaited<ReturnType<typeof startSink>>;
  const target = { status: 200 };
  let slack: Awaited<ReturnType<typeof startSink>>;

  beforeEach(async () => {
    target.status = 200;
    relay = await startTestRelay(dbUrl(), { retryBaseMs: 60_000, retryMaxMs: 60_000, alertHosts: ['127.0.0.1:*'] });
    key = (await relay.store.accounts.create('ops')).apiKey;
    inbound = (await call(relay.url, 'GET', '/v1/me', { key })).json.inbound;
    zap = await startSink(() => target.status);
    slack = await startSink(() => 200);
    expect((await call(relay.url, 'PUT', '/v1/me/alerts', { key, body: { url: `${slack.url}/services/T0/B0/secret` } })).status).toBe(200);
  });

  afterEach(async () => {
    await relay.close();
    await zap.close();
    await slack.close();
  });

  const auth = (walnutKey: string) => ({ ...directAuth(), walnut_signing_key: walnutKey, relay_url: relay.url, api_key: key });
  const post = async (body: string) => {
    const r = await call('', 'POST', inbound.walnut, { body, headers: { 'X-Walnut-Signature': signBody(body, SECRETS.walnut.current) } });
    expect(r.status).toBe(200);
    return r.json.id as string;
  };
  const hook = async (id: string) => ((await call(relay.url, 'GET', '/v1/hooks', { key })).json as any[]).find((h) => h.id === id);
  const alerts = () => slack.received.map((r) => JSON.parse(r.body));
  /** The request the relay delivered for `eventId`, handed to the trigger's perform as Zapier would. */
  const runZap = async (eventId: string, authData: Record<string, string>, subscribeData: unknown, fresh = false) => {
    await zap.until(() => zap.received.some((r) => r.headers['x-relay-event-id'] === eventId));
    const delivered = zap.received.find((r) => r.headers['x-relay-event-id'] === eventId) as Received;
    const bundle = {
      authData,
      inputData: { include_test_events: false },
      subscribeData,
      targetUrl: `${zap.url}/hooks/standard/1/2/`,
      rawRequest: { method: 'POST', querystring: '', headers: asZapierHookHeaders(delivered.headers), content: delivered.body },
      cleanedRequest: JSON.parse(delivered.body),
    };
    return appTester(op.perform, bundle as any, fresh);
  };

  it("a Zap whose Walnut key is not the one Walnut signs with: refusing, with words and an alert; healthy again once a delivery is taken", async () => {
    const wrong = auth(SECRETS.walnut.other);
    const subscribeData: any = await appTester(op.performSubscribe, { authData: wrong, inputData: {}, targetUrl: `${zap.url}/hooks/standard/1/2/`, meta: { zap: { id: 4242 } } } as any);
    // The Zap is named on its subscription.
    expect(await hook(subscribeData.id)).toMatchObject({ zap_id: '4242', trigger: TRIGGER, health: 'healthy', refusing_since: null });

    // Positive control: a delivery the Zap takes leaves it healthy, and tells the relay nothing.
    const good = await post(session('z-1'));
    expect(await runZap(good, auth(SECRETS.walnut.current), subscribeData, true)).toHaveLength(1);
    expect(await hook(subscribeData.id)).toMatchObject({ health: 'healthy', refusals: 0 });

    // The key in the connection is not Walnut's: the run halts, and the relay hears of it.
    const bad = await post(session('z-2'));
    const halted = await runZap(bad, wrong, subscribeData).then(() => null, (err: Error) => err);
    expect(halted?.name).toBe('HaltedError');
    await until('recorded delivered: Zapier answered 200 before perform ran', async () => (await deliveriesOf(relay, bad))[0]?.status === 'delivered');
    const refusing = await hook(subscribeData.id);
    expect(refusing).toMatchObject({ health: 'refusing', refusing_code: 'signature_mismatch', refusals: 1, refusing_since: expect.any(String) });
    expect(refusing.refusing_reason).toContain("the Walnut signing secret in this Zap's connection is not the one Walnut signs with");
    await until('the refusing alert sent', async () => alerts().some((a) => a.type === 'subscription.refusing'));
    const alert = alerts().find((a) => a.type === 'subscription.refusing');
    expect(alert).toMatchObject({ subscription: { id: subscribeData.id, zap_id: '4242' }, reason_code: 'signature_mismatch' });
    expect(alert.text).toContain('(Zap 4242)');
    expect(alert.text).toContain('is refusing what the relay delivers');
    // Never a secret or the payload in what reached the relay or the alert.
    const told = JSON.stringify(alerts()) + JSON.stringify(refusing);
    for (const s of [SECRETS.walnut.current, SECRETS.walnut.other, 'z-2', key]) expect(told).not.toContain(s);

    // Fixed: the next delivery is taken, and the subscription is healthy again, with a recovered alert.
    const fixed = await post(session('z-3'));
    expect(await runZap(fixed, auth(SECRETS.walnut.current), subscribeData)).toHaveLength(1);
    expect(await hook(subscribeData.id)).toMatchObject({ health: 'healthy', refusing_since: null, refusing_reason: null, refusals: 0 });
    await until('the recovered alert sent', async () => alerts().some((a) => a.type === 'subscription.recovered'));
    expect(alerts().find((a) => a.type === 'subscription.recovered').text).toContain('takes its deliveries again');

    // A late report on an older event moves nothing back.
    const late = await call(relay.url, 'POST', `/v1/hooks/${subscribeData.id}/runs`, { key, body: { event_id: bad, outcome: 'refused', reason: 'signature_mismatch' } });
    expect(late).toMatchObject({ status: 202, json: { recorded: false } });
    expect((await hook(subscribeData.id)).health).toBe('healthy');
  });

  it('reports are checked: an unknown reason is 400, another subscription’s event 404, a refusal without its reason 400', async () => {
    const sub = (await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${zap.url}/a`, event: 'walnut.*' } })).json;
    const other = (await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${zap.url}/b`, event: 'supademo.*' } })).json;
    const ev = await post(session('r-1'));
    await until('delivered', async () => (await deliveriesOf(relay, ev))[0]?.status === 'delivered');
    const runs = (id: string, body: object) => call(relay.url, 'POST', `/v1/hooks/${id}/runs`, { key, body });
    expect(await runs(sub.id, { event_id: ev, outcome: 'refused', reason: 'payload_invalid' })).toMatchObject({ status: 202, json: { recorded: true } });
    expect((await hook(sub.id)).refusing_code).toBe('payload_invalid');
    const unknown = await runs(sub.id, { event_id: ev, outcome: 'refused', reason: 'bad_vibes' });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toContain('signature_mismatch');
    expect((await runs(sub.id, { event_id: ev, outcome: 'refused' })).status).toBe(400);
    expect((await runs(other.id, { event_id: ev, outcome: 'refused', reason: 'payload_invalid' })).status).toBe(404);
    expect((await hook(other.id)).health).toBe('healthy');
  });

  it('retry now: a retrying delivery goes out at once, one by one or every one of a subscription; a 410 removes the subscription with an alert', async () => {
    const sub = (await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${zap.url}/zap`, event: 'walnut.*', zap_id: '77', trigger: TRIGGER } })).json;
    expect(sub).toMatchObject({ zap_id: '77', trigger: TRIGGER });
    target.status = 500;
    const a = await post(session('n-1'));
    const b = await post(session('n-2'));
    // Backoff a minute: both wait as retrying.
    await until('both retrying', async () => (await call(relay.url, 'GET', `/v1/deliveries?status=retrying&hook_id=${sub.id}`, { key })).json.length === 2);
    const [da] = await deliveriesOf(relay, a);
    target.status = 200;
    const one = await call(relay.url, 'POST', `/v1/deliveries/${da.id}/retry`, { key });
    expect(one).toMatchObject({ status: 202, json: { id: da.id, status: 'pending' } });
    await until('the retried one delivered', async () => (await deliveriesOf(relay, a))[0].status === 'delivered');
    expect((await deliveriesOf(relay, b))[0].status).toBe('pending'); // the other still waits its backoff
    const all = await call(relay.url, 'POST', `/v1/hooks/${sub.id}/retry-now`, { key });
    expect(all).toMatchObject({ status: 202, json: { queued: 1 } });
    await until('every one delivered', async () => (await deliveriesOf(relay, b))[0].status === 'delivered');
    // Nothing left to send now: a delivered one is a conflict, an unknown subscription 404.
    expect((await call(relay.url, 'POST', `/v1/deliveries/${da.id}/retry`, { key })).status).toBe(409);
    expect((await call(relay.url, 'POST', `/v1/hooks/${sub.id}/retry-now`, { key })).json).toStrictEqual({ queued: 0 });
    expect((await call(relay.url, 'POST', '/v1/hooks/hook_nope/retry-now', { key })).status).toBe(404);

    // The Zap was turned off: 410 removes it, and the operator is told.
    target.status = 410;
    const gone = await post(session('n-3'));
    await until('cancelled by the 410', async () => (await deliveriesOf(relay, gone))[0]?.status === 'cancelled');
    expect(await hook(sub.id)).toBeUndefined();
    await until('the removed alert sent', async () => alerts().some((x) => x.type === 'subscription.removed'));
    const removed = alerts().find((x) => x.type === 'subscription.removed');
    expect(removed).toMatchObject({ subscription: { id: sub.id, zap_id: '77' } });
    expect(removed.text).toContain('410 Gone');
    // The 500s before were one failing alert, not a removal.
    expect(alerts().filter((x) => x.type === 'subscription.removed')).toHaveLength(1);
  });
});
