/**
 * The playbook's account signals, as pure functions over a company's verified demo activity
 * (no Zapier, no HTTP): whether a buying committee has formed, whether a quiet company has
 * come back, what a company's engagement looks like, and the flat record a Zap gets.
 *
 * Judged on state, by when each viewing happened (not by arrival, not at one event): the
 * trigger asks at every activity whether the condition holds, so a late event counts where it
 * happened and a run that failed is made good by the company's next activity. Which moment a
 * signal belongs to (a committee's forming, a return) is deterministic, so every run that sees
 * it computes the same key, and the cache's set-if-absent lets exactly one of them fire.
 */
import type { DemoActivity } from './activity.js';
import { accountScore } from './account-plays.js';
import { crmNote, oneLine, slackEscape } from './record.js';
import { nameOfDomain } from './company.js';

/** A day in milliseconds, the unit of every signal's window. */
export const DAY = 86_400_000;

/** One verified demo view of the company. */
export interface Activity extends DemoActivity {
  /** The relay's event id (X-Relay-Event-Id). */
  relayId: string;
  receivedAt: number;
  /** When it happened: the payload's viewing time, else its arrival. */
  at: number;
  vendor: string;
  /** The vendor's event type (`demo_session_finished`, `lead.captured`, …). */
  event: string;
}

export interface Person {
  email: string | null;
  name: string | null;
  first_seen_at: string;
  last_seen_at: string;
  sessions: number;
  demos: string;
}

/** What a company's activity adds up to: the search's record and the signals' common fields. */
export interface Engagement {
  company_domain: string;
  company_name: string;
  /** The account's engagement score (lib/account-plays.ts) at the record's moment. */
  engagement_score: number | null;
  people_count: number;
  people: Person[];
  people_emails: string;
  sessions_count: number;
  total_duration_seconds: number;
  demos_viewed: string;
  first_activity_at: string | null;
  last_activity_at: string | null;
  counted_vendors: string;
}

/** The signal record a Zap gets (flat; people as line items). */
export interface SignalRecord extends Engagement {
  id: string;
  /** A buying committee's: the demo of a same-demo committee. */
  demo_id?: string | null;
  demo_name?: string | null;
  /** A re-engagement's: how long the company was quiet, and its last activity before. */
  quiet_days?: number | null;
  previous_activity_at?: string | null;
  window_days: number;
  event_id: string;
  provider: string;
  event: string;
  is_test: boolean;
  summary_text: string;
  slack_message: string;
  crm_note: string;
  [key: string]: unknown;
}

const iso = (ms: number) => new Date(ms).toISOString();
const maxOrNull = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b));

/**
 * One entry per viewing session, oldest first: a vendor's several events about one view (a
 * Supademo view sends viewed, lead and completed) count once, at its earliest time, with its
 * longest duration and whichever event named the viewer.
 */
export function sessionsOf(acts: Activity[]): Activity[] {
  const bySession = new Map<string, Activity>();
  for (const a of acts) {
    const seen = bySession.get(a.session);
    if (!seen) bySession.set(a.session, a);
    else {
      bySession.set(a.session, {
        ...(a.at < seen.at ? a : seen),
        durationSeconds: Math.max(a.durationSeconds, seen.durationSeconds),
        name: seen.name ?? a.name,
        companyName: seen.companyName ?? a.companyName,
        demoName: seen.demoName ?? a.demoName,
        // What the session reached, across its events: the best score and completion, any call-to-action.
        engagementScore: maxOrNull(a.engagementScore, seen.engagementScore),
        completionPct: maxOrNull(a.completionPct, seen.completionPct),
        ctaClicked: a.ctaClicked === null && seen.ctaClicked === null ? null : a.ctaClicked === true || seen.ctaClicked === true,
        exit: seen.exit ?? a.exit,
      });
    }
  }
  return [...bySession.values()].sort((x, y) => x.at - y.at || (x.relayId < y.relayId ? -1 : x.relayId > y.relayId ? 1 : 0));
}

/**
 * The buying committee among `sessions` (oldest first): the first window of `windowMs` ending
 * at a session in `[fromMs, toMs]` in which at least `minPeople` different people viewed.
 * Its `formedAt` is the session that brought the last needed person: the committee's moment.
 */
