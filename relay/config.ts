import { z } from 'zod';
import { tracingConfig, type TracingConfig } from './tracing-config.js';

/** The relay's settings, all from the environment (docs/operating.md and docs/relay-api.md list each with its default). */
export interface RelayConfig {
  host: string;
  port: number;
  databaseUrl: string;
  /** Base of the inbound URLs handed out; null = the address the relay listens on. */
  publicUrl: string | null;
  targetHosts: string[];
  /** Hosts an account's alert URL may point at (RELAY_ALERT_HOSTS): Slack's incoming webhooks by default. */
  alertHosts: string[];
  allowPrivateTargets: boolean;
  retryBaseMs: number;
  retryMaxMs: number;
  giveUpMs: number;
  deliveryTimeoutMs: number;
  deliveryConcurrency: number;
  leaseMs: number;
  /** How soon a relay looks again for due work it could not take (a paused or full target's). */
  pollMs: number;
  /** How often an idle relay looks for work it was not told of: stored by another process or the CLI, or left by one that died (never more often than `pollMs`). */
  idlePollMs: number;
  retentionDays: number;
  /** Purging spares each company's newest demo-activity event this long, so a return after a long silence is still recognised. */
  activityMemoryDays: number;
  maxBodyBytes: number;
  /** When set, GET /metrics requires `Authorization: Bearer <this>`. */
  metricsToken: string | null;
  // Abuse limits of the public HTTP server (docs/relay-api.md, "On the public internet: limits").
  /** A client must send its request headers within this time. */
  headersTimeoutMs: number;
  /** A client must send its whole request (headers and body) within this time. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this time. */
  keepAliveTimeoutMs: number;
  /** Open connections at once; past it the longest idle is closed for a new one (only when all are busy is the new one refused). */
  maxConnections: number;
  /** Open connections one address may hold (0: no limit); a trusted proxy's are not counted. */
  maxConnectionsPerAddress: number;
  /** Request body bytes held in memory at once, across all requests; past it, 503. */
  maxBufferedBytes: number;
  /** Requests a minute per API key (0: no limit). */
  apiRatePerMinute: number;
  /** Inbound posts a minute per inbound URL (0: no limit). */
  inboundRatePerMinute: number;
  /** Replays a minute per account. */
  replaysPerMinute: number;
  /** Subscriptions an account may hold. */
  maxHooksPerAccount: number;
  /** Deliveries of one account in flight at once in one process, so other accounts keep a share. */
  accountConcurrency: number;
  /** 503 while the event loop lags more than this (0: not checked). */
  maxEventLoopDelayMs: number;
  /** 503 while the JavaScript heap holds more than this many bytes (0: not checked). */
  maxHeapBytes: number;
  /** On SIGTERM, requests still open after this are cut off. */
  shutdownTimeoutMs: number;
  /** Sends to one target URL in any 1 s (0: no limit). */
  targetRate: number;
  /** A subscription sends at most one failing and one recovered alert in any this many ms. */
  alertRepeatMs: number;
  /** A failing subscription is recovered once its deliveries have succeeded for this many ms. */
  recoveredAfterMs: number;
  /** Sends to one Zapier user's hook URLs in any 5 minutes (0: no limit; a legacy URL without a user id: a tenth, per URL). */
  zapierUserRate: number;
  /** Failed authentications (a wrong API key, an unknown inbound URL) an address may make in a minute before 429 (0: no limit). */
  authFailuresPerMinute: number;
  /** Which proxies' X-Forwarded-For to believe for the client's address (Fastify's trustProxy): false, a hop count, or addresses/CIDRs. */
  trustProxy: false | number | string[];
  /** OpenTelemetry traces (the standard OTEL_* variables); null: off. */
  tracing: TracingConfig | null;
}

