/**
 * The account-signal triggers (New Buying Committee, New Account Re-engagement) and what they
 * share with the Find Company Engagement search: REST hooks on the relay's `demo.activity`.
 *
 * Each delivery is verified like any trigger's. Then the company's stored activity is read
 * back from the relay (GET /v1/activity, every page) and each event verified again with this
 * connection's secrets: only activity of a vendor whose secret the connection holds counts
 * (`counted_vendors`), so a forged post can neither create nor inflate a signal. The condition
 * is judged on that state, by when each viewing happened, and a signal fires unless this
 * subscription already fired for it: z.cache set-if-absent on a key named after the signal's
 * moment, so concurrent or repeated runs fire once and a failed run is made good by the next.
 */
import { defineTrigger, type Bundle, type WebhookTriggerPerform, type WebhookTriggerPerformList, type WebhookTriggerPerformSubscribe, type ZObject } from 'zapier-platform-core';
import { demoActivityOf } from './activity.js';
import { accountSessions, ACTIVITY_VENDORS, activityPages, activityVendorOf, countedActivity, countedVendors } from './activity-reads.js';
import { companyOfDomain } from './company.js';
import { includeTestField, relaySetupField, relaySubscription, runPipeline, truthy } from './hook-trigger.js';
import { zCache } from './zcache.js';
import { DEMO_ACTIVITY, eventFieldOf, orList, type ProviderSpec } from './providers/index.js';
import { commonOutputFields, f, type OutputField } from './record.js';
import { onlyCompanies } from './session-trigger.js';
import { relayRequest, type RelayActivityEvent, type RelayEvent } from './relay-client.js';
import { findHeader } from './signature.js';
import { committeeIn, DAY, engagementOf, peopleOf, returnIn, sessionsOf, signalRecord, type Activity, type SignalRecord } from './signals.js';
import { builtSample } from './built-samples.js';

export { ACTIVITY_PAGE, ACTIVITY_VENDORS, countedActivity, countedVendors } from './activity-reads.js';

/** What the account signals count, for their help texts. */
export const COUNTED = ACTIVITY_VENDORS.map((p) => p.demoActivity!.counted).join(' and ');
export const BY_COMPANY = `by the company domain of each viewer’s email (${[
  'free-mail and disposable addresses never count',
  '`dana+demo@` is `dana@`',
  ...ACTIVITY_VENDORS.flatMap((p) => (p.demoActivity!.whoCounts ? [p.demoActivity!.whoCounts] : [])),
].join('; ')})`;
export const VERIFIED_ONLY = `Only activity whose signature this connection verifies is counted: fill in the ${ACTIVITY_VENDORS.map((p) => `"${p.label} ${p.secretLabel}"`).join(' and ')} for each vendor you want counted.`;

/** The relay keeps the newest activity of each company this long (RELAY_ACTIVITY_MEMORY_DAYS default), so re-engagement sees a year back. */
export const MEMORY_DAYS = 400;

/** A whole-number input with its range: refused with the range when out of it, never clamped. */
export interface NumberInput {
  key: string;
  label: string;
  dflt: number;
  min: number;
  max: number;
}

export function readNumber(z: ZObject, input: Record<string, unknown>, spec: NumberInput): number {
  const v = input[spec.key];
  if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) return spec.dflt;
  const n = typeof v === 'number' ? v : Number(String(v).trim());
  if (!Number.isInteger(n) || n < spec.min || n > spec.max) {
    throw new z.errors.Error(
      `"${spec.label}" must be a whole number from ${spec.min} to ${spec.max} (got ${JSON.stringify(String(v).slice(0, 40))}). Change it in the trigger's fields and turn the Zap on again.`,
      'input_out_of_range',
      400,
    );
  }
  return n;
}

/** Whether `only_domains` (key accounts) takes this company: every company when it is empty. */
export function keyAccount(input: Record<string, unknown>, company: string): boolean {
  const only = onlyCompanies(input);
  return only.size === 0 || only.has(company);
}

/**
 * An account play's window: the verified live sessions of the last `days` of the companies
 * its inputs take (key accounts, not ignored), and the moment it was read at.
 */
async function playWindow(z: ZObject, bundle: Bundle, days: number): Promise<{ sessions: Activity[]; complete: boolean; now: number }> {
  const input = bundle.inputData as Record<string, unknown>;
  const counted = requireCountedVendor(z, bundle.authData);
  const ignored = ignoredCompanies(input);
  const now = Date.now();
  const read = await accountSessions(z, bundle, now - days * DAY, counted, (c) => !ignored.has(c) && keyAccount(input, c));
  return { ...read, now };
}

