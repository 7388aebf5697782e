/**
 * What the relay tests share: reading the recorded state they wait for (an event's delivery
 * rows, after what its ack stored has been derived), and driving a stage directly on a store
 * no relay runs on.
 */
import { demoSessionSample } from '../../lib/providers/walnut.js';
import { loadConfig } from '../config.js';
import type { Outcome } from '../domain/retry.js';
import type { DeliveryStatus } from '../domain/statuses.js';
import type { Relay } from '../main.js';
import { CaughtUp } from '../services/caught-up.js';
import { createServices } from '../services/index.js';
import { Subscriptions } from '../services/subscriptions.js';
import type { Claimed } from '../store/deliveries/claim.js';
import type { Recorded } from '../store/deliveries/outcomes.js';
import type { Store } from '../store/index.js';

/** Derives everything stored so far on a store no relay derives (the stage run by hand). */
export async function settle(store: Store): Promise<void> {
  while ((await store.derive.next({ limit: 1000 })).ids.length > 0);
}

/** Waits until what was stored so far is derived: the relay's deriver for a relay, by hand for a bare store. */
async function derived(target: Store | Relay): Promise<Store> {
  if ('deriver' in target) {
    await new CaughtUp(target.store, () => target.deriver.kick(), 10_000).wait();
    return target.store;
  }
  await settle(target);
  return target;
}

export interface DeliveryState {
  id: string;
  hook_id: string | null;
  status: DeliveryStatus;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
}

/** An event's delivery rows as recorded, oldest first (once its fan-out is stored). */
export async function deliveriesOf(target: Store | Relay, eventId: string): Promise<DeliveryState[]> {
  const store = await derived(target);
  const rows = await store.db.query<any>('SELECT id, hook_id, status, attempts, last_status, last_error FROM deliveries WHERE event_id = $1 ORDER BY created_at, id', [eventId]);
  return rows.map((r) => ({ ...r, attempts: Number(r.attempts), last_status: r.last_status === null ? null : Number(r.last_status) }));
}

/** A claim as the deliverer makes one, the rows only. */
export async function claim(store: Store, worker: string, limit: number, leaseMs: number, fair: { perAccount?: number; inflight?: ReadonlyMap<string, number> } = {}): Promise<Claimed[]> {
  return (await store.claims.claim({ worker, limit, leaseMs, perAccount: fair.perAccount, held: fair.inflight })).claimed;
}

/** One outcome recorded as the recorder records a batch of one. */
export async function complete(store: Store, id: string, worker: string, outcome: Outcome, giveUpMs: number): Promise<Recorded> {
  return (await store.outcomes.record([{ id, worker, outcome, giveUpMs }]))[0];
}

/** One round of the derive stage with nothing handed over: what it derived. */
export async function deriveOnce(store: Store, limit = 1000): Promise<{ events: number; deliveries: number; handed: number }> {
  const r = await store.derive.next({ limit });
  return { events: r.ids.length, deliveries: r.deliveries, handed: r.handed.length };
}

/** Unsubscribes as DELETE /v1/hooks/{id} does (`waitMs`: how long an attempt in flight is waited for). */
export function unsubscribe(store: Store, accountId: string, hookId: string, waitMs = 0): Promise<boolean> {
  return new Subscriptions(store, { ...loadConfig({}), leaseMs: waitMs }).unsubscribe(accountId, hookId, waitMs);
}

/** The services over a bare store (no loops run: nothing is kicked). */
export const servicesOf = (store: Store) => createServices(store, loadConfig({}));

/** The documented Walnut demo session, as its raw body, with its own session id (and any other data fields). */
export const walnutSession = (id: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ ...demoSessionSample, data: { ...demoSessionSample.data, session_id: id, ...extra } });
