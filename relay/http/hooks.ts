/**
 * The REST-hooks calls the Zapier app makes: who am I (and my inbound URLs), subscribe,
 * unsubscribe. After `DELETE` answers 204 nothing more is sent to that subscription.
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { HookLimit } from '../store.js';
import { resolveTarget } from '../targets.js';
import type { App, HttpDeps } from './app.js';
import { BEARER, bearerApi } from './auth.js';
import type { ByteBudget } from './limits.js';
import { errors, Hook, idParam, InboundUrls, plausibleId, relayEvent } from './schemas.js';
import { HttpError } from './util.js';

const Me = z
  .object({ account_id: z.string(), name: z.string(), inbound: InboundUrls, alert_url: z.string().nullable().describe('where alerts go (PUT /v1/me/alerts), or null') })
  .meta({ id: 'Me' });

const Subscribe = z.object(
  {
    target_url: z.string({ error: 'target_url must be a URL string of at most 2048 characters' }).describe('the Zapier hook URL: https, on the relay\'s allowlist'),
    event: relayEvent,
  },
  { error: 'body must be a JSON object' },
);

export const hooksPlugin: FastifyPluginAsync<{ deps: HttpDeps; budget: ByteBudget }> = async (fastify, { deps, budget }) => {
  const app = fastify as unknown as App;
  const { store, log, cfg } = deps;
  bearerApi(app, deps, budget);

  app.get(
    '/v1/me',
    { schema: { summary: 'The account behind the key, and the inbound URL to paste into each vendor', tags: ['hooks'], security: BEARER, response: { 200: Me, ...errors(401, 429) } } },
    async (request) => ({
      account_id: request.account.id,
      name: request.account.name,
      inbound: deps.inboundUrls(await store.inboundTokens(request.account.id)),
      alert_url: await deps.operator.alertUrl(request.account.id),
    }),
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
      const { event, target_url } = request.body;
      const target = await resolveTarget(target_url, cfg);
      if (!target.ok) throw new HttpError(target.status, target.error);
      let hook;
      try {
        hook = await store.createHook(request.account.id, event, target.url.toString(), cfg.maxHooksPerAccount);
      } catch (err) {
        if (err instanceof HookLimit) throw new HttpError(422, err.message);
        throw err;
      }
      log('info', 'subscription created', { account_id: request.account.id, hook_id: hook.id, event, target_host: target.url.host });
      return reply.code(201).send(hook);
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
      if (!plausibleId(id) || !(await store.deleteHook(request.account.id, id, cfg.leaseMs))) throw new HttpError(404, 'no such subscription');
      log('info', 'subscription deleted', { account_id: request.account.id, hook_id: id });
      return reply.code(204).send();
    },
  );
};
