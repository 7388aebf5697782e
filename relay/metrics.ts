/**
 * Prometheus metrics (prom-client), one registry per relay so several relays in one process
 * (tests) keep their own counts. Pending work is read from the store at scrape time, so every
 * process reports the same queue.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PROVIDER_KEYS } from '../lib/providers/index.js';
import type { DeliveryMetrics } from './delivery/recorder.js';

export interface RelayMetrics extends DeliveryMetrics {
  registry: Registry;
  /** outcome: stored, duplicate, or refused_<status> */
  countInbound(provider: string, outcome: string): void;
}

/** Where the queue's gauges are read from. */
export interface QueueStats {
  pendingStats(): Promise<{ pending: number; oldestAgeSeconds: number; paced: number }>;
}

export function createMetrics(queue: QueueStats): RelayMetrics {
  const registry = new Registry();
  // The event-loop lag gauges sampled twice a second, not at prom-client's default 10 ms: that
  // histogram's timer wakes the process a hundred times a second, a measurable share of what an
  // idle relay costs (docs/benchmarks.md), for a precision a scrape every 15 s does not use.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 500 });
  const inbound = new Counter({
    name: 'demohooks_relay_inbound_events_total',
    help: 'Inbound vendor posts, by provider and outcome (stored, duplicate, refused_<HTTP status>).',
    labelNames: ['provider', 'outcome'],
    registers: [registry],
  });
  const deliveries = new Counter({
    name: 'demohooks_relay_deliveries_total',
    help: 'Delivery attempts by outcome (delivered, retry, failed, given_up, gone, not_recorded).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'demohooks_relay_delivery_duration_seconds',
    help: 'Time from sending a delivery to its answer (or network error).',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const throttled = new Counter({
    name: 'demohooks_relay_throttled_total',
    help: 'Answers of 429 or 503 from targets: the target is paused for its Retry-After (throttling, not failing).',
    registers: [registry],
  });
  queueGauges(registry, queue);
  return {
    registry,
    countThrottled: () => throttled.inc(),
    countInbound: (provider, outcome) => inbound.inc({ provider: (PROVIDER_KEYS as readonly string[]).includes(provider) ? provider : 'unknown', outcome }),
    countDelivery: (outcome) => deliveries.inc({ outcome }),
    observeDelivery: (seconds) => duration.observe(seconds),
  };
}

/** The queue's gauges, read from the store at scrape time (one query for all three), so every process reports the same queue. */
function queueGauges(registry: Registry, queue: QueueStats): void {
  let stats: Promise<{ pending: number; oldestAgeSeconds: number; paced: number }> | null = null;
  const read = () => (stats ??= queue.pendingStats().finally(() => setTimeout(() => (stats = null), 0)));
  new Gauge({
    name: 'demohooks_relay_pending_deliveries',
    help: 'Deliveries waiting to be sent or retried, across this relay database.',
    registers: [registry],
    async collect() {
      this.set((await read()).pending);
    },
  });
  new Gauge({
    name: 'demohooks_relay_oldest_pending_age_seconds',
    help: 'Age of the oldest delivery still waiting (0 when none).',
    registers: [registry],
    async collect() {
      this.set((await read()).oldestAgeSeconds);
    },
  });
  new Gauge({
    name: 'demohooks_relay_paced_deliveries',
    help: "Deliveries waiting for their turn within a target's limits (RELAY_TARGET_RATE, RELAY_ZAPIER_USER_RATE), across this relay database.",
    registers: [registry],
    async collect() {
      this.set((await read()).paced);
    },
  });
}
