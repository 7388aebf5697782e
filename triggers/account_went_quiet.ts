/**
 * Account Went Quiet (polling): the playbook's "open opportunities with low engagement →
 * re-engagement sequence". A company with enough verified demo sessions whose last one was
 * `quiet_days` ago or more appears once per silence: its record id is the company and the date
 * of its last session, so Zapier's deduplication lets it through once, and again only after
 * the company comes back and goes quiet anew.
 *
 * The relay lists the companies whose last session it indexed falls in the window (an index
 * range); each is read back and verified here, so a forged or test session can neither list a
 * company nor count towards it.
 */
import { defineTrigger, type Bundle, type ZObject } from 'zapier-platform-core';
import { ACCOUNT_SCORE_HELP } from '../lib/account-plays.js';
import { activityPages, countedActivity, quietCompanies } from '../lib/activity-reads.js';
import { builtSample } from '../lib/built-samples.js';
import { commonOutputFields, crmNote, f, oneLine, slackEscape } from '../lib/record.js';
import { onlyDomainsField } from '../lib/session-trigger.js';
import {
  ACTIVITY_VENDORS,
  BY_COMPANY,
  COUNTED,
  ignoredCompanies,
  ignoreDomainsField,
  keyAccount,
  readNumber,
  requireCountedVendor,
  sampleActivity,
  signalOutputFields,
  VERIFIED_ONLY,
  type NumberInput,
} from '../lib/signal-trigger.js';
import { DAY, engagementOf, sessionsOf, type Activity, type Engagement } from '../lib/signals.js';

const QUIET_DAYS: NumberInput = { key: 'quiet_days', label: 'Quiet For (days)', dflt: 14, min: 1, max: 365 };
const MIN_SESSIONS: NumberInput = { key: 'min_sessions_before', label: 'Minimum Sessions Before', dflt: 2, min: 1, max: 100 };

/** How long after crossing the quiet mark a company is still listed: a poll that missed it (the Zap off for a while) still sees it. */
export const LISTED_FOR_DAYS = 30;
/** Companies looked at per poll, those that went quiet most recently first. */
export const COMPANIES_PER_POLL = 50;
/** The engagement before the silence: the sessions in the 30 days up to the last one. */
const BEFORE_DAYS = 30;

export interface QuietRecord extends Engagement {
  id: string;
  last_session_at: string;
  days_quiet: number;
  quiet_days: number;
  summary_text: string;
  slack_message: string;
  crm_note: string;
  [key: string]: unknown;
}

export function quietRecord(domain: string, sessions: Activity[], counted: string[], nowMs: number, quietDays: number): QuietRecord {
  const last = sessions[sessions.length - 1].at;
  // The account's engagement as it stood at its last session: what went quiet.
  const e = engagementOf(domain, sessions, counted, last);
  const daysQuiet = Math.floor((nowMs - last) / DAY);
  const lastIso = new Date(last).toISOString();
  const headline = `${e.company_name} has had no demo session for ${daysQuiet} days (last ${lastIso.slice(0, 10)}, engagement ${e.engagement_score}/10 then)`;
  return {
    // One per silence: the company and the day of its last session.
    id: `quiet:${domain}:${lastIso.slice(0, 10)}`,
    ...e,
    last_session_at: lastIso,
    days_quiet: daysQuiet,
    quiet_days: quietDays,
    summary_text: oneLine(`${headline}: ${e.people_count} ${e.people_count === 1 ? 'person' : 'people'}, ${e.sessions_count} sessions before (${e.demos_viewed || 'no demo named'}).`),
    slack_message:
      `:hourglass: *Account went quiet* · *${slackEscape(e.company_name)}* (${slackEscape(domain)}): no demo session for *${daysQuiet} days*\n` +
      `Before: ${e.people_count} ${e.people_count === 1 ? 'person' : 'people'}, ${e.sessions_count} sessions, engagement ${e.engagement_score}/10${e.demos_viewed ? ` — ${slackEscape(e.demos_viewed)}` : ''}\n` +
      `People: ${slackEscape(e.people_emails || 'known by company only')}`,
    crm_note: crmNote(`Account went quiet: ${e.company_name}`, [
      ['Company domain', domain],
      ['Last demo session', lastIso],
      ['Days quiet', daysQuiet],
      ['People before', e.people_emails || null],
      ['Sessions before', e.sessions_count],
      ['Demos viewed', e.demos_viewed || null],
      ['Account engagement score (1-10) at the last session', e.engagement_score],
      ['Counted from', e.counted_vendors],
    ]),
  };
}