/** A ranking play's request: its look-back and list length, as its inputs say, and its window. */
export async function playRequest(z: ZObject, bundle: Bundle, daysSpec: NumberInput, limitSpec: NumberInput): Promise<{ days: number; limit: number; sessions: Activity[]; complete: boolean; now: number }> {
  const input = bundle.inputData as Record<string, unknown>;
  const days = readNumber(z, input, daysSpec);
  const limit = readNumber(z, input, limitSpec);
  return { days, limit, ...(await playWindow(z, bundle, days)) };
}

/** `ignore_domains`: comma-separated domains or emails, each folded to its company. */
export function ignoredCompanies(input: Record<string, unknown>): Set<string> {
  const raw = typeof input.ignore_domains === 'string' ? input.ignore_domains : '';
  return new Set(raw.split(/[,\s;]+/).map((d) => companyOfDomain(d) ?? d.trim().toLowerCase()).filter(Boolean));
}

export const ignoreDomainsField = {
  key: 'ignore_domains',
  label: 'Ignore Companies',
  type: 'string' as const,
  required: false,
  helpText: 'Comma-separated company domains whose demo views never count, e.g. your own company and partners: `acme.io, partner.com`. Subdomains are included.',
};

/** Refuses a connection on which nothing could ever be counted, naming the fields to fill. */
export function requireCountedVendor(z: ZObject, authData: Record<string, unknown>): ProviderSpec[] {
  const counted = countedVendors(authData);
  if (counted.length === 0) {
    throw new z.errors.Error(
      `This connection has no ${orList(ACTIVITY_VENDORS.map((p) => p.label))} signing secret, so no demo activity could be verified and nothing would ever be counted. ${VERIFIED_ONLY} Then reconnect and turn the Zap on again.`,
      'no_counted_vendor',
      400,
    );
  }
  return counted;
}

/** The newest counted activity that happened before `untilMs` (the relay keeps each company's newest long after retention). */
async function lastCountedBefore(z: ZObject, bundle: Bundle, domain: string, untilMs: number, count: (ev: RelayActivityEvent) => Activity | null): Promise<Activity | null> {
  let pages = 0;
  for await (const page of activityPages(z, bundle, domain, { until: untilMs })) {
    for (const ev of page) {
      const a = count(ev);
      if (a) return a;
    }
    if (++pages >= 20) return null;
  }
  return null;
}

/** A company's counted sessions since `sinceMs` (and, with `withPrevious`, the last one before), oldest first. */
export async function companySessions(
  z: ZObject,
  bundle: Bundle,
  domain: string,
  sinceMs: number,
  opts: { includeTest: boolean; counted: ProviderSpec[]; withPrevious?: boolean; also?: Activity | null; keep?: (a: Activity) => boolean },
): Promise<Activity[]> {
  const count = (ev: RelayActivityEvent) => {
    const a = countedActivity(ev, opts.counted, bundle.authData, opts.includeTest);
    return a && a.company === domain && (!opts.keep || opts.keep(a)) ? a : null;
  };
  const acts: Activity[] = [];
  for await (const page of activityPages(z, bundle, domain, { since: sinceMs })) {
    for (const ev of page) {
      const a = count(ev);
      if (a) acts.push(a);
    }
  }
  // The delivered event counts even if the relay's read did not include it yet.
  if (opts.also && (!opts.keep || opts.keep(opts.also)) && !acts.some((a) => a.relayId === opts.also!.relayId)) acts.push(opts.also);
  if (opts.withPrevious) {
    const prev = await lastCountedBefore(z, bundle, domain, sinceMs, count);
    if (prev) acts.push(prev);
  }
  return sessionsOf(acts);
}

/** One signal found in a company's state: its cache key, its moment, and its record. */
export interface Found {
  /** `signal:{trigger}:{subscription}:{company}` and what identifies the signal within it. */
  key: string;
  moment: number;
  /** The moment of the last firing under `key` this one follows, when the signal repeats per window. */
  after: number | null;
  ttlSeconds: number;
  record: SignalRecord;
}

export interface JudgeContext {
  domain: string;
  sessions: Activity[];
  trigger: Activity | null;
  /** Judge signals whose moment is at or after this (the delivered activity's time less the window; for "Test trigger", now less it). */
  fromMs: number;
  keyBase: string;
  /** The last firing per key (committee), read from the cache. */
  lastFired(key: string): Promise<number | null>;
  counted: string[];
}

