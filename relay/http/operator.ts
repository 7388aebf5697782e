/**
 * The operator API (bearer auth, scoped to the key's account): subscriptions and their health,
 * the event log, an event's deliveries and attempts, manual and bulk retry, replay, rotation
 * and disabling. The console and `demohooks-relay` call the same services (relay/services/).
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import { isProviderKey as isProvider, PROVIDER_KEYS, type ProviderKey } from '../../lib/providers/index.js';
import { UnknownCursor, UnknownFilter } from '../domain/errors.js';
import { PREVIEW_CHARS } from '../services/reads.js';
import type { App, PluginOptions } from './deps.js';
import { BEARER, bearerApi } from './auth.js';
import {
  DeliveryRow,
  deliveryStatus,
  errors,
  eventDeliveryStatus,
  EventDetail,
  EventRow,
  HookHealth,
  idParam,
  InboundUrls,
  limit,
  optionalBody,
  optionalText,
  optionalTime,
  plausibleId,
  providerName,
  relayEvent,
  StatsHour,
  unlessEmpty,
} from './schemas.js';
import { HttpError, nextLink } from './util.js';

const IdParams = z.object({ id: idParam });

/**
 * A page of a list asked for one row more than `limit`: the page, with `Link: <…>; rel="next"`
 * when there is more, so no list is ever cut short silently.
 */
function page<T extends { id: string }>(url: string, reply: FastifyReply, limit: number, rows: T[]): T[] {
  const out = rows.slice(0, limit);
  if (rows.length > limit) reply.header('Link', nextLink(url, out[out.length - 1].id));
  return out;
}

/** A cursor that names no row of this account is the client's mistake (400), said as such. */
async function paged<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof UnknownCursor) throw new HttpError(400, err.message);
    if (err instanceof UnknownFilter) throw new HttpError(404, err.message);
    throw err;
  }
}