/** A listed company's verified live sessions in the 30 days up to its last indexed one, oldest first. */
async function sessionsBefore(z: ZObject, bundle: Bundle, domain: string, lastAtMs: number, counted: Parameters<typeof countedActivity>[1]): Promise<Activity[]> {
  const acts: Activity[] = [];
  let pages = 0;
  for await (const page of activityPages(z, bundle, domain, { since: lastAtMs - BEFORE_DAYS * DAY, until: lastAtMs + 1 })) {
    for (const ev of page) {
      const a = countedActivity(ev, counted, bundle.authData, false);
      if (a && a.company === domain) acts.push(a);
    }
    if (++pages >= 10) break;
  }
  return sessionsOf(acts);
}

export default defineTrigger({
  key: 'account_went_quiet',
  noun: 'Quiet Account',
  display: {
    label: 'New Quiet Account',
    description: 'Triggers when a company that viewed your demos goes quiet: no demo session for a number of days.',
  },
  operation: {
    type: 'polling',
    inputFields: [
      {
        key: 'help',
        type: 'copy',
        helpText: `Counts ${COUNTED}, ${BY_COMPANY}. A company appears once per silence, when it crosses the mark (and for ${LISTED_FOR_DAYS} days after, should a check be missed); if it comes back and goes quiet again, it appears again. ${ACCOUNT_SCORE_HELP} ${VERIFIED_ONLY}`,
      },
      { key: 'quiet_days', label: 'Quiet For (days)', type: 'integer', default: '14', required: false, helpText: 'How many days without a demo session make a company quiet (1 to 365).' },
      { key: 'min_sessions_before', label: 'Minimum Sessions Before', type: 'integer', default: '2', required: false, helpText: 'How many demo sessions the company must have had in the 30 days up to its last one (1 to 100), so a single look is not an account going quiet.' },
      onlyDomainsField,
      ignoreDomainsField,
    ],
    perform: async (z: ZObject, bundle: Bundle) => {
      const input = bundle.inputData as Record<string, unknown>;
      const quietDays = readNumber(z, input, QUIET_DAYS);
      const minSessions = readNumber(z, input, MIN_SESSIONS);
      const counted = requireCountedVendor(z, bundle.authData);
      const ignored = ignoredCompanies(input);
      const now = Date.now();
      const mark = now - quietDays * DAY;
      const listed = await quietCompanies(z, bundle, mark - LISTED_FOR_DAYS * DAY, mark, COMPANIES_PER_POLL);
      const out: QuietRecord[] = [];
      for (const c of listed) {
        if (ignored.has(c.domain) || !keyAccount(input, c.domain)) continue;
        const sessions = await sessionsBefore(z, bundle, c.domain, Date.parse(c.last_at), counted);
        // Verified here: the company's real last session must be past the mark, with enough before it.
        if (sessions.length < minSessions || sessions[sessions.length - 1].at > mark) continue;
        out.push(quietRecord(c.domain, sessions, counted.map((p) => p.label), now, quietDays));
      }
      return out;
    },
    sample: builtSample('triggers.account_went_quiet', () => {
      const sessions = sampleActivity([
        { email: 'dana.lee@acme.co.uk', name: 'Dana Lee', at: '2026-10-20T14:02:11.000Z' },
        { email: 'sam.ortiz@acme.co.uk', name: 'Sam Ortiz', at: '2026-10-24T09:40:27.000Z' },
      ]);
      return quietRecord('acme.co.uk', sessions, ACTIVITY_VENDORS.map((p) => p.label), Date.parse('2026-11-08T09:00:00.000Z'), 14);
    }),
    outputFields: [
      ...signalOutputFields,
      f('last_session_at', 'Last Session At', 'datetime'),
      f('days_quiet', 'Days Quiet', 'integer'),
      f('quiet_days', 'Quiet For (days)', 'integer'),
      ...commonOutputFields.filter((o) => ['summary_text', 'slack_message', 'crm_note'].includes(o.key)),
      f('id', 'Silence ID'),
    ],
  },
});
