/** `GET /metrics`: Prometheus text; open unless RELAY_METRICS_TOKEN is set (then that bearer). */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { App, HttpDeps } from './deps.js';
import { bearerOf, HttpError } from './util.js';

/** Compared in constant time (both sides hashed to one length first). */
const same = (a: string, b: string) => timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());

export const metricsPlugin: FastifyPluginAsync<{ deps: HttpDeps }> = async (fastify, { deps }) => {
  const app = fastify as unknown as App;
  const { metrics, cfg } = deps;
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['metrics'] } }, async (request, reply) => {
    const token = cfg.metricsToken;
    if (token) {
      const given = bearerOf(request);
      if (!given || !same(given, token)) throw new HttpError(401, 'metrics need Authorization: Bearer <RELAY_METRICS_TOKEN>');
    }
    const text = await metrics.registry.metrics();
    return reply.header('Cache-Control', 'no-store').type(metrics.registry.contentType).send(text);
  });
};
