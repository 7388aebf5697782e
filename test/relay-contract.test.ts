import nock from 'nock';
import { PROVIDERS } from '../lib/providers/index.js';
import { signBody } from '../lib/signature.js';
import { demoSessionSample, playlistSessionSample } from '../lib/providers/walnut.js';
import { API_KEY, App, appTester, authData, errorOf, expectNoSecret, networkOff, RELAY, SECRETS, TARGET, triggerOp } from './helpers.js';

networkOff();

/** Trigger key → relay event, straight from the contract's table. */
const CONTRACT: Record<string, string> = {
  walnut_demo_session_finished: 'walnut.demo_session_finished',
  walnut_playlist_session_finished: 'walnut.playlist_session_finished',
  walnut_any_event: 'walnut.*',
  supademo_lead_captured: 'supademo.lead.captured',
  supademo_demo_viewed: 'supademo.demo.viewed',
  supademo_demo_completed: 'supademo.demo.completed',
  supademo_showcase_viewed: 'supademo.showcase.viewed',
  supademo_any_event: 'supademo.*',
  pendo_guide_displayed: 'pendo.guideDisplayed',
  pendo_poll_displayed: 'pendo.pollDisplayed',
  pendo_poll_submitted: 'pendo.pollSubmitted',
  pendo_nps_displayed: 'pendo.npsDisplayed',
  pendo_nps_submitted: 'pendo.npsSubmitted',
  pendo_visitor_created: 'pendo.visitorCreated',
  pendo_account_created: 'pendo.accountCreated',
  pendo_track_event_received: 'pendo.trackEventReceived',
  pendo_any_event: 'pendo.*',
  account_buying_committee: 'demo.activity',
  account_reengaged: 'demo.activity',
  demo_session: 'demo.activity',
};

const bundle = (extra: Record<string, unknown> = {}) => ({
  authData: authData(),
  inputData: { include_test_events: true },
  targetUrl: TARGET,
  meta: { limit: -1 },
  ...extra,
});

afterEach(() => {
  expect(nock.isDone()).toBe(true);
});

describe.each(Object.entries(CONTRACT))('%s', (key, relayEvent) => {
  it(`subscribes the Zap's target URL to ${relayEvent}, saying which Zap and trigger it is`, async () => {
    nock(RELAY, { reqheaders: { authorization: `Bearer ${API_KEY}` } })
      .post('/v1/hooks', { target_url: TARGET, event: relayEvent, zap_id: '31337', trigger: key })
      .reply(201, { id: 'hook_1', event: relayEvent, target_url: TARGET, created_at: '2026-11-23T10:00:00Z' });
    const out = await appTester(triggerOp(key).performSubscribe, { ...bundle(), meta: { zap: { id: 31337 } } } as any);
    expect(out).toStrictEqual({ id: 'hook_1', event: relayEvent, target_url: TARGET, created_at: '2026-11-23T10:00:00Z' });
    // Without a Zap (the editor's own test), no zap_id is sent.
    nock(RELAY).post('/v1/hooks', { target_url: TARGET, event: relayEvent, trigger: key }).reply(201, { id: 'hook_2', event: relayEvent, target_url: TARGET, created_at: '2026-11-23T10:00:00Z' });
    expect(await appTester(triggerOp(key).performSubscribe, bundle() as any)).toMatchObject({ id: 'hook_2' });
  });

  it('unsubscribes by the id the subscription returned', async () => {
    nock(RELAY, { reqheaders: { authorization: `Bearer ${API_KEY}` } }).delete('/v1/hooks/hook_1').reply(204);
    const out = await appTester(triggerOp(key).performUnsubscribe, bundle({ subscribeData: { id: 'hook_1' } }) as any);
    expect(out).toStrictEqual({});
  });

  it('finds nothing, and says so with [], when the relay has no events yet (never the static sample)', async () => {
    nock(RELAY).get('/v1/events').query({ event: relayEvent, limit: '100' }).reply(200, []);
    const out = await appTester(triggerOp(key).performList, bundle() as any);
    expect(out).toStrictEqual([]);
  });
});

