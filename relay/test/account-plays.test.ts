/**
 * The account plays end to end, on SQLite and PostgreSQL: vendors post signed sessions to a
 * real relay, and New Quiet Account, Find Top Engaged Accounts and Get Demo Performance read
 * the relay's activity back (the companies by last session, the account's window) and verify
 * every event themselves. Time is the fixture's mocked clock, which the relay stamps with too.
 */
import App from '../../index.js';
import { demoSessionSample } from '../../lib/providers/walnut.js';
import { call, reportPgSkip, STORES } from './harness.js';
import { DAY, HOUR, signalWorld, type SignalWorld } from './signal-fixture.js';

reportPgSkip();

interface Session {
  at: number;
  demo?: { id: string; name: string };
  seconds?: number;
  screens?: number;
  fab?: number;
  section?: string | null;
  secret?: string;
  test?: boolean;
}

describe.each(STORES)('account plays through a relay on %s', (_name, dbUrl) => {
  let w: SignalWorld;
  let seq = 0;
  beforeEach(async () => {
    w = await signalWorld(dbUrl());
  });
  afterEach(async () => {
    await w.close();
  });

  /** A signed Walnut demo session by `email`, with the engagement given, posted now. */
  function session(email: string, s: Session): Promise<string> {
    seq += 1;
    const d = demoSessionSample.data;
    const body = JSON.stringify({
      ...demoSessionSample,
      timestamp: new Date(w.clock).toISOString(),
      ...(s.test ? { is_test: true } : {}),
      data: {
        ...d,
        session_id: `play-${seq}`,
        session_started: new Date(s.at).toISOString(),
        demo: { ...d.demo, ...(s.demo ?? {}) },
        demo_engagement: { ...d.demo_engagement, session_duration: s.seconds ?? 60, screen_completion_rate: s.screens ?? 50, guides_completion_rate: 0, fab_clicks: s.fab ?? 0, last_section_viewed: s.section ?? null },
        user: { ...d.user, email },
      },
    });
    return w.post(body, { secret: s.secret });
  }

  const searchOp = (key: string) => (App.searches as any)[key].operation;
  const run = async (key: string, inputData: Record<string, unknown>) => (await w.appTester(key === 'account_went_quiet' ? w.op(key).perform : searchOp(key).perform, { authData: w.authData, inputData } as any)) as any[];

  it('New Quiet Account: a company silent for the period once, with a stable id; an active one and a one-session one not; again after it comes back and goes quiet', async () => {
    const now = w.clock;
    await session('dana@acme.io', { at: now - 20 * DAY });
    await session('sam@acme.io', { at: now - 18 * DAY });
    await session('kim@globex.com', { at: now - 20 * DAY });
    await session('lee@globex.com', { at: now - 2 * DAY }); // active
    await session('ana@initech.com', { at: now - 19 * DAY }); // one session only
    // Walnut sends a session hours late: one that happened 25 days ago, arriving now, leaves Globex active.
    await session('max@globex.com', { at: now - 25 * DAY });
    const poll = () => run('account_went_quiet', { quiet_days: '14' });
    const first = await poll();
    expect(first.map((r) => [r.id, r.company_domain, r.days_quiet, r.sessions_count, r.people_count])).toStrictEqual([[`quiet:acme.io:${new Date(now - 18 * DAY).toISOString().slice(0, 10)}`, 'acme.io', 18, 2, 2]]);
    expect(first[0].last_session_at).toBe(new Date(now - 18 * DAY).toISOString());
    expect(Object.keys(first[0]).sort()).toStrictEqual(Object.keys(w.op('account_went_quiet').sample).sort());
    // The next poll gives the same silence under the same id (Zapier lets it through once).
    w.clock += HOUR;
    expect((await poll()).map((r) => r.id)).toStrictEqual([first[0].id]);
    // A session with one person at Initech is listed with a minimum of one.
    expect((await run('account_went_quiet', { quiet_days: '14', min_sessions_before: '1' })).map((r) => r.company_domain)).toStrictEqual(['acme.io', 'initech.com']);
    // Acme comes back: not quiet any more.
    await session('dana@acme.io', { at: w.clock });
    expect(await poll()).toStrictEqual([]);
    // Quiet again 15 days later: a new silence, a new id.
    await session('sam@acme.io', { at: w.clock + HOUR });
    w.clock += 15 * DAY;
    const again = await poll();
    // Globex's last session is now 17 days old too; Acme went quiet most recently, so it comes first.
    expect(again.map((r) => r.company_domain)).toStrictEqual(['acme.io', 'globex.com']);
    expect(again[0].id).not.toBe(first[0].id);
  });

  it('New Quiet Account: forged and test sessions never list a company or count towards it; key accounts and ignored companies', async () => {
    const now = w.clock;
    // Only forged sessions: indexed by the relay, never listed.
    await session('eve@umbrella-corp.com', { at: now - 20 * DAY, secret: 'a-guessed-key' });
    await session('mal@umbrella-corp.com', { at: now - 19 * DAY, secret: 'a-guessed-key' });
    // One real session and a forged one: below the minimum of two.
    await session('ana@hooli.com', { at: now - 20 * DAY });
    await session('bob@hooli.com', { at: now - 19 * DAY, secret: 'a-guessed-key' });
    // Test presses only.
    await session('t1@stark.io', { at: now - 20 * DAY, test: true });
    await session('t2@stark.io', { at: now - 19 * DAY, test: true });
    // Two real sessions each: listed (positive control), unless filtered.
    for (const c of ['pied.com', 'tyrell.com']) {
      await session(`a@${c}`, { at: now - 20 * DAY });
      await session(`b@${c}`, { at: now - 19 * DAY });
    }
    const companies = await call(w.relay.url, 'GET', `/v1/activity/companies?until=${new Date(now - 14 * DAY).toISOString()}`, { key: w.authData.api_key });
    expect(companies.json.map((c: any) => c.domain).sort()).toStrictEqual(['hooli.com', 'pied.com', 'tyrell.com', 'umbrella-corp.com']); // tests never move a company
    const listed = async (input: Record<string, unknown>) => (await run('account_went_quiet', { quiet_days: '14', ...input })).map((r) => r.company_domain).sort();
    expect(await listed({})).toStrictEqual(['pied.com', 'tyrell.com']);
    expect(await listed({ only_domains: 'pied.com, umbrella-corp.com' })).toStrictEqual(['pied.com']);
    expect(await listed({ ignore_domains: 'https://www.pied.com' })).toStrictEqual(['tyrell.com']);
  });

  it('Find Top Engaged Accounts: ranked by the account score (recent engagement beats older volume); forgeries never ranked; key accounts', async () => {
    const now = w.clock;
    // Globex: two strong sessions today. Acme: four middling ones six days ago. Initech: one weak one today.
    await session('kim@globex.com', { at: now - HOUR, seconds: 300, screens: 100, fab: 1 });
    await session('lee@globex.com', { at: now - 2 * HOUR, seconds: 240, screens: 90, fab: 1 });
    for (const [i, p] of ['a', 'b', 'c', 'd'].entries()) await session(`${p}@acme.io`, { at: now - (6 * DAY + i * HOUR), seconds: 60, screens: 50 });
    await session('ana@initech.com', { at: now - HOUR, seconds: 5, screens: 5 });
    // A forger floods Umbrella with perfect sessions.
    for (let i = 0; i < 5; i++) await session(`x${i}@umbrella-corp.com`, { at: now - HOUR, seconds: 300, screens: 100, fab: 3, secret: 'a-guessed-key' });
    const [digest] = await run('top_accounts', { days: '7' });
    // Globex: sessions of 10 and 9, an hour old: sum 18.9, shown 10 × (1 − 2^−1.89) = 7.3 → 8.
    // Acme: four sessions of 4 (1 + 4 × 0.5 + 3 × √0.2), six days old (× 0.55): sum 8.8 → 4.6 → 5.
    // Initech: one session of 2 (5 s, 5 %): 2 → 1.3 → 2.
    expect(digest.accounts.map((a: any) => [a.domain, a.engagement_score, a.people, a.sessions])).toStrictEqual([
      ['globex.com', 8, 2, 2],
      ['acme.io', 5, 4, 4],
      ['initech.com', 2, 1, 1],
    ]);
    expect(digest.accounts[0]).toMatchObject({ total_seconds: 540, top_demo: 'My Awesome Demo', last_session_at: new Date(now - HOUR).toISOString() });
    expect([digest.complete, digest.accounts_count]).toStrictEqual([true, 3]);
    expect(digest.slack_message).toContain('1. *globex.com* · engagement *8/10*');
    expect(digest.slack_message).not.toContain('umbrella');
    expect(Object.keys(digest).sort()).toStrictEqual(Object.keys(searchOp('top_accounts').sample).sort());
    const [limited] = await run('top_accounts', { days: '7', limit: '1', ignore_domains: 'globex.com' });
    expect(limited.accounts.map((a: any) => a.domain)).toStrictEqual(['acme.io']);
    const [keyOnly] = await run('top_accounts', { days: '7', only_domains: 'initech.com, umbrella-corp.com' });
    expect(keyOnly.accounts.map((a: any) => a.domain)).toStrictEqual(['initech.com']);
    // Nothing in the period: still one record, saying so.
    w.clock += 30 * DAY;
    const [empty] = await run('top_accounts', { days: '7' });
    expect([empty.accounts_count, empty.slack_message]).toStrictEqual([0, ':zzz: No account had a verified demo session in the last 7 days.']);
  });

  it('the signals count only key accounts when told, and carry the account engagement score, as Find Company Engagement does', async () => {
    const all = await w.subscribe('account_buying_committee', { count_views_of: 'any_demo' });
    const keyOnly = await w.subscribe('account_buying_committee', { count_views_of: 'any_demo', only_domains: 'acme.io' });
    for (const p of ['a', 'b']) await keyOnly.deliver(await w.visit(`${p}@globex.com`));
    const third = await w.visit('c@globex.com');
    expect((await all.deliver(third)).map((r) => r.company_domain)).toStrictEqual(['globex.com']); // positive control
    expect(await keyOnly.deliver(third)).toStrictEqual([]);
    for (const p of ['a', 'b']) await keyOnly.deliver(await w.visit(`${p}@acme.io`));
    const [signal] = await keyOnly.deliver(await w.visit('c@acme.io'));
    // Three documented sessions (score 2 each) at this moment: sum 6, shown 10 × (1 − 2^−0.6) = 3.4 → 4.
    expect([signal.company_domain, signal.engagement_score]).toStrictEqual(['acme.io', 4]);
    const [found] = await run('company_engagement', { domain_or_email: 'dana@acme.io' });
    expect([found.company_domain, found.sessions_count, found.engagement_score]).toStrictEqual(['acme.io', 3, 4]);
  });

  it('Get Demo Performance: sessions, people, companies, median time, completion, call-to-action rate and top exit per demo; forgeries never counted', async () => {
    const now = w.clock;
    const pricing = { id: 'demo-pricing', name: 'Pricing Tour' };
    const security = { id: 'demo-security', name: 'Security Overview' };
    await session('a@acme.io', { at: now - DAY, demo: pricing, seconds: 10, screens: 20, section: 'Plans' });
    await session('b@acme.io', { at: now - DAY, demo: pricing, seconds: 30, screens: 60, fab: 1, section: 'Checkout' });
    await session('c@globex.com', { at: now - DAY, demo: pricing, seconds: 300, screens: 100, section: 'Plans' });
    await session('d@globex.com', { at: now - DAY, demo: security, seconds: 90, screens: 40, section: 'SSO' });
    for (let i = 0; i < 4; i++) await session(`f${i}@umbrella-corp.com`, { at: now - DAY, demo: security, seconds: 999, secret: 'a-guessed-key' });
    const [review] = await run('demo_performance', { days: '30' });
    expect(review.demos).toStrictEqual([
      { provider: 'walnut', demo_id: 'demo-pricing', demo_name: 'Pricing Tour', sessions: 3, people: 3, companies: 2, median_seconds: 30, avg_completion_pct: 60, cta_click_rate: 33.3, top_exit: 'Plans' },
      { provider: 'walnut', demo_id: 'demo-security', demo_name: 'Security Overview', sessions: 1, people: 1, companies: 1, median_seconds: 90, avg_completion_pct: 40, cta_click_rate: 0, top_exit: 'SSO' },
    ]);
    expect(review.slack_message).toContain('1. *Pricing Tour* — 3 sessions, 3 people, median 30s, 60% completed, CTA 33.3%, most left at "Plans"');
    expect(Object.keys(review).sort()).toStrictEqual(Object.keys(searchOp('demo_performance').sample).sort());
    expect(Object.keys(review.demos[0]).sort()).toStrictEqual(Object.keys(searchOp('demo_performance').sample.demos[0]).sort());
    const [top1] = await run('demo_performance', { days: '30', limit: '1' });
    expect(top1.demos.map((d: any) => d.demo_id)).toStrictEqual(['demo-pricing']);
    // Key accounts only: Globex's sessions alone.
    const [globex] = await run('demo_performance', { days: '30', only_domains: 'globex.com' });
    expect(globex.demos.map((d: any) => [d.demo_id, d.sessions])).toStrictEqual([['demo-pricing', 1], ['demo-security', 1]]);
  });
});
