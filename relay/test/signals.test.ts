/**
 * The account signals end to end, on SQLite and PostgreSQL: vendors post signed demo activity
 * to a real relay over loopback HTTP, the relay indexes it by company, person, demo and viewing
 * time and delivers it to `demo.activity`, and each delivery goes through the trigger's perform
 * as Zapier would run it, which reads the company's activity back (GET /v1/activity, every
 * page) and verifies every event itself. Exactly-once under a cache that honours set-if-absent
 * is in signals-nx.test.ts.
 */
import App from '../../index.js';
import { orList, PROVIDERS } from '../../lib/providers/index.js';
import { signBody } from '../../lib/signature.js';
import { ACTIVITY_KEYS } from '../../test/vendors.js';
import { call, reportPgSkip, STORES } from './harness.js';
import { DAY, HOUR, SECRETS, signalWorld, type SignalWorld } from './signal-fixture.js';

reportPgSkip();

/** Every vendor whose events are demo activity, as the signals name them. */
const COUNTED_LABELS = ACTIVITY_KEYS.map((k) => PROVIDERS[k].label).join(', ');

const X = { id: 'demo-x', name: 'Enterprise Tour' };
const Y = { id: 'demo-y', name: 'Analytics Deep Dive' };
const Z = { id: 'demo-z', name: 'Security Overview' };

