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
}

const int = (env: NodeJS.ProcessEnv, key: string, dflt: number, min = 0): number => {
  const raw = env[key];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${key} must be a number ≥ ${min} (got "${raw}")`);
  return n;
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env): RelayConfig {
  const host = env.HOST || '127.0.0.1';
  const port = int(env, 'PORT', 8787);
  return {
    host,
    port,
    databaseUrl: env.RELAY_DATABASE_URL || 'sqlite:./data/relay.db',
    publicUrl: env.RELAY_PUBLIC_URL ? env.RELAY_PUBLIC_URL.replace(/\/+$/, '') : null,
    targetHosts: (env.RELAY_TARGET_HOSTS || 'hooks.zapier.com')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
    allowPrivateTargets: env.RELAY_ALLOW_PRIVATE_TARGETS === '1',
    retryBaseMs: int(env, 'RELAY_RETRY_BASE_MS', 1000, 1),
    retryMaxMs: int(env, 'RELAY_RETRY_MAX_MS', 60 * 60 * 1000, 1),
    giveUpMs: int(env, 'RELAY_GIVE_UP_MS', 24 * 60 * 60 * 1000, 1),
    deliveryTimeoutMs: int(env, 'RELAY_DELIVERY_TIMEOUT_MS', 10_000, 100),
    deliveryConcurrency: int(env, 'RELAY_DELIVERY_CONCURRENCY', 16, 1),
    leaseMs: int(env, 'RELAY_LEASE_MS', 20_000, 100),
    pollMs: int(env, 'RELAY_POLL_MS', 250, 10),
    retentionDays: int(env, 'RELAY_RETENTION_DAYS', 30, 0),
    maxBodyBytes: 1024 * 1024,
  };
}

/** The base of inbound URLs: RELAY_PUBLIC_URL, else where the relay listens (or will: `http://HOST:PORT`). */
export function publicBase(cfg: Pick<RelayConfig, 'publicUrl' | 'host' | 'port'>, listening?: string): string {
  if (cfg.publicUrl) return cfg.publicUrl;
  if (listening) return listening;
  const host = cfg.host === '0.0.0.0' || cfg.host === '::' ? '127.0.0.1' : cfg.host;
  return `http://${host}:${cfg.port}`;
}
