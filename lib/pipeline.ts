import { WebhookRefused } from './errors.js';
import { eventFieldOf, type ProviderSpec } from './providers/index.js';
import type { Flattened } from './providers/types.js';
import { bodyHashId, describeIssues, extras, type CommonRecord, type FlatRecord } from './record.js';
import { safeParse } from './schema-check.js';
import { findHeader, isTimestamped, verifySignature, type Headers } from './signature.js';

export type DemoRecord = CommonRecord & FlatRecord;

export interface Delivery {
  /** The raw body exactly as received (bundle.rawRequest.content). */
  rawBody: string | undefined | null;
  /** Request headers, in any case, with or without Zapier's `Http-` prefix. */
  headers?: Headers;
  /** The signature header's value, when the caller has it apart from headers (the create). */
  signature?: string | null;
}

export interface Filter {
  /** The provider's event name to accept, or `*` for every event. */
  want: string;
  includeTest: boolean;
}

/** How long after the relay received an event its X-Relay-Received-At is trusted: the relay's give-up window plus an hour. */
export const RECEIVED_AT_TRUST_MS = 25 * 3_600_000;

/**
 * When the relay received a delivery (X-Relay-Received-At), for judging a timestamped
 * signature: relay retries and history reads verify though signed long before now. Trusted
 * only within 25 hours of now (a replayed copy past that is refused); undefined (judge
 * against now) when the delivery did not come through a relay.
 */
export function relayReceivedAt(provider: ProviderSpec, headers: Headers): number | undefined {
  const raw = findHeader(headers, 'X-Relay-Received-At');
  if (raw === undefined) return undefined;
  const at = Date.parse(raw);
  const now = Date.now();
  if (!Number.isFinite(at) || at > now + 300_000 || now - at > RECEIVED_AT_TRUST_MS) {
    throw new WebhookRefused(
      'signature',
      'received_at_untrusted',
      `${provider.label} delivery refused: its X-Relay-Received-At (${JSON.stringify(raw.slice(0, 40))}) is not a time within the last 25 hours, ` +
        'the longest the relay retries a delivery. A copy replayed later is refused; a relay clock far off is the other cause.',
    );
  }
  return at;
}

export type Outcome = { kind: 'record'; record: DemoRecord; payload: Record<string, unknown> } | { kind: 'skipped'; reason: string };

/** The current and previous secret configured for a provider on a connection. */
export const secretsFor = (provider: ProviderSpec, authData: Record<string, unknown> | undefined) =>
  provider.secretKeys.map((k) => (typeof authData?.[k] === 'string' ? (authData[k] as string) : undefined));

/** Parses the raw body into a JSON object, or refuses with a reason. */
export function parseBody(provider: ProviderSpec, rawBody: string | undefined | null): Record<string, unknown> {
  if (typeof rawBody !== 'string' || rawBody.trim() === '') {
    throw new WebhookRefused(
      'payload',
      'body_missing',
      `${provider.label} webhook has an empty body: there is nothing to turn into a record. ` +
        `If you pass the body yourself, map the raw body (Catch Raw Hook's "Raw Body"), not a parsed field.`,
    );
  }
  let payload: unknown;
  try {
    payload = JSON.parse(rawBody);
  } catch (err) {
    throw new WebhookRefused(
      'payload',
      'body_not_json',
      `${provider.label} webhook body is not valid JSON (${(err as Error).message.slice(0, 120)}). ` +
        `${provider.label} always sends JSON: check that the raw body is passed unchanged.`,
    );
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new WebhookRefused(
      'payload',
      'body_not_object',
      `${provider.label} webhook body is JSON but not an object (got ${payload === null ? 'null' : Array.isArray(payload) ? 'an array' : typeof payload}). ` +
        `${provider.label} sends one event object per request.`,
    );
  }
  return payload as Record<string, unknown>;
}

export function eventNameOf(provider: ProviderSpec, payload: Record<string, unknown>): string {
  const field = eventFieldOf(provider);
  const ev = payload[field];
  if (typeof ev !== 'string' || ev.trim() === '') {
    throw new WebhookRefused(
      'payload',
      'event_missing',
      `${provider.label} webhook body has no "${field}" field naming its type, so it cannot be matched to a trigger. ` +
        `Check that the request really comes from ${provider.label}.`,
    );
  }
  return ev;
}

