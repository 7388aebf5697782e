/**
 * Reading demo activity back from the relay and counting only what this connection verifies:
 * the account signals, the engagement search and each session's viewer history share it. The
 * relay cannot verify a body (it holds no secrets), so every event it lists is verified here
 * with the connection's secret for its vendor; a forged or test session never counts.
 */
import type { Bundle, ZObject } from 'zapier-platform-core';
import { demoActivityOf } from './activity.js';
import { isWebhookRefused } from './errors.js';
import { parseBody, secretsFor, verifyDelivery } from './pipeline.js';
import { eventFieldOf, isProviderKey, PROVIDERS, type ProviderSpec } from './providers/index.js';
import { relayRequest, type RelayActivityEvent, type RelayEvent } from './relay-client.js';
import { findHeader, type Headers } from './signature.js';
import { sessionsOf, type Activity } from './signals.js';

/**
 * The vendor of a delivery on `demo.activity`: the one whose signature header it carries and
 * whose demo event type its body names, else the one whose event type the body names; with the
 * parsed body (empty when it is not JSON). The trigger verifies it after.
 */
export function activityVendorOf(headers: Headers | undefined, raw: string | undefined | null): { provider: ProviderSpec | null; eventType: string; body: Record<string, unknown> } {
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(raw ?? '') ?? {};
  } catch {
    body = {};
  }
  const names = (p: ProviderSpec) => p.demoActivity!.events.includes(String(body[eventFieldOf(p)]));
  const provider = ACTIVITY_VENDORS.find((p) => findHeader(headers, p.scheme.header) !== undefined && names(p)) ?? ACTIVITY_VENDORS.find(names) ?? null;
  return { provider, eventType: provider ? String(body[eventFieldOf(provider)]) : '', body };
}

/** The vendors whose events can be demo activity (lib/providers' `demoActivity`). */
export const ACTIVITY_VENDORS: ProviderSpec[] = Object.values(PROVIDERS).filter((p) => p.demoActivity);

/** The vendors counted on this connection: those with demo activity whose signing secret it holds. */
export function countedVendors(authData: Record<string, unknown>): ProviderSpec[] {
  return ACTIVITY_VENDORS.filter((p) => secretsFor(p, authData).some((s) => typeof s === 'string' && s.trim() !== ''));
}

/** A stored event as counted activity: verified with this connection's secret for its vendor, or null (forged, uncounted vendor, test, not a demo view). */
export function countedActivity(ev: RelayEvent, counted: ProviderSpec[], authData: Record<string, unknown>, includeTest: boolean): Activity | null {
  const key = ev.event.slice(0, ev.event.indexOf('.'));
  const spec = isProviderKey(key) ? PROVIDERS[key] : null;
  if (!spec || !counted.includes(spec)) return null;
  const eventType = ev.event.slice(key.length + 1);
  const receivedAt = Date.parse(ev.received_at);
  try {
    // A timestamped signature is judged against when the relay received the event.
    if (!verifyDelivery(spec, { rawBody: ev.body, headers: ev.headers }, secretsFor(spec, authData), receivedAt)) return null;
    const payload = parseBody(spec, ev.body);
    if (payload[eventFieldOf(spec)] !== eventType) return null; // the body must name the event the relay filed it under
    const act = demoActivityOf(spec, eventType, payload);
    if (!act || (act.isTest && !includeTest)) return null;
    return { ...act, relayId: ev.id, receivedAt, at: act.occurredAt ?? receivedAt, vendor: spec.key, event: eventType };
  } catch (err) {
    if (isWebhookRefused(err)) return null; // forged or unusable: never counted
    throw err;
  }
}

/**
 * Rows per page of GET /v1/activity. Zapier logs every z.request response and, before that,
 * scrubs it of each value that looks secret, each signature among them: a page costs its
 * signatures times its length, so pages of 100 cost a tenth of pages of 1,000 per event
 * (`npm run bench -- --only=company`).
 */
export const ACTIVITY_PAGE = 100;

/** Which activity to read: a company's, or one of its people's, between two viewing times (`until` excluded). */
export interface ActivityRange {
  since?: number;
  until?: number;
  /** One viewer (the activity index's person: the email without its +tag). */
  person?: string;
}

/** The pages of a company's (or, with `domain` null, the whole account's) stored activity in a range, newest first by when it happened. */
export async function* activityPages(z: ZObject, bundle: Bundle, domain: string | null, range: ActivityRange): AsyncGenerator<RelayActivityEvent[]> {
  const params: Record<string, string> = { limit: String(ACTIVITY_PAGE) };
  if (domain !== null) params.domain = domain;
  if (range.person !== undefined) params.person = range.person;
  if (range.since !== undefined) params.since = new Date(Math.max(0, range.since)).toISOString();
  if (range.until !== undefined) params.until = new Date(Math.max(0, range.until)).toISOString();
  for (let before: string | undefined; ; ) {
    const { data } = await relayRequest<RelayActivityEvent[]>(z, bundle, 'GET', '/v1/activity', {
      params: { ...params, ...(before ? { before } : {}) },
    });
    const page = Array.isArray(data) ? data : [];
    yield page;
    if (page.length < ACTIVITY_PAGE) return;
    before = page[page.length - 1].id;
  }
}


/**
 * Pages of an account's window read at most: 40,000 events, each verified, within a search's
 * time limit (`npm run bench -- --only=plays`). A window with more is counted from its newest
 * 40,000 and says so (`complete: false`).
 */
export const WINDOW_MAX_PAGES = 400;

/**
 * The account's counted sessions (verified, live) that happened since `sinceMs`, of the
 * companies `keep` takes, one entry per viewing session, oldest first.
 */
export async function accountSessions(
  z: ZObject,
  bundle: Bundle,
  sinceMs: number,
  counted: ProviderSpec[],
  keep: (company: string) => boolean,
): Promise<{ sessions: Activity[]; complete: boolean }> {
  const acts: Activity[] = [];
  let pages = 0;
  let complete = true;
  for await (const page of activityPages(z, bundle, null, { since: sinceMs })) {
    for (const ev of page) {
      const a = countedActivity(ev, counted, bundle.authData, false);
      if (a && keep(a.company)) acts.push(a);
    }
    if (++pages >= WINDOW_MAX_PAGES && page.length === ACTIVITY_PAGE) {
      complete = false;
      break;
    }
  }
  return { sessions: sessionsOf(acts), complete };
}

/** Sessions grouped by company. */
export function byCompany(sessions: Activity[]): Map<string, Activity[]> {
  const out = new Map<string, Activity[]>();
  for (const s of sessions) {
    const list = out.get(s.company);
    if (list) list.push(s);
    else out.set(s.company, [s]);
  }
  return out;
}

/** The account's companies whose last live session (as the relay indexed it) lies in `[sinceMs, untilMs)`, newest first, at most `max`. */
export async function quietCompanies(z: ZObject, bundle: Bundle, sinceMs: number, untilMs: number, max: number): Promise<Array<{ domain: string; last_at: string }>> {
  const { data } = await relayRequest<Array<{ domain: string; last_at: string }>>(z, bundle, 'GET', '/v1/activity/companies', {
    params: { since: new Date(Math.max(0, sinceMs)).toISOString(), until: new Date(Math.max(0, untilMs)).toISOString(), limit: String(max) },
  });
  return Array.isArray(data) ? data : [];
}
