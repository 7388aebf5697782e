/**
 * The REST-hooks calls the Zapier app makes: who am I (and my inbound URLs), subscribe,
 * unsubscribe. After `DELETE` answers 204 nothing more is sent to that subscription.
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { App, PluginOptions } from './deps.js';
import { BEARER, bearerApi } from './auth.js';
import { errors, Hook, idParam, InboundUrls, plausibleId, relayEvent } from './schemas.js';
import { HttpError } from './util.js';
import { REFUSAL_REASONS } from '../domain/refusals.js';

const Me = z
  .object({ account_id: z.string(), name: z.string(), inbound: InboundUrls, alert_url: z.string().nullable().describe('where alerts go (PUT /v1/me/alerts), or null') })
  .meta({ id: 'Me' });

const Subscribe = z.object(
  {
    target_url: z.string({ error: 'target_url must be a URL string of at most 2048 characters' }).describe('the Zapier hook URL: https, on the relay\'s allowlist'),
    event: relayEvent,
    zap_id: z
      .string({ error: 'zap_id must be a string' })
      .max(100, { error: 'zap_id must be at most 100 characters' })
      .nullish()
      .describe("the Zap's id (the Zapier app sends bundle.meta.zap.id)"),
    trigger: z
      .string({ error: 'trigger must be a string' })
      .max(100, { error: 'trigger must be at most 100 characters' })
      .nullish()
      .describe("the Zap's trigger key"),
  },
  { error: 'body must be a JSON object' },
);

const Verdict = z.object(
  {
    event_id: z.string({ error: 'event_id must be the X-Relay-Event-Id of the delivery the Zap ran on' }).max(100).describe('the X-Relay-Event-Id of the delivery'),
    outcome: z.enum(['refused', 'accepted'], { error: 'outcome must be "refused" or "accepted"' }),
    reason: z
      .enum(REFUSAL_REASONS, { error: `reason must be one of ${REFUSAL_REASONS.join(', ')}` })
      .optional()
      .describe('why the run halted (with outcome "refused")'),
  },
  { error: 'body must be a JSON object' },
);

export const hooksPlugin: FastifyPluginAsync<PluginOptions> = async (fastify, { deps, budget }) => {
  const app = fastify as unknown as App;
  const { services, log } = deps;
  bearerApi(app, deps, budget);

  app.get(
    '/v1/me',
    { schema: { summary: 'The account behind the key, and the inbound URL to paste into each vendor', tags: ['hooks'], security: BEARER, response: { 200: Me, ...errors(401, 429) } } },
    async (request) => {
      const me = await services.accounts.me(request.account.id);
      return { account_id: request.account.id, name: request.account.name, inbound: deps.inboundUrls(me.tokens), alert_url: me.alertUrl };
    },
  );

  app.post(
    '/v1/hooks',
    {
      schema: {
        summary: 'Subscribe a target URL to a relay event (REST hooks)',
        tags: ['hooks'],
        security: BEARER,
        body: Subscribe,
        response: { 201: Hook, ...errors(400, 401, 413, 415, 422, 429, 503) },
      },
    },
    async (request, reply) => {
      const { event, target_url, zap_id, trigger } = request.body;
      const r = await services.subscriptions.subscribe(request.account.id, event, target_url, { zapId: zap_id ?? null, trigger: trigger ?? null });
      if (!r.ok) throw new HttpError(r.status, r.error);
      log('info', 'subscription created', { account_id: request.account.id, hook_id: r.hook.id, event, target_host: new URL(r.hook.target_url).host });
      return reply.code(201).send(r.hook);
    },
  );

  app.post(
    '/v1/hooks/:id/runs',
    {
      schema: {
        summary: "What the Zap's run made of a delivery: refused (its run halted) or accepted",
        description:
          "Zapier answers a hook 200 before the trigger runs, so a run that halts is told here by the trigger, with the connection's key: the delivery's event id and a reason code, never the payload or a secret. The subscription is refusing from the first refusal (alert subscription.refusing) and healthy again at the first delivery accepted. A verdict on an event older than the newest judged is ignored (202, recorded false).",
        tags: ['hooks'],
        security: BEARER,
        params: z.object({ id: idParam }),
        body: Verdict,
        response: { 202: z.object({ recorded: z.boolean() }), ...errors(400, 401, 404, 429) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { event_id, outcome, reason } = request.body;
      if (outcome === 'refused' && !reason) throw new HttpError(400, 'reason: a refused run needs its reason code');
      const verdict = outcome === 'refused' ? { refused: true as const, code: reason! } : { refused: false as const };
      const r = plausibleId(id) ? await services.subscriptions.judge(request.account.id, id, event_id, verdict) : 'not_found';
      if (r === 'not_found') throw new HttpError(404, `no delivery of event ${event_id.slice(0, 100)} to subscription ${id.slice(0, 100)} in this account`);
      if (r === 'recorded' && outcome === 'refused') log('warn', 'the Zap refused a delivery', { account_id: request.account.id, hook_id: id, event_id, reason });
      return reply.code(202).send({ recorded: r === 'recorded' });
    },
  );

  app.delete(
    '/v1/hooks/:id',
    {
      schema: {
        summary: 'Unsubscribe: nothing more is sent to it once this answers',
        description: 'Cancels queued deliveries and waits for any attempt in flight to finish, so nothing reaches the target after the 204.',
        tags: ['hooks'],
        security: BEARER,
        params: z.object({ id: idParam }),
        response: { 204: z.undefined().describe('deleted'), ...errors(401, 404, 429) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      if (!plausibleId(id) || !(await services.subscriptions.unsubscribe(request.account.id, id))) throw new HttpError(404, 'no such subscription');
      log('info', 'subscription deleted', { account_id: request.account.id, hook_id: id });
      return reply.code(204).send();
    },
  );
};
