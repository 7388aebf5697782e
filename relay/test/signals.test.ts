/**
 * The account signals end to end, on SQLite and PostgreSQL: vendors post signed demo activity
 * to a real relay, the relay indexes it by company and delivers it to `demo.activity`, and each
 * delivery goes through the trigger's perform as Zapier would run it, which reads the company's
 * activity back from the relay (GET /v1/activity) and verifies every event itself.
 * Time is moved with a mocked Date.now (the relay stamps arrivals with it too).
 */
import zapier from 'zapier-platform-core';
import App from '../../index.js';
import { leadCapturedSample } from '../../lib/providers/supademo.js';
import { demoSessionSample } from '../../lib/providers/walnut.js';
import { asZapierHookHeaders, signBody } from '../../lib/signature.js';
import { call, reportPgSkip, startSink, startTestRelay, STORES } from './harness.js';

reportPgSkip();

const DAY = 86_400_000;
const SECRETS = { walnut: 'walnut-signal-key', supademo: 'whsec_signal_secret' };

describe.each(STORES)('account signals through a relay on %s', (_name, dbUrl) => {
  let relay: Awaited<ReturnType<typeof startTestRelay>>;
  let sink: Awaited<ReturnType<typeof startSink>>;
  let authData: Record<string, string>;
  let inbound: Record<string, string>;
  let appTester: ReturnType<typeof zapier.createAppTester>;
  let clock: number;
  let seq = 0;

  beforeEach(async () => {
    clock = Date.parse('2026-11-01T10:00:00Z');
    jest.spyOn(Date, 'now').mockImplementation(() => clock);
    relay = await startTestRelay(dbUrl());
    sink = await startSink();
    const { apiKey } = await relay.store.createAccount('signals');
    authData = { relay_url: relay.url, api_key: apiKey, walnut_signing_key: SECRETS.walnut, supademo_signing_secret: SECRETS.supademo };
    inbound = (await call(relay.url, 'GET', '/v1/me', { key: apiKey })).json.inbound;
    appTester = zapier.createAppTester(App); // a fresh z.cache per test
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await relay.close();
    await sink.close();
  });

  const op = (key: string) => (App.triggers as any)[key].operation;

  async function subscribe(trigger: string, inputData: Record<string, unknown> = {}) {
    const targetUrl = `${sink.url}/hooks/${trigger}`;
    const subscribeData: any = await appTester(op(trigger).performSubscribe, { authData, inputData, targetUrl } as any);
    expect(subscribeData.event).toBe('demo.activity');
    /** Runs the trigger's perform on the relay's delivery of `eventId`, as Zapier would. */
    const deliver = async (eventId: string) => {
      await sink.until(() => sink.received.some((r) => r.headers['x-relay-event-id'] === eventId && r.path === `/hooks/${trigger}`));
      const d = sink.received.find((r) => r.headers['x-relay-event-id'] === eventId && r.path === `/hooks/${trigger}`)!;
      const bundle = { authData, inputData, subscribeData, targetUrl, rawRequest: { method: 'POST', querystring: '', headers: asZapierHookHeaders(d.headers), content: d.body } };
      return (await appTester(op(trigger).perform, bundle as any)) as any[];
    };
    return { subscribeData, deliver };
  }

  /** A Walnut demo session by `email` (or a Supademo lead), signed, posted to the relay at the current clock. */
  async function visit(email: string, opts: { vendor?: 'walnut' | 'supademo'; secret?: string; demo?: string; test?: boolean; company?: string } = {}) {
    seq += 1;
    let body: string;
    if (opts.vendor === 'supademo') {
      body = JSON.stringify({ ...leadCapturedSample, viewerId: `viewer-${seq}`, entityViewedAt: new Date(clock).toISOString(), viewer: { ...(leadCapturedSample as any).viewer, email, company: opts.company ?? (leadCapturedSample as any).viewer.company } });
    } else {
      const d = demoSessionSample.data;
      body = JSON.stringify({ ...demoSessionSample, timestamp: new Date(clock).toISOString(), ...(opts.test ? { is_test: true } : {}), data: { ...d, session_id: `s-${seq}`, demo: { ...d.demo, name: opts.demo ?? d.demo.name }, user: { ...d.user, email } } });
    }
    const vendor = opts.vendor ?? 'walnut';
    const header = vendor === 'walnut' ? 'X-Walnut-Signature' : 'x-supademo-signature';
    const r = await call('', 'POST', inbound[vendor], { body, headers: { [header]: signBody(body, opts.secret ?? SECRETS[vendor]) } });
    expect(r.status).toBe(200);
    return r.json.id as string;
  }

  it('buying committee: fires once, at the third person; not at the fourth, not on a resent event', async () => {
    const { deliver } = await subscribe('account_buying_committee');
    expect(await deliver(await visit('dana@acme.co.uk'))).toStrictEqual([]);
    clock += DAY;
    expect(await deliver(await visit('sam@acme.co.uk'))).toStrictEqual([]);
    expect(await deliver(await visit('sam@acme.co.uk'))).toStrictEqual([]); // the same person again
    clock += DAY;
    const third = await visit('kim@acme.co.uk');
    const [signal] = await deliver(third);
    expect(signal).toMatchObject({
      company_domain: 'acme.co.uk',
      company_name: 'acme.co.uk',
      people_count: 3,
      people_emails: 'dana@acme.co.uk, sam@acme.co.uk, kim@acme.co.uk',
      sessions_count: 4,
      total_duration_seconds: 16,
      demos_viewed: 'My Awesome Demo',
      window_days: 14,
      unverified_sessions: 0,
      provider: 'walnut',
      event: 'demo_session_finished',
      is_test: false,
    });
    expect(signal.people[1]).toMatchObject({ email: 'sam@acme.co.uk', sessions: 2, demos: 'My Awesome Demo' });
    expect(signal.summary_text).toBe('3 people from acme.co.uk viewed demos in the last 14 days: dana@acme.co.uk, sam@acme.co.uk, kim@acme.co.uk (My Awesome Demo).');
    // The same delivery again (at-least-once), a fourth person, and a resent copy of the third's event: nothing.
    expect(await deliver(third)).toStrictEqual([]);
    clock += 1000;
    expect(await deliver(await visit('lee@acme.co.uk'))).toStrictEqual([]);
    // The sample promises exactly the keys a fired signal has (Zapier's T004/T006).
    expect(Object.keys(signal).sort()).toStrictEqual(Object.keys(op('account_buying_committee').sample).sort());
  });

  it('buying committee: two deliveries of one company processed at the same moment fire once', async () => {
    const { deliver } = await subscribe('account_buying_committee');
    await deliver(await visit('a@acme.io'));
    await deliver(await visit('b@acme.io'));
    const c = await visit('c@acme.io');
    const d = await visit('d@acme.io');
    const [rc, rd] = await Promise.all([deliver(c), deliver(d)]);
    expect([...rc, ...rd].map((r) => r.people_count)).toStrictEqual([3]);
  });

  it('buying committee: fires again once the window has passed since it fired', async () => {
    const { deliver } = await subscribe('account_buying_committee', { window_days: 14 });
    for (const p of ['a', 'b']) await deliver(await visit(`${p}@acme.io`));
    expect(await deliver(await visit('c@acme.io'))).toHaveLength(1);
    clock += 5 * DAY;
    expect(await deliver(await visit('d@acme.io'))).toStrictEqual([]); // still inside the window
    clock += 15 * DAY; // 20 days after it fired; a, b, c and d are out of the window
    expect(await deliver(await visit('e@acme.io'))).toStrictEqual([]);
    expect(await deliver(await visit('f@acme.io'))).toStrictEqual([]);
    const [again] = await deliver(await visit('g@acme.io'));
    expect(again.people_emails).toBe('e@acme.io, f@acme.io, g@acme.io');
  });

  it('buying committee: free-mail and disposable addresses never make a company; subdomains fold into one', async () => {
    const { deliver, subscribeData } = await subscribe('account_buying_committee');
    const ids: string[] = [];
    for (const e of ['one@gmail.com', 'two@gmail.com', 'three@gmail.com', 'x@mailinator.com', 'y@mailinator.com', 'z@mailinator.com']) ids.push(await visit(e));
    // Positive control: three people at one company, on three hosts of its domain, do fire.
    await deliver(await visit('ana@eu.acme.co.uk'));
    await deliver(await visit('ben@acme.co.uk'));
    const [r] = await deliver(await visit('cy@us.sales.acme.co.uk'));
    expect(r).toMatchObject({ company_domain: 'acme.co.uk', people_count: 3 });
    // The relay neither indexed nor delivered the free-mail and disposable ones…
    expect(sink.received.filter((x) => ids.includes(x.headers['x-relay-event-id'] as string))).toStrictEqual([]);
    expect((await call(relay.url, 'GET', '/v1/activity?domain=gmail.com', { key: authData.api_key })).json).toStrictEqual([]);
    // …and the trigger refuses them on its own too, should one reach it.
    for (const email of ['four@gmail.com', 'w@mailinator.com']) {
      const body = JSON.stringify({ ...demoSessionSample, data: { ...demoSessionSample.data, session_id: email, user: { email } } });
      const bundle = { authData, inputData: {}, subscribeData, rawRequest: { method: 'POST', querystring: '', headers: { 'Http-X-Walnut-Signature': signBody(body, SECRETS.walnut) }, content: body } };
      expect([email, await appTester(op('account_buying_committee').perform, bundle as any)]).toStrictEqual([email, []]);
    }
  });

  it('buying committee: Walnut and Supademo people count together, with the company name Supademo gave', async () => {
    const { deliver } = await subscribe('account_buying_committee');
    await deliver(await visit('ana@initech.com'));
    await deliver(await visit('ben@initech.com'));
    const [r] = await deliver(await visit('cy@initech.com', { vendor: 'supademo', company: 'Initech' }));
    expect(r).toMatchObject({ company_domain: 'initech.com', company_name: 'Initech', people_count: 3, provider: 'supademo', event: 'lead.captured' });
    expect(r.demos_viewed).toBe('My Awesome Demo, Product Tour');
  });

  it('buying committee: forged activity posted through the relay neither creates nor inflates a signal', async () => {
    const { deliver } = await subscribe('account_buying_committee');
    await deliver(await visit('ana@umbrella.com'));
    await deliver(await visit('ben@umbrella.com'));
    // A forged third person: the relay stores and delivers it; the trigger refuses it.
    const forged = await visit('mallory@umbrella.com', { secret: 'guessed-key' });
    await expect(deliver(forged)).rejects.toThrow(/Walnut signature mismatch/);
    expect((await call(relay.url, 'GET', '/v1/activity?domain=umbrella.com', { key: authData.api_key })).json).toHaveLength(3);
    // The next genuine person is the third one that counts: the signal fires now, without mallory.
    const [r] = await deliver(await visit('cy@umbrella.com'));
    expect(r.people_emails).toBe('ana@umbrella.com, ben@umbrella.com, cy@umbrella.com');
  });

  it('buying committee: test events count only with "Include Test Events", and the demo-name filter applies', async () => {
    const off = await subscribe('account_buying_committee');
    const on = await subscribe('account_buying_committee', { include_test_events: true, demo_name_contains: 'awesome' });
    const ids = [await visit('t1@hooli.com', { test: true }), await visit('t2@hooli.com', { test: true }), await visit('t3@hooli.com', { test: true })];
    for (const id of ids) expect(await off.deliver(id)).toStrictEqual([]);
    expect(await on.deliver(ids[0])).toStrictEqual([]);
    expect(await on.deliver(ids[1])).toStrictEqual([]);
    expect((await on.deliver(ids[2]))[0]).toMatchObject({ people_count: 3, is_test: true });
    // Demos whose name does not contain the text do not count; the same three people fire an
    // unfiltered subscription (positive control).
    const only = await subscribe('account_buying_committee', { demo_name_contains: 'Enterprise' });
    const pied = [await visit('p@pied.com'), await visit('q@pied.com'), await visit('r@pied.com')];
    for (const id of pied) expect(await only.deliver(id)).toStrictEqual([]);
    expect(await off.deliver(pied[0])).toStrictEqual([]);
    expect(await off.deliver(pied[1])).toStrictEqual([]);
    expect((await off.deliver(pied[2]))[0]).toMatchObject({ company_domain: 'pied.com', people_count: 3 });
  });

  it('re-engagement: fires after the quiet gap, not for a company seen for the first time, not while active', async () => {
    const { deliver } = await subscribe('account_reengaged', { quiet_days: 21 });
    expect(await deliver(await visit('ana@globex.com'))).toStrictEqual([]); // first time
    clock += 3 * DAY;
    expect(await deliver(await visit('ben@globex.com'))).toStrictEqual([]); // not quiet
    clock += 30 * DAY;
    const [r] = await deliver(await visit('cy@globex.com'));
    expect(r).toMatchObject({ company_domain: 'globex.com', people_count: 1, people_emails: 'cy@globex.com', quiet_days: 30, window_days: 21 });
    expect(r.previous_activity_at).toBe(new Date(clock - 30 * DAY).toISOString().replace(/\.\d{3}Z$/, '.000Z'));
    expect(r.summary_text).toContain('globex.com is back after 30 quiet days');
    clock += DAY;
    expect(await deliver(await visit('dee@globex.com'))).toStrictEqual([]); // active again, not quiet
    expect(Object.keys(r).sort()).toStrictEqual(Object.keys(op('account_reengaged').sample).sort());
  });

  it("'Test trigger' shows the signal as it stands for a company with recent activity", async () => {
    await subscribe('account_buying_committee');
    for (const e of ['a@wonka.com', 'b@wonka.com', 'c@wonka.com']) await visit(e);
    const listed: any[] = (await appTester(op('account_buying_committee').performList, { authData, inputData: {}, meta: {} } as any)) as any[];
    expect(listed.map((r) => [r.company_domain, r.people_count])).toStrictEqual([['wonka.com', 3]]);
    const none: any[] = (await appTester(op('account_reengaged').performList, { authData, inputData: {}, meta: {} } as any)) as any[];
    expect(none).toStrictEqual([]);
  });
});

