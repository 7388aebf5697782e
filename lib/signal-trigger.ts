/**
 * The account-signal triggers (New Buying Committee, New Account Re-engagement): REST hooks on
 * the relay's `demo.activity`. Each delivery is verified like any trigger's; then the company's
 * stored activity is fetched from the relay (GET /v1/activity) and every event of it verified
 * again with this connection's secrets, so a forged post can neither create nor inflate a
 * signal. A signal fires once per company per window: the fire time is kept in z.cache
 * (`signal:{trigger}:{subscription}:{domain}`), set-if-absent.
 */
import { defineTrigger, type Bundle, type WebhookTriggerPerform, type WebhookTriggerPerformList, type ZObject } from 'zapier-platform-core';
import { companyOfEmail } from './company.js';
import { isWebhookRefused } from './errors.js';
import { includeTestEventsField, raiseRefusal, relaySubscription, truthy, zCache } from './hook-trigger.js';
import { processDelivery, sampleRecord, secretsFor, type DemoRecord } from './pipeline.js';
import { activityVendor, DEMO_ACTIVITY, PROVIDERS } from './providers/index.js';
import { commonOutputFields, f, type OutputField } from './record.js';
import { relayRequest, type RelayEvent } from './relay-client.js';
import { findHeader } from './signature.js';
import { DAY, demoNameOf, type Activity, type SignalRecord } from './signals.js';

/**
 * What the account signals count, for their help texts: the demo activity the relay indexes
 * (lib/providers' `demoActivity`), grouped by company.
 */
export const COUNTED = 'Walnut demo and playlist sessions and Supademo leads, views and completions';
export const BY_COMPANY = 'by the company domain of each viewer’s email (free-mail and disposable addresses never count)';

/** A stored event as counted activity: verified with this connection's secrets, or null (forged, test, not a demo view). */
function verify(ev: RelayEvent, authData: Record<string, unknown>, includeTest: boolean): Activity | null {
  const provider = activityVendor(ev.event.slice(ev.event.indexOf('.') + 1));
  if (!provider) return null;
  try {
    const out = processDelivery(provider, { rawBody: ev.body, headers: ev.headers }, secretsFor(provider, authData), { want: '*', includeTest });
    if (out.kind !== 'record' || !out.record.viewer_email) return null;
    return { relayId: ev.id, receivedAt: Date.parse(ev.received_at), record: out.record, verified: out.record.signature_verified };
  } catch (err) {
    if (isWebhookRefused(err)) return null; // forged or unusable: never counted
    throw err;
  }
}

export interface SignalSpec {
  key: 'account_buying_committee' | 'account_reengaged';
  noun: string;
  label: string;
  description: string;
  help: string;
  inputFields: Array<Record<string, unknown>>;
  /** The window (days) the signal is judged over, and so how long it stays fired. */
  windowDays(input: Record<string, unknown>): number;
  /** Which stored activity to fetch for an event at `t`: time ranges, older first. */
  lookBack(t: number, input: Record<string, unknown>): Array<{ sinceMs?: number; untilMs: number }>;
  decide(activity: Activity[], trigger: Activity, input: Record<string, unknown>, domain: string): SignalRecord | null;
  sample: SignalRecord;
}

const num = (v: unknown, dflt: number, min: number, max: number): number => {
  const n = v === undefined || v === null || v === '' ? dflt : Number(v);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, Math.floor(n))) : dflt;
};

const nameFilter = (input: Record<string, unknown>) => {
  const text = typeof input.demo_name_contains === 'string' ? input.demo_name_contains.trim().toLowerCase() : '';
  return (a: Activity) => !text || (demoNameOf(a.record) ?? '').toLowerCase().includes(text);
};

export const signalOutputFields: OutputField[] = [
  f('company_domain', 'Company Domain'),
  f('company_name', 'Company Name'),
  f('people_count', 'Number of People', 'integer'),
  f('people[]email', 'People: Email'),
  f('people[]name', 'People: Name'),
  f('people[]first_seen_at', 'People: First Seen At', 'datetime'),
  f('people[]last_seen_at', 'People: Last Seen At', 'datetime'),
  f('people[]sessions', 'People: Sessions', 'integer'),
  f('people[]demos', 'People: Demos Viewed'),
  f('people_emails', 'People Emails'),
  f('sessions_count', 'Number of Sessions', 'integer'),
  f('total_duration_seconds', 'Total Time in Demos (seconds)', 'integer'),
  f('demos_viewed', 'Demos Viewed'),
  f('first_activity_at', 'First Activity At', 'datetime'),
  f('last_activity_at', 'Last Activity At', 'datetime'),
  f('quiet_days', 'Quiet Days Before Returning', 'integer'),
  f('previous_activity_at', 'Previous Activity At', 'datetime'),
  f('window_days', 'Window (days)', 'integer'),
  f('unverified_sessions', 'Unverified Sessions', 'integer'),
  f('event_id', 'Triggering Event ID'),
  f('provider', 'Triggering Vendor'),
  f('event', 'Triggering Event Type'),
  f('is_test', 'Test Event', 'boolean'),
  ...commonOutputFields.filter((o) => ['summary_text', 'slack_message', 'crm_note'].includes(o.key)),
  f('id', 'Signal ID'),
];