export interface SignalSpec {
  key: 'account_buying_committee' | 'account_reengaged';
  noun: string;
  label: string;
  description: string;
  help: string;
  inputFields: Array<Record<string, unknown>>;
  numbers: NumberInput[];
  /** The signal's window: signals whose moment lies within it before the delivered activity are judged (activity is read from twice as far back). */
  windowMs(n: Record<string, number>): number;
  /** Whether the last activity before what is read matters (a return is judged against the silence before it). */
  withPrevious: boolean;
  /** Keeps only the activity this Zap counts (e.g. a demo-name filter). */
  keep?(input: Record<string, unknown>): (a: Activity) => boolean;
  judge(ctx: JudgeContext, n: Record<string, number>, input: Record<string, unknown>): Promise<Found[]>;
  /** The output fields only this signal has (committeeFields, reengagedFields). */
  ownFields: OutputField[];
  /** The sample record (built with the bundle: lib/built-samples.ts). */
  sample(): SignalRecord;
}

export const signalOutputFields: OutputField[] = [
  f('company_domain', 'Company Domain'),
  f('company_name', 'Company Name'),
  f('engagement_score', 'Account Engagement Score (1-10)', 'integer'),
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
  f('counted_vendors', 'Counted Vendors'),
];

/** The fields only one of the two signals has. */
export const committeeFields: OutputField[] = [f('demo_id', 'Demo ID (Same Demo Committees)'), f('demo_name', 'Demo Name (Same Demo Committees)')];
export const reengagedFields: OutputField[] = [f('quiet_days', 'Quiet Days Before Returning', 'integer'), f('previous_activity_at', 'Previous Activity At', 'datetime')];

const signalOnlyFields: OutputField[] = [
  f('window_days', 'Window (days)', 'integer'),
  f('event_id', 'Triggering Event ID'),
  f('provider', 'Triggering Vendor'),
  f('event', 'Triggering Event Type'),
  f('is_test', 'Test Event', 'boolean'),
  ...commonOutputFields.filter((o) => ['summary_text', 'slack_message', 'crm_note'].includes(o.key)),
  f('id', 'Signal ID'),
];

/**
 * A copy field above the trigger's inputs: what it counts, and the webhook URLs this
 * connection's relay account gives for each counted vendor (GET /v1/me), like every other
 * instant trigger shows its vendor's. Never fails the editor.
 */
