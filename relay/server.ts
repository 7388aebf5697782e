/**
 * `startRelay`: the store, the deliverer and the HTTP layer (relay/http/app.ts), wired together,
 * listening, and a `close` that drains them in order within RELAY_SHUTDOWN_TIMEOUT_MS.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROVIDER_KEYS } from '../lib/providers/index.js';
import { Alerter } from './alerts.js';
import { publicBase, type RelayConfig } from './config.js';
import { openDb } from './db.js';
import { Deliverer } from './deliver.js';
import { Deriver } from './derive.js';
import { GroupCommit } from './group-commit.js';
import { buildHttp } from './http/app.js';
import { InboundTokens } from './http/inbound.js';
import type { Logger } from './log.js';
import { createMetrics } from './metrics.js';
import { Operator } from './operator.js';
import { Store, type InboundItem, type IngestResult } from './store.js';

export const inboundUrlsFor = (base: string, tokens: Record<string, string>): Record<string, string> =>
  Object.fromEntries(PROVIDER_KEYS.map((p) => [p, `${base}/v1/inbound/${p}/${tokens[p]}`]));

export interface Relay {
  url: string;
  /** The base of the inbound URLs this relay hands out. */
  publicUrl: string;
  store: Store;
  deliverer: Deliverer;
  /** Builds the activity index and the fan-out behind the ack. */
  deriver: Deriver;
  alerter: Alerter;
  server: http.Server;
  /** Runs the retention purge now (it also runs at start and hourly when RELAY_RETENTION_DAYS is set); the events deleted. */
  purge(): Promise<number>;
  /** Stops taking requests, drains in-flight work, closes the store. */
  close(): Promise<void>;
}

export async function startRelay(cfg: RelayConfig, log: Logger, options: { deliver?: boolean } = {}): Promise<Relay> {
  const db = await openDb(cfg.databaseUrl, log);
  const store = new Store(db);
  await store.migrate();
  const operator = new Operator(store);
  const metrics = createMetrics(operator);
  const deliverer = new Deliverer(store, cfg, log, metrics);
  // What follows from stored events (the activity index, the fan-out) is built behind the ack;
  // the deliverer is woken only when that queued deliveries.
  const deriver = new Deriver(store, log, cfg.pollMs, () => deliverer.kick());
  // Inbound events that arrive together are stored in one transaction (group commit), so each
  // ack is durable without one disk sync per request.
  const batcher = new GroupCommit<InboundItem, IngestResult>((items) => store.ingest(items), 500, () => deriver.kick());
  let base = publicBase(cfg);

  const app = await buildHttp({
    cfg,
    store,
    operator,
    log,
    metrics,
    batcher,
    tokens: new InboundTokens(store),
    inboundUrls: (tokens) => inboundUrlsFor(base, tokens),
    kick: () => deliverer.kick(),
  });
  await app.listen({ port: cfg.port, host: cfg.host });
  const server = app.server;
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  base = publicBase(cfg, url);
  // The CLI prints the URLs this relay serves, not ones built from its own environment.
  await store.setSetting('public_url', base);
  const alerter = new Alerter(store, cfg, log, (hookId) => `${base}/#/failed?hook=${encodeURIComponent(hookId)}`);
  // At start it also catches up with events stored but not derived before a crash.
  deriver.start();
  if (options.deliver !== false) {
    deliverer.start();
    alerter.start();
  }

  const retention = cfg.retentionDays > 0 ? setInterval(() => void purge(), 60 * 60 * 1000) : null;
  retention?.unref();
  /** Retention: events older than RELAY_RETENTION_DAYS go, except each company's newest demo activity. */
  async function purge(): Promise<number> {
    try {
      const n = await store.purge(Date.now() - cfg.retentionDays * 86_400_000, Date.now() - cfg.activityMemoryDays * 86_400_000);
      if (n > 0) log('info', 'retention purge', { events_deleted: n, retention_days: cfg.retentionDays });
      return n;
    } catch (err) {
      log('error', 'retention purge failed', { error: (err as Error).message });
      return 0;
    }
  }
  if (retention) void purge();

  log('info', 'relay listening', { url, store: db.describe, public_url: base, target_hosts: cfg.targetHosts, allow_private_targets: cfg.allowPrivateTargets });

  let closing: Promise<void> | null = null;
  return {
    url,
    publicUrl: base,
    store,
    deliverer,
    deriver,
    alerter,
    server,
    purge,
    close() {
      closing ??= (async () => {
        if (retention) clearInterval(retention);
        // In-flight requests finish (new ones get 503 and idle connections close at once);
        // whatever a slow client still holds open after the grace time is cut off.
        const cut = setTimeout(() => server.closeAllConnections(), cfg.shutdownTimeoutMs);
        await app.close();
        clearTimeout(cut);
        await deriver.stop();
        await deliverer.stop();
        await alerter.stop();
        await store.close();
        log('info', 'relay stopped', {});
      })();
      return closing;
    },
  };
}
