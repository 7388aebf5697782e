/**
 * A session's viewer history end to end, on SQLite and PostgreSQL: vendors post signed demo
 * sessions to a real relay, the relay delivers each to "New Demo Session", and the trigger's
 * perform reads the viewer's and the company's activity back (GET /v1/activity, by person and
 * by company) and verifies every event itself: a repeat visit is counted, a forgery or a test
 * session never is, and an unreachable relay costs the history, never the session.
 */
import { call, reportPgSkip, STORES } from './harness.js';
import { DAY, HOUR, signalWorld, type SignalWorld } from './signal-fixture.js';

reportPgSkip();

const HISTORY = ['viewer_session_count', 'viewer_first_seen_at', 'is_first_session', 'company_session_count_30d', 'company_people_count_30d'] as const;
const historyOf = (r: Record<string, unknown>) => Object.fromEntries(HISTORY.map((k) => [k, r[k]]));
const iso = (ms: number) => new Date(ms).toISOString();

describe.each(STORES)('viewer history through a relay on %s', (_name, dbUrl) => {
  let w: SignalWorld;
  beforeEach(async () => {
    w = await signalWorld(dbUrl());
  });
  afterEach(async () => {
    await w.close();
  });

  it('a first visit, a repeat by the same mailbox, and a colleague: counted per person and per company', async () => {
    const { deliver } = await w.subscribe('demo_session');
    const t0 = w.clock;
    const [first] = await deliver(await w.visit('dana@acme.io'));
    expect(historyOf(first)).toStrictEqual({ viewer_session_count: 1, viewer_first_seen_at: iso(t0), is_first_session: true, company_session_count_30d: 1, company_people_count_30d: 1 });
    w.clock += 2 * DAY;
    const [repeat] = await deliver(await w.visit('Dana+webinar@acme.io'));
    expect(historyOf(repeat)).toStrictEqual({ viewer_session_count: 2, viewer_first_seen_at: iso(t0), is_first_session: false, company_session_count_30d: 2, company_people_count_30d: 1 });
    w.clock += HOUR;
    const [colleague] = await deliver(await w.visit('sam@acme.io', { vendor: 'supademo' }));
    expect(historyOf(colleague)).toStrictEqual({ viewer_session_count: 1, viewer_first_seen_at: iso(w.clock), is_first_session: true, company_session_count_30d: 3, company_people_count_30d: 2 });
    // The relay's read by person gives that mailbox's sessions only (the company has three).
    const mine = await call(w.relay.url, 'GET', '/v1/activity?domain=acme.io&person=dana@acme.io', { key: w.authData.api_key });
    const all = await call(w.relay.url, 'GET', '/v1/activity?domain=acme.io', { key: w.authData.api_key });
    expect([mine.json.length, all.json.length]).toStrictEqual([2, 3]);
    // A person is read within their company: without one, the request is refused, naming the field.
    const bad = await call(w.relay.url, 'GET', '/v1/activity?person=dana@acme.io', { key: w.authData.api_key });
    expect([bad.status, bad.json.error]).toStrictEqual([400, expect.stringContaining('person needs domain')]);
    // Another company's viewer is not this company's.
    const [other] = await deliver(await w.visit('dana@globex.com'));
    expect(historyOf(other)).toMatchObject({ viewer_session_count: 1, company_session_count_30d: 1 });
  });

  it('a forged session is indexed by the relay but never counted; a test session neither, unless the Zap includes tests', async () => {
    const { deliver } = await w.subscribe('demo_session');
    const real = await w.visit('kim@initech.com');
    expect(historyOf((await deliver(real))[0])).toMatchObject({ viewer_session_count: 1 });
    w.clock += HOUR;
    const forged = await w.visit('kim@initech.com', { secret: 'a-guessed-key' });
    await expect(deliver(forged)).rejects.toThrow(/signature/i); // the forgery itself halts
    const test = await w.visit('kim@initech.com', { test: true });
    w.clock += HOUR;
    const next = await w.visit('kim@initech.com');
    const [r] = await deliver(next);
    // The relay holds all four (the forgery and the test among them) …
    const stored = await call(w.relay.url, 'GET', '/v1/activity?domain=initech.com&person=kim@initech.com', { key: w.authData.api_key });
    expect(stored.json.map((e: any) => e.id).sort()).toStrictEqual([real, forged, test, next].sort());
    // … and the history counts the two real sessions only.
    expect(historyOf(r)).toMatchObject({ viewer_session_count: 2, is_first_session: false, company_session_count_30d: 2 });
    // With tests included, the test session counts too (positive control of the filter).
    const [t] = await deliver(next, { inputData: { include_test_events: true }, subscribeData: { id: 'hook_with_tests' } });
    expect(t.viewer_session_count).toBe(3);
  });

  it('counts up to this session: a late session that happened first is the first, and the company window is 30 days', async () => {
    const { deliver } = await w.subscribe('demo_session');
    const start = w.clock;
    await deliver(await w.visit('lee@hooli.com', { happenedAt: start - 40 * DAY }));
    const [now] = await deliver(await w.visit('lee@hooli.com'));
    expect(historyOf(now)).toStrictEqual({ viewer_session_count: 2, viewer_first_seen_at: iso(start - 40 * DAY), is_first_session: false, company_session_count_30d: 1, company_people_count_30d: 1 });
    // Walnut sends a session hours after it happened: one that happened before everything above is this person's first.
    const [late] = await deliver(await w.visit('lee@hooli.com', { happenedAt: start - 50 * DAY }));
    expect(historyOf(late)).toMatchObject({ viewer_session_count: 1, is_first_session: true, viewer_first_seen_at: iso(start - 50 * DAY) });
  });

  it('a vendor trigger adds the same history; turned off, or with the relay unreachable, the session still goes out with it empty', async () => {
    const { deliver, bundleFor } = await w.subscribe('demo_session');
    await deliver(await w.visit('ana@umbrella-corp.com'));
    w.clock += HOUR;
    const id = await w.visit('ana@umbrella-corp.com');
    const bundle = await bundleFor(id);
    const [own] = (await w.appTester(w.op('walnut_demo_session_finished').perform, { ...bundle, subscribeData: { id: 'hook_walnut' } } as any)) as any[];
    expect(historyOf(own)).toMatchObject({ viewer_session_count: 2, is_first_session: false });
    const empty = Object.fromEntries(HISTORY.map((k) => [k, null]));
    const [off] = (await w.appTester(w.op('walnut_demo_session_finished').perform, { ...bundle, subscribeData: { id: 'hook_off' }, inputData: { add_viewer_history: 'false' } } as any)) as any[];
    expect([off.session_id, historyOf(off)]).toStrictEqual([own.session_id, empty]);
    const unreachable = { ...bundle, subscribeData: { id: 'hook_down' }, authData: { ...bundle.authData, relay_url: 'http://127.0.0.1:9' } };
    const [down] = (await w.appTester(w.op('demo_session').perform, unreachable as any)) as any[];
    expect([down.session_id, down.signature_verified, historyOf(down)]).toStrictEqual([own.session_id, true, empty]);
  });

  it('"Test trigger" lists every vendor’s sessions, newest first, with the history on the first three', async () => {
    for (const [i, email] of ['a@stark.io', 'b@stark.io', 'c@stark.io', 'd@stark.io'].entries()) {
      await w.visit(email, i % 2 ? { vendor: 'supademo' } : {});
      w.clock += HOUR;
    }
    const list = (await w.appTester(w.op('demo_session').performList, { authData: w.authData, inputData: {}, meta: {} } as any)) as any[];
    expect(list.map((r) => [r.provider, r.viewer_email])).toStrictEqual([
      ['supademo', 'd@stark.io'],
      ['walnut', 'c@stark.io'],
      ['supademo', 'b@stark.io'],
      ['walnut', 'a@stark.io'],
    ]);
    expect(list.map((r) => r.company_session_count_30d)).toStrictEqual([4, 3, 2, null]);
  });
});
