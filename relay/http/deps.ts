/**
 * What the HTTP routes work with, declared in one place: the services (and intake, for the
 * inbound route), the configuration, the log and the metrics, and a few of the server's own.
 */
import type http from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { RelayConfig } from '../config.js';
import type { Intake } from '../ingest/intake.js';
import type { Logger } from '../log.js';
import type { RelayMetrics } from '../metrics.js';
import type { Services } from '../services/index.js';
import type { Tracing } from '../tracing.js';
import type { FailedAuth } from './failed-auth.js';
import type { ByteBudget } from './limits.js';

export type App = FastifyInstance<http.Server, http.IncomingMessage, http.ServerResponse, FastifyInstance['log'], ZodTypeProvider>;

/** The per-key limiter every bearer route group shares (one count per key across them). */
export type ApiLimiter = (request: import('fastify').FastifyRequest) => Promise<{ isAllowed: boolean; isExceeded: boolean; max: number; ttlInSeconds: number }>;

export interface HttpDeps {
  cfg: RelayConfig;
  services: Services;
  intake: Intake;
  log: Logger;
  metrics: RelayMetrics;
  /** OpenTelemetry traces, when an OTLP endpoint is configured. */
  tracing?: Tracing | null;
  /** The inbound URLs of an account's tokens, on this relay's public base. */
  inboundUrls(tokens: Record<string, string>): Record<string, string>;
  /** The per-API-key rate limit, shared by every bearer route group (set by buildHttp). */
  apiLimit?: ApiLimiter | null;
  /** Failed authentication per client address, shared by the API and the inbound URLs (set by buildHttp). */
  failedAuth?: FailedAuth;
}

/** What a route group plugin is given. */
export interface PluginOptions {
  deps: HttpDeps;
  budget: ByteBudget;
}
