import { PROVIDERS } from '../lib/providers/index.js';
import { demoSessionSample, playlistSessionSample } from '../lib/providers/walnut.js';
import { leadCapturedSample, showcaseViewedSample } from '../lib/providers/supademo.js';
import pendoSamples from '../lib/providers/pendo-samples.json';
import * as expected from './expected.js';
import { VENDOR_CASES } from './vendors.js';
import {
  authData,
  clone,
  errorOf,
  expectNoSecret,
  hookBundle,
  networkOff,
  perform,
  SECRETS,
  zapierHeaderName,
} from './helpers.js';

networkOff();

/** A Pendo event as a real visitor produces it (the documented examples are Pendo's Test payloads). */
const realPendo = (event: keyof typeof pendoSamples): any => clone(PROVIDERS.pendo.examples.live!(pendoSamples[event]));

/** Each documented payload the first cases check field by field against a record reviewed by hand. */
const documented = [
  { provider: 'walnut', trigger: 'walnut_demo_session_finished', payload: demoSessionSample, includeTest: false, expected: expected.walnutDemo },
  { provider: 'supademo', trigger: 'supademo_lead_captured', payload: leadCapturedSample, includeTest: false, expected: expected.supademoLead },
  // Pendo documents only its Test button's payloads.
  { provider: 'pendo', trigger: 'pendo_nps_submitted', payload: pendoSamples.npsSubmitted, includeTest: true, expected: expected.pendoNps },
] as const;

it.each(documented)('$trigger turns the signed documented payload into the documented record, field by field', async (d) => {
  const out = await perform(d.trigger, hookBundle(d.provider, d.payload, { includeTest: d.includeTest }));
  expect(out).toStrictEqual([d.expected]);
});

