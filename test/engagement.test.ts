/**
 * The playbook on every session record: the engagement score (bounds, monotonicity, each
 * vendor's inputs), playlist lead scoring, when the viewing happened versus when it was sent,
 * key accounts and asset tags, the Pendo guide and visitor fields from the vendor's own
 * examples, and New Demo Session for every vendor. The viewer history through a real relay is
 * in relay/test/session-history.test.ts.
 */
import fc from 'fast-check';
import nock from 'nock';
import { engagementScore, matchAssets, readAssetRules, type EngagementInputs } from '../lib/engagement.js';
import { demoSessionSample, playlistSessionSample } from '../lib/providers/walnut.js';
import { demoCompletedSample, demoViewedSample, leadCapturedSample, showcaseViewedSample } from '../lib/providers/supademo.js';
import pendoSamples from '../lib/providers/pendo-samples.json';
import { API_KEY, appTester, authData, clone, errorOf, hookBundle, networkOff, perform, RELAY, TARGET, triggerOp } from './helpers.js';

networkOff();

const NONE: EngagementInputs = { completionPct: null, seconds: null, ctaClicks: null };
const input = (over: Partial<EngagementInputs>): EngagementInputs => ({ ...NONE, ...over });
/** A vendor's value of one input: absent, or any number it might send (negative and past 100 included). */
const maybe = (max: number) => fc.option(fc.double({ min: -10, max, noNaN: true }), { nil: null });
const inputs = fc.record({ completionPct: maybe(150), seconds: maybe(5000), ctaClicks: maybe(20) });

describe('the engagement score', () => {
  it('is empty only when the vendor sends none of its inputs, and otherwise a whole number from 1 to 10', () => {
    expect(engagementScore(NONE)).toBeNull();
    expect(engagementScore(input({ seconds: 0 }))).toBe(1);
    fc.assert(
      fc.property(inputs, (i) => {
        const s = engagementScore(i);
        if (i.completionPct === null && i.seconds === null && i.ctaClicks === null) return s === null;
        return Number.isInteger(s) && s! >= 1 && s! <= 10;
      }),
    );
  });

  it('reaches both ends: 1 for an opened demo, 10 for a whole demo, five minutes and a click', () => {
    expect(engagementScore({ completionPct: 0, seconds: 0, ctaClicks: 0 })).toBe(1);
    expect(engagementScore({ completionPct: 100, seconds: 300, ctaClicks: 1 })).toBe(10);
    expect(engagementScore({ completionPct: 100, seconds: 3600, ctaClicks: 7 })).toBe(10);
  });

  it('is never lower when any input grows (or appears)', () => {
    const grow = fc.double({ min: 0, max: 500, noNaN: true });
    fc.assert(
      fc.property(inputs, fc.constantFrom<keyof EngagementInputs>('completionPct', 'seconds', 'ctaClicks'), grow, (i, key, by) => {
        const before = engagementScore(i) ?? 0;
        const grown = { ...i, [key]: (i[key] ?? 0) + by };
        return (engagementScore(grown) ?? 0) >= before;
      }),
      { numRuns: 2000 },
    );
  });

  it('scores the documented sessions by the documented formula', () => {
    // 1 + 4 × 0.15 + 3 × √(4 / 300) = 1.95 → 2
    expect(engagementScore({ completionPct: 15, seconds: 4, ctaClicks: 0 })).toBe(2);
    // A whole playlist, 310 s, no call-to-action: 1 + 4 + 3 = 8
    expect(engagementScore({ completionPct: 100, seconds: 310, ctaClicks: null })).toBe(8);
    // Each input on its own weight: completion 4, time 3 (45 s: √0.15 ≈ 0.39), a click 2.
    expect(engagementScore(input({ completionPct: 50 }))).toBe(3);
    expect(engagementScore(input({ seconds: 45 }))).toBe(2);
    expect(engagementScore(input({ ctaClicks: 1 }))).toBe(3);
  });

  it('is on every demo-session record of each vendor, from that vendor’s inputs', async () => {
    const score = async (trigger: string, vendor: 'walnut' | 'supademo', payload: unknown) => (await perform(trigger, hookBundle(vendor, payload, { includeTest: true })))[0].engagement_score;
    expect(await score('walnut_demo_session_finished', 'walnut', demoSessionSample)).toBe(2);
    const clicked = clone(demoSessionSample) as any;
    clicked.data.demo_engagement = { ...clicked.data.demo_engagement, fab_clicks: 1, screen_completion_rate: 80, session_duration: 200 };
    // 1 + 4 × 0.8 + 3 × √(200/300) + 2 = 8.65 → 9
    expect(await score('walnut_demo_session_finished', 'walnut', clicked)).toBe(9);
    expect(await score('walnut_playlist_session_finished', 'walnut', playlistSessionSample)).toBe(8);
    expect(await score('supademo_demo_completed', 'supademo', demoCompletedSample)).toBe(5);
    expect(await score('supademo_lead_captured', 'supademo', leadCapturedSample)).toBe(3);
    expect(await score('supademo_demo_viewed', 'supademo', demoViewedSample)).toBeNull();
    expect(await score('supademo_showcase_viewed', 'supademo', showcaseViewedSample)).toBeNull();
  });
});