describe.each(STORES)('account signals through a relay on %s', (_name, dbUrl) => {
  let w: SignalWorld;
  beforeEach(async () => {
    w = await signalWorld(dbUrl());
  });
  afterEach(async () => {
    await w.close();
  });

  it.each(ACTIVITY_KEYS)('%s: its demo views count as activity: three people from one company make a committee, with its own vendor named', async (vendor) => {
    const { deliver } = await w.subscribe('account_buying_committee', { count_views_of: 'any_demo' });
    const first = await w.viewAt(vendor, 'ana@umbrella-corp.com');
    expect(await deliver(first)).toStrictEqual([]);
    w.clock += HOUR;
    const second = await w.viewAt(vendor, 'ben@umbrella-corp.com');
    expect(await deliver(second)).toStrictEqual([]);
    w.clock += HOUR;
    const third = await w.viewAt(vendor, 'cy@umbrella-corp.com');
    const [signal] = await deliver(third);
    expect(signal).toMatchObject({ company_domain: 'umbrella-corp.com', people_count: 3, provider: vendor, event_id: third, is_test: false });
    expect(signal.people_emails).toBe('ana@umbrella-corp.com, ben@umbrella-corp.com, cy@umbrella-corp.com');
    // The activity the relay indexed for the company: the three views, newest first.
    const activity = await call(w.relay.url, 'GET', '/v1/activity?domain=umbrella-corp.com', { key: w.authData.api_key });
    expect(activity.json.map((a: any) => [a.id, a.event.startsWith(`${vendor}.`)])).toStrictEqual([third, second, first].map((id) => [id, true]));
  });

  it('buying committee: fires once, at the third person; not at the fourth, not on a resent event', async () => {
    const { deliver } = await w.subscribe('account_buying_committee');
    expect(await deliver(await w.visit('dana@acme.co.uk'))).toStrictEqual([]);
    w.clock += DAY;
    expect(await deliver(await w.visit('sam@acme.co.uk'))).toStrictEqual([]);
    expect(await deliver(await w.visit('sam@acme.co.uk'))).toStrictEqual([]); // the same person again
    w.clock += DAY;
    const third = await w.visit('kim@acme.co.uk');
    const [signal] = await deliver(third);
    expect(signal).toMatchObject({
      company_domain: 'acme.co.uk',
      company_name: 'Acme', // Walnut sends no company name: read from the domain
      people_count: 3,
      people_emails: 'dana@acme.co.uk, sam@acme.co.uk, kim@acme.co.uk',
      sessions_count: 4,
      total_duration_seconds: 16,
      demos_viewed: 'My Awesome Demo',
      demo_name: 'My Awesome Demo',
      window_days: 14,
      counted_vendors: COUNTED_LABELS,
      provider: 'walnut',
      event: 'demo_session_finished',
      event_id: third,
      is_test: false,
    });
    expect(signal.people[1]).toMatchObject({ email: 'sam@acme.co.uk', sessions: 2, demos: 'My Awesome Demo' });
    expect(signal.summary_text).toBe('3 people from Acme viewed "My Awesome Demo" within 14 days: dana@acme.co.uk, sam@acme.co.uk, kim@acme.co.uk (My Awesome Demo).');
    // The same delivery again (at-least-once), and a fourth person: nothing.
    expect(await deliver(third)).toStrictEqual([]);
    w.clock += 1000;
    expect(await deliver(await w.visit('lee@acme.co.uk'))).toStrictEqual([]);
    // The sample promises exactly the keys a fired signal has (Zapier's T004/T006).
    expect(Object.keys(signal).sort()).toStrictEqual(Object.keys(w.op('account_buying_committee').sample).sort());
  });

  it('a run that failed (relay unreachable for a moment) is made good by the company’s next activity', async () => {
    const { deliver } = await w.subscribe('account_buying_committee');
    await deliver(await w.visit('ana@initech.com'));
    w.clock += HOUR;
    await deliver(await w.visit('ben@initech.com'));
    w.clock += HOUR;
    const third = await w.visit('cy@initech.com');
    // The run for the third person fails: its read of the company's activity cannot reach the relay.
    await expect(deliver(third, { authData: { ...w.authData, relay_url: 'http://127.0.0.1:9' } })).rejects.toThrow(/Could not reach the relay/);
    w.clock += DAY;
    // The next demo view of the company, by someone already counted: the committee fires now, where it formed.
    const [r] = await deliver(await w.visit('ana@initech.com'));
    expect(r).toMatchObject({ company_domain: 'initech.com', people_count: 3, people_emails: 'ana@initech.com, ben@initech.com, cy@initech.com', sessions_count: 3 });
    expect(r.id).toBe(`buying_committee:initech.com:7a8e73ec-93ef-4f35-aadf-33c2ada9b887:${new Date(w.clock - DAY).toISOString()}`); // the demo, and the moment it formed
    // …and only once.
    w.clock += HOUR;
    expect(await deliver(await w.visit('ben@initech.com'))).toStrictEqual([]);
  });

  it('fires again once the window has passed since it fired, not before', async () => {
    const { deliver } = await w.subscribe('account_buying_committee', { window_days: 14 });
    for (const p of ['a', 'b']) await deliver(await w.visit(`${p}@acme.io`));
    expect(await deliver(await w.visit('c@acme.io'))).toHaveLength(1);
    w.clock += 5 * DAY;
    expect(await deliver(await w.visit('d@acme.io'))).toStrictEqual([]); // still inside the window
    w.clock += 15 * DAY; // 20 days after it fired
    expect(await deliver(await w.visit('e@acme.io'))).toStrictEqual([]);
    expect(await deliver(await w.visit('f@acme.io'))).toStrictEqual([]);
    const [again] = await deliver(await w.visit('g@acme.io'));
    expect(again.people_emails).toBe('e@acme.io, f@acme.io, g@acme.io');
  });

  it('a late Walnut session counts where it happened: it completes a committee then, and two views 25 hours apart are not in one day', async () => {
    const { deliver } = await w.subscribe('account_buying_committee', { min_people: 2, window_days: 1 });
    // Dana's session happened at T but Walnut sent it two hours later; Sam's happened 25 hours after hers.
    const t = w.clock;
    w.clock = t + 2 * HOUR;
    expect(await deliver(await w.visit('dana@hooli.com', { happenedAt: t }))).toStrictEqual([]);
    w.clock = t + 25 * HOUR;
    expect(await deliver(await w.visit('sam@hooli.com', { happenedAt: t + 25 * HOUR }))).toStrictEqual([]);
    // Kim's session happened half an hour before Sam's, and arrives two hours after it ended: with Sam, a committee of two that day.
    w.clock = t + 27 * HOUR;
    const [r] = await deliver(await w.visit('kim@hooli.com', { happenedAt: t + 24.5 * HOUR }));
    expect(r).toMatchObject({ people_count: 2, people_emails: 'kim@hooli.com, sam@hooli.com', first_activity_at: new Date(t + 24.5 * HOUR).toISOString() });
  });

  it('same demo (the playbook’s committee) versus any demo', async () => {
    const same = await w.subscribe('account_buying_committee');
    const any = await w.subscribe('account_buying_committee', { count_views_of: 'any_demo' });
    for (const [email, demo] of [['a@pied.com', X], ['b@pied.com', Y]] as const) {
      const id = await w.visit(email, { demo });
      expect([await same.deliver(id), await any.deliver(id)]).toStrictEqual([[], []]);
    }
    const third = await w.visit('c@pied.com', { demo: Z });
    expect(await same.deliver(third)).toStrictEqual([]);
    expect((await any.deliver(third))[0]).toMatchObject({ people_count: 3, demo_id: null, demos_viewed: 'Analytics Deep Dive, Enterprise Tour, Security Overview' });
    // Two more people on demo X: three people on one demo.
    w.clock += HOUR;
    expect(await same.deliver(await w.visit('d@pied.com', { demo: X }))).toStrictEqual([]);
    const [r] = await same.deliver(await w.visit('e@pied.com', { demo: X }));
    expect(r).toMatchObject({ people_emails: 'a@pied.com, d@pied.com, e@pied.com', demo_id: X.id, demo_name: X.name });
    expect(r.summary_text).toContain('viewed "Enterprise Tour" within 14 days');
  });

  it('who counts: one person per address without +tag, never internal viewers, domain-only viewers by session, one Supademo view once', async () => {
    const { deliver } = await w.subscribe('account_buying_committee', { count_views_of: 'any_demo' });
    const none = [
      await w.visit('dana@globex.com'),
      await w.visit('Dana+walnut@globex.com'),
      await w.visit('rep@globex.com', { user: { type: 'internal' } }),
      await w.visit('rep2@globex.com', { user: { type: 'internal' } }),
    ];
    // The relay neither indexes nor delivers the internal viewers.
    await w.sink.until(() => w.sink.received.filter((r) => none.includes(r.headers['x-relay-event-id'] as string)).length >= 2);
    expect((await call(w.relay.url, 'GET', '/v1/activity?domain=globex.com', { key: w.authData.api_key })).json.map((e: any) => e.id).sort()).toStrictEqual([none[0], none[1]].sort());
    expect(await deliver(none[0])).toStrictEqual([]);
    expect(await deliver(none[1])).toStrictEqual([]); // still one person
    // A viewer Walnut knows only by the company's domain: a second person.
    expect(await deliver(await w.visit(null, { user: { domain: 'eu.globex.com' } }))).toStrictEqual([]);
    // One Supademo view, sent as viewed, lead and completed: the third person, one session.
    const view = { vendor: 'supademo' as const, viewerId: 'v-1', happenedAt: w.clock };
    await w.visit('lee@globex.com', { ...view, event: 'demo.viewed' });
    await w.visit('lee@globex.com', { ...view, event: 'lead.captured' });
    const [r] = await deliver(await w.visit('lee@globex.com', { ...view, event: 'demo.completed' }));
    expect(r).toMatchObject({ people_count: 3, sessions_count: 4, people_emails: 'dana@globex.com, lee@globex.com' });
    expect(r.people.map((p: any) => [p.email, p.sessions])).toStrictEqual([
      ['dana@globex.com', 2],
      ['lee@globex.com', 1],
      [null, 1],
    ]);
  });

  it('free-mail and disposable addresses never make a company; subdomains fold into one', async () => {
    const { deliver, subscribeData } = await w.subscribe('account_buying_committee');
    const ids: string[] = [];
    for (const e of ['one@gmail.com', 'two@gmail.com', 'three@gmail.com', 'x@mailinator.com', 'y@mailinator.com', 'z@mailinator.com']) ids.push(await w.visit(e));
    // Positive control: three people at one company, on three hosts of its domain, do fire.
    await deliver(await w.visit('ana@eu.acme.co.uk'));
    await deliver(await w.visit('ben@acme.co.uk'));
    const [r] = await deliver(await w.visit('cy@us.sales.acme.co.uk'));
    expect(r).toMatchObject({ company_domain: 'acme.co.uk', people_count: 3 });
    expect(w.sink.received.filter((x) => ids.includes(x.headers['x-relay-event-id'] as string))).toStrictEqual([]);
    expect((await call(w.relay.url, 'GET', '/v1/activity?domain=gmail.com', { key: w.authData.api_key })).json).toStrictEqual([]);
    // …and the trigger refuses them on its own too, should one reach it.
    const body = w.bodyOf('four@gmail.com');
    const bundle = { authData: w.authData, inputData: {}, subscribeData, rawRequest: { method: 'POST', querystring: '', headers: { 'Http-X-Walnut-Signature': signBody(body, SECRETS.walnut) }, content: body } };
    expect(await w.appTester(w.op('account_buying_committee').perform, bundle as any)).toStrictEqual([]);
  });

  it('Walnut and Supademo people count together, with the company name Supademo gave', async () => {
    const { deliver } = await w.subscribe('account_buying_committee', { count_views_of: 'any_demo' });
    await deliver(await w.visit('ana@initech.com'));
    await deliver(await w.visit('ben@initech.com'));
    const [r] = await deliver(await w.visit('cy@initech.com', { vendor: 'supademo', company: 'Initech' }));
    expect(r).toMatchObject({ company_domain: 'initech.com', company_name: 'Initech', people_count: 3, provider: 'supademo', event: 'lead.captured' });
    expect(r.demos_viewed).toBe('My Awesome Demo, Product Tour');
  });

  it('forged activity neither creates nor inflates a signal; a vendor without a secret on the connection is not counted', async () => {
    const { deliver } = await w.subscribe('account_buying_committee', { count_views_of: 'any_demo' });
    await deliver(await w.visit('ana@umbrella.com'));
    await deliver(await w.visit('ben@umbrella.com'));
    const forged = await w.visit('mallory@umbrella.com', { secret: 'guessed-key' });
    await expect(deliver(forged)).rejects.toThrow(/Walnut signature mismatch/);
    const [r] = await deliver(await w.visit('cy@umbrella.com'));
    expect(r.people_emails).toBe('ana@umbrella.com, ben@umbrella.com, cy@umbrella.com');

    // A connection with a Walnut key and no Supademo secret: two Walnut people, then a Supademo
    // lead signed with a made-up whsec_ secret. The relay stores and delivers it; nothing fires.
    const walnutOnly = { ...w.authData, ...Object.fromEntries(Object.values(PROVIDERS).filter((p) => p.key !== 'walnut').map((p) => [p.secretKeys[0], ''])) };
    const sub = await w.subscribe('account_buying_committee', { count_views_of: 'any_demo' }, walnutOnly);
    await sub.deliver(await w.visit('ana@wayne.com'));
    await sub.deliver(await w.visit('ben@wayne.com'));
    const lead = await w.visit('joker@wayne.com', { vendor: 'supademo', secret: 'whsec_made_up' });
    expect(await sub.deliver(lead)).toStrictEqual([]);
    expect(await sub.deliver(await w.visit('ben@wayne.com'))).toStrictEqual([]);
    // Positive control: a third Walnut person fires it, counting Walnut only.
    const [wr] = await sub.deliver(await w.visit('cy@wayne.com'));
    expect(wr).toMatchObject({ people_emails: 'ana@wayne.com, ben@wayne.com, cy@wayne.com', counted_vendors: 'Walnut' });

    // A connection that could count nothing is refused when the Zap is turned on, naming the fields.
    const noSecrets = { relay_url: w.authData.relay_url, api_key: w.authData.api_key, pendo_signing_secret: 'p' };
    const counted = ACTIVITY_KEYS.map((k) => PROVIDERS[k]);
    for (const key of ['account_buying_committee', 'account_reengaged']) {
      const err = await w.appTester(w.op(key).performSubscribe, { authData: noSecrets, inputData: {}, targetUrl: `${w.sink.url}/x` } as any).then(() => null, (e: Error) => e);
      expect(err?.message).toContain(`no ${orList(counted.map((p) => p.label))} signing secret`);
      for (const p of counted) expect(err?.message).toContain(`${p.label} ${p.secretLabel}`);
    }
  });

  it('2,000 sessions of one company in the window: the third person still fires', async () => {
    // Two people with a thousand sessions each, posted before the Zap is on.
    for (let i = 0; i < 2000; i += 25) {
      await Promise.all(Array.from({ length: 25 }, (_, k) => w.visit(`${(i + k) % 2 ? 'ana' : 'ben'}@massive.com`, { happenedAt: w.clock - (i + k) * 60_000 })));
    }
    const { deliver } = await w.subscribe('account_buying_committee');
    const [r] = await deliver(await w.visit('cy@massive.com'));
    expect(r).toMatchObject({ company_domain: 'massive.com', people_count: 3, sessions_count: 2001 });
  });

  it('test events count only with "Include Test Events", and the demo-name filter applies', async () => {
    const off = await w.subscribe('account_buying_committee');
    const on = await w.subscribe('account_buying_committee', { include_test_events: true, demo_name_contains: 'awesome' });
    for (const [i, email] of ['t1@hooli.com', 't2@hooli.com', 't3@hooli.com'].entries()) {
      const id = await w.visit(email, { test: true });
      expect(await off.deliver(id)).toStrictEqual([]);
      const fired = await on.deliver(id);
      if (i < 2) expect(fired).toStrictEqual([]);
      else expect(fired[0]).toMatchObject({ people_count: 3, is_test: true });
    }
    // Demos whose name does not contain the text do not count; the same three people fire an
    // unfiltered subscription (positive control).
    const only = await w.subscribe('account_buying_committee', { demo_name_contains: 'Enterprise' });
    for (const [i, email] of ['p@pied.com', 'q@pied.com', 'r@pied.com'].entries()) {
      const id = await w.visit(email);
      expect(await only.deliver(id)).toStrictEqual([]);
      const fired = await off.deliver(id);
      if (i < 2) expect(fired).toStrictEqual([]);
      else expect(fired[0]).toMatchObject({ company_domain: 'pied.com', people_count: 3 });
    }
  });

  it('re-engagement: fires after the quiet gap, once; not for a company seen for the first time, not while active; min_people waits', async () => {
    const { deliver } = await w.subscribe('account_reengaged', { quiet_days: 21 });
    const two = await w.subscribe('account_reengaged', { quiet_days: 21, min_people: 2 });
    expect(await deliver(await w.visit('ana@globex.com'))).toStrictEqual([]); // first time
    w.clock += 3 * DAY;
    expect(await deliver(await w.visit('ben@globex.com'))).toStrictEqual([]); // not quiet
    w.clock += 30 * DAY;
    const back = await w.visit('cy@globex.com');
    const [r] = await deliver(back);
    expect(r).toMatchObject({ company_domain: 'globex.com', people_count: 1, people_emails: 'cy@globex.com', quiet_days: 30, window_days: 21 });
    expect(r.previous_activity_at).toBe(new Date(w.clock - 30 * DAY).toISOString());
    expect(r.summary_text).toContain('Globex is back after 30 quiet days');
    expect(Object.keys(r).sort()).toStrictEqual(Object.keys(w.op('account_reengaged').sample).sort());
    expect(await two.deliver(back)).toStrictEqual([]); // one person back is not two
    w.clock += DAY;
    const dee = await w.visit('dee@globex.com');
    expect(await deliver(dee)).toStrictEqual([]); // the same return, already fired
    expect((await two.deliver(dee))[0]).toMatchObject({ people_emails: 'cy@globex.com, dee@globex.com', quiet_days: 30 });
  });

  it("'Test trigger' lists the companies for which the condition holds now, newest first, or []", async () => {
    await w.subscribe('account_buying_committee');
    const list = (key: string, inputData: Record<string, unknown> = {}) => w.appTester(w.op(key).performList, { authData: w.authData, inputData, meta: {} } as any) as Promise<any[]>;
    expect(await list('account_buying_committee')).toStrictEqual([]);
    for (const e of ['a@wonka.com', 'b@wonka.com', 'c@wonka.com']) await w.visit(e);
    w.clock += HOUR;
    for (const e of ['a@tyrell.com', 'b@tyrell.com', 'c@tyrell.com']) await w.visit(e);
    await w.visit('solo@acme.io'); // the latest event, of a company with no committee
    expect((await list('account_buying_committee')).map((r) => [r.company_domain, r.people_count])).toStrictEqual([
      ['tyrell.com', 3],
      ['wonka.com', 3],
    ]);
    expect(await list('account_buying_committee', { min_people: 4 })).toStrictEqual([]);
    expect(await list('account_reengaged')).toStrictEqual([]);
  });

  it('inputs out of range are refused with their range when the Zap is turned on, not clamped', async () => {
    const on = (key: string, inputData: Record<string, unknown>) => w.appTester(w.op(key).performSubscribe, { authData: w.authData, inputData, targetUrl: `${w.sink.url}/x` } as any);
    // Positive control: in range, it subscribes.
    expect(await on('account_buying_committee', { min_people: '2', window_days: '90' })).toMatchObject({ event: 'demo.activity' });
    await expect(on('account_buying_committee', { min_people: '1' })).rejects.toThrow(/Minimum People.{1,3} must be a whole number from 2 to 50 \(got .{1,3}1/);
    await expect(on('account_buying_committee', { window_days: '365' })).rejects.toThrow(/Within \(days\).{1,3} must be a whole number from 1 to 90 \(got .{1,3}365/);
    await expect(on('account_buying_committee', { min_people: '2.5' })).rejects.toThrow('from 2 to 50');
    await expect(on('account_reengaged', { quiet_days: '0' })).rejects.toThrow(/Quiet For \(days\).{1,3} must be a whole number from 1 to 365 \(got .{1,3}0/);
    await expect(on('account_reengaged', { min_people: 'many' })).rejects.toThrow(/Minimum People.{1,3} must be a whole number from 1 to 50/);
    expect((await call(w.relay.url, 'GET', '/v1/hooks', { key: w.authData.api_key })).json).toHaveLength(1);
  });

  it('Find Company Engagement: a company by domain or email, verified activity only, or []', async () => {
    const search = (inputData: Record<string, unknown>, auth = w.authData) => w.appTester((App.searches as any).company_engagement.operation.perform, { authData: auth, inputData } as any) as Promise<any[]>;
    await w.visit('ana@initech.com', { demo: X });
    w.clock += HOUR;
    await w.visit('ana+trial@initech.com', { demo: Y });
    await w.visit('ben@eu.initech.com', { vendor: 'supademo', company: 'Initech' });
    await w.visit('mallory@initech.com', { secret: 'guessed' }); // forged: not counted
    const [r] = await search({ domain_or_email: 'Someone@Initech.com' });
    expect(r).toMatchObject({ company_domain: 'initech.com', company_name: 'Initech', people_count: 2, sessions_count: 3, days: 30, counted_vendors: COUNTED_LABELS });
    expect(r.people.map((p: any) => [p.email, p.sessions, p.demos])).toStrictEqual([
      ['ana@initech.com', 2, 'Analytics Deep Dive, Enterprise Tour'],
      ['ben@eu.initech.com', 1, 'Product Tour'],
    ]);
    expect(r.summary_text).toContain('2 people from Initech viewed demos 3 times in the last 30 days');
    expect(await search({ domain_or_email: 'https://www.initech.com/' })).toHaveLength(1);
    expect(await search({ domain_or_email: 'initech.com', ignore_domains: 'initech.com' })).toStrictEqual([]);
    expect(await search({ domain_or_email: 'nobody.io' })).toStrictEqual([]);
    w.clock += 31 * DAY;
    expect(await search({ domain_or_email: 'initech.com' })).toStrictEqual([]);
    expect(await search({ domain_or_email: 'initech.com', days: '60' })).toHaveLength(1);
    await expect(search({ domain_or_email: 'joe@gmail.com' })).rejects.toThrow(/free-mail and disposable/);
    await expect(search({ domain_or_email: 'initech.com', days: '400' })).rejects.toThrow('from 1 to 365');
  });
});

describe.each(STORES)('the memory of a company on %s', (_name, dbUrl) => {
  it('re-engagement recognises a 40-day return with RELAY_RETENTION_DAYS=1: the company’s newest view outlives retention', async () => {
    const w = await signalWorld(dbUrl(), { retentionDays: 1 });
    try {
      const { deliver } = await w.subscribe('account_reengaged', { quiet_days: 21 });
      const older = await w.visit('ana@soylent.com');
      w.clock += HOUR;
      const newest = await w.visit('ben@soylent.com');
      await deliver(older);
      await deliver(newest);
      w.clock += 40 * DAY;
      // Retention purges the company's older view and keeps its newest (bytes and signature).
      expect(await w.relay.purge()).toBeGreaterThanOrEqual(1);
      const kept = (await call(w.relay.url, 'GET', '/v1/activity?domain=soylent.com', { key: w.authData.api_key })).json;
      expect(kept.map((e: any) => e.id)).toStrictEqual([newest]);
      const [r] = await deliver(await w.visit('cy@soylent.com'));
      expect(r).toMatchObject({ company_domain: 'soylent.com', quiet_days: 40, previous_activity_at: new Date(w.clock - 40 * DAY).toISOString() });
    } finally {
      await w.close();
    }
  });
});

describe.each(STORES)('the demo-activity index on %s', (_name, dbUrl) => {
  it('indexes company activity at ingest, serves it newest first by viewing time, pages with Link, and delivers it to demo.activity', async () => {
    const w = await signalWorld(dbUrl());
    try {
      const key = w.authData.api_key;
      const hook = await call(w.relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${w.sink.url}/signals`, event: 'demo.activity' } });
      expect(hook.status).toBe(201);
      const a = await w.visit('ana@eu.acme.co.uk', { happenedAt: w.clock - 2 * HOUR });
      const freeMail = await w.visit('joe@gmail.com');
      const b = await w.visit('Ben@ACME.co.uk', { happenedAt: w.clock - 3 * HOUR }); // arrived later, happened earlier
      const c = await w.visit('cy@acme.co.uk');
      await call('', 'POST', w.inbound.pendo, { body: '{"event":"visitorCreated","visitorId":"x@acme.co.uk","uniqueId":"u1"}' });
      const listed = (await call(w.relay.url, 'GET', '/v1/activity?domain=acme.co.uk', { key })).json;
      expect(listed.map((e: any) => e.id)).toStrictEqual([c, a, b]);
      expect(listed[1].occurred_at).toBe(new Date(w.clock - 2 * HOUR).toISOString());
      expect(Object.keys(listed[0]).sort()).toStrictEqual(['body', 'event', 'headers', 'id', 'occurred_at', 'received_at']);
      // Pages: two rows, then a Link to the rest; the last page has none.
      const first = await fetch(`${w.relay.url}/v1/activity?domain=acme.co.uk&limit=2`, { headers: { Authorization: `Bearer ${key}` } });
      expect(((await first.json()) as any[]).map((e: any) => e.id)).toStrictEqual([c, a]);
      const link = first.headers.get('link')!;
      expect(link).toBe(`</v1/activity?domain=acme.co.uk&limit=2&before=${a}>; rel="next"`);
      const second = await fetch(`${w.relay.url}${link.slice(1, link.indexOf('>'))}`, { headers: { Authorization: `Bearer ${key}` } });
      expect([((await second.json()) as any[]).map((e: any) => e.id), second.headers.get('link')]).toStrictEqual([[b], null]);
      await w.sink.until(() => w.sink.received.length >= 3);
      expect((await call(w.relay.url, 'GET', '/v1/deliveries?limit=100', { key })).json.map((d: any) => d.event_id).sort()).toStrictEqual([a, b, c].sort()); // not free-mail, not Pendo
      const since = new Date(w.clock - 150 * 60_000).toISOString();
      expect((await call(w.relay.url, 'GET', `/v1/activity?domain=acme.co.uk&since=${since}`, { key })).json.map((e: any) => e.id)).toStrictEqual([c, a]);
      expect((await call(w.relay.url, 'GET', '/v1/activity?domain=not a domain', { key })).status).toBe(400);
      expect((await call(w.relay.url, 'GET', '/v1/activity?domain=acme.co.uk&limit=1001', { key })).status).toBe(400);
      expect((await call(w.relay.url, 'GET', '/v1/activity?domain=acme.co.uk&before=evt_nope', { key })).json.error).toMatch(/before: no demo activity evt_nope of acme.co.uk/);
      // A replay reaches the demo.activity subscriptions with a company's view, not with a free-mail one.
      expect((await call(w.relay.url, 'POST', `/v1/events/${a}/replay`, { key })).json).toStrictEqual({ deliveries: 1 });
      expect((await call(w.relay.url, 'POST', `/v1/events/${freeMail}/replay`, { key })).json).toStrictEqual({ deliveries: 0 });
      const other = await w.relay.store.accounts.create('other');
      expect((await call(w.relay.url, 'GET', '/v1/activity?domain=acme.co.uk', { key: other.apiKey })).json).toStrictEqual([]);
    } finally {
      await w.close();
    }
  });
});
