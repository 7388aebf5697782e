/**
 * The playbook's account signals, as pure functions over a company's verified demo activity
 * (no Zapier, no HTTP): who from one company viewed which demos, whether a buying committee
 * just formed, whether a quiet account just came back, and the flat record a Zap gets.
 *
 * Both decisions are made at one event, in arrival order: a buying committee forms at the
 * event that brings the N-th distinct person into the window, and an account re-engages at
 * the first event after the quiet gap. So two deliveries processed at the same moment cannot
 * both fire (only one of them is that event), whatever the cache does.
 */
import { crmNote, oneLine, slackEscape, type Scalar } from './record.js';
import type { DemoRecord } from './pipeline.js';

/** A day in milliseconds, the unit of every signal's window. */
export const DAY = 86_400_000;

/** One verified demo activity of the company, in the relay's arrival order. */
export interface Activity {
  /** The relay's event id (X-Relay-Event-Id). */
  relayId: string;
  receivedAt: number;
  record: DemoRecord;
  /** False when the vendor has no signing secret on the connection (counted, and said so). */
  verified: boolean;
}

export interface Person {
  email: string;
  name: Scalar;
  first_seen_at: string;
  last_seen_at: string;
  sessions: number;
  demos: string;
}

/** The signal record a Zap gets (flat; people as line items). */
export interface SignalRecord {
  id: string;
  company_domain: string;
  company_name: string;
  people_count: number;
  people: Person[];
  people_emails: string;
  sessions_count: number;
  total_duration_seconds: number;
  demos_viewed: string;
  first_activity_at: string | null;
  last_activity_at: string | null;
  quiet_days: number | null;
  previous_activity_at: string | null;
  window_days: number;
  unverified_sessions: number;
  event_id: string;
  provider: string;
  event: string;
  is_test: boolean;
  summary_text: string;
  slack_message: string;
  crm_note: string;
  [key: string]: unknown;
}

/** The demo a session was about, by vendor: a Walnut demo or playlist, a Supademo demo or showcase. */
export const demoNameOf = (r: DemoRecord): string | null =>
  (r.demo_name as string | null | undefined) ?? (r.playlist_name as string | null | undefined) ?? (r.entity_title as string | null | undefined) ?? null;

const iso = (ms: number) => new Date(ms).toISOString();
const timeOf = (a: Activity) => (typeof a.record.occurred_at === 'string' ? Date.parse(a.record.occurred_at) : NaN) || a.receivedAt;

/**
 * Whether `trigger` is the event at which `minPeople` different people of the company have
 * shown up within `windowMs` before it (arrival order): the moment a buying committee forms.
 */
export function committeeFormsAt(activity: Activity[], trigger: Activity, minPeople: number, windowMs: number): { fires: boolean; window: Activity[] } {
  const upTo = activity.slice(0, activity.findIndex((a) => a.relayId === trigger.relayId) + 1);
  const window = upTo.filter((a) => a.receivedAt > trigger.receivedAt - windowMs);
  const seen = new Set<string>();
  for (const a of window) {
    const before = seen.size;
    seen.add(a.record.viewer_email as string);
    if (seen.size === minPeople && before === minPeople - 1) return { fires: a.relayId === trigger.relayId, window };
  }
  return { fires: false, window };
}

/**
 * Whether `trigger` is the first event after at least `quietMs` without any: a company that
 * had demo activity before comes back. A company seen for the first time does not qualify.
 */
export function reengagesAt(activity: Activity[], trigger: Activity, quietMs: number): { fires: boolean; previous: Activity | null } {
  const before = activity.slice(0, activity.findIndex((a) => a.relayId === trigger.relayId)).filter((a) => a.receivedAt <= trigger.receivedAt);
  const previous = before[before.length - 1] ?? null;
  return { fires: previous !== null && trigger.receivedAt - previous.receivedAt >= quietMs, previous };
}