export const signalHelpField = (help: string) =>
  relaySetupField('signal_help', {
    lead: help,
    what: 'webhook URLs',
    render: (inbound) =>
      `**Point each vendor at your relay before you turn this Zap on:**\n${ACTIVITY_VENDORS.map((p) =>
        inbound[p.key] ? `- **${p.label}**: \`${inbound[p.key]}\`. ${p.inboundHelp}` : `- **${p.label}**: the relay gave no URL for this account; ask the team that runs it.`,
      ).join('\n')}`,
  });

export function signalTrigger(spec: SignalSpec) {
  const relay = relaySubscription(DEMO_ACTIVITY, spec.key);
  const numbersOf = (z: ZObject, input: Record<string, unknown>) => Object.fromEntries(spec.numbers.map((n) => [n.key, readNumber(z, input, n)]));

  // Out-of-range inputs and a connection that could count nothing are refused when the Zap is turned on.
  const performSubscribe = (async (z, bundle) => {
    numbersOf(z, bundle.inputData);
    requireCountedVendor(z, bundle.authData);
    return relay.performSubscribe(z, bundle);
  }) satisfies WebhookTriggerPerformSubscribe;

  /** Claims each signal found, set-if-absent: the ones this run may fire. */
  async function claim(z: ZObject, found: Found[]): Promise<SignalRecord[]> {
    const cache = zCache(z);
    const out: SignalRecord[] = [];
    for (const s of found) {
      // A repeat per window claims "the firing after the last one" (its own key), so two runs
      // that both read the same last firing cannot both claim the next.
      const claimKey = s.after === null ? s.key : `${s.key}:after:${s.after}`;
      if (await cache.get(claimKey, ['auth'])) continue;
      const won = await cache.set(claimKey, s.moment, s.ttlSeconds, ['auth'], true);
      if (won === false) continue;
      if (claimKey !== s.key) await cache.set(s.key, s.moment, s.ttlSeconds, ['auth']);
      out.push(s.record);
    }
    return out;
  }

  const perform = (async (z, bundle) => {
    const input = bundle.inputData;
    const n = numbersOf(z, input);
    const includeTest = truthy(input.include_test_events);
    const counted = countedVendors(bundle.authData);
    const headers = bundle.rawRequest?.headers as Record<string, string> | undefined;
    const raw = bundle.rawRequest?.content;
    const { provider, eventType, body } = activityVendorOf(headers, raw);
    // Not demo activity, or a vendor this connection cannot verify: nothing to count.
    if (!provider || !counted.includes(provider)) return [];
    // Verified like any trigger's delivery: a forgery halts, a bad body is refused. The body it
    // takes is the one parsed above (the same bytes, the same JSON.parse).
    const out = await runPipeline(z, bundle, provider, { rawBody: raw, headers }, { want: '*', includeTest });
    if (out.kind !== 'record') return [];
    const act = demoActivityOf(provider, eventType, body);
    if (!act || ignoredCompanies(input).has(act.company) || !keyAccount(input, act.company)) return [];
    const relayId = findHeader(headers, 'X-Relay-Event-Id') ?? `direct:${act.session}`;
    const receivedAt = Date.now();
    const trigger: Activity = { ...act, relayId, receivedAt, at: act.occurredAt ?? receivedAt, vendor: provider.key, event: eventType };
    const keep = spec.keep?.(input);
    if (keep && !keep(trigger)) return [];
    const windowMs = spec.windowMs(n);
    const sessions = await companySessions(z, bundle, act.company, trigger.at - 2 * windowMs, { includeTest, counted, withPrevious: spec.withPrevious, also: trigger, keep });
    const cache = zCache(z);
    const found = await spec.judge(
      {
        domain: act.company,
        sessions,
        trigger,
        fromMs: trigger.at - windowMs,
        keyBase: `signal:${spec.key}:${bundle.subscribeData?.id ?? 'direct'}:${act.company}`,
        lastFired: async (key) => Number(await cache.get(key, ['auth'])) || null,
        counted: counted.map((p) => p.label),
      },
      n,
      input,
    );
    return claim(z, found);
  }) satisfies WebhookTriggerPerform<Record<string, unknown>, SignalRecord>;

  const performList = (async (z, bundle) => {
    // "Test trigger": the companies for which the condition holds now, newest first (no cache
    // touched), or [] when none does yet.
    const input = bundle.inputData;
    const n = numbersOf(z, input);
    const counted = requireCountedVendor(z, bundle.authData);
    const includeTest = bundle.meta?.isLoadingSample === true || truthy(input.include_test_events);
    const ignored = ignoredCompanies(input);
    const keep = spec.keep?.(input);
    const { data } = await relayRequest<RelayEvent[]>(z, bundle, 'GET', '/v1/events', { params: { event: DEMO_ACTIVITY, limit: '100' } });
    const companies: string[] = [];
    for (const ev of Array.isArray(data) ? data : []) {
      const a = countedActivity(ev, counted, bundle.authData, includeTest);
      if (a && !ignored.has(a.company) && keyAccount(input, a.company) && !companies.includes(a.company)) companies.push(a.company);
      if (companies.length >= 10) break;
    }
    const now = Date.now();
    const windowMs = spec.windowMs(n);
    const found: Found[] = [];
    for (const domain of companies) {
      const sessions = await companySessions(z, bundle, domain, now - 2 * windowMs, { includeTest, counted, withPrevious: spec.withPrevious, keep });
      found.push(
        ...(await spec.judge(
          { domain, sessions, trigger: null, fromMs: now - windowMs, keyBase: `signal:${spec.key}:list:${domain}`, lastFired: async () => null, counted: counted.map((p) => p.label) },
          n,
          input,
        )),
      );
    }
    return found.sort((a, b) => b.moment - a.moment).map((s) => s.record);
  }) satisfies WebhookTriggerPerformList<Record<string, unknown>, SignalRecord>;

  return defineTrigger({
    key: spec.key,
    noun: spec.noun,
    display: { label: spec.label, description: spec.description },
    operation: {
      type: 'hook',
      inputFields: [signalHelpField(spec.help), ...spec.inputFields, includeTestField(ACTIVITY_VENDORS)] as never,
      performSubscribe,
      performUnsubscribe: relay.performUnsubscribe,
      perform,
      performList,
      sample: builtSample(`triggers.${spec.key}`, spec.sample),
      outputFields: [...signalOutputFields, ...spec.ownFields, ...signalOnlyFields],
    },
  });
}

/**
 * The first activity vendor's documented demo view, varied by its module into people at one
 * company: the samples' activity.
 */
export function sampleActivity(people: Array<{ email: string; name?: string; at: string }>): Activity[] {
  const vendor = ACTIVITY_VENDORS[0];
  return people.map((p, i) => {
    const payload = vendor.demoActivity!.example({ ...p, session: `sample-${i + 1}` });
    const event = String(payload[eventFieldOf(vendor)]);
    const act = demoActivityOf(vendor, event, payload)!;
    const at = Date.parse(p.at);
    return { ...act, name: p.name ?? null, relayId: `evt_sample_${i + 1}`, receivedAt: at, at, vendor: vendor.key, event };
  });
}