// Every vendor, from what its module declares (test/vendors.ts): a registered fourth vendor runs here too.
describe.each(VENDOR_CASES)('$provider', (c) => {
  const secrets = SECRETS[c.provider];
  const label = PROVIDERS[c.provider].label;

  it('reads the signature header under the name Zapier gives it (Http- prefix, any case)', async () => {
    const b = hookBundle(c.provider, c.real);
    const value = b.rawRequest.headers[zapierHeaderName(c.header)];
    // The scheme's other signed headers (Standard Webhooks' id and timestamp) stay as Zapier names them.
    const others = Object.fromEntries(Object.entries(b.rawRequest.headers).filter(([k]) => k !== zapierHeaderName(c.header)));
    for (const name of [c.header, c.header.toLowerCase(), `HTTP_${c.header.toUpperCase().replace(/-/g, '_')}`]) {
      const headers: Record<string, string> = { ...others, [name]: value };
      const out = await perform(c.trigger, { ...b, rawRequest: { ...b.rawRequest, headers } });
      expect(out).toHaveLength(1);
      expect(out[0].signature_verified).toBe(true);
    }
  });

  it('refuses a tampered body, naming the provider and the header, never the secret', async () => {
    const b = hookBundle(c.provider, c.real, { tamper: (raw) => raw.replace(`"${c.eventField}"`, `"${c.eventField}" `) });
    const err = await errorOf(perform(c.trigger, b));
    expect(err.name).toBe('HaltedError');
    expect(err.message).toContain(`${label} signature mismatch`);
    expect(err.message).toContain(c.header);
    expectNoSecret(err.message);
  });

  it('refuses a body signed with the wrong secret', async () => {
    const err = await errorOf(perform(c.trigger, hookBundle(c.provider, c.real, { signWith: secrets.other })));
    expect(err.name).toBe('HaltedError');
    expect(err.message).toMatch(new RegExp(`${label} signature mismatch: the ${c.header} header`));
    expectNoSecret(err.message);
  });

  it('refuses a delivery without the signature header when a secret is set', async () => {
    const err = await errorOf(perform(c.trigger, hookBundle(c.provider, c.real, { signWith: null })));
    expect(err.name).toBe('HaltedError');
    expect(err.message).toContain(`${label} signature missing: the request has no ${c.header} header`);
    expectNoSecret(err.message);
  });

  it('refuses a signature header that is not a hex digest', async () => {
    const b = hookBundle(c.provider, c.real);
    b.rawRequest.headers[zapierHeaderName(c.header)] = 'not-a-signature';
    const err = await errorOf(perform(c.trigger, b));
    expect(err.message).toContain(`${label} signature malformed`);
  });

  it('accepts the previous secret during rotation, and still refuses any other', async () => {
    const rotating = authData({
      [PROVIDERS[c.provider].secretKeys[0]]: secrets.current,
      [PROVIDERS[c.provider].secretKeys[1]]: secrets.previous,
    });
    const byOld = await perform(c.trigger, hookBundle(c.provider, c.real, { signWith: secrets.previous, auth: rotating }));
    expect(byOld).toHaveLength(1);
    expect(byOld[0].signature_verified).toBe(true);
    const byNew = await perform(c.trigger, hookBundle(c.provider, c.real, { signWith: secrets.current, auth: rotating }));
    expect(byNew).toHaveLength(1);
    const err = await errorOf(perform(c.trigger, hookBundle(c.provider, c.real, { signWith: secrets.other, auth: rotating })));
    expect(err.message).toContain('(current or previous)');
    expectNoSecret(err.message);
  });

  it('accepts unsigned deliveries, marked unverified, when no secret is set', async () => {
    const noSecret = authData({ [PROVIDERS[c.provider].secretKeys[0]]: '' });
    const out = await perform(c.trigger, hookBundle(c.provider, c.real, { signWith: null, auth: noSecret }));
    expect(out).toHaveLength(1);
    expect(out[0].signature_verified).toBe(false);
  });

  it('leaves test events out unless "Include Test Events" is on', async () => {
    expect(await perform(c.testTrigger, hookBundle(c.provider, c.testEvent))).toStrictEqual([]);
    const inc = await perform(c.testTrigger, hookBundle(c.provider, c.testEvent, { includeTest: true }));
    expect(inc).toHaveLength(1);
    expect(inc[0].is_test).toBe(true);
    expect(inc[0].id).toMatch(new RegExp(`^${c.provider}:`));
  });

  it('drops an event of another type, which the any-event trigger takes', async () => {
    expect(await perform(c.trigger, hookBundle(c.provider, c.otherType))).toStrictEqual([]);
    const any = await perform(c.anyTrigger, hookBundle(c.provider, c.otherType));
    expect(any).toHaveLength(1);
    expect(any[0].event).toBe(c.otherType[c.eventField]);
  });

  it('lets each event into the Zap once: a redelivery returns nothing, another Zap still gets it', async () => {
    const first = await perform(c.trigger, hookBundle(c.provider, c.real), true);
    expect(first).toHaveLength(1);
    expect(await perform(c.trigger, hookBundle(c.provider, c.real), true)).toStrictEqual([]);
    const otherZap = await perform(c.trigger, hookBundle(c.provider, c.real, { subscribeId: 'sub_2' }), true);
    expect(otherZap).toStrictEqual(first);
  });

  it('passes an event type it does not know through the any-event trigger, flattened', async () => {
    const future = { ...clone(c.real), [c.eventField]: 'brand_new_event', novelty: { nested: { value: 42 }, tags: ['a', 'b'] } };
    const out = await perform(c.anyTrigger, hookBundle(c.provider, future));
    expect(out).toHaveLength(1);
    expect(out[0].event).toBe('brand_new_event');
    expect(out[0].extra__novelty__nested__value).toBe(42);
    expect(out[0].extra__novelty__tags).toStrictEqual(['a', 'b']);
    expect(typeof out[0].id).toBe('string');
  });

  it('keeps fields the vendor adds later instead of rejecting them', async () => {
    const more = { ...clone(c.real), added_later: { flag: true } };
    const out = await perform(c.trigger, hookBundle(c.provider, more));
    expect(out[0].extra__added_later__flag).toBe(true);
  });

  it('refuses a body that is not JSON with a clear error', async () => {
    const err = await errorOf(perform(c.trigger, hookBundle(c.provider, `{"${c.eventField}": "trunc`)));
    expect(err.message).toContain(`${label} webhook body is not valid JSON`);
  });
});

