/**
 * What the activity index keeps of an event: a company's demo view, derived from its payload by
 * the vendor module (lib/activity.ts). Intake derives it from the parsed body; the deriver
 * derives it again from the stored bytes for an event it was not handed.
 */
import { demoActivityOf, type DemoActivity } from '../../lib/activity.js';
import { PROVIDERS, type ProviderKey } from '../../lib/providers/index.js';

/** What the activity index keeps of one demo view. */
export interface ActivityIndex {
  domain: string;
  person: string;
  email: string;
  demo: string | null;
  /** When the viewing happened (ms); null: the payload does not say, so the arrival time. */
  occurredAt: number | null;
  isTest: boolean;
}

export const activityIndex = (act: DemoActivity): ActivityIndex => ({
  domain: act.company,
  person: act.person,
  email: act.email ?? '',
  demo: act.demo,
  occurredAt: act.occurredAt,
  isTest: act.isTest,
});

const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * A company's demo view (not free-mail, not disposable, not the vendor's own people), with a
 * person and demo free of control characters; undefined for anything else.
 */
export function activityOfPayload(provider: ProviderKey, eventType: string, payload: Record<string, unknown>): ActivityIndex | undefined {
  const act = demoActivityOf(PROVIDERS[provider], eventType, payload);
  if (!act || CONTROL.test(act.person) || CONTROL.test(act.demo ?? '')) return undefined;
  return activityIndex(act);
}

/** The same, from a stored event's relay name and bytes. */
export function activityOfStored(provider: ProviderKey, event: string, body: string): ActivityIndex | null {
  if (!PROVIDERS[provider]) return null;
  try {
    const payload = JSON.parse(body);
    if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return null;
    return activityOfPayload(provider, event.slice(provider.length + 1), payload) ?? null;
  } catch {
    return null;
  }
}
