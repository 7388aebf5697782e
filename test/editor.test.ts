/**
 * What a Zap builder meets in the editor: where to point the vendor (above each trigger's
 * fields), a connection test that catches a wrong relay or key, and every vendor's shared
 * fields named for event types this app does not know yet.
 */
import nock from 'nock';
import { PROVIDERS } from '../lib/providers/index.js';
import { demoSessionSample } from '../lib/providers/walnut.js';
import { leadCapturedSample } from '../lib/providers/supademo.js';
import pendoSamples from '../lib/providers/pendo-samples.json';
import { API_KEY, App, appTester, authData, clone, errorOf, expectNoSecret, hookBundle, networkOff, perform, RELAY, SECRETS, triggerOp } from './helpers.js';

networkOff();

const ME = {
  account_id: 'acc_1',
  name: 'Acme RevOps',
  inbound: Object.fromEntries(Object.keys(PROVIDERS).map((k) => [k, `${RELAY}/v1/inbound/${k}/tok_${k}`])) as Record<string, string>,
};

/** The inputs of every demo-session trigger after its vendor's two. */
const SESSION_INPUTS = ['session_score', 'session_history', 'add_viewer_history', 'only_domains', 'only_demos_matching', 'asset_stages'];

/** Runs a trigger's input-field functions as the editor does and returns the fields they give. */
async function editorFields(key: string, auth: Record<string, string>): Promise<any[]> {
  const out: any[] = [];
  for (const f of triggerOp(key).inputFields) {
    out.push(...(typeof f === 'function' ? ((await appTester(f, { authData: auth, inputData: {} } as any)) as any[]) : [f]));
  }
  return out;
}

describe('where to point the vendor, shown above every instant trigger', () => {
  afterEach(() => expect(nock.isDone()).toBe(true));

  const vendorTriggers = Object.keys(App.triggers ?? {}).filter((k) => Object.values(PROVIDERS).some((p) => k.startsWith(`${p.key}_`)));

  it('covers every vendor trigger; the two account signals and New Demo Session explain what they count and show every counted vendor\'s URL', async () => {
    expect(vendorTriggers).toHaveLength(17);
    for (const key of ['account_buying_committee', 'account_reengaged', 'demo_session']) {
      nock(RELAY, { reqheaders: { authorization: `Bearer ${API_KEY}` } }).get('/v1/me').reply(200, ME);
      const [first] = await editorFields(key, authData());
      expect([key, first.key, first.type]).toStrictEqual([key, 'signal_help', 'copy']);
      expect(first.helpText).toContain('free-mail and disposable');
      for (const p of [PROVIDERS.walnut, PROVIDERS.supademo]) expect(first.helpText).toContain(`\`${ME.inbound[p.key]}\``);
      expect(first.helpText).not.toContain(ME.inbound.pendo);
      expectNoSecret(first.helpText);
    }
  });

  it.each(vendorTriggers)('%s shows its vendor\'s webhook URL from GET /v1/me and where to paste it', async (key) => {
    const provider = Object.values(PROVIDERS).find((p) => key.startsWith(`${p.key}_`))!;
    nock(RELAY, { reqheaders: { authorization: `Bearer ${API_KEY}` } }).get('/v1/me').reply(200, ME);
    const fields = await editorFields(key, authData());
    // A demo session's trigger also asks about the viewer's history and the assets to tag.
    const session = provider.demoActivity?.events.some((e) => key === provider.events.find((ev) => ev.event === e)?.triggerKey);
    expect(fields.map((f) => f.key)).toStrictEqual(['relay_setup', 'include_test_events', ...(session ? SESSION_INPUTS : [])]);
    // A session trigger says above its fields what the score and the history mean, for its own vendor.
    if (session) {
      const score = fields.find((f) => f.key === 'session_score');
      expect([score.type, score.helpText]).toStrictEqual(['copy', expect.stringContaining('1 + 4 × completion')]);
      expect(score.helpText).toContain(provider.demoActivity!.engagementHelp);
      expect(fields.find((f) => f.key === 'session_history').helpText).toContain('First Session');
    }
    // Its "Include Test Events" names its own vendor's test button only.
    expect(fields[1].helpText).toContain(provider.label);
    for (const other of Object.values(PROVIDERS).filter((p) => p !== provider)) expect(fields[1].helpText).not.toContain(other.label);
    const copy = fields[0];
    expect(copy.type).toBe('copy');
    expect(copy.helpText).toContain(`\`${ME.inbound[provider.key]}\``);
    expect(copy.helpText).toContain(provider.inboundHelp);
    for (const other of Object.values(PROVIDERS).filter((p) => p !== provider)) expect(copy.helpText).not.toContain(ME.inbound[other.key]);
    expectNoSecret(copy.helpText);
  });

  it("keeps a vendor's caveat in help text, not in the description (Walnut's two-hour delay)", async () => {
    nock(RELAY).get('/v1/me').reply(200, ME);
    const [copy] = await editorFields('walnut_demo_session_finished', authData());
    expect(copy.helpText).toContain('up to two hours');
    expect((App.triggers as any).walnut_demo_session_finished.display.description).not.toContain('two hours');
  });

  it('tells a connection without a relay that the trigger cannot be turned on, in plain words', async () => {
    const fields = await editorFields('pendo_any_event', { pendo_signing_secret: 'x' });
    expect(fields[0].helpText).toContain('This connection has no relay');
    expect(fields[0].helpText).not.toMatch(/demohooks-relay|npm /);
  });

  it('explains a relay it cannot read instead of breaking the editor', async () => {
    nock(RELAY).get('/v1/me').reply(401, { error: 'unknown API key' });
    const fields = await editorFields('supademo_lead_captured', authData());
    expect(fields.map((f) => f.key)).toStrictEqual(['relay_setup', 'include_test_events', ...SESSION_INPUTS]);
    expect(fields[0].helpText).toContain('Could not read your Supademo webhook URL from the relay');
    expect(fields[0].helpText).toContain('did not accept the Relay API Key');
    expectNoSecret(fields[0].helpText);
  });
});

