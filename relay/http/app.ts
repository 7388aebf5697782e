/**
 * The relay's HTTP layer: a Fastify server that reads as its list of plugins. What is ours is in
 * the route plugins beside this file; time limits, connection and body caps, rate limits,
 * overload answers, validation and the OpenAPI document are Fastify's and its plugins'.
 */
import http from 'node:http';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import underPressure from '@fastify/under-pressure';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { RelayConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { RelayMetrics } from '../metrics.js';
import type { Operator } from '../operator.js';
import type { Store } from '../store.js';
import { activityPlugin } from './activity.js';
import { apiLimiter, type ApiLimiter } from './auth.js';
import { consolePlugin } from './console.js';
import { healthPlugin } from './health.js';
import { hooksPlugin } from './hooks.js';
import { inboundPlugin, type InboundDeps } from './inbound.js';
import { ByteBudget } from './limits.js';
import { metricsPlugin } from './metrics.js';
import { operatorPlugin } from './operator.js';
import { HttpError, notJson, safeUrlForLog } from './util.js';

export type App = FastifyInstance<http.Server, http.IncomingMessage, http.ServerResponse, FastifyInstance['log'], ZodTypeProvider>;

/** What the routes work with: the store and the operator queries below them, and a few of the server's own. */
export interface HttpDeps extends InboundDeps {
  cfg: RelayConfig;
  store: Store;
  operator: Operator;
  log: Logger;
  metrics: RelayMetrics;
  /** The inbound URLs of an account's tokens, on this relay's public base. */
  inboundUrls(tokens: Record<string, string>): Record<string, string>;
  /** New work is due: look now. */
  kick(): void;
  /** The per-API-key rate limit, shared by every bearer route group (set by buildHttp). */
  apiLimit?: ApiLimiter | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set on a response that must end its connection (413, unknown inbound URL): the rest of the body is never read. */
    closeConnection?: boolean;
  }
}

const JSON_API_BODY_BYTES = 64 * 1024;
const CLOSE_LINGER_MS = 500;

/** `{error}` with the status, and `Retry-After` when the client should come back. */
export function sendError(reply: FastifyReply, status: number, message: string, retryAfterS?: number) {
  if (retryAfterS !== undefined) reply.header('Retry-After', String(retryAfterS));
  return reply.code(status).type('application/json').send(JSON.stringify({ error: message }));
}

/**
 * 404 for a path this relay does not serve (or cannot parse). Anything under an inbound path is
 * an unknown inbound URL: answered, and the connection closed without reading the rest of what
 * a scanner sends.
 */
function notFound(request: FastifyRequest, reply: FastifyReply) {
  if (!request.url.toLowerCase().includes('inbound')) return sendError(reply, 404, 'not found');
  request.closeConnection = true;
  return sendError(reply, 404, 'unknown inbound URL');
}

/** A request as logs name it: its route's pattern, or the path with any token cut out. */
const routeForLog = (request: FastifyRequest) => request.routeOptions.url ?? safeUrlForLog(request.url);

