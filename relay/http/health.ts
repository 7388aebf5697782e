/**
 * `GET /healthz`: 200 while the store answers and can write; 503 with the reason and a
 * Retry-After otherwise (a store that cannot write, a full disk, refuses every ingest), and
 * while overloaded.
 */
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
      let problem: string | null;
      try {
        problem = await deps.services.reads.cannotWrite();
        if (problem) problem = `the store cannot write: ${problem}`;
      } catch {
        problem = 'store unavailable';
      }
      if (problem === null) return { ok: true as const };
      return reply.code(503).header('Retry-After', '5').send({ ok: false as const, error: problem });
    },
  );
};
