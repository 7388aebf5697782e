/**
 * A company's stored demo activity for the account signals: the raw events (bytes and signature
 * header), which the trigger verifies itself with the connection's secrets.
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { App, HttpDeps } from './app.js';
import { BEARER, bearerApi } from './auth.js';
import type { ByteBudget } from './limits.js';
import { errors, limit, optionalTime, StoredEvent } from './schemas.js';

const DOMAIN_ERROR = 'domain must be a company domain, e.g. acme.co.uk';

export const activityPlugin: FastifyPluginAsync<{ deps: HttpDeps; budget: ByteBudget }> = async (fastify, { deps, budget }) => {
  const app = fastify as unknown as App;
  bearerApi(app, deps, budget);
  app.get(
    '/v1/activity',
    {
      schema: {
        summary: "A company's demo activity (stored raw events)",
        tags: ['activity'],
        security: BEARER,
        querystring: z.object({
          domain: z
            .string({ error: DOMAIN_ERROR })
            .transform((d) => d.trim().toLowerCase())
            .refine((d) => /^[a-z0-9.-]{1,253}$/.test(d) && d.includes('.'), { error: DOMAIN_ERROR }),
          since: optionalTime('since'),
          until: optionalTime('until'),
          limit: limit(1000, 1000),
        }),
        response: { 200: z.array(StoredEvent), ...errors(400, 401, 429) },
      },
    },
    async (request) => {
      const q = request.query;
      return deps.store.activity(request.account.id, q.domain, { sinceMs: q.since, untilMs: q.until, limit: q.limit });
    },
  );
};
