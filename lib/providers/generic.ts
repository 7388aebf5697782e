import { crmNote, flattenGeneric, oneLine, slackEscape, viewerLabel, type Viewer } from '../record.js';
import type { Flattened } from './types.js';

/**
 * The flattening for an event type demohooks does not know yet (or a test event without
 * the documented fields): the common fields it can find, and every field of the payload
 * under `extra__…`, so a new event type reaches the Zap whole instead of being dropped.
 */
export function flattenAnything(
  providerLabel: string,
  eventName: string,
  payload: Record<string, unknown>,
  found: { occurredAt: string | null; viewer: Viewer },
): Flattened {
  const fields = flattenGeneric(payload, 'extra');
  const who = viewerLabel(found.viewer, '');
  return {
    occurred_at: found.occurredAt,
    viewer: found.viewer,
    fields,
    summary_text: oneLine(`${providerLabel} event "${eventName}"${who ? ` for ${who}` : ''}.`),
    slack_message: `:bell: ${slackEscape(providerLabel)} event *${slackEscape(eventName)}*${who ? ` for *${slackEscape(who)}*` : ''}`,
    crm_note: crmNote(`${providerLabel} event: ${eventName}`, [
      ['Viewer', found.viewer.viewer_email ?? found.viewer.viewer_full_name],
      ['Occurred at', found.occurredAt],
    ]),
  };
}
