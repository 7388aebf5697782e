/**
 * "New Demo Session": every vendor's demo sessions through one trigger, a REST hook on the
 * relay's `demo.activity`. Each delivery is verified with its own vendor's secret and
 * flattened into that vendor's record, with the engagement score, the asset tags and the
 * viewer's history, so one Zap serves a team on Walnut and Supademo alike.
 */
import { defineTrigger, type WebhookTriggerPerform, type WebhookTriggerPerformList, type WebhookTriggerPerformSubscribe } from 'zapier-platform-core';
import { ACTIVITY_VENDORS, activityVendorOf } from './activity-reads.js';
import { isWebhookRefused, type WebhookRefused } from './errors.js';
import { firstTime, includeTestField, LIST_HISTORY, uniqueFields, LIST_LIMIT, raiseRefusal, relaySubscription, runPipeline, truthy } from './hook-trigger.js';
import { builtSample } from './built-samples.js';
import { commonKeysSample, processDelivery, sampleRecord, secretsFor, type DemoRecord } from './pipeline.js';
import { DEMO_ACTIVITY, isProviderKey, orList, PROVIDERS, type EventSpec, type ProviderSpec } from './providers/index.js';
import { commonOutputFields } from './record.js';
import { relayRequest, type RelayEvent } from './relay-client.js';
import { assetRules, historyWanted, isSessionEvent, sessionInputFields, sessionOutputFields, sessionSample, matchSession, withHistory } from './session-trigger.js';
import { BY_COMPANY, signalHelpField } from './signal-trigger.js';

export const DEMO_SESSION_KEY = 'demo_session';

/** Each activity vendor's session events. */
const SESSION_EVENTS: Array<{ provider: ProviderSpec; event: EventSpec }> = ACTIVITY_VENDORS.flatMap((provider) =>
  provider.events.filter((e) => isSessionEvent(provider, e.event)).map((event) => ({ provider, event })),
);

const HELP =
  `One trigger for every demo vendor: ${ACTIVITY_VENDORS.map((p) => p.demoActivity!.counted).join(', ')}, each as its vendor's own trigger gives it, with the engagement score, asset tags and viewer history. ` +
  `It takes a company's sessions as the account signals count them, ${BY_COMPANY}; a viewer with no company behind them is left out. ` +
  'Fill in each vendor’s signing secret in the connection so every session is verified.';

export function demoSessionTrigger() {
  const relay = relaySubscription(DEMO_ACTIVITY, DEMO_SESSION_KEY);

  const performSubscribe = (async (z, bundle) => {
    assetRules(z, bundle.inputData);
    return relay.performSubscribe(z, bundle);
  }) satisfies WebhookTriggerPerformSubscribe;

  const perform = (async (z, bundle) => {
    const includeTest = truthy(bundle.inputData.include_test_events);
    const headers = bundle.rawRequest?.headers as Record<string, string> | undefined;
    const raw = bundle.rawRequest?.content;
    const { provider, eventType } = activityVendorOf(headers, raw);
    if (!provider) return [];
    const outcome = await runPipeline(z, bundle, provider, { rawBody: raw, headers }, { want: eventType, includeTest });
    if (outcome.kind === 'skipped') return [];
    const record = matchSession(z, bundle.inputData, provider, outcome.payload, outcome.record);
    if (!record || !(await firstTime(z, DEMO_SESSION_KEY, bundle, record.id))) return [];
    return [await withHistory(z, bundle, provider, outcome.payload, record, { includeTest, wanted: historyWanted(bundle.inputData) })];
  }) satisfies WebhookTriggerPerform<Record<string, unknown>, DemoRecord>;

  const performList = (async (z, bundle) => {
    // "Test trigger": the account's recent demo sessions of every vendor, verified and
    // flattened as perform does; [] when there is none yet.
    const { data } = await relayRequest<RelayEvent[]>(z, bundle, 'GET', '/v1/events', { params: { event: DEMO_ACTIVITY, limit: String(LIST_LIMIT) } });
    const includeTest = bundle.meta?.isLoadingSample === true || truthy(bundle.inputData.include_test_events);
    const found: Array<{ provider: ProviderSpec; record: DemoRecord; payload: Record<string, unknown> }> = [];
    const refusals: WebhookRefused[] = [];
    for (const ev of Array.isArray(data) ? data : []) {
      const key = ev.event.slice(0, ev.event.indexOf('.'));
      const provider = isProviderKey(key) ? (PROVIDERS[key] as ProviderSpec) : null;
      const eventType = ev.event.slice(key.length + 1);
      if (!provider || !isSessionEvent(provider, eventType)) continue;
      try {
        const outcome = processDelivery(provider, { rawBody: ev.body, headers: ev.headers }, secretsFor(provider, bundle.authData), { want: eventType, includeTest });
        if (outcome.kind !== 'record') continue;
        const record = matchSession(z, bundle.inputData, provider, outcome.payload, outcome.record);
        if (record) found.push({ provider, record, payload: outcome.payload });
      } catch (err) {
        if (!isWebhookRefused(err)) throw err;
        refusals.push(err);
      }
    }
    if (found.length === 0 && refusals.length > 0) raiseRefusal(z, refusals[0]);
    const wanted = historyWanted(bundle.inputData);
    return Promise.all(found.map((f, i) => withHistory(z, bundle, f.provider, f.payload, f.record, { includeTest, wanted: wanted && i < LIST_HISTORY })));
  }) satisfies WebhookTriggerPerformList<Record<string, unknown>, DemoRecord>;

  return defineTrigger({
    key: DEMO_SESSION_KEY,
    noun: 'Demo Session',
    display: {
      label: 'New Demo Session',
      description: `Triggers when a viewer finishes, views or converts in a ${orList(ACTIVITY_VENDORS.map((p) => p.label))} demo, with the engagement score and the viewer's history.`,
    },
    operation: {
      type: 'hook',
      inputFields: [signalHelpField(HELP), includeTestField(ACTIVITY_VENDORS), ...sessionInputFields(ACTIVITY_VENDORS)] as never,
      performSubscribe,
      performUnsubscribe: relay.performUnsubscribe,
      perform,
      performList,
      // The keys every vendor's session record has, with the first documented session's values.
      sample: builtSample(`triggers.${DEMO_SESSION_KEY}`, () =>
        sessionSample(SESSION_EVENTS[0].provider, SESSION_EVENTS[0].event.sample, commonKeysSample(SESSION_EVENTS.map(({ provider, event }) => sampleRecord(provider, event.sample)))),
      ),
      outputFields: uniqueFields([...commonOutputFields, ...SESSION_EVENTS.flatMap(({ event }) => event.outputFields), ...sessionOutputFields]),
    },
  });
}