export function committeeIn(sessions: Activity[], minPeople: number, windowMs: number, fromMs: number, toMs: number): { formedAt: number; members: Activity[] } | null {
  const count = new Map<string, number>();
  let start = 0;
  for (let end = 0; end < sessions.length; end++) {
    const e = sessions[end];
    count.set(e.person, (count.get(e.person) ?? 0) + 1);
    while (sessions[start].at <= e.at - windowMs) {
      const p = sessions[start].person;
      const n = (count.get(p) ?? 0) - 1;
      if (n === 0) count.delete(p);
      else count.set(p, n);
      start++;
    }
    // Sessions at the same moment are one step: judge after the last of them.
    if (end + 1 < sessions.length && sessions[end + 1].at === e.at) continue;
    if (e.at < fromMs || e.at > toMs) continue;
    if (count.size >= minPeople) return { formedAt: e.at, members: sessions.slice(start, end + 1) };
  }
  return null;
}

/**
 * The company's latest return among `sessions` (oldest first) that happened in `[fromMs, toMs]`:
 * a session at least `quietMs` after the one before it (a company seen for the first time has
 * none), with the sessions from the return to `toMs` and the last one before the silence.
 */
export function returnIn(sessions: Activity[], quietMs: number, fromMs: number, toMs: number): { returnedAt: number; previous: Activity; since: Activity[] } | null {
  for (let i = sessions.length - 1; i > 0; i--) {
    const r = sessions[i];
    if (r.at > toMs) continue;
    if (r.at < fromMs) return null;
    const previous = sessions[i - 1];
    if (r.at - previous.at >= quietMs) {
      return { returnedAt: r.at, previous, since: sessions.slice(i).filter((s) => s.at <= toMs) };
    }
  }
  return null;
}

/** The distinct people among sessions. */
export const peopleOf = (sessions: Activity[]): number => new Set(sessions.map((s) => s.person)).size;

/** What a company's sessions add up to (people with first and last seen, demos, total time, its engagement score at `atMs`). */
export function engagementOf(domain: string, sessions: Activity[], countedVendors: string[], atMs: number): Engagement {
  const byPerson = new Map<string, { email: string | null; name: string | null; first: number; last: number; sessions: number; demos: Set<string> }>();
  let duration = 0;
  const demos = new Set<string>();
  let companyName: string | null = null;
  for (const a of sessions) {
    // The person's address without its +tag (the same mailbox), whichever of their sessions came first.
    const p = byPerson.get(a.person) ?? { email: a.email ? a.person : null, name: a.name, first: a.at, last: a.at, sessions: 0, demos: new Set<string>() };
    p.sessions += 1;
    p.first = Math.min(p.first, a.at);
    p.last = Math.max(p.last, a.at);
    p.name ??= a.name;
    if (a.demoName) (p.demos.add(a.demoName), demos.add(a.demoName));
    byPerson.set(a.person, p);
    duration += a.durationSeconds;
    companyName ??= a.companyName;
  }
  // People in the order they first came (then by address), demos by name: the same record whatever order the relay lists ties in.
  const people: Person[] = [...byPerson.entries()].sort(([ka, a], [kb, b]) => a.first - b.first || (ka < kb ? -1 : ka > kb ? 1 : 0)).map(([, p]) => ({
    email: p.email,
    name: p.name,
    first_seen_at: iso(p.first),
    last_seen_at: iso(p.last),
    sessions: p.sessions,
    demos: [...p.demos].sort().join(', '),
  }));
  const times = sessions.map((s) => s.at);
  return {
    company_domain: domain,
    company_name: companyName ?? nameOfDomain(domain),
    engagement_score: accountScore(sessions, atMs).shown,
    people_count: people.length,
    people,
    people_emails: people.flatMap((p) => (p.email ? [p.email] : [])).join(', '),
    sessions_count: sessions.length,
    total_duration_seconds: duration,
    demos_viewed: [...demos].sort().join(', '),
    first_activity_at: times.length ? iso(Math.min(...times)) : null,
    last_activity_at: times.length ? iso(Math.max(...times)) : null,
    counted_vendors: countedVendors.join(', '),
  };
}