/** The flat record for a company's activity, ready for a Slack alert or a CRM task. */
export function signalRecord(
  kind: 'buying_committee' | 'reengaged',
  domain: string,
  counted: Activity[],
  trigger: Activity,
  opts: { windowDays: number; previous?: Activity | null },
): SignalRecord {
  const byPerson = new Map<string, { name: Scalar; first: number; last: number; sessions: number; demos: Set<string> }>();
  let duration = 0;
  const demos = new Set<string>();
  let companyName: string | null = null;
  for (const a of counted) {
    const r = a.record;
    const email = r.viewer_email as string;
    const p = byPerson.get(email) ?? { name: r.viewer_full_name ?? null, first: timeOf(a), last: timeOf(a), sessions: 0, demos: new Set<string>() };
    p.sessions += 1;
    p.first = Math.min(p.first, timeOf(a));
    p.last = Math.max(p.last, timeOf(a));
    p.name ??= r.viewer_full_name ?? null;
    const demo = demoNameOf(r);
    if (demo) (p.demos.add(demo), demos.add(demo));
    byPerson.set(email, p);
    duration += typeof r.session_duration_seconds === 'number' ? r.session_duration_seconds : 0;
    companyName ??= (r.viewer_company as string | null) ?? null;
  }
  const people: Person[] = [...byPerson].map(([email, p]) => ({ email, name: p.name, first_seen_at: iso(p.first), last_seen_at: iso(p.last), sessions: p.sessions, demos: [...p.demos].join(', ') }));
  const times = counted.map(timeOf);
  const company = companyName ?? domain;
  const names = people.map((p) => (p.name ? `${p.name} (${p.email})` : p.email));
  const demoList = [...demos].join(', ');
  const quietDays = opts.previous ? Math.floor((trigger.receivedAt - opts.previous.receivedAt) / DAY) : null;
  const unverified = counted.filter((a) => !a.verified).length;
  const headline =
    kind === 'buying_committee'
      ? `${people.length} people from ${company} viewed demos in the last ${opts.windowDays} days`
      : `${company} is back after ${quietDays} quiet days`;
  const tr = trigger.record;
  return {
    id: `${kind}:${domain}:${tr.id}`,
    company_domain: domain,
    company_name: company,
    people_count: people.length,
    people,
    people_emails: people.map((p) => p.email).join(', '),
    sessions_count: counted.length,
    total_duration_seconds: duration,
    demos_viewed: demoList,
    first_activity_at: times.length ? iso(Math.min(...times)) : null,
    last_activity_at: times.length ? iso(Math.max(...times)) : null,
    quiet_days: quietDays,
    previous_activity_at: opts.previous ? iso(timeOf(opts.previous)) : null,
    window_days: opts.windowDays,
    unverified_sessions: unverified,
    event_id: tr.id,
    provider: tr.provider,
    event: tr.event,
    is_test: tr.is_test,
    summary_text: oneLine(`${headline}: ${names.join(', ')}${demoList ? ` (${demoList})` : ''}.`),
    slack_message:
      `${kind === 'buying_committee' ? ':busts_in_silhouette: *Buying committee*' : ':wave: *Account re-engaged*'} · *${slackEscape(company)}* (${slackEscape(domain)}): ` +
      `${slackEscape(headline)}\n${people.map((p) => `• ${slackEscape(p.name ? `${p.name} <${p.email}>` : p.email)}${p.demos ? ` — ${slackEscape(p.demos)}` : ''}`).join('\n')}` +
      (unverified ? `\n_${unverified} of the sessions came from a vendor without signature verification_` : ''),
    crm_note: crmNote(kind === 'buying_committee' ? `Buying committee: ${company}` : `Account re-engaged: ${company}`, [
      ['Company domain', domain],
      ['People', names.join('; ')],
      ['Demos viewed', demoList || null],
      ['Sessions', counted.length],
      ['Total time in demos', duration ? `${duration}s` : null],
      ['First activity', times.length ? iso(Math.min(...times)) : null],
      ['Last activity', times.length ? iso(Math.max(...times)) : null],
      ['Quiet days before this', quietDays],
      ['Unverified sessions', unverified || null],
    ]),
  };
}