describe('playlist lead scoring (the playbook’s rules, as for a demo)', () => {
  const playlist = (seconds: number, visited: number) => {
    const p = clone(playlistSessionSample) as any;
    p.is_test = false;
    p.data.session_duration_secs = seconds;
    p.data.items = p.data.items.map((it: any, i: number) => ({ ...it, visited: i < visited }));
    return p;
  };
  const scored = async (seconds: number, visited: number) => {
    const [r] = await perform('walnut_playlist_session_finished', hookBundle('walnut', playlist(seconds, visited)));
    return [r.lead_score_points, r.is_high_intent];
  };

  it('+10 for the view, +20 more at 45 s or a quarter of the items, high intent at 5 minutes', async () => {
    expect(await scored(44, 0)).toStrictEqual([10, false]);
    expect(await scored(45, 0)).toStrictEqual([30, false]);
    expect(await scored(10, 1)).toStrictEqual([30, false]); // 1 of 4 items
    expect(await scored(299, 4)).toStrictEqual([30, false]);
    expect(await scored(300, 0)).toStrictEqual([30, true]);
  });

  it('the documented 310-second playlist session is high intent, and its texts say so', async () => {
    const [r] = await perform('walnut_playlist_session_finished', hookBundle('walnut', playlistSessionSample, { includeTest: true }));
    expect([r.lead_score_points, r.is_high_intent]).toStrictEqual([30, true]);
    expect(r.slack_message).toContain(':fire: *high intent*');
    expect(r.crm_note).toContain('Lead score points: 30');
  });
});

describe('when it happened, and when it was sent', () => {
  it('Walnut: occurred_at is the session start, sent_at the time Walnut sent it (hours later)', async () => {
    const [demo] = await perform('walnut_demo_session_finished', hookBundle('walnut', demoSessionSample));
    expect([demo.occurred_at, demo.sent_at]).toStrictEqual(['2023-11-01T16:36:47.905Z', '2023-11-01T19:15:20.666Z']);
    const [pl] = await perform('walnut_playlist_session_finished', hookBundle('walnut', playlistSessionSample, { includeTest: true }));
    // The documented playlist was sent nine months after it was watched.
    expect([pl.occurred_at, pl.sent_at]).toStrictEqual(['2024-10-07T15:26:20.606Z', '2025-07-11T13:19:39.526Z']);
    // A session without its start falls back to the send time.
    const noStart = clone(demoSessionSample) as any;
    delete noStart.data.session_started;
    const [r] = await perform('walnut_demo_session_finished', hookBundle('walnut', noStart));
    expect([r.occurred_at, r.sent_at]).toStrictEqual(['2023-11-01T19:15:20.666Z', '2023-11-01T19:15:20.666Z']);
  });

  it('Supademo: the view time, no send time; Pendo: its timestamp, no send time', async () => {
    const [s] = await perform('supademo_lead_captured', hookBundle('supademo', leadCapturedSample));
    expect([s.occurred_at, s.sent_at]).toStrictEqual(['2025-06-01T14:30:00.000Z', null]);
    const [p] = await perform('pendo_nps_submitted', hookBundle('pendo', pendoSamples.npsSubmitted, { includeTest: true }));
    expect([p.occurred_at, p.sent_at]).toStrictEqual([new Date(pendoSamples.npsSubmitted.timestamp * 1000).toISOString(), null]);
  });
});