/** How a person reads in a text: name and email, or whichever there is. */
export const personLabel = (p: Person): string => (p.name && p.email ? `${p.name} (${p.email})` : (p.name ?? p.email ?? 'a viewer known by company only'));

/** The three texts of a company's record: one line, a Slack message naming people and demos, a CRM note. */
function textsOf(e: Engagement, o: { headline: string; slackTitle: string; noteTitle: string; demo?: string | null; quietDays?: number | null }) {
  const names = e.people.map(personLabel);
  return {
    summary_text: oneLine(`${o.headline}: ${names.join(', ')}${e.demos_viewed ? ` (${e.demos_viewed})` : ''}.`),
    slack_message:
      `${o.slackTitle} · *${slackEscape(e.company_name)}* (${slackEscape(e.company_domain)}): ${slackEscape(o.headline)}\n` +
      e.people.map((p) => `• ${slackEscape(personLabel(p))}${p.demos ? ` — ${slackEscape(p.demos)}` : ''}`).join('\n'),
    crm_note: crmNote(o.noteTitle, [
      ['Company domain', e.company_domain],
      ['Demo', o.demo ?? null],
      ['People', names.join('; ')],
      ['Demos viewed', e.demos_viewed || null],
      ['Sessions', e.sessions_count],
      ['Account engagement score (1-10)', e.engagement_score],
      ['Total time in demos', e.total_duration_seconds ? `${e.total_duration_seconds}s` : null],
      ['First activity', e.first_activity_at],
      ['Last activity', e.last_activity_at],
      ['Quiet days before this', o.quietDays ?? null],
      ['Counted from', e.counted_vendors],
    ]),
  };
}

/** The texts for a company's engagement (the search's record). */
export function engagementTexts(e: Engagement, days: number): { summary_text: string; slack_message: string; crm_note: string } {
  const headline = `${e.people_count} ${e.people_count === 1 ? 'person' : 'people'} from ${e.company_name} viewed demos ${e.sessions_count} ${e.sessions_count === 1 ? 'time' : 'times'} in the last ${days} days`;
  return textsOf(e, { headline, slackTitle: ':bar_chart: *Demo engagement*', noteTitle: `Demo engagement: ${e.company_name}` });
}

/** The flat record for a signal, ready for a Slack alert or a CRM task. */
export function signalRecord(
  kind: 'buying_committee' | 'reengaged',
  domain: string,
  sessions: Activity[],
  trigger: Activity,
  opts: { windowDays: number; momentMs: number; previous?: Activity | null; demo?: { id: string; name: string | null } | null; countedVendors: string[] },
): SignalRecord {
  const e = engagementOf(domain, sessions, opts.countedVendors, opts.momentMs);
  const quietDays = opts.previous ? Math.floor((opts.momentMs - opts.previous.at) / DAY) : null;
  const demoName = opts.demo ? (opts.demo.name ?? opts.demo.id) : null;
  const committee = kind === 'buying_committee';
  const headline = committee
    ? `${e.people_count} people from ${e.company_name} viewed ${demoName ? `"${demoName}"` : 'demos'} within ${opts.windowDays} days`
    : `${e.company_name} is back after ${quietDays} quiet days`;
  return {
    id: `${kind}:${domain}${opts.demo ? `:${opts.demo.id}` : ''}:${iso(opts.momentMs)}`,
    ...e,
    // Each signal's own fields only: a committee has no quiet period, a return no demo of its own.
    ...(committee
      ? { demo_id: opts.demo?.id ?? null, demo_name: opts.demo ? opts.demo.name : null }
      : { quiet_days: quietDays, previous_activity_at: opts.previous ? iso(opts.previous.at) : null }),
    window_days: opts.windowDays,
    event_id: trigger.relayId,
    provider: trigger.vendor,
    event: trigger.event,
    is_test: trigger.isTest,
    ...textsOf(e, {
      headline,
      slackTitle: committee ? ':busts_in_silhouette: *Buying committee*' : ':wave: *Account re-engaged*',
      noteTitle: `${committee ? 'Buying committee' : 'Account re-engaged'}: ${e.company_name}`,
      demo: demoName,
      quietDays,
    }),
  };
}
