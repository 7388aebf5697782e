import {
  defineTrigger,
  type Bundle,
  type WebhookTriggerPerform,
  type WebhookTriggerPerformList,
  type WebhookTriggerPerformSubscribe,
  type WebhookTriggerPerformUnsubscribe,
  type ZObject,
} from 'zapier-platform-core';
import { isWebhookRefused, type WebhookRefused } from './errors.js';
import { processDelivery, sampleRecord, scopeSampleRecord, secretsFor, type DemoRecord, type Outcome } from './pipeline.js';
import type { EventSpec, ProviderSpec } from './providers/index.js';
import { PROVIDERS, relayEventName } from './providers/index.js';
import { commonOutputFields, type OutputField } from './record.js';
import { relayRequest, type RelayEvent, type RelayMe } from './relay-client.js';
import { tellRelay } from './run-verdict.js';
import { zCache } from './zcache.js';
import { builtSample } from './built-samples.js';
import { assetRules, historyWanted, isSessionEvent, sessionInputFields, sessionOutputFields, sessionSample, matchSession, withHistory } from './session-trigger.js';

/** Seen record ids are kept for 7 days, per connection ("auth" scope). */
export const DEDUPE_TTL_SECONDS = 7 * 24 * 60 * 60;

/** "Include Test Events", naming the test buttons of the vendors a trigger takes. */
export const includeTestField = (providers: ProviderSpec[]) => ({
  key: 'include_test_events',
  label: 'Include Test Events',
  type: 'boolean' as const,
  default: 'false',
  required: false,
  helpText: `Also trigger on test deliveries (${providers.map((p) => `${p.label} ${p.testEventHow}`).join(', ')}). Leave off for live Zaps.`,
});

export const includeTestEventsField = includeTestField(Object.values(PROVIDERS));

export const truthy = (v: unknown): boolean =>
  v === true || (typeof v === 'string' && ['true', 'yes', '1', 'on'].includes(v.trim().toLowerCase()));


/** Subscribing a Zap to a relay event and unsubscribing it: the REST-hook half of every trigger. */
export function relaySubscription(relayEvent: string, trigger?: string) {
  const performSubscribe = (async (z, bundle) => {
    // Which Zap this is, so the relay's operator can tell its subscriptions apart.
    const zapId = bundle.meta?.zap?.id;
    const { data } = await relayRequest<{ id: string }>(z, bundle, 'POST', '/v1/hooks', {
      body: { target_url: bundle.targetUrl, event: relayEvent, ...(zapId !== undefined && zapId !== null ? { zap_id: String(zapId) } : {}), ...(trigger ? { trigger } : {}) },
    });
    return data;
  }) satisfies WebhookTriggerPerformSubscribe;

  const performUnsubscribe = (async (z, bundle) => {
    const id = bundle.subscribeData?.id;
    if (!id) return {};
    // 404: the relay already dropped it (e.g. after a 410), which is the state we want.
    await relayRequest(z, bundle, 'DELETE', `/v1/hooks/${encodeURIComponent(id)}`, { allow404: true });
    return {};
  }) satisfies WebhookTriggerPerformUnsubscribe;
  return { performSubscribe, performUnsubscribe };
}

/** Turns a refusal into the Zapier error the contract asks for: forgeries halt the run. */
export function raiseRefusal(z: ZObject, err: WebhookRefused): never {
  if (err.kind === 'signature') throw new z.errors.HaltedError(err.message);
  throw new z.errors.Error(err.message, err.code, 400);
}

/**
 * A hook perform's pipeline on the delivery Zapier hands it: the outcome, or the refusal as the
 * Zapier error the contract asks for; either way the relay is told what the run made of it.
 */
export async function runPipeline(
  z: ZObject,
  bundle: Bundle,
  provider: ProviderSpec,
  delivery: Parameters<typeof processDelivery>[1],
  filter: Parameters<typeof processDelivery>[3],
): Promise<Outcome> {
  let outcome: Outcome;
  try {
    outcome = processDelivery(provider, delivery, secretsFor(provider, bundle.authData), filter);
  } catch (err) {
    if (!isWebhookRefused(err)) throw err;
    await tellRelay(z, bundle, delivery.headers, { refused: true, code: err.code });
    raiseRefusal(z, err);
  }
  await tellRelay(z, bundle, delivery.headers, { refused: false });
  return outcome;
}