/**
 * The flat record for an authentic payload. Known event types are validated against their
 * documented schema (a payload that fails is refused with the failing paths); test events
 * that lack the documented fields and unknown event types are flattened generically.
 */
export function toRecord(
  provider: ProviderSpec,
  payload: Record<string, unknown>,
  rawBody: string,
  signatureVerified: boolean,
  /** False only for the vendors' documented samples, which the tests validate. */
  validate = true,
  /** False for samples: keys named by the user's data (custom fields, event properties) vary per event. */
  withDynamic = true,
): DemoRecord {
  const eventName = eventNameOf(provider, payload);
  const isTest = provider.isTest(payload);
  const spec = provider.events.find((e) => e.event === eventName);
  let flat: Flattened;
  let extra: FlatRecord = {};
  if (spec && !validate) {
    // Documented samples declare every field they carry (a test checks it): no extras.
    flat = spec.flatten(payload);
  } else if (spec) {
    const parsed = safeParse(spec.schema, payload);
    if (parsed.success) {
      flat = spec.flatten(parsed.data);
      extra = extras(payload, spec.schema);
    } else if (isTest) {
      ({ flat, extra } = viaEnvelope(provider, payload, eventName));
    } else {
      throw new WebhookRefused(
        'payload',
        'payload_invalid',
        `${provider.label} "${eventName}" payload does not have the documented shape: ${describeIssues(parsed.error)}. ` +
          `The fields that identify the event must be present and every field must have its documented type.`,
      );
    }
  } else if (!validate) {
    // A documented sample renamed to a future event type (scope samples): the envelope, unparsed.
    flat = provider.envelope.flatten(payload, eventName);
  } else {
    ({ flat, extra } = viaEnvelope(provider, payload, eventName));
  }
  // One literal and spreads of fast-mode literals: building this object is most of the
  // per-event cost once the body is parsed, so the parts are kept in a shape V8 copies fast.
  // Every key goes in the literal: assigning one after (record.x = …) to an object of this
  // many keys turns it into a slow dictionary.
  const { viewer } = flat;
  const record: DemoRecord = {
    id: provider.identity(payload) ?? bodyHashId(provider.key, rawBody),
    provider: provider.key,
    event: eventName,
    occurred_at: flat.occurred_at,
    sent_at: flat.sent_at ?? null,
    is_test: isTest,
    signature_verified: signatureVerified,
    // The viewer's six keys by name: a spread copies key by key, a literal's keys cost nothing.
    viewer_email: viewer.viewer_email,
    viewer_first_name: viewer.viewer_first_name,
    viewer_last_name: viewer.viewer_last_name,
    viewer_full_name: viewer.viewer_full_name,
    viewer_company: viewer.viewer_company,
    viewer_domain: viewer.viewer_domain,
    ...flat.fields,
    ...(withDynamic ? flat.dynamic : undefined),
    summary_text: flat.summary_text,
    slack_message: flat.slack_message,
    crm_note: flat.crm_note,
  } as DemoRecord;
  for (const k in extra) record[k] = extra[k];
  return record;
}

/**
 * An event type demohooks does not know (or a test event lacking its documented fields): the
 * vendor's shared envelope under its named fields, the rest under `extra__…`, so no key is
 * both named and extra. When even the envelope does not parse, everything goes to `extra__…`.
 */
function viaEnvelope(provider: ProviderSpec, payload: Record<string, unknown>, eventName: string): { flat: Flattened; extra: FlatRecord } {
  const schema = provider.envelope.schema();
  const parsed = safeParse(schema, payload);
  if (parsed.success) return { flat: provider.envelope.flatten(parsed.data, eventName), extra: extras(payload, schema) };
  return { flat: provider.flattenUnknown(payload, eventName), extra: {} };
}

/** Whether a trigger that wants `filter.want` takes this event. */
export function accepts(provider: ProviderSpec, payload: Record<string, unknown>, filter: Filter): string | null {
  const eventName = eventNameOf(provider, payload);
  const isTest = provider.isTest(payload);
  if (isTest && !filter.includeTest) {
    return `test event skipped ("Include Test Events" is off)`;
  }
  if (filter.want === '*' || filter.want === eventName) return null;
  if (isTest && provider.testEventTypes.includes(eventName)) return null;
  return `event "${eventName}" is not "${filter.want}"`;
}