describe('asset tags and key accounts', () => {
  const session = (over: { name?: string; section?: string | null; guide?: string | null; email?: string } = {}) => {
    const p = clone(demoSessionSample) as any;
    p.data.demo.name = over.name ?? 'Platform Overview';
    p.data.demo_engagement.last_section_viewed = over.section ?? null;
    p.data.demo_engagement.last_guide_shown = over.guide ?? null;
    if (over.email) p.data.user.email = over.email;
    return p;
  };
  const run = async (payload: unknown, inputs: Record<string, unknown>, trigger = 'walnut_demo_session_finished', vendor: 'walnut' | 'supademo' = 'walnut') => {
    const b = hookBundle(vendor, payload);
    return perform(trigger, { ...b, inputData: { ...b.inputData, add_viewer_history: false, ...inputs } });
  };

  it('only_demos_matching: by the demo name, by the last section or guide seen, in any case; nothing else passes', async () => {
    const [byName] = await run(session({ name: 'Pricing & Packaging' }), { only_demos_matching: 'pricing, Integration' });
    expect([byName.matched_terms, byName.asset_stage]).toStrictEqual(['pricing', null]);
    const [bySection] = await run(session({ section: 'Integrations with Salesforce' }), { only_demos_matching: 'Pricing, integration' });
    expect(bySection.matched_terms).toBe('integration');
    const [byGuide] = await run(session({ guide: 'See PRICING' }), { only_demos_matching: 'pricing' });
    expect(byGuide.matched_terms).toBe('pricing');
    // Positive control above; the same trigger with a demo that names neither gives nothing.
    expect(await run(session({ name: 'Platform Overview', section: 'Dashboards' }), { only_demos_matching: 'Pricing, Integration' })).toStrictEqual([]);
    // Empty input: every session, nothing matched.
    const [all] = await run(session(), { only_demos_matching: ' , ' });
    expect([all.matched_terms, all.asset_stage]).toStrictEqual([null, null]);
  });

  it('matches a playlist by its items visited and a Supademo showcase by its title', async () => {
    const [pl] = await perform('walnut_playlist_session_finished', {
      ...hookBundle('walnut', playlistSessionSample, { includeTest: true }),
      inputData: { include_test_events: true, add_viewer_history: false, only_demos_matching: 'Integrations' },
    });
    expect(pl.matched_terms).toBe('Integrations');
    const [sc] = await run(showcaseViewedSample, { only_demos_matching: 'showcase' }, 'supademo_showcase_viewed', 'supademo');
    expect(sc.matched_terms).toBe('showcase');
  });

  it('asset_stages: the first pair whose word is seen gives the stage; every word seen is listed', async () => {
    const stages = 'Pricing=Decision, Security=Evaluation, Overview=Discovery';
    const [r] = await run(session({ name: 'Security and Pricing' }), { asset_stages: stages });
    expect([r.matched_terms, r.asset_stage]).toStrictEqual(['Pricing, Security', 'Decision']);
    const [d] = await run(session({ name: 'Platform Overview' }), { asset_stages: stages });
    expect([d.matched_terms, d.asset_stage]).toStrictEqual(['Overview', 'Discovery']);
    const [none] = await run(session({ name: 'Dashboards' }), { asset_stages: stages });
    expect([none.matched_terms, none.asset_stage]).toStrictEqual([null, null]);
  });

  it('refuses asset stages it cannot read when the Zap is turned on, saying what to write', async () => {
    // Positive control: well-formed stages subscribe.
    nock(RELAY, { reqheaders: { authorization: `Bearer ${API_KEY}` } }).post('/v1/hooks').reply(201, { id: 'hook_1' });
    const op = triggerOp('walnut_demo_session_finished');
    const ok = { authData: authData(), inputData: { asset_stages: 'Pricing=Decision' }, targetUrl: TARGET };
    expect(await appTester(op.performSubscribe, ok as any)).toStrictEqual({ id: 'hook_1' });
    const err = await errorOf(appTester(op.performSubscribe, { ...ok, inputData: { asset_stages: 'Pricing=Decision, Security' } } as any));
    expect(err.message).toContain('"Asset Stages" has "Security"');
    expect(err.message).toContain('Pricing=Decision, Security=Evaluation');
    expect(nock.isDone()).toBe(true); // the bad one never reached the relay
    expect(readAssetRules({ asset_stages: '=Decision' })).toHaveProperty('error');
    expect(readAssetRules({ asset_stages: 'Pricing=' })).toHaveProperty('error');
  });

  it('only_domains: only the key accounts’ viewers (subdomains and emails folded to their company)', async () => {
    const inputs = { only_domains: 'https://www.acme.io, ceo@globex.com' };
    expect(await run(session({ email: 'dana@eu.acme.io' }), inputs)).toHaveLength(1);
    expect(await run(session({ email: 'sam@globex.com' }), inputs)).toHaveLength(1);
    expect(await run(session({ email: 'kim@initech.com' }), inputs)).toStrictEqual([]);
    expect(await run(session({ email: 'kim@gmail.com' }), inputs)).toStrictEqual([]);
  });

  it('pure rules: duplicates once, blank words dropped, stages in their order', () => {
    const rules = readAssetRules({ only_demos_matching: 'Pricing, pricing, , Security', asset_stages: 'Security=Evaluation,Pricing=Decision' });
    expect(rules).toStrictEqual({ only: ['Pricing', 'Security'], stages: [{ term: 'Security', stage: 'Evaluation' }, { term: 'Pricing', stage: 'Decision' }] });
    expect(matchAssets({ demo_name: 'pricing tour' }, rules as any)).toStrictEqual({ matched_terms: 'Pricing', asset_stage: 'Decision' });
  });
});

