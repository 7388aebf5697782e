/**
 * The pieces the routes' zod schemas are built from. Each route declares its params, query,
 * body and answers once; the same declaration validates the request, types the handler and
 * becomes the route's entry in `/openapi.json`. A failed check answers 400 with the message
 * written here (relay/http/app.ts), so every message names its field and what to send.
 */
import { z } from 'zod';
import { closest } from '../domain/suggest.js';
import { DEMO_ACTIVITY, PROVIDER_KEYS, PROVIDERS, type ProviderKey } from '../../lib/providers/index.js';
import { isProviderKey as isProvider } from '../../lib/providers/index.js';
import { API_DELIVERY_STATUSES, EVENT_DELIVERY_STATUSES } from '../domain/statuses.js';

/** Every error answer: `{error}`, one sentence saying what was wrong and what to do. */
export const ErrorBody = z.object({ error: z.string() }).meta({ id: 'Error' });

/** The error answers a route can give, for the OpenAPI document. */
export const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, ErrorBody]));

/** Text from a URL or a body: NUL is refused the same way on every store (PostgreSQL cannot hold it). */
const text = (name: string, max: number) =>
  z
    .string()
    .max(max, { error: `${name} must be at most ${max} characters` })
    .refine((s) => !s.includes('\0'), { error: `${name} must not contain a NUL character` });

/**
 * An optional query parameter of the given schema; empty means unset. Optional outside the
 * preprocess too, so the OpenAPI document says it may be left out (a preprocess alone reads as required).
 */
export const unlessEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional()).optional();

/** An optional text query parameter; empty means unset. */
export const optionalText = (name: string, max = 200) => unlessEmpty(text(name, max));

/** An id in a path. A NUL or an over-long value names nothing here: the route answers 404. */
export const idParam = z.string().max(200).describe('an id this API handed out');

/** Whether an id from a path can name a row (else: 404 without asking the store). */
export const plausibleId = (id: string) => id.length > 0 && id.length <= 200 && !id.includes('\0');

export const isoTime = (name: string) =>
  z
    .string({ error: `${name} must be an ISO 8601 time, e.g. 2026-11-24T09:00:00Z` })
    .refine((raw) => /^\d{4}-\d\d-\d\d/.test(raw) && Number.isFinite(Date.parse(raw)), { error: `${name} must be an ISO 8601 time, e.g. 2026-11-24T09:00:00Z` })
    .transform((raw) => Date.parse(raw))
    .describe('ISO 8601 time');

export const optionalTime = (name: string) => unlessEmpty(isoTime(name));

/** `limit`: a whole number from 1 to `max`, `dflt` when absent. */
export const limit = (dflt: number, max: number) =>
  z
    .preprocess(
      (v) => (v === undefined || v === '' ? dflt : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v),
      z.number({ error: `limit must be an integer from 1 to ${max}` }).int({ error: `limit must be an integer from 1 to ${max}` }).min(1, { error: `limit must be an integer from 1 to ${max}` }).max(max, { error: `limit must be an integer from 1 to ${max}` }),
    )
    .default(dflt) // absent: the default (and the OpenAPI document says it may be left out)
    .describe(`1 to ${max}, default ${dflt}`);

/** `{provider}.{event}` for an event this relay knows, or `{provider}.*`; null otherwise. */
export function parseEventName(event: unknown): { provider: ProviderKey; name: string } | null {
  if (typeof event !== 'string') return null;
  const [prov, ...rest] = event.split('.');
  const name = rest.join('.');
  if (!isProvider(prov) || !(name === '*' || PROVIDERS[prov].events.some((e) => e.event === name))) return null;
  return { provider: prov, name };
}

/** Whether a relay event name can be subscribed to and listed: a vendor event, a vendor's `*`, or demo.activity. */
export const isRelayEvent = (event: unknown): boolean => event === DEMO_ACTIVITY || parseEventName(event) !== null;