/** The message of a failed schema check: the schemas' own messages name their field; others get it prefixed. */
function validationMessage(err: FastifyError): string {
  const first = err.validation![0];
  const field = first.instancePath.replace(/^\//, '').replace(/\//g, '.') || 'body';
  const message = first.message ?? 'is invalid';
  return message.startsWith(field.split('.')[0]) || message.startsWith('body') ? message : `${field}: ${message}`;
}

export async function buildHttp(input: HttpDeps): Promise<App> {
  let deps = input;
  const { cfg, log } = deps;
  const budget = new ByteBudget(cfg.maxBufferedBytes);
  const app = Fastify({
    loggerInstance: log.pino,
    // One debug line per request is written below, with tokens taken out of the URL.
    logController: new LogController({ disableRequestLogging: true }),
    // The routes log through the relay's own logger; no child logger per request.
    childLoggerFactory: (logger) => logger,
    bodyLimit: JSON_API_BODY_BYTES,
    requestTimeout: cfg.requestTimeoutMs,
    keepAliveTimeout: cfg.keepAliveTimeoutMs,
    // A socket with nothing moving either way for this long is closed.
    connectionTimeout: cfg.requestTimeoutMs,
    // Node checks the header and request time limits on this interval (its default is 30 s).
    http: { headersTimeout: cfg.headersTimeoutMs, requestTimeout: cfg.requestTimeoutMs, connectionsCheckingInterval: Math.min(1000, cfg.headersTimeoutMs) },
    return503OnClosing: true,
    // A malformed %-escape or an over-long id names nothing here.
    frameworkErrors: (_err, request, reply) => notFound(request, reply),
  }).withTypeProvider<ZodTypeProvider>() as unknown as App;

  app.server.maxConnections = cfg.maxConnections;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof HttpError) return sendError(reply, err.status, err.message, err.retryAfterS);
    if (hasZodFastifySchemaValidationErrors(err)) {
      if (err.validationContext === 'params') return sendError(reply, 404, 'not found');
      return sendError(reply, 400, validationMessage(err));
    }
    switch (err.code) {
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
        const e = notJson(request.headers['content-type']);
        return sendError(reply, e.status, e.message);
      }
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        request.closeConnection = true;
        return sendError(reply, 413, `body larger than ${request.routeOptions.bodyLimit ?? JSON_API_BODY_BYTES} bytes`);
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        request.closeConnection = true;
        return sendError(reply, 400, 'the body does not match its Content-Length');
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return sendError(reply, 400, 'body is not valid JSON');
    }
    if (err instanceof SyntaxError || err.statusCode === 400) return sendError(reply, 400, 'body is not valid JSON');
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) return sendError(reply, err.statusCode, err.message);
    log('error', 'request failed', { method: request.method, route: routeForLog(request), error: err.message });
    return sendError(reply, 503, 'temporarily unavailable; retry');
  });

  app.setNotFoundHandler(notFound);

  // A response that must end its connection (413, unknown inbound URL, no room for its body)
  // says `Connection: close` and ends it: the answer, a FIN so the client stops sending, and
  // the socket destroyed after a short linger. Node would destroy it as soon as the answer is
  // written (`destroySoon`), resetting a connection the client is still sending on, and the
  // client might never read the answer that says what was wrong; the linger lets it.
  app.addHook('onSend', async (request, reply) => {
    const socket = request.raw.socket as (typeof request.raw.socket & { destroySoon?: () => void }) | null;
    if (!request.closeConnection || !socket) return;
    reply.header('Connection', 'close');
    socket.destroySoon = () => {
      socket.end();
      setTimeout(() => socket.destroy(), CLOSE_LINGER_MS).unref();
    };
  });
  app.addHook('onResponse', async (request, reply) => {
    if (log.pino.isLevelEnabled('debug')) {
      log('debug', 'request', { method: request.method, route: routeForLog(request), status: reply.statusCode, ms: Math.round(reply.elapsedTime) });
    }
  });

  // Overload: 503 + Retry-After while the event loop lags or the heap is past its mark.
  await app.register(underPressure, {
    maxEventLoopDelay: cfg.maxEventLoopDelayMs,
    maxHeapUsedBytes: cfg.maxHeapBytes,
    retryAfter: 10,
    pressureHandler: (_request, reply, type, value) => {
      log('warn', 'overloaded: answering 503', { type, value });
      void sendError(reply, 503, 'the relay is overloaded; retry later', 10);
    },
  });
  await app.register(rateLimit, {
    global: false,
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    addHeaders: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true, 'retry-after': true },
    errorResponseBuilder: (_request, context) => new HttpError(429, `rate limit exceeded: at most ${context.max} requests a minute here; retry in ${context.after}`),
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'demohooks relay',
        version: '1.0.0',
        description: 'One inbound URL per vendor, REST-hook subscriptions for Zapier, durable fan-out, and the operator API. Contract: shared/DESIGN.md.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'the account API key (dh_…)' } } },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });

  deps = { ...deps, apiLimit: apiLimiter(app, cfg.apiRatePerMinute) };
  await app.register(healthPlugin, { deps });
  await app.register(inboundPlugin, { deps, budget });
  await app.register(hooksPlugin, { deps, budget });
  await app.register(operatorPlugin, { deps, budget });
  await app.register(activityPlugin, { deps, budget });
  await app.register(metricsPlugin, { deps });
  await app.register(consolePlugin);
  app.get('/openapi.json', { schema: { hide: true } }, async (_request, reply) => reply.type('application/json').send(JSON.stringify(app.swagger())));
  return app;
}

/** The bearer key of a request, for rate limits (hashed there; never logged). */
export const bearerOf = (request: FastifyRequest): string | null => /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? null;