/** How many stored events "Test trigger" looks through for ones this trigger takes (the relay's maximum). */
export const LIST_LIMIT = 100;

/**
 * Records of "Test trigger" that get the viewer's history: the Zap editor takes three records
 * for samples, and each history is two relay reads within the editor's 30 seconds.
 */
export const LIST_HISTORY = 3;

/** Exactly once into the Zap: whether this subscription has not let `id` in yet (and now has). */
export async function firstTime(z: ZObject, trigger: string, bundle: Bundle, id: string): Promise<boolean> {
  // The relay delivers at least once, so a redelivery (same record id) is dropped here. The key
  // carries the subscription, so two Zaps on one connection each get the event; the scope keeps
  // it per connection.
  const cacheKey = `seen:${trigger}:${bundle.subscribeData?.id ?? 'direct'}:${id}`;
  const scope = ['auth'];
  const cache = zCache(z);
  if (await cache.get(cacheKey, scope)) return false;
  const fresh = await cache.set(cacheKey, 1, DEDUPE_TTL_SECONDS, scope, true);
  return fresh !== false;
}

/**
 * A copy field above a trigger's inputs: the webhook URLs this connection's relay account
 * gives (from GET /v1/me), as `render` words them, and where to paste them, so a Zap is never switched on
 * while the vendor sends nowhere without the builder having been told. Never fails the editor:
 * a relay it cannot read is explained in the same place.
 */
export function relaySetupField(
  key: string,
  opts: { lead?: string; caveat?: string; what: string; render(inbound: Record<string, string>): string },
) {
  const copy = (text: string) => [{ key, type: 'copy' as const, helpText: `${opts.lead ? `${opts.lead}\n\n` : ''}${text}${opts.caveat ? `\n\n${opts.caveat}` : ''}` }];
  return async (z: ZObject, bundle: Bundle) => {
    if (!(bundle.authData.relay_url ?? '').trim()) {
      return copy(
        `**This connection has no relay**, so this instant trigger cannot be turned on. Reconnect with the Relay URL and Relay API Key from the team that runs your demohooks relay.`,
      );
    }
    try {
      const { data } = await relayRequest<RelayMe>(z, bundle, 'GET', '/v1/me');
      return copy(opts.render(data?.inbound ?? {}));
    } catch (err) {
      return copy(`Could not read your ${opts.what} from the relay: ${(err as Error).message}`);
    }
  };
}

const setupField = (provider: ProviderSpec, event: EventSpec | null) =>
  relaySetupField('relay_setup', {
    caveat: event?.help,
    what: `${provider.label} webhook URL`,
    render: (inbound) => {
      const url = inbound[provider.key];
      if (!url) return `The relay did not give a ${provider.label} webhook URL for this account; ask the team that runs it.`;
      return `**Before you turn this Zap on, point ${provider.label} at your relay.** Your ${provider.label} webhook URL is \`${url}\`. ${provider.inboundHelp}`;
    },
  });

/** Output fields with each key once, where it first appears. */
export const uniqueFields = (fields: OutputField[]): OutputField[] => {
  const seen = new Set<string>();
  return fields.filter((fl) => (seen.has(fl.key) ? false : (seen.add(fl.key), true)));
};

/**
 * A REST-hook trigger for one provider event (or, with `event` null, for all of them):
 * subscribe/unsubscribe/list against the relay, and a perform that verifies, validates
 * and flattens the delivery, and lets each event into the Zap once.
 */
