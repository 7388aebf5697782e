import nock from 'nock';
import { orList, PROVIDER_KEYS, PROVIDERS } from '../lib/providers/index.js';
import { extras } from '../lib/record.js';
import { demoSessionSample } from '../lib/providers/walnut.js';
import { leadCapturedSample } from '../lib/providers/supademo.js';
import pendoSamples from '../lib/providers/pendo-samples.json';
import { signBody } from '../lib/signature.js';
import { signedHeaders, VENDOR_CASES } from './vendors.js';
import { API_KEY, App, appTester, authData, errorOf, expectNoSecret, hookBundle, networkOff, perform, RELAY, SECRETS } from './helpers.js';

networkOff();

const DYNAMIC_PREFIXES = ['viewer_custom_fields__', 'custom_params__', 'track_event_properties__', 'extra__'];

/** Polling triggers: the account plays that no webhook announces. */
const POLLING = ['account_went_quiet'];

describe('the app definition', () => {
  it('registers each vendor\'s event triggers and any-event trigger, the two signals, New Demo Session, New Quiet Account, verify_webhook and the three searches', () => {
    // The exact 20 of DESIGN's contract: test/relay-contract.test.ts.
    const perVendor = Object.values(PROVIDERS).flatMap((p) => [...p.events.map((e) => e.triggerKey), p.anyEvent.triggerKey]);
    expect(Object.keys(App.triggers ?? {}).sort()).toStrictEqual([...perVendor, 'account_buying_committee', 'account_reengaged', 'demo_session', ...POLLING].sort());
    expect(Object.keys(App.creates ?? {})).toStrictEqual(['verify_webhook']);
    expect(Object.keys(App.searches ?? {})).toStrictEqual(['company_engagement', 'top_accounts', 'demo_performance']);
  });

  it('company_engagement: labelled the Zapier way, a labelled output field for every sample key', () => {
    const s = (App.searches as any).company_engagement;
    expect([s.display.label, s.noun]).toStrictEqual(['Find Company Engagement', 'Company Engagement']);
    expect(s.display.description).toMatch(/^Finds .*\.$/);
    const fields = new Set<string>(s.operation.outputFields.map((f: any) => f.key));
    for (const [k, v] of Object.entries(s.operation.sample)) {
      if (Array.isArray(v)) for (const child of Object.keys(v[0] as object)) expect([k, child, fields.has(`${k}[]${child}`)]).toStrictEqual([k, child, true]);
      else expect([k, fields.has(k)]).toStrictEqual([k, true]);
    }
  });

  it('links each signing field to the vendor page where its secret is shown (Zapier D002)', () => {
    const fields = (App.authentication as any).fields as Array<{ key: string; helpText: string }>;
    for (const p of Object.values(PROVIDERS)) {
      for (const key of p.secretKeys) {
        const f = fields.find((x) => x.key === key)!;
        expect([key, f.helpText.includes(`](${p.docsUrl})`)]).toStrictEqual([key, true]);
      }
    }
    expect(Object.values(PROVIDERS).map((p) => [p.key, new URL(p.docsUrl).protocol])).toStrictEqual(Object.values(PROVIDERS).map((p) => [p.key, 'https:']));
  });

  it('the signal triggers: their nouns match their labels', () => {
    for (const key of ['account_buying_committee', 'account_reengaged']) {
      const t = (App.triggers as any)[key];
      expect([key, t.display.label]).toStrictEqual([key, `New ${t.noun}`]);
    }
  });

  it.each(Object.keys(App.triggers ?? {}))('%s: is an instant hook, labelled the Zapier way, with a labelled output field for every key', (key) => {
    const t = (App.triggers as any)[key];
    expect(t.display.label).toMatch(/^New /);
    expect(t.display.description).toMatch(/^Triggers when .*\.$/);
    // The quiet-account play is a poll: silence sends no webhook.
    expect(t.operation.type).toBe(POLLING.includes(key) ? 'polling' : 'hook');
    const fields = new Map<string, string>(t.operation.outputFields.map((f: any) => [f.key, f.label]));
    for (const label of fields.values()) expect(label).toBeTruthy();
    for (const [k, v] of Object.entries(t.operation.sample)) {
      if (DYNAMIC_PREFIXES.some((p) => k.startsWith(p))) continue;
      if (Array.isArray(v) && (v.length === 0 || typeof v[0] === 'object')) {
        // Line items: declared as `key[]child`, even when this sample has none.
        expect([k, [...fields.keys()].some((f) => f.startsWith(`${k}[]`))]).toStrictEqual([k, true]);
        for (const child of Object.keys((v[0] ?? {}) as object)) expect(fields.has(`${k}[]${child}`)).toBe(true);
      } else {
        expect([k, fields.has(k)]).toStrictEqual([k, true]);
      }
    }
  });

  it('has documented samples that pass their own schema (samples skip validation at load)', () => {
    for (const provider of Object.values(PROVIDERS)) {
      for (const ev of provider.events) {
        expect([ev.triggerKey, ev.schema.safeParse(ev.sample).success]).toStrictEqual([ev.triggerKey, true]);
        expect([ev.triggerKey, extras(ev.sample, ev.schema)]).toStrictEqual([ev.triggerKey, {}]);
      }
    }
  });

  it('keeps sample and live output in the same shape for every documented payload', async () => {
    // A relay that remembers nothing else: a session's history is its own, as its sample shows.
    nock(RELAY).persist().get('/v1/activity').query(true).reply(200, []);
    for (const provider of Object.values(PROVIDERS)) {
      for (const ev of provider.events) {
        const op = (App.triggers as any)[ev.triggerKey].operation;
        const [live] = await perform(ev.triggerKey, hookBundle(provider.key, ev.sample, { includeTest: true }));
        // The live record is the sample plus the keys the user's own data names (custom form
        // fields, track-event properties), which a sample must not promise.
        const extra = Object.keys(live).filter((k) => !(k in op.sample));
        expect([ev.triggerKey, extra.filter((k) => !DYNAMIC_PREFIXES.some((p) => k.startsWith(p)))]).toStrictEqual([ev.triggerKey, []]);
        expect(Object.fromEntries(Object.keys(op.sample).map((k) => [k, live[k]]))).toStrictEqual(op.sample);
      }
    }
  });
});