/** Every relay event name a subscription can take. */
const KNOWN_EVENTS: string[] = [DEMO_ACTIVITY, ...Object.values(PROVIDERS).flatMap((p) => [`${p.key}.*`, ...p.events.map((e) => `${p.key}.${e.event}`)])];

export const unknownEventMessage = (event: unknown) => {
  const meant = typeof event === 'string' ? closest(event, KNOWN_EVENTS) : null;
  return `unknown event ${JSON.stringify(event ?? null)}${meant ? ` (did you mean "${meant}"?)` : ''}: use {provider}.{event} for a documented event, {provider}.*, or demo.activity`;
};

/** A relay event name (`walnut.demo_session_finished`, `pendo.*`, `demo.activity`). */
export const relayEvent = z
  .string({ error: (iss) => unknownEventMessage(iss.input) })
  .refine(isRelayEvent, { error: (iss) => unknownEventMessage(iss.input) })
  .describe('{provider}.{event}, {provider}.* or demo.activity');

export const providerName = z
  .string()
  .refine(isProvider, { error: (iss) => `unknown provider "${String(iss.input).slice(0, 40)}": one of ${PROVIDER_KEYS.join(', ')}` })
  .transform((s) => s as ProviderKey)
  .describe(PROVIDER_KEYS.join(' | '));

export const deliveryStatus = z
  .string()
  .refine((s) => (API_DELIVERY_STATUSES as readonly string[]).includes(s), { error: (iss) => `unknown status "${String(iss.input).slice(0, 40)}": one of ${API_DELIVERY_STATUSES.join(', ')}` })
  .transform((s) => s as (typeof API_DELIVERY_STATUSES)[number])
  .describe(`${API_DELIVERY_STATUSES.join(' | ')} (retrying: pending after a failed attempt)`);

export const eventDeliveryStatus = z
  .string()
  .refine((s) => (EVENT_DELIVERY_STATUSES as readonly string[]).includes(s), { error: (iss) => `unknown delivery_status "${String(iss.input).slice(0, 40)}": one of ${EVENT_DELIVERY_STATUSES.join(', ')}` })
  .transform((s) => s as (typeof EVENT_DELIVERY_STATUSES)[number])
  .describe(EVENT_DELIVERY_STATUSES.join(' | '));

const isoOut = z.string().describe('ISO 8601 time');
const isoOrNull = isoOut.nullable();

export const InboundUrls = z.record(z.string(), z.string()).describe('the URL to paste into each vendor, by provider');

export const Hook = z
  .object({
    id: z.string(),
    event: z.string(),
    target_url: z.string(),
    created_at: isoOut,
    zap_id: z.string().nullable().describe('the Zap behind the subscription, as the Zapier app said when it subscribed (null: not said)'),
    trigger: z.string().nullable().describe("the Zap's trigger key, e.g. demo_session (null: not said)"),
  })
  .meta({ id: 'Hook' });

export const HookHealth = Hook.extend({
  pending: z.number().int(),
  failed: z.number().int(),
  last_success_at: isoOrNull,
  last_failure_at: isoOrNull,
  last_error: z.string().nullable(),
  retrying: z.number().int().describe('of the pending, those with a failed attempt, waiting for their next one'),
  health: z
    .enum(['healthy', 'failing', 'refusing', 'throttled'])
    .describe(
      'failing from the first failed attempt after a success (or none), until its deliveries have succeeded for a minute; refusing while the Zap reports that its runs halt on what the relay delivers (refusing_reason says why), until it takes one; throttled while its target, not failing, is paused by a 429 or 503',
    ),
  failing_since: isoOrNull,
  refusing_since: isoOrNull.describe('since when the Zap has refused what it was delivered (null: it has not)'),
  refusing_reason: z.string().nullable().describe('why, in words an operator can act on (null: not refusing)'),
  refusing_code: z.string().nullable().describe('the reason code the Zap gave, e.g. signature_mismatch'),
  refusals: z.number().int().describe('refusals reported since it began refusing'),
  paced: z.number().int().describe("deliveries waiting for their turn within the target's limits (RELAY_TARGET_RATE, RELAY_ZAPIER_USER_RATE): not attempts, not failures"),
  throttled_until: isoOrNull.describe('until when the target is paused by the Retry-After of its 429 or 503 (null: not paused)'),
  consecutive_failures: z.number().int(),
  success_rate_24h: z.number().nullable().describe('of the deliveries attempted in the last 24 hours, the share delivered, 0 to 1 (one waiting only on a 429 or 503, throttling, left out); null when none was attempted'),
}).meta({ id: 'HookHealth' });