export function signalTrigger(spec: SignalSpec) {
  const { performSubscribe, performUnsubscribe } = relaySubscription(DEMO_ACTIVITY);

  /** The company's activity around `t`, verified, in arrival order; the trigger placed in it. */
  async function activityFor(z: ZObject, bundle: Bundle, domain: string, t: number, includeTest: boolean) {
    const events: RelayEvent[] = [];
    for (const { sinceMs, untilMs } of spec.lookBack(t, bundle.inputData)) {
      const { data } = await relayRequest<RelayEvent[]>(z, bundle, 'GET', '/v1/activity', {
        params: { domain, until: new Date(untilMs).toISOString(), limit: '1000', ...(sinceMs !== undefined ? { since: new Date(sinceMs).toISOString() } : {}) },
      });
      if (Array.isArray(data)) events.push(...data);
    }
    const keep = nameFilter(bundle.inputData);
    return events.map((ev) => verify(ev, bundle.authData, includeTest)).filter((a): a is Activity => a !== null && companyOfEmail(a.record.viewer_email) === domain && keep(a));
  }

  const perform = (async (z, bundle) => {
    const headers = bundle.rawRequest?.headers as Record<string, string> | undefined;
    const includeTest = truthy(bundle.inputData.include_test_events);
    const raw = bundle.rawRequest?.content;
    let eventName = '';
    try {
      eventName = String(JSON.parse(raw ?? '').event ?? '');
    } catch {
      eventName = '';
    }
    // The vendor by the event it names; a body naming none is refused the way Walnut's would be.
    const provider = activityVendor(eventName) ?? PROVIDERS.walnut;
    // Verified like any trigger's delivery: a forgery halts, a bad body is refused.
    let record: DemoRecord;
    try {
      const out = processDelivery(provider, { rawBody: raw, headers }, secretsFor(provider, bundle.authData), { want: '*', includeTest });
      if (out.kind !== 'record') return [];
      record = out.record;
    } catch (err) {
      if (isWebhookRefused(err)) raiseRefusal(z, err);
      throw err;
    }
    if (!provider.demoActivity?.events.includes(record.event)) return [];
    const domain = companyOfEmail(record.viewer_email);
    if (!domain) return []; // free-mail, disposable, or no email: no company to signal about
    const relayId = findHeader(headers, 'X-Relay-Event-Id') ?? '';
    const now = Date.now();
    const activity = await activityFor(z, bundle, domain, now, includeTest);
    // The delivered event as the relay stored it (its arrival time and place in the order).
    const trigger = activity.find((a) => a.relayId === relayId) ?? [...activity].reverse().find((a) => a.record.id === record.id);
    if (!trigger) return [];
    const signal = spec.decide(activity, trigger, bundle.inputData, domain);
    if (!signal) return [];
    // Once per company per window and subscription. The value is when it fired, so an expired
    // window is recognised even where the cache keeps a key past its TTL.
    const windowMs = spec.windowDays(bundle.inputData) * DAY;
    const key = `signal:${spec.key}:${bundle.subscribeData?.id ?? 'direct'}:${domain}`;
    const cache = zCache(z);
    const fired = Number(await cache.get(key, ['auth']));
    if (fired && trigger.receivedAt - fired < windowMs) return [];
    const ok = await cache.set(key, trigger.receivedAt, Math.ceil(windowMs / 1000), ['auth'], !fired);
    if (ok === false) return [];
    return [signal];
  }) satisfies WebhookTriggerPerform<Record<string, unknown>, SignalRecord>;

  const performList = (async (z, bundle) => {
    // "Test trigger": the signal as it stands now for the companies with the most recent demo
    // activity (no cache touched); [] when none qualifies yet.
    const includeTest = bundle.meta?.isLoadingSample === true || truthy(bundle.inputData.include_test_events);
    const { data } = await relayRequest<RelayEvent[]>(z, bundle, 'GET', '/v1/events', { params: { event: DEMO_ACTIVITY, limit: '100' } });
    const latest = new Map<string, Activity>();
    for (const ev of Array.isArray(data) ? data : []) {
      const a = verify(ev, bundle.authData, includeTest);
      const domain = a && companyOfEmail(a.record.viewer_email);
      if (a && domain && !latest.has(domain)) latest.set(domain, a);
      if (latest.size >= 5) break;
    }
    const out: SignalRecord[] = [];
    for (const [domain, last] of latest) {
      const activity = await activityFor(z, bundle, domain, Date.now(), includeTest);
      const trigger = activity.find((a) => a.relayId === last.relayId) ?? activity[activity.length - 1];
      const signal = trigger && spec.decide(activity, trigger, bundle.inputData, domain);
      if (signal) out.push(signal);
    }
    return out;
  }) satisfies WebhookTriggerPerformList<Record<string, unknown>, SignalRecord>;

  return defineTrigger({
    key: spec.key,
    noun: spec.noun,
    display: { label: spec.label, description: spec.description },
    operation: {
      type: 'hook',
      inputFields: [{ key: 'signal_help', type: 'copy', helpText: spec.help }, ...spec.inputFields, includeTestEventsField] as never,
      performSubscribe,
      performUnsubscribe,
      perform,
      performList,
      sample: spec.sample,
      outputFields: signalOutputFields,
    },
  });
}

/** The documented Walnut demo session, varied into people at one company: the samples' activity. */
export function sampleActivity(people: Array<{ email: string; name?: string; at: string }>): Activity[] {
  const base = PROVIDERS.walnut.events[0].sample as Record<string, any>;
  return people.map((p, i) => {
    const payload = { ...base, timestamp: p.at, data: { ...base.data, session_id: `sample-${i + 1}`, user: { ...base.data.user, email: p.email } } };
    const record = sampleRecord(PROVIDERS.walnut, payload);
    if (p.name) record.viewer_full_name = p.name;
    return { relayId: `evt_sample_${i + 1}`, receivedAt: Date.parse(p.at), record, verified: true };
  });
}

export { num };
