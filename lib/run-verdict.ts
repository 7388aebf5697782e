/**
 * What a trigger's run made of a relay delivery, told back to the relay. Zapier answers a hook
 * 200 before perform runs, so a run that halts on a signature or a body it cannot read would
 * look delivered to the relay's operator. The relay is told the delivery's event id and a
 * reason code, with the connection's key: never the payload, a header value or a secret.
 *
 * Cheap on the hot path: a refusal is told at most once a minute per subscription and reason,
 * and a run that takes its delivery calls the relay only when this subscription was refusing.
 */
import type { Bundle, ZObject } from 'zapier-platform-core';
import { zCache } from './zcache.js';
import { relayRequest } from './relay-client.js';
import { findHeader, type Headers } from './signature.js';

export type RunVerdict = { refused: true; code: string } | { refused: false };

/** How long one refusal reason is not told again for one subscription. */
export const REFUSAL_TOLD_SECONDS = 60;
/** How long a subscription is remembered as refusing (then a taken delivery is not told). */
const REFUSING_SECONDS = 7 * 24 * 60 * 60;
/** A run waits at most this long for the relay to hear it. */
export const VERDICT_TIMEOUT_MS = 5000;

/** Tells the relay, when there is one to tell and something worth telling; never fails the run. */
export async function tellRelay(z: ZObject, bundle: Bundle, headers: Headers, verdict: RunVerdict): Promise<void> {
  const hookId = bundle.subscribeData?.id;
  const eventId = findHeader(headers, 'X-Relay-Event-Id');
  if (typeof hookId !== 'string' || !eventId || !(bundle.authData.relay_url ?? '').trim()) return;
  const cache = zCache(z);
  const scope = ['auth'];
  const refusing = `refusing:${hookId}`;
  const told = verdict.refused ? `refusal-told:${hookId}:${verdict.code}` : null;
  try {
    if (told ? await cache.get(told, scope) : !(await cache.get(refusing, scope))) return;
    await relayRequest(z, bundle, 'POST', `/v1/hooks/${encodeURIComponent(hookId)}/runs`, {
      body: verdict.refused ? { event_id: eventId, outcome: 'refused', reason: verdict.code } : { event_id: eventId, outcome: 'accepted' },
      timeoutMs: VERDICT_TIMEOUT_MS,
    });
    if (told) {
      await cache.set(told, 1, REFUSAL_TOLD_SECONDS, scope);
      await cache.set(refusing, 1, REFUSING_SECONDS, scope);
    } else {
      // Taken again: the next refusal, of any reason, is told at once.
      await cache.set(refusing, 0, 1, scope);
    }
  } catch (err) {
    // The run's own outcome matters more than the report: it goes on (or halts) as it would.
    z.console.log(`Could not tell the relay what this run made of its delivery: ${(err as Error).message}`);
  }
}
