import { z } from 'zod';

/** The relay's settings, all from the environment (see the README's table). */
export interface RelayConfig {
  host: string;
  port: number;
  databaseUrl: string;
  /** Base of the inbound URLs handed out; null = the address the relay listens on. */
  publicUrl: string | null;
  targetHosts: string[];
  allowPrivateTargets: boolean;
  retryBaseMs: number;
  retryMaxMs: number;
  giveUpMs: number;
  deliveryTimeoutMs: number;
  deliveryConcurrency: number;
  leaseMs: number;
  pollMs: number;
  retentionDays: number;
  maxBodyBytes: number;
  /** When set, GET /metrics requires `Authorization: Bearer <this>`. */
  metricsToken: string | null;
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

const EnvSchema = z
  .object({
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
    RELAY_ALLOW_PRIVATE_TARGETS: flag,
    RELAY_RETRY_BASE_MS: wholeNumber(1000, 1, DAY),
    RELAY_RETRY_MAX_MS: wholeNumber(60 * 60 * 1000, 1, 7 * DAY),
    RELAY_GIVE_UP_MS: wholeNumber(DAY, 1, 365 * DAY),
    RELAY_DELIVERY_TIMEOUT_MS: wholeNumber(10_000, 100, 10 * 60 * 1000),
    RELAY_DELIVERY_CONCURRENCY: wholeNumber(16, 1, 1000),
    RELAY_LEASE_MS: wholeNumber(20_000, 100, 60 * 60 * 1000),
    RELAY_POLL_MS: wholeNumber(250, 10, 60_000),
    RELAY_RETENTION_DAYS: wholeNumber(30, 0, 3650),
    RELAY_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).optional(),
    RELAY_METRICS_TOKEN: z
      .string()
      .optional()
      .transform((v) => (blank(v) ? null : v.trim()))
      .refine((v) => v === null || v.length >= 16, { message: 'must be at least 16 characters (a random string), or unset for open metrics' }),
  })
  .superRefine((v, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    // A lease must outlive the longest attempt plus the time to record it; otherwise another
    // worker takes a delivery that is still in flight and the target gets it twice, routinely.
    if (v.RELAY_LEASE_MS < v.RELAY_DELIVERY_TIMEOUT_MS + 500) {
      issue('RELAY_LEASE_MS', `(${v.RELAY_LEASE_MS}) must be at least RELAY_DELIVERY_TIMEOUT_MS + 500 (${v.RELAY_DELIVERY_TIMEOUT_MS + 500}), or deliveries still in flight are taken over and sent twice`);
    }
    if (v.RELAY_RETRY_MAX_MS < v.RELAY_RETRY_BASE_MS) {
      issue('RELAY_RETRY_MAX_MS', `(${v.RELAY_RETRY_MAX_MS}) must be at least RELAY_RETRY_BASE_MS (${v.RELAY_RETRY_BASE_MS})`);
    }
    // Retention purges events with their deliveries: a delivery still being retried would vanish.
    if (v.RELAY_RETENTION_DAYS > 0 && v.RELAY_GIVE_UP_MS > v.RELAY_RETENTION_DAYS * DAY) {
      issue('RELAY_GIVE_UP_MS', `(${v.RELAY_GIVE_UP_MS} ms) must not exceed RELAY_RETENTION_DAYS (${v.RELAY_RETENTION_DAYS} days = ${v.RELAY_RETENTION_DAYS * DAY} ms), or events are purged while still being retried`);
    }
  });

/** Reads and checks the whole configuration; throws a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): RelayConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${String(i.path[0] ?? 'configuration')} ${i.message}`));
  }
  const v = parsed.data;
  return {
    host: v.HOST,
    port: v.PORT,
    databaseUrl: v.RELAY_DATABASE_URL,
    publicUrl: v.RELAY_PUBLIC_URL,
    targetHosts: v.RELAY_TARGET_HOSTS,
    allowPrivateTargets: v.RELAY_ALLOW_PRIVATE_TARGETS,
    retryBaseMs: v.RELAY_RETRY_BASE_MS,
    retryMaxMs: v.RELAY_RETRY_MAX_MS,
    giveUpMs: v.RELAY_GIVE_UP_MS,
    deliveryTimeoutMs: v.RELAY_DELIVERY_TIMEOUT_MS,
    deliveryConcurrency: v.RELAY_DELIVERY_CONCURRENCY,
    leaseMs: v.RELAY_LEASE_MS,
    pollMs: v.RELAY_POLL_MS,
    retentionDays: v.RELAY_RETENTION_DAYS,
    maxBodyBytes: 1024 * 1024,
    metricsToken: v.RELAY_METRICS_TOKEN,
  };
}

/** The base of inbound URLs: RELAY_PUBLIC_URL, else where the relay listens (or will: `http://HOST:PORT`). */
export function publicBase(cfg: Pick<RelayConfig, 'publicUrl' | 'host' | 'port'>, listening?: string): string {
  if (cfg.publicUrl) return cfg.publicUrl;
  if (listening) return listening;
  const host = cfg.host === '0.0.0.0' || cfg.host === '::' ? '127.0.0.1' : cfg.host;
  return `http://${host}:${cfg.port}`;
}