export function hookTrigger(provider: ProviderSpec, event: EventSpec | null) {
  const key = event?.triggerKey ?? provider.anyEvent.triggerKey;
  const meta = event ?? provider.anyEvent;
  const relayEvent = relayEventName(provider.key, event?.event ?? '*');
  const want = event?.event ?? '*';
  // A specific trigger shows its documented event; an any-event trigger only the keys every
  // event of the vendor has (including one added later), so a live event can match it.
  // A demo session (it counts as demo activity) also gets the asset tags and the viewer's history.
  const session = isSessionEvent(provider, event?.event);
  const sample = builtSample(`triggers.${key}`, () => {
    const vendorSample = event ? sampleRecord(provider, event.sample) : scopeSampleRecord([provider]);
    return session && event ? sessionSample(provider, event.sample, vendorSample) : vendorSample;
  });
  const outputFields = uniqueFields([
    ...commonOutputFields,
    ...(event ? event.outputFields : provider.events.flatMap((e) => e.outputFields)),
    ...(session ? sessionOutputFields : []),
  ]);

  const filterOf = (bundle: Bundle) => ({ want, includeTest: truthy(bundle.inputData.include_test_events) });

  const relay = relaySubscription(relayEvent, key);
  const performUnsubscribe = relay.performUnsubscribe;
  // Asset words that cannot be read are refused when the Zap is turned on.
  const performSubscribe = (async (z, bundle) => {
    if (session) assetRules(z, bundle.inputData);
    return relay.performSubscribe(z, bundle);
  }) satisfies WebhookTriggerPerformSubscribe;

  const perform = (async (z, bundle) => {
    const filter = filterOf(bundle);
    const outcome = await runPipeline(z, bundle, provider, { rawBody: bundle.rawRequest?.content, headers: bundle.rawRequest?.headers }, filter);
    if (outcome.kind === 'skipped') return [];
    if (!session) return (await firstTime(z, key, bundle, outcome.record.id)) ? [outcome.record] : [];
    const record = matchSession(z, bundle.inputData, provider, outcome.payload, outcome.record);
    if (!record || !(await firstTime(z, key, bundle, record.id))) return [];
    return [await withHistory(z, bundle, provider, outcome.payload, record, { includeTest: filter.includeTest, wanted: historyWanted(bundle.inputData) })];
  }) satisfies WebhookTriggerPerform<Record<string, unknown>, DemoRecord>;

  const performList = (async (z, bundle) => {
    // "Test trigger": the user's own recent events, enough of them to find ones this trigger
    // takes. While the editor loads samples, test deliveries count too (the user has just
    // pressed the vendor's Test button); they are marked is_test: true.
    const { data } = await relayRequest<RelayEvent[]>(z, bundle, 'GET', '/v1/events', {
      params: { event: relayEvent, limit: String(LIST_LIMIT) },
    });
    const filter = { want, includeTest: bundle.meta?.isLoadingSample === true || truthy(bundle.inputData.include_test_events) };
    const records: DemoRecord[] = [];
    const refusals: WebhookRefused[] = [];
    const payloads: Array<Record<string, unknown>> = [];
    for (const ev of Array.isArray(data) ? data : []) {
      try {
        const outcome = processDelivery(provider, { rawBody: ev.body, headers: ev.headers }, secretsFor(provider, bundle.authData), filter);
        if (outcome.kind !== 'record') continue;
        const record = session ? matchSession(z, bundle.inputData, provider, outcome.payload, outcome.record) : outcome.record;
        if (record) (records.push(record), payloads.push(outcome.payload));
      } catch (err) {
        if (!isWebhookRefused(err)) throw err;
        refusals.push(err);
      }
    }
    // Real events that all failed verification mean the connection's secret is wrong: say so.
    if (records.length === 0 && refusals.length > 0) raiseRefusal(z, refusals[0]);
    // Nothing yet: [] makes the editor say no event was found and offer the sample, instead of
    // passing the static sample off as the user's data.
    if (!session) return records;
    const wanted = historyWanted(bundle.inputData);
    return Promise.all(records.map((r, i) => withHistory(z, bundle, provider, payloads[i], r, { includeTest: filter.includeTest, wanted: wanted && i < LIST_HISTORY })));
  }) satisfies WebhookTriggerPerformList<Record<string, unknown>, DemoRecord>;

  return defineTrigger({
    key,
    noun: meta.noun,
    display: { label: meta.label, description: meta.description },
    operation: {
      type: 'hook',
      inputFields: [setupField(provider, event), includeTestField([provider]), ...(session ? sessionInputFields([provider]) : [])],
      performSubscribe,
      performUnsubscribe,
      perform,
      performList,
      sample,
      outputFields,
    },
  });
}