describe('Pendo fields from the vendor’s own examples', () => {
  it('guide records carry the documented guideProperties: who made and changed the guide, when, and its steps', async () => {
    const gp = (pendoSamples.guideDisplayed as any).properties.guideProperties;
    expect(gp.createdAt).toBe(1615411012615); // the seed's example, as test/expected.ts records it
    const [r] = await perform('pendo_guide_displayed', hookBundle('pendo', pendoSamples.guideDisplayed, { includeTest: true }));
    expect(r).toMatchObject({
      guide_created_at: '2021-03-10T21:16:52.615Z',
      guide_created_by: 'pendo-user@example.com',
      guide_updated_at: '2021-04-13T13:57:33.073Z',
      guide_updated_by: 'pendo-user@example.com',
      guide_steps: [{ id: 'UgG7AtWEXNuvHBBcTqSQ8NxGvAU', type: 'building-block', updated_at: '2021-04-13T13:57:31.476Z', reset_at: '2021-04-05T14:42:21.117Z' }],
    });
    // Not as extra__…: they are named fields now.
    expect(Object.keys(r).filter((k) => k.startsWith('extra__'))).toStrictEqual([]);
    for (const ev of ['pollDisplayed', 'pollSubmitted', 'npsDisplayed', 'npsSubmitted'] as const) {
      const [g] = await perform(`pendo_${ev.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`, hookBundle('pendo', pendoSamples[ev], { includeTest: true }));
      expect([ev, typeof g.guide_created_at, Array.isArray(g.guide_steps)]).toStrictEqual([ev, 'string', true]);
    }
  });

  it('New Pendo Visitor carries its sampleGroup', async () => {
    const [r] = await perform('pendo_visitor_created', hookBundle('pendo', pendoSamples.visitorCreated, { includeTest: true }));
    expect(r.visitor_sample_group).toBe(17);
    const none = clone(pendoSamples.visitorCreated) as any;
    delete none.properties.sampleGroup;
    const [n] = await perform('pendo_visitor_created', hookBundle('pendo', none, { includeTest: true }));
    expect(n.visitor_sample_group).toBeNull();
  });
});

describe('viewer history without a relay', () => {
  it('a connection with no relay gets the session with its history empty', async () => {
    const b = hookBundle('walnut', demoSessionSample, { auth: authData({ relay_url: '' }) });
    const [r] = await perform('walnut_demo_session_finished', b);
    expect(r.session_id).toBe(demoSessionSample.data.session_id);
    expect([r.viewer_session_count, r.is_first_session, r.company_session_count_30d]).toStrictEqual([null, null, null]);
  });
});

describe('New Demo Session (every vendor)', () => {
  const quiet = (vendor: 'walnut' | 'supademo' | 'pendo', payload: unknown, over: Record<string, unknown> = {}) => {
    const b = hookBundle(vendor, payload);
    return { ...b, inputData: { ...b.inputData, add_viewer_history: false, ...over } };
  };

  it('gives each vendor’s session as that vendor’s own record, with the score and the asset tags', async () => {
    const [w] = await perform('demo_session', quiet('walnut', demoSessionSample));
    const [own] = await perform('walnut_demo_session_finished', quiet('walnut', demoSessionSample));
    expect(w).toStrictEqual(own);
    const [s] = await perform('demo_session', quiet('supademo', demoCompletedSample));
    expect(s).toMatchObject({ provider: 'supademo', event: 'demo.completed', entity_title: 'Product Tour', engagement_score: 5, signature_verified: true });
    const [tagged] = await perform('demo_session', quiet('supademo', leadCapturedSample, { only_demos_matching: 'tour', asset_stages: 'Tour=Discovery' }));
    expect([tagged.matched_terms, tagged.asset_stage]).toStrictEqual(['tour', 'Discovery']);
  });

  it('takes only demo sessions: a Pendo event and a vendor test button give nothing', async () => {
    expect(await perform('demo_session', quiet('walnut', demoSessionSample))).toHaveLength(1); // positive control
    expect(await perform('demo_session', quiet('pendo', pendoSamples.npsSubmitted, { include_test_events: true }))).toStrictEqual([]);
    expect(await perform('demo_session', quiet('supademo', { event: 'webhook.test', workspaceId: 'clx' }, { include_test_events: true }))).toStrictEqual([]);
    expect(await perform('demo_session', quiet('walnut', { ...demoSessionSample, is_test: true }))).toStrictEqual([]);
  });

  it('halts a forged session and lets a repeat in once', async () => {
    const forged = hookBundle('walnut', demoSessionSample, { signWith: 'not-the-key' });
    const err = await errorOf(perform('demo_session', { ...forged, inputData: { add_viewer_history: false } }));
    expect(err.name).toBe('HaltedError');
    const b = quiet('walnut', demoSessionSample);
    expect(await perform('demo_session', b)).toHaveLength(1);
    expect(await perform('demo_session', b, true)).toStrictEqual([]);
  });
});
