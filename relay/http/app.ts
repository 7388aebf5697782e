/**
 * The relay's HTTP layer: a Fastify server that reads as its list of plugins. What is ours is in
 * the route plugins beside this file, each of which validates, calls one service and shapes the
 * answer; time limits, connection and body caps, rate limits, overload answers, validation and
 * the OpenAPI document are Fastify's and its plugins'.
 */
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import { BlockList, isIPv6 } from 'node:net';
import Fastify, { LogController } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { RelayConfig } from '../config.js';
import type { Logger } from '../log.js';
import { activityPlugin } from './activity.js';
import { apiLimiter } from './auth.js';
import { consolePlugin } from './console.js';
import type { App, HttpDeps } from './deps.js';
import { capConnections } from './connections.js';
import { FailedAuth, unmapped } from './failed-auth.js';
import { installErrorHandling, JSON_API_BODY_BYTES, notFound, sendError } from './errors.js';
import { healthPlugin } from './health.js';
import { hooksPlugin } from './hooks.js';
import { inboundPlugin } from './inbound.js';
import { ByteBudget } from './limits.js';
import { metricsPlugin } from './metrics.js';
import { operatorPlugin } from './operator.js';
import { installPressure } from './pressure.js';
import { HttpError } from './util.js';

export type { App, HttpDeps } from './deps.js';
export { sendError } from './errors.js';

/** Whether a connection's peer is a proxy RELAY_TRUST_PROXY names (with a hop count, any peer is). */
function trustedProxy(trust: RelayConfig['trustProxy']): (address: string) => boolean {
  if (trust === false) return () => false;
  if (typeof trust === 'number') return () => trust > 0;
  const list = new BlockList();
  for (const entry of trust) {
    const [address, bits] = entry.split('/');
    const type = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return (raw) => {
    const address = unmapped(raw);
    return list.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
  };
}

/** The server with its time limits and caps: a slow client is cut off in seconds, not minutes. */
function createServer(cfg: RelayConfig, log: Logger): App {
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
    // While closing, requests are answered 503 below (with Retry-After, which Fastify's own omits).
    return503OnClosing: false,
    // request.ip: the client's address, or the one a trusted proxy forwarded (RELAY_TRUST_PROXY).
    // A hop count trusts that many proxies in front, whatever their addresses.
    trustProxy: typeof cfg.trustProxy === 'number' ? ((_address: string, hop: number) => hop < (cfg.trustProxy as number)) : cfg.trustProxy,
    // A malformed %-escape or an over-long id names nothing here.
    frameworkErrors: (_err, request, reply) => notFound(request, reply),
  }).withTypeProvider<ZodTypeProvider>() as unknown as App;

  capConnections(app.server, cfg.maxConnections, cfg.maxConnectionsPerAddress, trustedProxy(cfg.trustProxy));
  // A deploy's SIGTERM: what still arrives on an open connection is told to come back, and when.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (request, reply) => {
    if (!closing) return;
    request.closeConnection = true;
    return sendError(reply, 503, 'the relay is shutting down; retry shortly', 5);
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  return app;
}

/** Overload answers, rate limits and the OpenAPI document. */
async function registerPlugins(app: App, cfg: RelayConfig, log: Logger): Promise<void> {
  // Overload: 503 + Retry-After while the event loop lags or the heap is past its mark.
  installPressure(app, {
    maxEventLoopDelayMs: cfg.maxEventLoopDelayMs,
    maxHeapUsedBytes: cfg.maxHeapBytes,
    onPressure: (_request, reply, type, value) => {
      log('warn', 'overloaded: answering 503', { type, value });
      return sendError(reply, 503, 'the relay is overloaded; retry later', 10);
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
}

export async function buildHttp(input: HttpDeps): Promise<App> {
  const { cfg, log } = input;
  const app = createServer(cfg, log);
  installErrorHandling(app, log);
  await registerPlugins(app, cfg, log);
  const deps: HttpDeps = { ...input, apiLimit: apiLimiter(app, cfg.apiRatePerMinute), failedAuth: new FailedAuth(cfg.authFailuresPerMinute) };
  const budget = new ByteBudget(cfg.maxBufferedBytes);
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