describe('authentication', () => {
  const auth = App.authentication as any;

  it('tests the connection with GET /v1/me and labels it with the relay account', async () => {
    const me = { account_id: 'acc_1', name: 'Acme RevOps', inbound: { walnut: 'w', supademo: 's', pendo: 'p' } };
    nock(RELAY, { reqheaders: { authorization: `Bearer ${API_KEY}` } }).get('/v1/me').reply(200, me);
    expect(await appTester(auth.test, { authData: authData() } as any)).toStrictEqual(me);
    expect(await appTester(auth.connectionLabel, { authData: authData(), inputData: me } as any)).toBe('Acme RevOps');
    expect(nock.isDone()).toBe(true);
  });

  it("keeps the account's alert URL (a Slack webhook's secret path) out of the connection test's result", async () => {
    const me = { account_id: 'acc_1', name: 'Acme RevOps', inbound: { walnut: 'w' }, alert_url: 'https://hooks.slack.com/services/T0/B0/s3cr3t' };
    nock(RELAY).get('/v1/me').reply(200, me);
    const out = await appTester(auth.test, { authData: authData() } as any);
    expect(out).toMatchObject({ name: 'Acme RevOps', inbound: { walnut: 'w' } });
    expect(JSON.stringify(out)).not.toContain('s3cr3t');
  });

  it('keeps every secret in password fields with help on where the vendor shows it', () => {
    const fields = new Map<string, any>(auth.fields.map((f: any) => [f.key, f]));
    for (const k of ['api_key', ...Object.values(PROVIDERS).flatMap((p) => p.secretKeys)]) {
      expect(fields.get(k)?.type).toBe('password');
      expect(fields.get(k)?.required).toBe(false);
    }
    expect(fields.get('walnut_signing_key').helpText).toContain('Settings > Webhooks');
    expect(fields.get('supademo_signing_secret').helpText).toContain('whsec_');
    expect(fields.get('pendo_signing_secret').helpText).toContain('Secret');
  });

  it('accepts a connection with signing secrets and no relay (for the create alone)', async () => {
    const out: any = await appTester(auth.test, { authData: { walnut_signing_key: 'k' } } as any);
    expect(out.name).toContain('no relay');
  });

  it('refuses an empty connection, saying what to fill in', async () => {
    const err = await errorOf(appTester(auth.test, { authData: {} } as any));
    expect(err.message).toContain('Fill in the Relay URL and Relay API Key');
  });

  it('reports a bad API key as an expired connection without echoing the key', async () => {
    nock(RELAY).get('/v1/me').reply(401, { error: 'unknown api key' });
    const err = await errorOf(appTester(auth.test, { authData: authData() } as any));
    expect(err.name).toBe('ExpiredAuthError');
    expectNoSecret(err.message);
  });
});

describe('verify_webhook', () => {
  const create = (App.creates as any).verify_webhook.operation;
  const noRelay = Object.fromEntries(Object.values(PROVIDERS).map((p) => [p.secretKeys[0], SECRETS[p.key].current]));

  it.each(VENDOR_CASES)(
    '$provider: gives the record the any-event trigger gives, with no relay configured',
    async (c) => {
      const body = JSON.stringify(c.real);
      const signature = signedHeaders(c.provider, body)[c.header];
      const out: any = await appTester(create.perform, {
        authData: noRelay,
        inputData: { provider: c.provider, body, signature, include_test_events: true },
      } as any);
      const [fromTrigger] = await perform(c.anyTrigger, hookBundle(c.provider, c.real, { includeTest: true }));
      expect(out).toStrictEqual(fromTrigger);
      expect(out.signature_verified).toBe(true);
    },
  );

  it('refuses a forged body as a trigger would', async () => {
    const body = JSON.stringify(demoSessionSample);
    const err = await errorOf(
      appTester(create.perform, {
        authData: noRelay,
        inputData: { provider: 'walnut', body, signature: signBody(body, 'guess') },
      } as any),
    );
    expect(err.name).toBe('HaltedError');
    expect(err.message).toContain('Walnut signature mismatch');
    expectNoSecret(err.message);
  });

  it('halts on a test delivery unless test events are included', async () => {
    const body = JSON.stringify(pendoSamples.guideDisplayed);
    const err = await errorOf(
      appTester(create.perform, { authData: noRelay, inputData: { provider: 'pendo', body, signature: signBody(body, SECRETS.pendo.current) } } as any),
    );
    expect(err.name).toBe('HaltedError');
    expect(err.message).toContain('test event skipped');
  });

  it('names the choices when the provider is unknown', async () => {
    const err = await errorOf(appTester(create.perform, { authData: noRelay, inputData: { provider: 'hubspot', body: '{}' } } as any));
    expect(err.message).toContain(`choose ${orList(PROVIDER_KEYS)}`);
  });

  it('says when the body is empty', async () => {
    const err = await errorOf(appTester(create.perform, { authData: {}, inputData: { provider: 'supademo', body: '' } } as any));
    expect(err.message).toContain('Supademo webhook has an empty body');
  });
});