/**
 * The vendor's signature over the raw bytes, by its scheme: true (verified), false (no secret on
 * the connection), or a `WebhookRefused`. A timestamped signature is judged against
 * `receivedAtMs` when given (a stored event's `received_at`), else the delivery's
 * X-Relay-Received-At, else now.
 */
export function verifyDelivery(provider: ProviderSpec, delivery: Delivery, secrets: Array<string | undefined | null>, receivedAtMs?: number): boolean {
  return verifySignature({
    providerLabel: provider.label,
    scheme: provider.scheme,
    rawBody: typeof delivery.rawBody === 'string' ? delivery.rawBody : '',
    signature: (delivery.signature ?? findHeader(delivery.headers, provider.scheme.header)) ?? undefined,
    secrets,
    headers: delivery.headers,
    receivedAtMs: isTimestamped(provider.scheme) ? (receivedAtMs ?? relayReceivedAt(provider, delivery.headers)) : undefined,
  });
}

/**
 * verify ▸ parse ▸ filter ▸ validate ▸ flatten. Throws `WebhookRefused` for forgeries and
 * unusable bodies; returns `skipped` for authentic events this trigger does not take.
 */
export function processDelivery(
  provider: ProviderSpec,
  delivery: Delivery,
  secrets: Array<string | undefined | null>,
  filter: Filter,
): Outcome {
  const rawBody = typeof delivery.rawBody === 'string' ? delivery.rawBody : '';
  const verified = verifyDelivery(provider, delivery, secrets);
  const payload = parseBody(provider, delivery.rawBody);
  const skip = accepts(provider, payload, filter);
  if (skip) return { kind: 'skipped', reason: skip };
  return { kind: 'record', record: toRecord(provider, payload, rawBody, verified), payload };
}

/**
 * The sample a trigger shows: its documented payload, flattened as a verified delivery would
 * be, without the keys that a user's own data names (custom fields, event properties): a live
 * event need not carry those (Zapier checks T004/T006). Built at load time, so it skips schema
 * validation (that first parse would make zod compile its parsers during every cold start); the
 * tests check that each sample validates and that a live event has every sample key.
 */
export function sampleRecord(provider: ProviderSpec, payload: Record<string, unknown>): DemoRecord {
  let record = samples.get(payload);
  if (!record) {
    record = toRecord(provider, payload, JSON.stringify(payload), true, false, false);
    samples.set(payload, record);
  }
  return record;
}

/**
 * Samples are built when the app loads (Zapier reads them from the definition), and the scope
 * samples need each event's record again: each is built once. Callers copy, never change them.
 */
const samples = new WeakMap<Record<string, unknown>, DemoRecord>();
const futureSamples = new WeakMap<Record<string, unknown>, DemoRecord>();

/**
 * The sample of a trigger that takes several event types (a vendor's any-event trigger, the
 * create): the keys that every event of that scope has, including an event type not known yet
 * (flattened through the envelope), with the first documented event's values. `is_test` is the
 * live value: the scope's sample shows a live event.
 */
export function scopeSampleRecord(providers: ProviderSpec[]): DemoRecord {
  const records: DemoRecord[] = [];
  for (const provider of providers) {
    for (const e of provider.events) {
      records.push(sampleRecord(provider, e.sample));
      let future = futureSamples.get(e.sample);
      if (!future) {
        const payload = { ...e.sample, [eventFieldOf(provider)]: 'an_event_type_added_later' };
        future = toRecord(provider, payload, JSON.stringify(payload), true, false, false);
        futureSamples.set(e.sample, future);
      }
      records.push(future);
    }
  }
  return commonKeysSample(records);
}

/** The keys every one of `records` has (no `extra__…`), with the first one's values: the sample of a trigger that takes them all. */
export function commonKeysSample(records: DemoRecord[]): DemoRecord {
  const [first] = records;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(first)) {
    if (k.startsWith('extra__')) continue;
    if (records.every((r) => k in r)) out[k] = first[k];
  }
  return out as DemoRecord;
}