/** Refusing to start: every problem found, each naming its variable and what to set. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid relay configuration (nothing was started):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const blank = (raw: string | undefined): raw is undefined => raw === undefined || raw.trim() === '';

/** A whole number in [min, max]; unset or empty means `dflt`. `80.5`, `1e3`, `12ms` are refused. */
const wholeNumber = (dflt: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (blank(raw)) return dflt;
      const text = raw.trim();
      const n = Number(text);
      if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be a whole number from ${min} to ${max} (got "${raw}")` });
        return z.NEVER;
      }
      return n;
    });

const flag = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    if (blank(raw)) return false;
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    ctx.addIssue({ code: 'custom', message: `must be 1/true or 0/false (got "${raw}")` });
    return z.NEVER;
  });

const DAY = 86_400_000;

const Fields = z.object({
    HOST: z.string().optional().transform((v) => (blank(v) ? '127.0.0.1' : v.trim())),
    PORT: wholeNumber(8787, 0, 65535),
    RELAY_DATABASE_URL: z
      .string()
      .optional()
      .transform((v) => (blank(v) ? 'sqlite:./data/relay.db' : v.trim()))
      .refine((v) => v.startsWith('sqlite:') || /^postgres(ql)?:\/\/./.test(v), { message: 'must be sqlite:PATH or postgres://USER@HOST:PORT/DATABASE' }),
    RELAY_PUBLIC_URL: z
      .string()
      .optional()
      .transform((v) => (blank(v) ? null : v.trim().replace(/\/+$/, '')))
      .refine((v) => v === null || /^https?:\/\/[^/?#]+(\/[^?#]*)?$/.test(v), { message: 'must be an http(s) URL without query or fragment, e.g. https://relay.example.com' }),
    RELAY_TARGET_HOSTS: z
      .string()
      .optional()
      .transform((v) => (blank(v) ? 'hooks.zapier.com' : v).split(',').map((h) => h.trim().toLowerCase()).filter(Boolean))
      .refine((list) => list.length > 0, { message: 'must name at least one host, e.g. hooks.zapier.com' }),
    RELAY_ALERT_HOSTS: z
      .string()
      .optional()
      .transform((v) => (blank(v) ? 'hooks.slack.com' : v).split(',').map((h) => h.trim().toLowerCase()).filter(Boolean))
      .refine((list) => list.length > 0, { message: 'must name at least one host, e.g. hooks.slack.com' }),
    RELAY_ALLOW_PRIVATE_TARGETS: flag,
    RELAY_RETRY_BASE_MS: wholeNumber(1000, 1, DAY),
    RELAY_RETRY_MAX_MS: wholeNumber(60 * 60 * 1000, 1, 7 * DAY),
    RELAY_GIVE_UP_MS: wholeNumber(DAY, 1, 365 * DAY),
    RELAY_DELIVERY_TIMEOUT_MS: wholeNumber(10_000, 100, 10 * 60 * 1000),
    // An attempt in flight is a wait on a socket: enough slots for targets that answer in 200 ms.
    RELAY_DELIVERY_CONCURRENCY: wholeNumber(128, 1, 1000),
    RELAY_LEASE_MS: wholeNumber(20_000, 100, 60 * 60 * 1000),
    RELAY_POLL_MS: wholeNumber(250, 10, 60_000),
    RELAY_IDLE_POLL_MS: wholeNumber(5_000, 10, 10 * 60 * 1000),
    RELAY_RETENTION_DAYS: wholeNumber(30, 0, 3650),
    RELAY_ACTIVITY_MEMORY_DAYS: wholeNumber(400, 0, 3650),
    RELAY_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).optional(),
    RELAY_METRICS_TOKEN: z
      .string()
      .optional()
      .transform((v) => (blank(v) ? null : v.trim()))
      .refine((v) => v === null || v.length >= 16, { message: 'must be at least 16 characters (a random string), or unset for open metrics' }),
    RELAY_HEADERS_TIMEOUT_MS: wholeNumber(10_000, 500, 10 * 60 * 1000),
    RELAY_REQUEST_TIMEOUT_MS: wholeNumber(30_000, 1000, 60 * 60 * 1000),
    RELAY_KEEP_ALIVE_TIMEOUT_MS: wholeNumber(5_000, 100, 10 * 60 * 1000),
    RELAY_MAX_CONNECTIONS: wholeNumber(1024, 16, 1_000_000),
    RELAY_MAX_CONNECTIONS_PER_ADDRESS: wholeNumber(256, 0, 1_000_000),
    RELAY_MAX_BUFFERED_MB: wholeNumber(64, 2, 64 * 1024),
    RELAY_API_RATE_PER_MINUTE: wholeNumber(6000, 0, 10_000_000),
    RELAY_INBOUND_RATE_PER_MINUTE: wholeNumber(60_000, 0, 100_000_000),
    RELAY_REPLAYS_PER_MINUTE: wholeNumber(60, 1, 1_000_000),
    RELAY_MAX_HOOKS_PER_ACCOUNT: wholeNumber(500, 1, 1_000_000),
    RELAY_ACCOUNT_CONCURRENCY: wholeNumber(0, 0, 1000),
    RELAY_MAX_EVENT_LOOP_DELAY_MS: wholeNumber(1000, 0, 60_000),
    RELAY_MAX_HEAP_MB: wholeNumber(1536, 0, 1024 * 1024),
    RELAY_SHUTDOWN_TIMEOUT_MS: wholeNumber(5_000, 100, 10 * 60 * 1000),
    // Zapier answers 429 past about 30 a second per hook URL and 10,000 per 5 minutes per user.
    RELAY_TARGET_RATE: wholeNumber(25, 0, 100_000),
    RELAY_ALERT_REPEAT_MS: wholeNumber(15 * 60 * 1000, 0, 7 * DAY),
    RELAY_RECOVERED_AFTER_MS: wholeNumber(60 * 1000, 0, DAY),
    RELAY_ZAPIER_USER_RATE: wholeNumber(9000, 0, 100_000_000),
    RELAY_AUTH_FAILURES_PER_MINUTE: wholeNumber(30, 0, 1_000_000),
    RELAY_TRUST_PROXY: z
      .string()
      .optional()
      .transform((raw, ctx): false | number | string[] => {
        if (blank(raw)) return false;
        const text = raw.trim();
        if (/^\d+$/.test(text)) return Number(text);
        const list = text.split(',').map((a) => a.trim()).filter(Boolean);
        const bad = list.filter((a) => !/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(a));
        if (bad.length === 0 && list.length > 0) return list;
        ctx.addIssue({ code: 'custom', message: `must be the number of proxies in front (e.g. 1) or their addresses or CIDRs, comma-separated (e.g. 10.0.0.0/8); got "${raw}"` });
        return z.NEVER;
      }),
  });

type Env = z.infer<typeof Fields>;

/**
 * The rules between variables. Each is judged when the variables it reads are themselves
 * valid, even while others are not, so every problem is reported in one go.
 */
function crossChecks(v: Partial<Env>, issue: (path: string, message: string) => void): void {
  const n = (k: keyof Env) => v[k] as number;
  const has = (...keys: Array<keyof Env>) => keys.every((k) => v[k] !== undefined);
  // A lease must outlive the longest attempt plus the time to record it; otherwise another
  // worker takes a delivery that is still in flight and the target gets it twice, routinely.
  if (has('RELAY_LEASE_MS', 'RELAY_DELIVERY_TIMEOUT_MS') && n('RELAY_LEASE_MS') < n('RELAY_DELIVERY_TIMEOUT_MS') + 500) {
    issue('RELAY_LEASE_MS', `(${n('RELAY_LEASE_MS')}) must be at least RELAY_DELIVERY_TIMEOUT_MS + 500 (${n('RELAY_DELIVERY_TIMEOUT_MS') + 500}), or deliveries still in flight are taken over and sent twice`);
  }
  if (has('RELAY_RETRY_MAX_MS', 'RELAY_RETRY_BASE_MS') && n('RELAY_RETRY_MAX_MS') < n('RELAY_RETRY_BASE_MS')) {
    issue('RELAY_RETRY_MAX_MS', `(${n('RELAY_RETRY_MAX_MS')}) must be at least RELAY_RETRY_BASE_MS (${n('RELAY_RETRY_BASE_MS')})`);
  }
  // Retention purges events with their deliveries: a delivery still being retried would vanish.
  if (has('RELAY_RETENTION_DAYS', 'RELAY_GIVE_UP_MS') && n('RELAY_RETENTION_DAYS') > 0 && n('RELAY_GIVE_UP_MS') > n('RELAY_RETENTION_DAYS') * DAY) {
    issue('RELAY_GIVE_UP_MS', `(${n('RELAY_GIVE_UP_MS')} ms) must not exceed RELAY_RETENTION_DAYS (${n('RELAY_RETENTION_DAYS')} days = ${n('RELAY_RETENTION_DAYS') * DAY} ms), or events are purged while still being retried`);
  }
  // Node refuses a headers limit longer than the whole request's.
  if (has('RELAY_REQUEST_TIMEOUT_MS', 'RELAY_HEADERS_TIMEOUT_MS') && n('RELAY_REQUEST_TIMEOUT_MS') <= n('RELAY_HEADERS_TIMEOUT_MS')) {
    issue('RELAY_REQUEST_TIMEOUT_MS', `(${n('RELAY_REQUEST_TIMEOUT_MS')}) must be more than RELAY_HEADERS_TIMEOUT_MS (${n('RELAY_HEADERS_TIMEOUT_MS')}): the whole request includes its headers`);
  }
  if (has('RELAY_ACCOUNT_CONCURRENCY', 'RELAY_DELIVERY_CONCURRENCY') && n('RELAY_ACCOUNT_CONCURRENCY') > n('RELAY_DELIVERY_CONCURRENCY')) {
    issue('RELAY_ACCOUNT_CONCURRENCY', `(${n('RELAY_ACCOUNT_CONCURRENCY')}) must not exceed RELAY_DELIVERY_CONCURRENCY (${n('RELAY_DELIVERY_CONCURRENCY')})`);
  }
}

/** Reads and checks the whole configuration; throws a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): RelayConfig {
  // Every variable on its own, then the rules between those that are valid: all problems at once.
  const problems: string[] = [];
  const valid: Partial<Env> = {};
  for (const [key, schema] of Object.entries(Fields.shape) as Array<[keyof Env, z.ZodType]>) {
    const r = schema.safeParse(env[key]);
    if (r.success) (valid as Record<string, unknown>)[key] = r.data;
    else problems.push(...r.error.issues.map((i) => `${key} ${i.message}`));
  }
  crossChecks(valid, (path, message) => problems.push(`${path} ${message}`));
  const tracing = tracingConfig(env, (variable, message) => problems.push(`${variable} ${message}`));
  if (problems.length > 0) throw new ConfigError(problems);
  const v = valid as Env;
  return {
    host: v.HOST,
    port: v.PORT,
    databaseUrl: v.RELAY_DATABASE_URL,
    publicUrl: v.RELAY_PUBLIC_URL,
    targetHosts: v.RELAY_TARGET_HOSTS,
    alertHosts: v.RELAY_ALERT_HOSTS,
    allowPrivateTargets: v.RELAY_ALLOW_PRIVATE_TARGETS,
    retryBaseMs: v.RELAY_RETRY_BASE_MS,
    retryMaxMs: v.RELAY_RETRY_MAX_MS,
    giveUpMs: v.RELAY_GIVE_UP_MS,
    deliveryTimeoutMs: v.RELAY_DELIVERY_TIMEOUT_MS,
    deliveryConcurrency: v.RELAY_DELIVERY_CONCURRENCY,
    leaseMs: v.RELAY_LEASE_MS,
    pollMs: v.RELAY_POLL_MS,
    idlePollMs: Math.max(v.RELAY_IDLE_POLL_MS, v.RELAY_POLL_MS),
    retentionDays: v.RELAY_RETENTION_DAYS,
    activityMemoryDays: v.RELAY_ACTIVITY_MEMORY_DAYS,
    maxBodyBytes: 1024 * 1024,
    metricsToken: v.RELAY_METRICS_TOKEN,
    headersTimeoutMs: v.RELAY_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: v.RELAY_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: v.RELAY_KEEP_ALIVE_TIMEOUT_MS,
    maxConnections: v.RELAY_MAX_CONNECTIONS,
    maxConnectionsPerAddress: v.RELAY_MAX_CONNECTIONS_PER_ADDRESS,
    maxBufferedBytes: v.RELAY_MAX_BUFFERED_MB * 1024 * 1024,
    apiRatePerMinute: v.RELAY_API_RATE_PER_MINUTE,
    inboundRatePerMinute: v.RELAY_INBOUND_RATE_PER_MINUTE,
    replaysPerMinute: v.RELAY_REPLAYS_PER_MINUTE,
    maxHooksPerAccount: v.RELAY_MAX_HOOKS_PER_ACCOUNT,
    // Unset: all but an eighth of the process's delivery slots (at least one), so one account's
    // dead target or bulk replay always leaves the others some, and one busy account loses little.
    accountConcurrency: v.RELAY_ACCOUNT_CONCURRENCY || Math.max(1, v.RELAY_DELIVERY_CONCURRENCY - Math.max(1, Math.floor(v.RELAY_DELIVERY_CONCURRENCY / 8))),
    maxEventLoopDelayMs: v.RELAY_MAX_EVENT_LOOP_DELAY_MS,
    maxHeapBytes: v.RELAY_MAX_HEAP_MB * 1024 * 1024,
    shutdownTimeoutMs: v.RELAY_SHUTDOWN_TIMEOUT_MS,
    targetRate: v.RELAY_TARGET_RATE,
    alertRepeatMs: v.RELAY_ALERT_REPEAT_MS,
    recoveredAfterMs: v.RELAY_RECOVERED_AFTER_MS,
    zapierUserRate: v.RELAY_ZAPIER_USER_RATE,
    authFailuresPerMinute: v.RELAY_AUTH_FAILURES_PER_MINUTE,
    trustProxy: v.RELAY_TRUST_PROXY,
    tracing,
  };
}

/** The base of inbound URLs: RELAY_PUBLIC_URL, else where the relay listens (or will: `http://HOST:PORT`). */
export function publicBase(cfg: Pick<RelayConfig, 'publicUrl' | 'host' | 'port'>, listening?: string): string {
  if (cfg.publicUrl) return cfg.publicUrl;
  if (listening) return listening;
  const host = cfg.host === '0.0.0.0' || cfg.host === '::' ? '127.0.0.1' : cfg.host;
  return `http://${host}:${cfg.port}`;
}

/** The rules a running relay checks target and alert URLs by, recorded for the CLI on the same database. */
export type ServedRules = Pick<RelayConfig, 'targetHosts' | 'alertHosts' | 'allowPrivateTargets'>;

export const servedRules = (cfg: RelayConfig): ServedRules => ({ targetHosts: cfg.targetHosts, alertHosts: cfg.alertHosts, allowPrivateTargets: cfg.allowPrivateTargets });

/** `cfg` with the rules a running relay recorded (JSON from `servedRules`), when there are any to read. */
export function withServedRules(cfg: RelayConfig, recorded: string | null): RelayConfig {
  if (!recorded) return cfg;
  try {
    const r = JSON.parse(recorded) as Partial<ServedRules>;
    const hosts = (v: unknown) => Array.isArray(v) && v.every((h) => typeof h === 'string');
    return {
      ...cfg,
      ...(hosts(r.targetHosts) ? { targetHosts: r.targetHosts } : {}),
      ...(hosts(r.alertHosts) ? { alertHosts: r.alertHosts } : {}),
      ...(typeof r.allowPrivateTargets === 'boolean' ? { allowPrivateTargets: r.allowPrivateTargets } : {}),
    };
  } catch {
    return cfg;
  }
}
