/**
 * What the operator reads (the API, the console and the CLI): subscriptions and their health,
 * the hourly chart, the event log, an event with every delivery and attempt, deliveries, and a
 * company's demo activity. Every read is scoped to one account, writes nothing, and first
 * waits (bounded) for what follows from events already acked.
 */
import { processDelivery } from '../../lib/pipeline.js';
import { isProviderKey, PROVIDERS } from '../../lib/providers/index.js';
import type { ActivityEvent } from '../store/activity.js';
import type { DeliveryRow, EventDelivery } from '../store/deliveries/list.js';
import type { EventFilter, StoredEvent } from '../store/events.js';
import type { HookHealth } from '../store/hooks.js';
import type { Store } from '../store/index.js';
import type { StatsHour } from '../store/stats.js';
import type { ApiDeliveryStatus, EventDeliveryStatus } from '../domain/statuses.js';
import type { CaughtUp } from './caught-up.js';

/** A listed body cut to this many characters, when a listing asks for previews. */
export const PREVIEW_CHARS = 1024;

/** Bodies longer than this get no summary in a listing (a vendor's event is a few KiB): the work of reading one grows with its width, and a listing's must not. */
export const SUMMARY_MAX_CHARS = 64 * 1024;

/**
 * A page of whole bodies holds at most about this much (the first event always listed; a
 * vendor's events are a few KiB, so a page of them is never cut): reading, serialising and
 * sending a page costs the event loop a bounded time, whatever was posted.
 */
export const LIST_BODY_BUDGET = 1024 * 1024;

export interface EventRow extends StoredEvent {
  delivery_status: EventDeliveryStatus;
  /** Set when the body is a preview: whether it was cut. */
  body_truncated?: boolean;
  /** What happened, in words, as the vendor module reads the body (unverified: the relay holds no secrets); null when it cannot. */
  summary: string | null;
}

export interface EventDetail extends StoredEvent {
  summary: string | null;
  deliveries: EventDelivery[];
}

/** An event in one sentence (who did what with which demo), by its vendor module; null when the body does not read as one. */
export function describeEvent(provider: string, body: string): string | null {
  if (!isProviderKey(provider)) return null;
  try {
    const out = processDelivery(PROVIDERS[provider], { rawBody: body, signature: undefined }, [], { want: '*', includeTest: true });
    return out.kind === 'record' ? out.record.summary_text : null;
  } catch {
    return null;
  }
}

export class Reads {
  constructor(
    private readonly store: Store,
    private readonly caughtUp: CaughtUp,
  ) {}

  accounts(): Promise<Array<{ id: string; name: string; disabled: boolean }>> {
    return this.store.accounts.list();
  }

  hooks(accountId: string, page?: { limit: number; before?: string }): Promise<HookHealth[]> {
    return this.store.hooks.list(accountId, page);
  }

  async stats(accountId: string, hours: number): Promise<StatsHour[]> {
    await this.caughtUp.wait();
    return this.store.stats.hourly(accountId, hours);
  }

  /**
   * The event log. Nothing done per row grows with a body's width past a bound: a body over
   * 64 KiB is listed without a summary, with `preview` only its first 64 KiB are read and its
   * first `preview` characters listed, and a page of whole bodies holds at most 1 MiB of them
   * (`more`: it stopped there).
   */
  async events(accountId: string, f: Omit<EventFilter, 'bodyChars' | 'bodyBudget'> & { preview?: number }): Promise<{ rows: EventRow[]; more: boolean }> {
    await this.caughtUp.wait();
    const { rows, more } = await this.store.events.list(accountId, { ...f, bodyChars: f.preview === undefined ? undefined : SUMMARY_MAX_CHARS, bodyBudget: f.preview === undefined ? LIST_BODY_BUDGET : undefined });
    return { more, rows: rows.map(({ provider, ...r }) => {
      const summary = r.body.length <= SUMMARY_MAX_CHARS ? describeEvent(provider, r.body) : null;
      if (f.preview === undefined) return { ...r, summary };
      const cut = r.body.length > f.preview;
      return { ...r, body: cut ? r.body.slice(0, f.preview) : r.body, body_truncated: cut, summary };
    }) };
  }

  /** One event with every delivery and every attempt; null when it is not this account's. */
  async event(accountId: string, id: string): Promise<EventDetail | null> {
    await this.caughtUp.wait();
    const e = await this.store.events.one(accountId, id);
    if (!e) return null;
    const { provider, ...rest } = e;
    return { ...rest, summary: describeEvent(provider, e.body), deliveries: await this.store.deliveryList.ofEvent(id) };
  }

  /** One delivery with its attempts and its event's id and name; null when it is not this account's. */
  async delivery(accountId: string, id: string): Promise<(EventDetail['deliveries'][number] & { event_id: string; event: string }) | null> {
    const eventId = await this.store.deliveryList.eventOf(accountId, id);
    const e = eventId ? await this.event(accountId, eventId) : null;
    const d = e?.deliveries.find((x) => x.id === id);
    return e && d ? { ...d, event_id: e.id, event: e.event } : null;
  }

  async deliveries(accountId: string, f: { status?: ApiDeliveryStatus; hookId?: string; limit: number; before?: string }): Promise<DeliveryRow[]> {
    await this.caughtUp.wait();
    return this.store.deliveryList.list(accountId, f);
  }

  /** Demo activity (a company's, one of its people's, or the account's), newest first by when it happened; null when `before` names none of it. */
  async activity(accountId: string, f: { domain?: string; person?: string; sinceMs?: number; untilMs?: number; limit: number; before?: string }): Promise<ActivityEvent[] | null> {
    await this.caughtUp.wait();
    return this.store.activity.read(accountId, f);
  }

  /** The account's companies by their last live session, newest first; null when `before` names none of them. */
  async companies(accountId: string, f: { sinceMs?: number; untilMs?: number; limit: number; before?: string }): Promise<Array<{ domain: string; last_at: string }> | null> {
    await this.caughtUp.wait();
    return this.store.activity.companies(accountId, f);
  }

  /** Whether the store answers. */
  ping(): Promise<void> {
    return this.store.ping();
  }

  /** Why the store cannot take writes now (it answers reads); null when it can. */
  cannotWrite(): Promise<string | null> {
    return this.store.cannotWrite();
  }

  /** Pending deliveries and the age of the oldest, across accounts (metrics). */
  pendingStats(): Promise<{ pending: number; oldestAgeSeconds: number }> {
    return this.store.deliveryList.pendingStats();
  }
}