describe('the connection test', () => {
  const auth = App.authentication as any;
  afterEach(() => expect(nock.isDone()).toBe(true));

  it('accepts an https relay and a local http one, and labels the connection with the account name only', async () => {
    nock(RELAY).get('/v1/me').reply(200, ME);
    expect(await appTester(auth.test, { authData: authData() } as any)).toStrictEqual(ME);
    nock('http://localhost:8787').get('/v1/me').reply(200, ME);
    expect(await appTester(auth.test, { authData: authData({ relay_url: 'http://localhost:8787/' }) } as any)).toStrictEqual(ME);
    nock('http://127.0.0.1:8787').get('/v1/me').reply(200, ME);
    expect(await appTester(auth.test, { authData: authData({ relay_url: 'http://127.0.0.1:8787' }) } as any)).toStrictEqual(ME);
    expect(await appTester(auth.connectionLabel, { authData: authData(), inputData: ME } as any)).toBe('Acme RevOps');
  });

  it('refuses a plain http relay on another host before sending the key anywhere', async () => {
    // Positive control: the same relay over https is reached and accepted.
    nock('https://relay.example.com').get('/v1/me').reply(200, ME);
    expect(await appTester(auth.test, { authData: authData({ relay_url: 'https://relay.example.com' }) } as any)).toStrictEqual(ME);
    // Over plain http no request is made (the network is off and no interceptor is set up).
    const err = await errorOf(appTester(auth.test, { authData: authData({ relay_url: 'http://relay.example.com' }) } as any));
    expect(err.message).toContain('The Relay URL must start with https://');
    expect(err.message).toContain('only for localhost and 127.0.0.1');
    expectNoSecret(err.message);
  });

  it('says a relay cannot be reached, and what to check', async () => {
    nock(RELAY).get('/v1/me').replyWithError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    const err = await errorOf(appTester(auth.test, { authData: authData() } as any));
    expect(err.message).toBe(`Could not reach the relay at ${RELAY} (ECONNREFUSED). Check the Relay URL, and ask the team that runs the relay whether it is up and reachable from the internet.`);
  });

  it('says a wrong key is wrong, as an expired connection, without the key or a shell command', async () => {
    nock(RELAY).get('/v1/me').reply(401, { error: 'unknown API key' });
    const err = await errorOf(appTester(auth.test, { authData: authData() } as any));
    expect(err.name).toBe('ExpiredAuthError');
    expect(err.message).toContain('did not accept the Relay API Key (HTTP 401)');
    expect(err.message).not.toMatch(/`|demohooks-relay/);
    expectNoSecret(err.message);
  });

  it('a pasted inbound URL is told apart from the relay\'s address, before the key is sent anywhere', async () => {
    const pasted = `${RELAY}/v1/inbound/walnut/tok_walnut`;
    const err = await errorOf(appTester(auth.test, { authData: authData({ relay_url: pasted }) } as any));
    expect(err.message).toContain(`The Relay URL is the relay's own address (${RELAY}), not an inbound URL`);
    expect(err.message).toContain('Walnut, Supademo or Pendo');
    expectNoSecret(err.message);
    // No request was made (nock has no mock, and the network is off): the afterEach checks none is pending.
  });

  it('a Relay URL with a path the relay is not at: the 404 says which address to try', async () => {
    nock(RELAY).get('/relay/v1/me').reply(404, { error: 'not found' });
    const err = await errorOf(appTester(auth.test, { authData: authData({ relay_url: `${RELAY}/relay/` }) } as any));
    expect(err.message).toContain(`The relay answered GET /v1/me with HTTP 404: not found. Is ${RELAY}/relay the relay's address? Without its path that is ${RELAY};`);
    // Positive control: the address it names is the relay.
    nock(RELAY).get('/v1/me').reply(200, ME);
    expect(await appTester(auth.test, { authData: authData({ relay_url: RELAY }) } as any)).toStrictEqual(ME);
    // And a relay at its root that answers 404 is not told to drop a path it does not have.
    nock(RELAY).get('/v1/me').reply(404, { error: 'not found' });
    const root = await errorOf(appTester(auth.test, { authData: authData() } as any));
    expect(root.message).toContain(`Is ${RELAY} the relay's address? the team that runs the relay can tell you.`);
  });

  it('asks for the API key when only the Relay URL is filled in', async () => {
    const err = await errorOf(appTester(auth.test, { authData: { relay_url: RELAY } } as any));
    expect(err.message).toContain('Fill in "Relay API Key" too');
  });

  it('accepts signing secrets alone, checks their format, and says the connection has no relay', async () => {
    const ok: any = await appTester(auth.test, { authData: { supademo_signing_secret: SECRETS.supademo.current } } as any);
    expect(ok.name).toBe('Signing secrets only (no relay)');
    expect(await appTester(auth.connectionLabel, { authData: {}, inputData: ok } as any)).toBe('Signing secrets only (no relay)');
    const bad = await errorOf(appTester(auth.test, { authData: { supademo_signing_secret: 'f1e2d3c4b5a6' } } as any));
    expect(bad.message).toContain('"Supademo Signing Secret" must be the whole secret Supademo showed when the webhook was created, starting with whsec_');
    expect(bad.message).not.toContain('f1e2d3c4b5a6');
    const badPrevious = await errorOf(appTester(auth.test, { authData: { supademo_signing_secret: SECRETS.supademo.current, supademo_signing_secret_previous: 'old' } } as any));
    expect(badPrevious.message).toContain('"Supademo Signing Secret (previous)"');
  });
});

describe("every vendor's shared fields, for event types this app does not know yet", () => {
  const named = (r: Record<string, unknown>) => Object.keys(r).filter((k) => !k.startsWith('extra__'));
  const bothWays = (r: Record<string, unknown>) => named(r).filter((k) => `extra__${k}` in r);

  it('Pendo: an unknown event gives visitor, account, app and subscription under their names; only its new fields are extra__', async () => {
    const p = clone(pendoSamples.guideDisplayed) as any;
    p.event = 'segmentEntered';
    p.visitorId = 'Jane.Doe@Acme.io';
    p.accountId = 'acme-corp';
    p.app.id = 5629499534213120;
    p.properties = { segmentId: 'seg_1', language: 'en-US' };
    const [r] = await perform('pendo_any_event', hookBundle('pendo', p));
    expect(r).toMatchObject({
      event: 'segmentEntered',
      visitor_id: 'Jane.Doe@Acme.io',
      viewer_email: 'jane.doe@acme.io',
      account_id: 'acme-corp',
      app_id: 5629499534213120,
      app_name: p.app.name,
      subscription_id: p.subscription.id,
      user_agent: p.userAgent,
      language: 'en-US',
      extra__properties__segment_id: 'seg_1',
    });
    expect(Object.keys(r).filter((k) => k.startsWith('extra__'))).toStrictEqual(['extra__properties__segment_id']);
    expect(bothWays(r)).toStrictEqual([]);
  });

  it('Walnut: an unknown event gives the session and the viewer under their names', async () => {
    const w = clone(demoSessionSample) as any;
    w.event = 'demo_session_started';
    const [r] = await perform('walnut_any_event', hookBundle('walnut', w));
    expect(r).toMatchObject({ event: 'demo_session_started', session_id: w.data.session_id, session_started_at: '2023-11-01T16:36:47.905Z', user_agent: w.data.user.user_agent, viewer_email: 'someone-awesome@walnut.io' });
    expect(r.extra__data__demo__name).toBe('My Awesome Demo');
    expect(r.extra__data__session_id).toBeUndefined();
    expect(bothWays(r)).toStrictEqual([]);
  });

  it('Supademo: an unknown event gives the viewer, the demo and the UTM fields under their names', async () => {
    const s = clone(leadCapturedSample) as any;
    s.event = 'demo.shared';
    s.sharedWith = 'ops@acme.io';
    const [r] = await perform('supademo_any_event', hookBundle('supademo', s));
    expect(r).toMatchObject({ event: 'demo.shared', viewer_id: s.viewerId, entity_id: s.entityId, utm_source: s.utmParams.utm_source, viewer_email: s.viewer.email.toLowerCase(), extra__shared_with: 'ops@acme.io' });
    expect(Object.keys(r).filter((k) => k.startsWith('extra__'))).toStrictEqual(['extra__shared_with']);
    expect(r.summary_text).toContain('sent "demo.shared" for');
  });
});