describe('performList with real events', () => {
  const stored = (payload: unknown, id: string, secret = SECRETS.walnut.current) => {
    const body = JSON.stringify(payload);
    return { id, event: `walnut.${(payload as any).event}`, received_at: '2026-11-23T10:00:00Z', headers: { 'X-Walnut-Signature': signBody(body, secret) }, body };
  };

  it('processes the newest events exactly like perform, without touching the dedupe memory', async () => {
    const second = JSON.parse(JSON.stringify(demoSessionSample));
    second.data.session_id = 'second-session';
    nock(RELAY)
      .get('/v1/events')
      .query({ event: 'walnut.demo_session_finished', limit: '100' })
      .twice()
      .reply(200, [stored(second, 'evt_2'), stored(demoSessionSample, 'evt_1')]);
    const op = triggerOp('walnut_demo_session_finished');
    const out = (await appTester(op.performList, bundle({ inputData: {} }) as any, true)) as any[];
    expect(out.map((r) => r.session_id)).toStrictEqual(['second-session', demoSessionSample.data.session_id]);
    expect(out.every((r) => r.signature_verified === true)).toBe(true);
    // Listing again returns the same records: performList neither consults nor fills the memory.
    expect(await appTester(op.performList, bundle({ inputData: {} }) as any)).toStrictEqual(out);
    // And perform still lets the listed event in the first time it is delivered.
    const rawBody = JSON.stringify(demoSessionSample);
    const live = (await appTester(op.perform, {
      ...bundle({ inputData: {} }),
      subscribeData: { id: 'hook_1' },
      rawRequest: { content: rawBody, headers: { 'Http-X-Walnut-Signature': signBody(rawBody, SECRETS.walnut.current) } },
    } as any)) as any[];
    expect(live).toHaveLength(1);
  });

  it('leaves test events out of the list unless included, and returns [] when nothing else matches', async () => {
    nock(RELAY).get('/v1/events').query(true).reply(200, [stored(playlistSessionSample, 'evt_t')]);
    const out = await appTester(triggerOp('walnut_any_event').performList, bundle({ inputData: {} }) as any);
    expect(out).toStrictEqual([]);
  });

  it('shows a test event while the editor loads samples (the user just pressed the vendor\'s Test button), marked as a test', async () => {
    const live = JSON.parse(JSON.stringify(demoSessionSample));
    live.data.session_id = 'live-session';
    nock(RELAY)
      .get('/v1/events')
      .query({ event: 'walnut.*', limit: '100' })
      .twice()
      .reply(200, [stored(playlistSessionSample, 'evt_t'), stored(live, 'evt_l')]);
    const op = triggerOp('walnut_any_event');
    // Positive control: the live event is listed either way.
    const plain = (await appTester(op.performList, bundle({ inputData: {}, meta: {} }) as any)) as any[];
    expect(plain.map((r) => [r.session_id, r.is_test])).toStrictEqual([['live-session', false]]);
    const loading = (await appTester(op.performList, bundle({ inputData: {}, meta: { isLoadingSample: true } }) as any)) as any[];
    expect(loading.map((r) => [r.event, r.is_test])).toStrictEqual([
      ['playlist_session_finished', true],
      ['demo_session_finished', false],
    ]);
  });

  it('lists a Supademo Test-button delivery in a specific trigger while loading samples', async () => {
    const body = JSON.stringify({ event: 'webhook.test', workspaceId: 'ws_1' });
    nock(RELAY)
      .get('/v1/events')
      .query({ event: 'supademo.lead.captured', limit: '100' })
      .reply(200, [{ id: 'evt_t', event: 'supademo.webhook.test', received_at: '2026-11-23T10:00:00Z', headers: { 'x-supademo-signature': signBody(body, SECRETS.supademo.current) }, body }]);
    const out = (await appTester(triggerOp('supademo_lead_captured').performList, bundle({ inputData: {}, meta: { isLoadingSample: true } }) as any)) as any[];
    expect(out.map((r) => [r.event, r.is_test, r.workspace_id])).toStrictEqual([['webhook.test', true, 'ws_1']]);
  });

  it('says the secret is wrong when every stored event fails verification', async () => {
    nock(RELAY).get('/v1/events').query(true).reply(200, [stored(demoSessionSample, 'evt_x', 'some other key')]);
    const err = await errorOf(appTester(triggerOp('walnut_demo_session_finished').performList, bundle() as any));
    expect(err.message).toContain('Walnut signature mismatch');
    expectNoSecret(err.message);
  });

  it('asks the relay for enough events to find a match: its maximum, 100', async () => {
    nock(RELAY).get('/v1/events').query({ event: 'pendo.*', limit: '100' }).reply(200, []);
    await appTester(triggerOp('pendo_any_event').performList, bundle({ meta: { limit: 3 } }) as any);
  });
});

describe('relay errors', () => {
  it('unsubscribing a hook the relay already removed (404) succeeds', async () => {
    nock(RELAY).delete('/v1/hooks/gone').reply(404, { error: 'not found' });
    const out = await appTester(triggerOp('walnut_any_event').performUnsubscribe, bundle({ subscribeData: { id: 'gone' } }) as any);
    expect(out).toStrictEqual({});
  });

  it('a refused API key asks the user to reconnect, without echoing the key', async () => {
    nock(RELAY).post('/v1/hooks').reply(401, { error: 'unknown api key' });
    const err = await errorOf(appTester(triggerOp('walnut_any_event').performSubscribe, bundle() as any));
    expect(err.name).toBe('ExpiredAuthError');
    expect(err.message).toContain('did not accept the Relay API Key (HTTP 401)');
    expect(err.message).not.toContain('demohooks-relay');
    expectNoSecret(err.message);
  });

  it('a subscription the relay refuses reports its reason', async () => {
    nock(RELAY).post('/v1/hooks').reply(422, { error: 'target host not allowed' });
    const err = await errorOf(appTester(triggerOp('walnut_any_event').performSubscribe, bundle() as any));
    expect(err.message).toContain('HTTP 422: target host not allowed');
  });

  it('a connection without a relay cannot subscribe, and says what to fill in', async () => {
    const err = await errorOf(
      appTester(triggerOp('walnut_any_event').performSubscribe, bundle({ authData: { walnut_signing_key: 'x' } }) as any),
    );
    expect(err.message).toContain('This connection has no relay, so instant triggers cannot be turned on');
    expect(err.message).toContain('"Relay URL" and "Relay API Key"');
    expect(err.message).toContain('with the values from the team that runs your demohooks relay.');
    expect(err.message).not.toMatch(/README|RELAY_|npm |demohooks-relay/);
    // Words a RevOps user understands: no shell commands in a Zap error.
    expect(err.message).not.toMatch(/`|demohooks-relay|npm /);
  });

  it('every REST hook trigger of the app is covered by the contract table (a polling trigger subscribes to nothing)', () => {
    const hooks = Object.entries((App.triggers ?? {}) as Record<string, any>).filter(([, t]) => t.operation.type === 'hook');
    expect(hooks.length).toBeGreaterThan(0);
    expect(hooks.map(([k]) => k).sort()).toStrictEqual(Object.keys(CONTRACT).sort());
    expect(Object.keys(PROVIDERS)).toStrictEqual(['walnut', 'supademo', 'pendo']);
  });
});