describe.each(STORES)('the demo-activity index on %s', (_name, dbUrl) => {
  it('indexes company activity at ingest, serves it by domain oldest first, and delivers it to demo.activity', async () => {
    const relay = await startTestRelay(dbUrl());
    const sink = await startSink();
    try {
      const { apiKey } = await relay.store.createAccount('index');
      const me = (await call(relay.url, 'GET', '/v1/me', { key: apiKey })).json;
      const hook = await call(relay.url, 'POST', '/v1/hooks', { key: apiKey, body: { target_url: `${sink.url}/signals`, event: 'demo.activity' } });
      expect(hook.status).toBe(201);
      const post = async (email: string) => {
        const body = JSON.stringify({ ...demoSessionSample, data: { ...demoSessionSample.data, session_id: email, user: { email } } });
        return (await call('', 'POST', me.inbound.walnut, { body })).json.id as string;
      };
      const a = await post('ana@eu.acme.co.uk');
      await post('joe@gmail.com');
      const b = await post('Ben@ACME.co.uk');
      await call('', 'POST', me.inbound.pendo, { body: '{"event":"visitorCreated","visitorId":"x@acme.co.uk","uniqueId":"u1"}' });
      const listed = (await call(relay.url, 'GET', '/v1/activity?domain=acme.co.uk', { key: apiKey })).json;
      expect(listed.map((e: any) => e.id)).toStrictEqual([a, b]);
      expect(Object.keys(listed[0]).sort()).toStrictEqual(['body', 'event', 'headers', 'id', 'received_at']);
      await sink.until(() => sink.received.length >= 2);
      await new Promise((r) => setTimeout(r, 200));
      expect(sink.received.map((r) => r.headers['x-relay-event-id']).sort()).toStrictEqual([a, b].sort()); // not free-mail, not Pendo
      const since = new Date(Date.now() + 60_000).toISOString();
      expect((await call(relay.url, 'GET', `/v1/activity?domain=acme.co.uk&since=${since}`, { key: apiKey })).json).toStrictEqual([]);
      expect((await call(relay.url, 'GET', '/v1/activity?domain=not a domain', { key: apiKey })).status).toBe(400);
      expect((await call(relay.url, 'GET', '/v1/activity?domain=acme.co.uk&limit=1001', { key: apiKey })).status).toBe(400);
      const other = await relay.store.createAccount('other');
      expect((await call(relay.url, 'GET', '/v1/activity?domain=acme.co.uk', { key: other.apiKey })).json).toStrictEqual([]);
    } finally {
      await relay.close();
      await sink.close();
    }
  });
});
