/**
 * `startRelay`, the relay wired in order: open the store → migrate → services → loops (the
 * deriver, the deliverer, the alerts) → HTTP → listen; `close` undoes it in reverse, draining
 * in-flight work within RELAY_SHUTDOWN_TIMEOUT_MS.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROVIDER_KEYS } from '../lib/providers/index.js';
import { loadCompanyLists } from '../lib/company.js';
import { Alerter } from './alerts/alerter.js';
import { publicBase, servedRules, type RelayConfig } from './config.js';
import { Deliverer } from './delivery/deliverer.js';
import { buildHttp, type App } from './http/app.js';
import { Deriver } from './ingest/deriver.js';
import { Handoff } from './ingest/handoff.js';
import { Intake } from './ingest/intake.js';
import { AcksFirst } from './loops/acks-first.js';
import type { Logger } from './log.js';
import { createMetrics } from './metrics.js';
import { createServices, type Services } from './services/index.js';
import { Store } from './store/index.js';
import { startTracing, type Tracing } from './tracing.js';

export const inboundUrlsFor = (base: string, tokens: Record<string, string>): Record<string, string> =>
  Object.fromEntries(PROVIDER_KEYS.map((p) => [p, `${base}/v1/inbound/${p}/${tokens[p]}`]));

export interface Relay {
  url: string;
  /** The base of the inbound URLs this relay hands out. */
  publicUrl: string;
  store: Store;
  services: Services;
  deliverer: Deliverer;
  /** Builds the activity index and the fan-out behind the ack. */
  deriver: Deriver;
  alerter: Alerter;
  /** OpenTelemetry traces; null when no OTLP endpoint is configured. */
  tracing: Tracing | null;
  server: http.Server;
  /** Runs the retention purge now (it also runs at start and hourly when RELAY_RETENTION_DAYS is set); the events deleted. */
  purge(): Promise<number>;
  /** Stops taking requests, drains in-flight work, closes the store. */
  close(): Promise<void>;
}

/** The stages behind the ack and the delivery, wired: the deriver hands fresh deliveries to the deliverer. */
function loops(store: Store, cfg: RelayConfig, log: Logger, metrics: ReturnType<typeof createMetrics>, tracing: Tracing | null) {
  const handoff = new Handoff();
  const acks = new AcksFirst();
  const deliverer = new Deliverer(store, cfg, log, metrics, tracing, acks);
  // The deliverer is woken only when a derive queued deliveries it was not handed.
  // Kicked by this process's intake; the idle look finds what another process stored and died before deriving.
  const deriver = new Deriver(store, handoff, log, cfg.idlePollMs, () => deliverer.kick(), undefined, tracing, acks);
  const intake = new Intake(store, handoff, () => deriver.kick(), tracing, acks);
  return { deliverer, deriver, intake, acks };
}

/** Retention: events older than RELAY_RETENTION_DAYS go, except each company's newest demo activity. */
function retention(store: Store, cfg: RelayConfig, log: Logger): { purge(): Promise<number>; stop(): void } {
  async function purge(): Promise<number> {
    try {
      const n = await store.retention.purge(Date.now() - cfg.retentionDays * 86_400_000, Date.now() - cfg.activityMemoryDays * 86_400_000);
      if (n > 0) log('info', 'retention purge', { events_deleted: n, retention_days: cfg.retentionDays });
      return n;
    } catch (err) {
      log('error', 'retention purge failed', { error: (err as Error).message });
      return 0;
    }
  }
  const timer = cfg.retentionDays > 0 ? setInterval(() => void purge(), 60 * 60 * 1000) : null;
  timer?.unref();
  if (timer) void purge();
  return { purge, stop: () => timer && clearInterval(timer) };
}

/** Where the server listens, as a URL. */
function listeningUrl(app: App): string {
  const addr = app.server.address() as AddressInfo;
  return `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
}

export async function startRelay(cfg: RelayConfig, log: Logger, options: { deliver?: boolean } = {}): Promise<Relay> {
  const store = await Store.open(cfg.databaseUrl, log);
  await store.migrate();
  const metrics = createMetrics(store.deliveryList);
  const tracing = startTracing(cfg.tracing, log);
  const { deliverer, deriver, intake, acks } = loops(store, cfg, log, metrics, tracing);
  let alerts: Alerter | null = null; // made once the relay's own URL is known, below
  const services = createServices(store, cfg, { deriver: () => deriver.kick(), deliverer: () => deliverer.kick(), alerter: () => alerts?.kick() });
  let base = publicBase(cfg);
  const app = await buildHttp({ cfg, services, intake, log, metrics, tracing, inboundUrls: (tokens) => inboundUrlsFor(base, tokens) });
  loadCompanyLists();
  await app.listen({ port: cfg.port, host: cfg.host });
  const url = listeningUrl(app);
  base = publicBase(cfg, url);
  // The CLI prints the URLs this relay serves, not ones built from its own environment.
  await store.settings.set('public_url', base);
  // And checks target and alert URLs by this relay's rules, not its own environment's.
  await store.settings.set('served_rules', JSON.stringify(servedRules(cfg)));
  const alerter = new Alerter(store, cfg, log, (hookId) => `${base}/#/failed?hook=${encodeURIComponent(hookId)}`);
  alerts = alerter;
  deliverer.onTrouble = () => alerter.kick();
  if (options.deliver !== false) {
    deliverer.start();
    deriver.handTo(deliverer);
    alerter.start();
  }
  // At start it also catches up with events stored but not derived before a crash.
  deriver.start();
  const purging = retention(store, cfg, log);
  log('info', 'relay listening', {
    url,
    store: store.describe,
    public_url: base,
    target_hosts: cfg.targetHosts,
    allow_private_targets: cfg.allowPrivateTargets,
    // Where spans go (the endpoint's origin only: its path or query could carry a credential).
    tracing: cfg.tracing ? { endpoint: new URL(cfg.tracing.url).origin, protocol: cfg.tracing.protocol, service: cfg.tracing.serviceName } : 'off',
  });

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      purging.stop();
      // In-flight requests finish (new ones get 503 and idle connections close at once);
      // whatever a slow client still holds open after the grace time is cut off.
      const cut = setTimeout(() => app.server.closeAllConnections(), cfg.shutdownTimeoutMs);
      await app.close();
      clearTimeout(cut);
      deriver.handTo(null);
      acks.close(); // no more acks to wait for
      await deriver.stop();
      await deliverer.stop();
      await alerter.stop();
      await store.close();
      // The spans of the work just finished go out before the process ends.
      await tracing?.shutdown().catch((err: Error) => log('warn', 'could not export the last traces', { error: err.message }));
      log('info', 'relay stopped', {});
    })());
  return { url, publicUrl: base, store, services, deliverer, deriver, alerter, tracing, server: app.server, purge: purging.purge, close };
}