describe('identity and shape errors', () => {
  it('refuses a Walnut demo event without its session_id, naming the path', async () => {
    const p = clone(demoSessionSample) as any;
    delete p.data.session_id;
    const err = await errorOf(perform('walnut_demo_session_finished', hookBundle('walnut', p)));
    expect(err.message).toContain('Walnut "demo_session_finished" payload does not have the documented shape');
    expect(err.message).toContain('data.session_id');
    expect(err.code).toBe('payload_invalid');
  });

  it('refuses a Supademo lead without entityViewedAt', async () => {
    const p = clone(leadCapturedSample) as any;
    delete p.entityViewedAt;
    const err = await errorOf(perform('supademo_lead_captured', hookBundle('supademo', p)));
    expect(err.message).toContain('entityViewedAt');
  });

  it('refuses a Pendo event without uniqueId, and one whose NPS rating is not a number', async () => {
    const p = realPendo('npsSubmitted');
    delete p.uniqueId;
    expect((await errorOf(perform('pendo_nps_submitted', hookBundle('pendo', p)))).message).toContain('uniqueId');
    const q = realPendo('npsSubmitted');
    q.properties.nps.rating = 'nine';
    expect((await errorOf(perform('pendo_nps_submitted', hookBundle('pendo', q)))).message).toContain('properties.nps.rating');
  });

  it('passes a pathologically nested unknown field through without crashing', async () => {
    const body = JSON.stringify({ ...clone(demoSessionSample), deep: 0 }).replace('"deep":0', `"deep":${'['.repeat(5000)}${']'.repeat(5000)}`);
    // zapier-platform-core itself JSON.stringifies the bundle, cleanedRequest included, and
    // overflows on such nesting before any app code runs: that part is Zapier's. The app's
    // own work must not crash on it, so it runs here on the raw request alone.
    const bundle = { ...hookBundle('walnut', body), cleanedRequest: {} };
    const [r] = await perform('walnut_demo_session_finished', bundle);
    expect(typeof r.extra__deep[0].value).toBe('string');
    expect(r.extra__deep[0].value).toContain('[nested too deep]');
  });

  it('refuses bodies that are JSON but not an event object', async () => {
    for (const body of ['[]', 'null', '42', '"text"']) {
      const err = await errorOf(perform('walnut_any_event', hookBundle('walnut', body)));
      expect(err.message).toContain('not an object');
    }
    const err = await errorOf(perform('walnut_any_event', hookBundle('walnut', { data: {} })));
    expect(err.message).toContain('no "event" field');
  });

  it('gives the same id for a provider retry and different ids for distinct events', async () => {
    const a = await perform('walnut_demo_session_finished', hookBundle('walnut', demoSessionSample));
    const b = await perform('walnut_demo_session_finished', hookBundle('walnut', { ...clone(demoSessionSample), timestamp: '2023-11-01T19:20:00Z' }));
    expect(b[0].id).toBe(a[0].id);
    const other = clone(demoSessionSample) as any;
    other.data.session_id = 'another-session';
    const c = await perform('walnut_demo_session_finished', hookBundle('walnut', other));
    expect(c[0].id).not.toBe(a[0].id);
  });

  it('gives a test event without identity fields a stable id from its body', async () => {
    const t = { event: 'webhook.test' };
    const a = await perform('supademo_any_event', hookBundle('supademo', t, { includeTest: true }));
    const b = await perform('supademo_any_event', hookBundle('supademo', t, { includeTest: true }));
    expect(a[0].id).toMatch(/^supademo:body:[0-9a-f]{40}$/);
    expect(b[0].id).toBe(a[0].id);
  });
});

