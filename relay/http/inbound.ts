/**
 * What happens to an inbound request, in order: the URL's token is checked (404, or 429 for an
 * address that keeps presenting unknown ones; connection closed, nothing read), the content
 * type (415), the per-URL rate (429), the body bytes are
 * held against the relay-wide budget (503) and read raw up to 1 MiB (413, connection closed);
 * then intake (relay/ingest/intake.ts) checks the exact bytes and stores them durably with the
 * others arriving together (group commit) before the `200 {id, duplicate}`.
 */
import type { Span } from '@opentelemetry/api';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { ProviderKey } from '../../lib/providers/index.js';
import type { Account } from '../store/accounts.js';
import { Tracing, traceFields } from '../tracing.js';
import type { App, HttpDeps, PluginOptions } from './deps.js';
import { errors } from './schemas.js';
import { HttpError, isJsonType, notJson } from './util.js';

declare module 'fastify' {
  interface FastifyRequest {
    inboundAccount?: Account;
    inboundDuplicate?: boolean;
    /** The request's span, the root of its event's trace (tracing on). */
    inboundSpan?: Span;
  }
}

const Params = z.object({ provider: z.string(), token: z.string() });
const Stored = z.object({ id: z.string().describe('the stored event id'), duplicate: z.boolean().describe('true for a vendor retry of an event already stored: acked, not delivered again') });

export const inboundPlugin: FastifyPluginAsync<PluginOptions> = async (fastify, { deps, budget }) => {
  const app = fastify as unknown as App;
  const { metrics, log, intake } = deps;
  const tracing = deps.tracing ?? null;
  const failed = deps.failedAuth;
  const perUrl =
    deps.cfg.inboundRatePerMinute > 0
      ? (app.createRateLimit({ max: deps.cfg.inboundRatePerMinute, timeWindow: 60_000, keyGenerator: (r) => `in:${(r.params as { token?: string }).token ?? ''}` }) as NonNullable<HttpDeps['apiLimit']>)
      : null;
  const maxBody = deps.cfg.maxBodyBytes;
  const unknownUrl = () => new HttpError(404, 'unknown inbound URL');

  // The exact bytes, whatever JSON type the vendor names (the type was checked in onRequest).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBody }, (_request, body, done) => done(null, body));

  app.post(
    '/v1/inbound/:provider/:token',
    {
      bodyLimit: maxBody,
      schema: {
        summary: 'Receive a vendor webhook',
        description: 'The URL to paste into the vendor. Stores the exact bytes and signature header durably, then acks. No bearer auth: the token in the URL is the credential.',
        tags: ['inbound'],
        params: Params,
        body: z.any().describe('the vendor event, JSON, at most 1 MiB; stored byte for byte'),
        response: { 200: Stored, ...errors(400, 404, 413, 415, 429, 503) },
      },
      onRequest: async (request, reply) => {
        const { provider, token } = request.params as { provider: string; token: string };
        if (tracing) request.inboundSpan = tracing.inbound(provider);
        const account = await intake.tokens.account(provider, token);
        if (!account) {
          request.closeConnection = true;
          // Guessing URLs is slowed per address, as guessing keys is; a valid URL from the same
          // address still works (it was looked up first).
          const wait = failed?.fail(request.ip) ?? 0;
          if (wait > 0) {
            reply.header('Retry-After', String(wait));
            throw new HttpError(429, `too many requests to unknown inbound URLs from this address (RELAY_AUTH_FAILURES_PER_MINUTE); retry in ${wait} s`, wait);
          }
          throw unknownUrl();
        }
        if (!isJsonType(request.headers['content-type'])) {
          request.closeConnection = true;
          throw notJson(request.headers['content-type']);
        }
        // Per URL, and only for one that exists: unknown tokens never enter the limiter's memory.
        if (perUrl) {
          const r = await perUrl(request);
          if (!r.isAllowed && r.isExceeded) {
            reply.header('Retry-After', String(r.ttlInSeconds));
            throw new HttpError(429, `rate limit exceeded: at most ${r.max} requests a minute to this inbound URL (RELAY_INBOUND_RATE_PER_MINUTE); retry in ${r.ttlInSeconds} s`, r.ttlInSeconds);
          }
        }
        request.inboundAccount = account;
      },
      preParsing: budget.hook(),
      onResponse: async (request, reply) => {
        const outcome = reply.statusCode === 200 ? (request.inboundDuplicate ? 'duplicate' : 'stored') : `refused_${reply.statusCode}`;
        metrics.countInbound((request.params as { provider: string }).provider, outcome);
        const span = request.inboundSpan;
        if (span) {
          span.setAttribute('http.response.status_code', reply.statusCode);
          if (reply.statusCode >= 500) Tracing.fail(span, `HTTP ${reply.statusCode}`);
          span.end();
        }
      },
    },
    async (request, reply) => {
      const provider = request.params.provider as ProviderKey;
      const token = request.params.token;
      const account = request.inboundAccount!;
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const span = request.inboundSpan;
      const { stored, event } = await intake.receive(account, provider, token, raw, request.headers as Record<string, string>, span);
      request.inboundDuplicate = stored.duplicate;
      // Debug, not info: one line per event costs a measurable share of the ack (the profile in
      // docs/benchmarks.md); the event log (GET /v1/events) and the inbound counters hold the same.
      log('debug', 'inbound event stored', { account_id: account.id, provider, event, event_id: stored.id, duplicate: stored.duplicate, bytes: raw.length, ...traceFields(span) });
      // The answer the schema above declares, written directly: the hottest route skips the
      // schema's serializer (the id is the relay's own, [A-Za-z0-9_-] only).
      return reply.type("application/json").send(`{"id":${JSON.stringify(stored.id)},"duplicate":${stored.duplicate}}` as never); // a string is sent as is
    },
  );

  // Vendors POST; anything else at an inbound URL is told so (and given nothing to read).
  app.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE'],
    url: '/v1/inbound/:provider/:token',
    schema: { hide: true },
    handler: async (request) => {
      request.closeConnection = true;
      throw new HttpError(405, 'use POST');
    },
  });
};