export const operatorPlugin: FastifyPluginAsync<PluginOptions> = async (fastify, { deps, budget }) => {
  const app = fastify as unknown as App;
  const { services, log, cfg } = deps;
  const { reads, accounts, deliveries } = services;
  const tokens = deps.intake.tokens;
  bearerApi(app, deps, budget);
  const tags = ['operator'];
  const replays = app.createRateLimit({ max: cfg.replaysPerMinute, timeWindow: 60_000, keyGenerator: (request) => `replay:${request.account.id}` });

  app.get(
    '/v1/hooks',
    {
      schema: {
        summary: "The account's subscriptions and their health, newest first",
        description: 'Next page: `before={last id}`, also given in `Link: <…>; rel="next"` while there is more.',
        tags,
        security: BEARER,
        querystring: z.object({ limit: limit(100, 500), before: optionalText('before', 200) }),
        response: { 200: z.array(HookHealth), ...errors(400, 401, 429) },
      },
    },
    async (request, reply) => {
      const q = request.query;
      return page(request.url, reply, q.limit, await paged(() => reads.hooks(request.account.id, { limit: q.limit + 1, before: q.before })));
    },
  );

  app.get(
    '/v1/stats/deliveries',
    {
      schema: {
        summary: 'Per hour, oldest first: deliveries delivered, failed attempts, deliveries given up, events received',
        description: 'One row per hour of the last `hours` (the current one included), zeros included: what the console draws.',
        tags,
        security: BEARER,
        querystring: z.object({
          hours: z
            .preprocess(
              (v) => (v === undefined || v === '' ? 24 : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v),
              z.number({ error: 'hours must be an integer from 1 to 168' }).int({ error: 'hours must be an integer from 1 to 168' }).min(1, { error: 'hours must be an integer from 1 to 168' }).max(168, { error: 'hours must be an integer from 1 to 168' }),
            )
            .default(24)
            .describe('1 to 168, default 24'),
        }),
        response: { 200: z.array(StatsHour), ...errors(400, 401, 429) },
      },
    },
    async (request) => reads.stats(request.account.id, request.query.hours),
  );

  app.put(
    '/v1/me/alerts',
    {
      schema: {
        summary: 'Where the relay tells the account about failing subscriptions (a Slack incoming-webhook URL works as is)',
        description: 'The URL passes the target rule with its own allowlist, RELAY_ALERT_HOSTS (default hooks.slack.com).',
        tags,
        security: BEARER,
        body: z.object({ url: z.string({ error: 'url must be a URL string of at most 2048 characters' }) }, { error: 'body must be a JSON object with url' }),
        response: { 200: z.object({ url: z.string() }), ...errors(400, 401, 422, 429) },
      },
    },
    async (request) => {
      const checked = await accounts.setAlertUrl(request.account.id, request.body.url);
      if (!checked.ok) throw new HttpError(checked.status, checked.error);
      log('info', 'alert URL set', { account_id: request.account.id, alert_host: checked.url.host });
      return { url: request.body.url };
    },
  );

  app.delete(
    '/v1/me/alerts',
    { schema: { summary: 'No more alerts', tags, security: BEARER, response: { 204: z.undefined().describe('removed'), ...errors(401, 429) } } },
    async (request, reply) => {
      await accounts.removeAlertUrl(request.account.id);
      log('info', 'alert URL removed', { account_id: request.account.id });
      return reply.code(204).send();
    },
  );

  app.get(
    '/v1/events',
    {
      schema: {
        summary: 'The event log, newest first',
        description: 'Next page: `before={last id}`. `q` matches text in the raw body. `body=preview` lists each body cut to its first 1,024 characters (a listing for people; the Zapier app asks for the whole).',
        tags,
        security: BEARER,
        querystring: z.object({
          provider: unlessEmpty(providerName),
          event: unlessEmpty(relayEvent),
          since: optionalTime('since'),
          until: optionalTime('until'),
          q: optionalText('q', 200),
          delivery_status: unlessEmpty(eventDeliveryStatus),
          limit: limit(3, 100),
          before: optionalText('before', 200),
          body: z.enum(['full', 'preview'], { error: 'body must be full or preview' }).optional(),
        }),
        response: { 200: z.array(EventRow), ...errors(400, 401, 429) },
      },
    },
    async (request, reply) => {
      const f = request.query;
      const { rows, more } = await paged(() =>
        reads.events(request.account.id, {
          event: f.event,
          provider: f.provider as ProviderKey | undefined,
          sinceMs: f.since,
          untilMs: f.until,
          q: f.q,
          deliveryStatus: f.delivery_status,
          limit: f.limit + 1,
          before: f.before,
          preview: f.body === 'preview' ? PREVIEW_CHARS : undefined,
        }),
      );
      if (!more) return page(request.url, reply, f.limit, rows);
      // The page stopped early for its bodies' size: the next one goes on from its last row.
      reply.header('Link', nextLink(request.url, rows[rows.length - 1].id));
      return rows;
    },
  );

  app.get(
    '/v1/events/:id',
    { schema: { summary: 'One event with every delivery and every attempt', tags, security: BEARER, params: IdParams, response: { 200: EventDetail, ...errors(401, 404, 429) } } },
    async (request) => {
      const detail = plausibleId(request.params.id) ? await reads.event(request.account.id, request.params.id) : null;
      if (!detail) throw new HttpError(404, 'no such event');
      return detail;
    },
  );

  app.post(
    '/v1/events/:id/replay',
    {
      schema: {
        summary: "Send a stored event again to the account's current matching subscriptions",
        tags,
        security: BEARER,
        params: IdParams,
        response: { 202: z.object({ deliveries: z.number().int() }), ...errors(401, 404, 429) },
      },
      // Replays per account: a bulk replay cannot flood the queue that every account shares.
      preHandler: async (request, reply) => {
        const r = await replays(request);
        if (r.isAllowed || !r.isExceeded) return;
        reply.header('Retry-After', String(r.ttlInSeconds));
        throw new HttpError(429, `at most ${r.max} replays a minute per account (RELAY_REPLAYS_PER_MINUTE); retry in ${r.ttlInSeconds} s`, r.ttlInSeconds);
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const n = plausibleId(id) ? await deliveries.replay(request.account.id, id) : null;
      if (n === null) throw new HttpError(404, 'no such event');
      log('info', 'event replayed by operator', { account_id: request.account.id, event_id: id, deliveries: n });
      return reply.code(202).send({ deliveries: n });
    },
  );

  app.get(
    '/v1/deliveries',
    {
      schema: {
        summary: 'Deliveries, newest first',
        tags,
        security: BEARER,
        querystring: z.object({
          status: unlessEmpty(deliveryStatus),
          hook_id: optionalText('hook_id', 200),
          limit: limit(50, 100),
          before: optionalText('before', 200),
        }),
        response: { 200: z.array(DeliveryRow), ...errors(400, 401, 404, 429) },
      },
    },
    async (request, reply) => {
      const f = request.query;
      return page(request.url, reply, f.limit, await paged(() => reads.deliveries(request.account.id, { status: f.status, hookId: f.hook_id, limit: f.limit + 1, before: f.before })));
    },
  );

  app.post(
    '/v1/deliveries/:id/retry',
    {
      schema: {
        summary: 'Retry one failed, given-up or retrying delivery now (its give-up window restarts)',
        description: 'A retrying delivery (pending after a failed attempt) is sent at once instead of after its backoff.',
        tags,
        security: BEARER,
        params: IdParams,
        response: { 202: z.object({ id: z.string(), status: z.literal('pending') }), ...errors(401, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const r = plausibleId(id) ? await deliveries.retry(request.account.id, id) : ({ ok: false, why: 'not_found' } as const);
      if (!r.ok) throw r.why === 'not_found' ? new HttpError(404, 'no such delivery') : new HttpError(409, r.message);
      log('info', 'delivery retried by operator', { account_id: request.account.id, delivery_id: id });
      return reply.code(202).send({ id, status: 'pending' as const });
    },
  );

  app.post(
    '/v1/hooks/:id/retry-now',
    {
      schema: {
        summary: 'Send every retrying delivery of a subscription now, without waiting out its backoff',
        description: 'For the Zap that was just fixed: its deliveries waiting for their next attempt go out at once (their give-up window restarts).',
        tags,
        security: BEARER,
        params: IdParams,
        response: { 202: z.object({ queued: z.number().int() }), ...errors(401, 404, 429) },
      },
    },
    async (request, reply) => {
      const hookId = request.params.id;
      const n = plausibleId(hookId) ? await deliveries.retryNow(request.account.id, hookId) : null;
      if (n === null) throw new HttpError(404, 'no such subscription');
      log('info', 'retrying deliveries sent now by operator', { account_id: request.account.id, hook_id: hookId, queued: n });
      return reply.code(202).send({ queued: n });
    },
  );

  app.post(
    '/v1/hooks/:id/retry-failed',
    {
      schema: {
        summary: 'Retry every failed or given-up delivery of a subscription (since a time, when given)',
        description: 'The body may be left out: without `since`, every failure the subscription still keeps is retried.',
        tags,
        security: BEARER,
        params: IdParams,
        body: optionalBody({ since: optionalTime('since') }),
        response: { 202: z.object({ queued: z.number().int() }), ...errors(400, 401, 404, 429) },
      },
    },
    async (request, reply) => {
      const hookId = request.params.id;
      const n = plausibleId(hookId) ? await deliveries.retryFailed(request.account.id, hookId, request.body.since) : null;
      if (n === null) throw new HttpError(404, 'no such subscription');
      log('info', 'failed deliveries retried by operator', { account_id: request.account.id, hook_id: hookId, queued: n });
      return reply.code(202).send({ queued: n });
    },
  );

  app.post(
    '/v1/me/rotate-key',
    { schema: { summary: 'A new API key; the old one answers 401 from now on', tags, security: BEARER, response: { 200: z.object({ api_key: z.string() }), ...errors(401, 429) } } },
    async (request) => {
      const apiKey = await accounts.rotateKey(request.account.id);
      log('warn', 'API key rotated', { account_id: request.account.id });
      return { api_key: apiKey };
    },
  );

  app.post(
    '/v1/me/rotate-inbound',
    {
      schema: {
        summary: "A new inbound URL for one vendor; the old one works for the overlap, then 404s",
        tags,
        security: BEARER,
        body: optionalBody({
          provider: z
            .string({ error: `provider must be one of ${PROVIDER_KEYS.join(', ')}` })
            .refine(isProvider, { error: `provider must be one of ${PROVIDER_KEYS.join(', ')}` })
            .transform((s) => s as ProviderKey),
          overlap_hours: z
            .number({ error: 'overlap_hours must be a number of hours from 0 to 720' })
            .min(0, { error: 'overlap_hours must be a number of hours from 0 to 720' })
            .max(720, { error: 'overlap_hours must be a number of hours from 0 to 720' })
            .default(24),
        }),
        response: { 200: z.object({ inbound: InboundUrls, old_url_valid_until: z.string() }), ...errors(400, 401, 429) },
      },
    },
    async (request) => {
      const { provider, overlap_hours } = request.body;
      const r = await accounts.rotateInbound(request.account.id, provider, Math.round(overlap_hours * 3_600_000));
      tokens.forgetAccount(request.account.id);
      log('warn', 'inbound URL rotated', { account_id: request.account.id, provider, old_url_valid_until: r.oldValidUntil });
      return { inbound: deps.inboundUrls(r.tokens), old_url_valid_until: r.oldValidUntil };
    },
  );

  app.post(
    '/v1/me/disable',
    {
      schema: {
        summary: 'Disable the account: inbound URLs 404 and the key 401s at once, queued deliveries pause',
        tags,
        security: BEARER,
        response: { 204: z.undefined().describe('disabled'), ...errors(401, 429) },
      },
    },
    async (request, reply) => {
      await accounts.disable(request.account.id, cfg.leaseMs);
      tokens.forgetAccount(request.account.id);
      log('warn', 'account disabled', { account_id: request.account.id });
      return reply.code(204).send();
    },
  );
};