describe('flattening rules', () => {
  it('scores Walnut demos by the playbook: +10 a view, +20 at ≥45 s or ≥25 % screens; high intent at ≥25 % guides or ≥300 s', async () => {
    const run = async (duration: number, screens: number, guides: number) => {
      const p = clone(demoSessionSample) as any;
      p.data.session_id = `s-${duration}-${screens}-${guides}`;
      Object.assign(p.data.demo_engagement, { session_duration: duration, screen_completion_rate: screens, guides_completion_rate: guides });
      const [r] = await perform('walnut_demo_session_finished', hookBundle('walnut', p));
      return [r.lead_score_points, r.is_high_intent];
    };
    expect(await run(44, 24, 24)).toStrictEqual([10, false]);
    expect(await run(45, 0, 0)).toStrictEqual([30, false]);
    expect(await run(10, 25, 0)).toStrictEqual([30, false]);
    expect(await run(10, 0, 25)).toStrictEqual([10, true]);
    expect(await run(300, 0, 0)).toStrictEqual([30, true]);
  });

  it('categorises NPS ratings: 9–10 promoter, 7–8 passive, 0–6 detractor', async () => {
    const cat = async (rating: number) => {
      const p = realPendo('npsSubmitted');
      p.uniqueId = `u${rating}`;
      p.properties.nps.rating = rating;
      return (await perform('pendo_nps_submitted', hookBundle('pendo', p)))[0].nps_category;
    };
    expect([await cat(10), await cat(9), await cat(8), await cat(7), await cat(6), await cat(0)]).toStrictEqual([
      'promoter', 'promoter', 'passive', 'passive', 'detractor', 'detractor',
    ]);
  });

  it('trims and lowercases the viewer email and takes the domain from it when the payload has none', async () => {
    const p = realPendo('visitorCreated');
    const [r] = await perform('pendo_visitor_created', hookBundle('pendo', p));
    expect(r.viewer_email).toBe('jane.doe@acme.io');
    expect(r.viewer_domain).toBe('acme.io');
    const w = clone(demoSessionSample) as any;
    w.data.user.email = '  Someone@Example.COM ';
    const [wr] = await perform('walnut_demo_session_finished', hookBundle('walnut', w));
    expect(wr.viewer_email).toBe('someone@example.com');
    expect(wr.viewer_domain).toBe('example.com');
  });

  it('accepts Pendo signatures with or without the sha256= prefix', async () => {
    const p = realPendo('trackEventReceived');
    const withPrefix = await perform('pendo_track_event_received', hookBundle('pendo', p, { prefix: 'sha256=' }));
    const without = await perform('pendo_track_event_received', hookBundle('pendo', p));
    expect(withPrefix).toStrictEqual(without);
    expect(withPrefix[0].track_event_properties__from_tier).toBe('basic');
  });

  it('escapes Slack mrkdwn in names so a viewer cannot inject links or mentions', async () => {
    const p = clone(leadCapturedSample) as any;
    p.name = '<!channel> & <https://evil.test|click>';
    const [r] = await perform('supademo_lead_captured', hookBundle('supademo', p));
    expect(r.slack_message).toContain('&lt;!channel&gt; &amp; &lt;https://evil.test|click&gt;');
    expect(r.summary_text).not.toContain('\n');
  });

  it('flattens every documented Walnut playlist item as a line item', async () => {
    const out = await perform('walnut_playlist_session_finished', hookBundle('walnut', playlistSessionSample, { includeTest: true }));
    expect(out).toStrictEqual([expected.walnutPlaylist]);
  });

  it('flattens Pendo poll answers as line items keeping their JSON types', async () => {
    const out = await perform('pendo_poll_submitted', hookBundle('pendo', pendoSamples.pollSubmitted, { includeTest: true }));
    expect(out).toStrictEqual([expected.pendoPoll]);
  });

  // The remaining event types, each against its fixed expected record (reviewed by hand against
  // the vendor documents), through its own trigger: every one of the 14 has a golden record.
  it.each([
    ['supademo_demo_viewed', 'supademo', 'demo.viewed', expected.supademoDemoViewed],
    ['supademo_demo_completed', 'supademo', 'demo.completed', expected.supademoDemoCompleted],
    ['supademo_showcase_viewed', 'supademo', 'showcase.viewed', expected.supademoShowcaseViewed],
    ['pendo_guide_displayed', 'pendo', 'guideDisplayed', expected.pendoGuideDisplayed],
    ['pendo_poll_displayed', 'pendo', 'pollDisplayed', expected.pendoPollDisplayed],
    ['pendo_nps_displayed', 'pendo', 'npsDisplayed', expected.pendoNpsDisplayed],
    ['pendo_visitor_created', 'pendo', 'visitorCreated', expected.pendoVisitorCreated],
    ['pendo_account_created', 'pendo', 'accountCreated', expected.pendoAccountCreated],
    ['pendo_track_event_received', 'pendo', 'trackEventReceived', expected.pendoTrack],
  ] as const)('%s turns its documented payload into its expected record', async (trigger, provider, event, record) => {
    const sample = PROVIDERS[provider].events.find((e) => e.event === event)!.sample;
    const out = await perform(trigger, hookBundle(provider, sample, { includeTest: provider === 'pendo' }));
    expect(out).toStrictEqual([record]);
  });
});