export const StatsHour = z
  .object({
    hour: isoOut,
    delivered: z.number().int(),
    failed_attempts: z.number().int(),
    given_up: z.number().int(),
    inbound: z.number().int(),
    no_subscription: z.number().int().describe('events received that no subscription was listening for: sent nowhere'),
  })
  .meta({ id: 'StatsHour' });

export const StoredEvent = z
  .object({
    id: z.string(),
    event: z.string(),
    received_at: isoOut,
    headers: z.record(z.string(), z.string()).describe("the vendor's signature header, under its name"),
    body: z.string().describe('the raw body, exactly as received'),
  })
  .meta({ id: 'StoredEvent' });

export const ActivityEvent = StoredEvent.extend({
  occurred_at: isoOut.describe('when the viewing happened (the payload says so; its arrival when it does not)'),
}).meta({ id: 'ActivityEvent' });

export const CompanyRow = z
  .object({
    domain: z.string().describe('the company: the registrable domain of its viewers’ emails'),
    last_at: isoOut.describe('when its last live demo session happened'),
  })
  .meta({ id: 'CompanyRow' });

const summary = z.string().nullable().describe('what happened, in words, as the vendor module reads the body (not verified: the relay holds no secrets); null when it cannot, or when the body is over 64 KiB');

export const EventRow = StoredEvent.extend({
  delivery_status: z.enum(EVENT_DELIVERY_STATUSES),
  summary,
  body_truncated: z.boolean().optional().describe('with body=preview: true when `body` is only the first 1,024 characters (GET /v1/events/{id} has the whole)'),
}).meta({ id: 'EventRow' });

export const Attempt = z.object({
  n: z.number().int(),
  started_at: isoOut,
  duration_ms: z.number(),
  status_code: z.number().int().nullable(),
  error: z.string().nullable(),
  response_snippet: z.string().nullable(),
});

export const EventDetail = StoredEvent.extend({
  summary,
  deliveries: z.array(
    z.object({
      id: z.string(),
      hook_id: z.string().nullable(),
      target_url: z.string(),
      status: z.enum(API_DELIVERY_STATUSES),
      origin: z.enum(['vendor', 'replay']).describe('replay: made by an operator\'s replay'),
      manual_retries: z.number().int().describe('how often an operator retried it by hand'),
      attempts: z.array(Attempt),
      next_attempt_at: isoOrNull,
    }),
  ),
}).meta({ id: 'EventDetail' });

export const DeliveryRow = z
  .object({
    id: z.string(),
    event_id: z.string(),
    event: z.string(),
    hook_id: z.string().nullable(),
    target_url: z.string(),
    status: z.enum(API_DELIVERY_STATUSES),
    origin: z.enum(['vendor', 'replay']),
    manual_retries: z.number().int(),
    attempt_count: z.number().int(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    next_attempt_at: isoOrNull,
    updated_at: isoOut,
  })
  .meta({ id: 'DeliveryRow' });

/** A JSON object body that may be left out (`{}`). */
export const optionalBody = <T extends z.ZodRawShape>(shape: T) =>
  z.preprocess((v) => (v === undefined || v === null ? {} : v), z.object(shape, { error: 'body must be a JSON object' })).default({} as never);
