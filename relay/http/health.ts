/** `GET /healthz`: 200 while the store answers, 503 otherwise (and while overloaded). */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { App, HttpDeps } from './deps.js';

export const healthPlugin: FastifyPluginAsync<{ deps: HttpDeps }> = async (fastify, { deps }) => {
  const app = fastify as unknown as App;
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Whether the relay and its store answer',
        tags: ['health'],
        response: { 200: z.object({ ok: z.literal(true) }), 503: z.object({ ok: z.literal(false), error: z.string() }) },
      },
    },
    async (_request, reply) => {
      try {
        await deps.services.reads.ping();
        return { ok: true as const };
      } catch {
        return reply.code(503).send({ ok: false as const, error: 'store unavailable' });
      }
    },
  );
};
