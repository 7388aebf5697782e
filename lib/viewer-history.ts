/**
 * A session's viewer history: whether this person was seen before, how often, and how busy
 * their company has been in the last 30 days, from the relay's activity index. Counted as the
 * account signals count (lib/activity-reads.ts): each stored event verified with this
 * connection's secret for its vendor, a vendor's several events about one viewing once, test
 * sessions never (unless the Zap includes them). If the relay cannot be read, the record goes
 * out with the history empty: a late or missing count never costs the session itself.
 */
import type { Bundle, ZObject } from 'zapier-platform-core';
import { demoActivityOf } from './activity.js';
import { activityPages, countedActivity, countedVendors } from './activity-reads.js';
import { f, type OutputField } from './record.js';
import type { ProviderSpec } from './providers/index.js';
import { findHeader, type Headers } from './signature.js';
import { DAY, peopleOf, sessionsOf, type Activity } from './signals.js';

export interface ViewerHistory {
  viewer_session_count: number | null;
  viewer_first_seen_at: string | null;
  is_first_session: boolean | null;
  company_session_count_30d: number | null;
  company_people_count_30d: number | null;
}

export const NO_HISTORY: ViewerHistory = {
  viewer_session_count: null,
  viewer_first_seen_at: null,
  is_first_session: null,
  company_session_count_30d: null,
  company_people_count_30d: null,
};

/** The company window of the history. */
export const COMPANY_WINDOW_DAYS = 30;

/**
 * Pages read at most per question (100 events a page): a person or company with more has
 * its newest counted. Each page is a request within the trigger's time limit.
 */
export const HISTORY_MAX_PAGES = 20;

/** How the history counts, and when it is empty, for the editor's help. */
export const HISTORY_COUNTS =
  'Only sessions whose signature this connection verifies count, a vendor’s several events about one viewing once, test sessions only with "Include Test Events". ' +
  'The fields are empty when the relay could not be read (the session still reaches the Zap), the viewer has no company email (free-mail), or the connection has no signing secret for this vendor.';

export const viewerHistoryField = {
  key: 'add_viewer_history',
  label: 'Add Viewer History',
  type: 'boolean' as const,
  default: 'true',
  required: false,
  helpText:
    'Adds whether this is the viewer’s first session, how many sessions they have had, and how many sessions and people their company had in the last 30 days, counted from the demo activity your relay remembers (only sessions whose signature this connection verifies). ' +
    'Empty when the relay could not be read, the viewer has no company email, or the connection lacks this vendor’s signing secret. Turn off to skip the two look-ups.',
};

export const viewerHistoryOutputFields: OutputField[] = [
  f('viewer_session_count', 'Viewer Sessions So Far', 'integer'),
  f('viewer_first_seen_at', 'Viewer First Seen At', 'datetime'),
  f('is_first_session', 'First Session', 'boolean'),
  f('company_session_count_30d', 'Company Sessions in 30 Days', 'integer'),
  f('company_people_count_30d', 'Company People in 30 Days', 'integer'),
];

/** The verified activity of one read, with this session added even if the relay has not listed it yet. */
async function readCounted(
  z: ZObject,
  bundle: Bundle,
  domain: string,
  range: { since?: number; until: number; person?: string },
  counted: ProviderSpec[],
  includeTest: boolean,
  keep: (a: Activity) => boolean,
): Promise<Activity[]> {
  const acts: Activity[] = [];
  let pages = 0;
  for await (const page of activityPages(z, bundle, domain, range)) {
    for (const ev of page) {
      const a = countedActivity(ev, counted, bundle.authData, includeTest);
      if (a && keep(a)) acts.push(a);
    }
    if (++pages >= HISTORY_MAX_PAGES) break;
  }
  return acts;
}

/**
 * The viewer history of a session the trigger has verified (`payload` of `provider`'s
 * `eventType`), or NO_HISTORY when it cannot be counted: no relay on the connection, not a
 * company viewer, a vendor this connection cannot verify, or a relay that does not answer.
 */
export async function viewerHistory(
  z: ZObject,
  bundle: Bundle,
  provider: ProviderSpec,
  eventType: string,
  payload: Record<string, unknown>,
  includeTest: boolean,
): Promise<ViewerHistory> {
  // No relay on the connection (the action's case): nothing to read, and nothing loaded for it.
  if (typeof bundle.authData.relay_url !== 'string' || bundle.authData.relay_url.trim() === '') return NO_HISTORY;
  const counted = countedVendors(bundle.authData);
  if (!counted.includes(provider)) return NO_HISTORY;
  const act = demoActivityOf(provider, eventType, payload);
  if (!act || (act.isTest && !includeTest)) return NO_HISTORY;
  const headers = bundle.rawRequest?.headers as Headers | undefined;
  const receivedAt = Date.now();
  const self: Activity = { ...act, relayId: findHeader(headers, 'X-Relay-Event-Id') ?? `direct:${act.session}`, receivedAt, at: act.occurredAt ?? receivedAt, vendor: provider.key, event: eventType };
  // Up to and including this session's moment: a retry tomorrow counts the same.
  const until = self.at + 1;
  const ofCompany = (a: Activity) => a.company === act.company;
  try {
    const [mine, company] = await Promise.all([
      readCounted(z, bundle, act.company, { person: act.person, until }, counted, includeTest, (a) => ofCompany(a) && a.person === act.person),
      readCounted(z, bundle, act.company, { since: self.at - COMPANY_WINDOW_DAYS * DAY, until }, counted, includeTest, ofCompany),
    ]);
    const personal = sessionsOf([...mine.filter((a) => a.session !== self.session), self]);
    const recent = sessionsOf([...company.filter((a) => a.session !== self.session), self]);
    return {
      viewer_session_count: personal.length,
      viewer_first_seen_at: new Date(personal[0].at).toISOString(),
      is_first_session: personal[0].session === self.session,
      company_session_count_30d: recent.length,
      company_people_count_30d: peopleOf(recent),
    };
  } catch (err) {
    // The session still reaches the Zap; the history says it could not be counted.
    z.console.log(`viewer history not added: ${(err as Error).message}`);
    return NO_HISTORY;
  }
}
