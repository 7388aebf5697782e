/**
 * The operator API (bearer auth, scoped to the key's account): subscriptions and their health,
 * the event log, an event's deliveries and attempts, manual and bulk retry, replay, rotation
 * and disabling. The console and `demohooks-relay` use the same queries (relay/operator.ts).
 */
import type http from 'node:http';
import { DEMO_ACTIVITY, PROVIDER_KEYS, PROVIDERS, type ProviderKey } from '../../lib/providers/index.js';
import type { Logger } from '../log.js';
import { isDeliveryStatus, isProvider, UnknownCursor, type Operator } from '../operator.js';
import { DELIVERY_STATUSES, type Account, type Store } from '../store.js';
import { HttpError, readJson, segment, send } from './util.js';

export interface OperatorContext {
  store: Store;
  operator: Operator;
  log: Logger;
  inboundUrls(tokens: Record<string, string>): Record<string, string>;
  /** New work is due: look now. */
  kick(): void;
  /** Drop whatever this process remembers of an account's inbound URLs. */
  forgetAccount(accountId: string): void;
}

/** `{provider}.{event}` for an event this relay knows, or `{provider}.*`; null otherwise. */
export function parseEventName(event: unknown): { provider: ProviderKey; name: string } | null {
  if (typeof event !== 'string') return null;
  const [prov, ...rest] = event.split('.');
  const name = rest.join('.');
  if (!isProvider(prov) || !(name === '*' || PROVIDERS[prov].events.some((e) => e.event === name))) return null;
  return { provider: prov, name };
}

/** Whether a relay event name can be subscribed to and listed: a vendor event, a vendor's `*`, or demo.activity. */
export const isRelayEvent = (event: unknown): boolean => event === DEMO_ACTIVITY || parseEventName(event) !== null;

export const unknownEvent = (event: unknown) =>
  new HttpError(400, `unknown event ${JSON.stringify(event ?? null)}: use {provider}.{event} for a documented event, {provider}.*, or demo.activity`);

const limitOf = (url: URL, dflt: number, max: number): number => {
  const raw = url.searchParams.get('limit');
  const n = raw === null ? dflt : Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new HttpError(400, `limit must be an integer from 1 to ${max}`);
  return n;
};

const timeOf = (raw: unknown, name: string): number => {
  const ms = typeof raw === 'string' && /^\d{4}-\d\d-\d\d/.test(raw) ? Date.parse(raw) : NaN;
  if (!Number.isFinite(ms)) throw new HttpError(400, `${name} must be an ISO 8601 time, e.g. 2026-11-24T09:00:00Z`);
  return ms;
};

const optional = (url: URL, key: string): string | undefined => {
  const v = url.searchParams.get(key);
  return v === null || v === '' ? undefined : v;
};

/** Handles the operator routes; false when the path is not one of them. */
export async function operatorRoutes(ctx: OperatorContext, req: http.IncomingMessage, res: http.ServerResponse, url: URL, account: Account): Promise<boolean> {
  const p = url.pathname;
  const m = req.method;
  const { operator, store, log } = ctx;
  const cursor = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      if (err instanceof UnknownCursor) throw new HttpError(400, err.message);
      throw err;
    }
  };

  if (m === 'GET' && p === '/v1/hooks') {
    send(res, 200, await operator.hooks(account.id));
    return true;
  }

  if (m === 'GET' && p === '/v1/activity') {
    const domain = (url.searchParams.get('domain') ?? '').trim().toLowerCase();
    if (!/^[a-z0-9.-]{1,253}$/.test(domain) || !domain.includes('.')) throw new HttpError(400, 'domain must be a company domain, e.g. acme.co.uk');
    const since = optional(url, 'since');
    const until = optional(url, 'until');
    send(
      res,
      200,
      await store.activity(account.id, domain, {
        sinceMs: since === undefined ? undefined : timeOf(since, 'since'),
        untilMs: until === undefined ? undefined : timeOf(until, 'until'),
        limit: limitOf(url, 1000, 1000),
      }),
    );
    return true;
  }

  if (m === 'GET' && p === '/v1/events') {
    const event = optional(url, 'event');
    if (event !== undefined && !isRelayEvent(event)) throw unknownEvent(event);
    const provider = optional(url, 'provider');
    if (provider !== undefined && !isProvider(provider)) throw new HttpError(400, `unknown provider "${provider.slice(0, 40)}": one of ${PROVIDER_KEYS.join(', ')}`);
    const since = optional(url, 'since');
    const until = optional(url, 'until');
    const q = optional(url, 'q');
    if (q !== undefined && q.length > 200) throw new HttpError(400, 'q must be at most 200 characters');
    const rows = await cursor(() =>
      operator.events(account.id, {
        event,
        provider: provider as ProviderKey | undefined,
        sinceMs: since === undefined ? undefined : timeOf(since, 'since'),
        untilMs: until === undefined ? undefined : timeOf(until, 'until'),
        q,
        limit: limitOf(url, 3, 100),
        before: optional(url, 'before'),
      }),
    );
    send(res, 200, rows);
    return true;
  }

  const eventMatch = /^\/v1\/events\/([^/]+)(\/replay)?$/.exec(p);
  if (eventMatch && m === 'GET' && !eventMatch[2]) {
    const detail = await operator.event(account.id, segment(eventMatch[1]));
    if (!detail) throw new HttpError(404, 'no such event');
    send(res, 200, detail);
    return true;
  }
  if (eventMatch && m === 'POST' && eventMatch[2]) {
    const id = segment(eventMatch[1]);
    const n = await store.replay(account.id, id);
    if (n === null) throw new HttpError(404, 'no such event');
    log('info', 'event replayed by operator', { account_id: account.id, event_id: id, deliveries: n });
    ctx.kick();
    send(res, 202, { deliveries: n });
    return true;
  }

  if (m === 'GET' && p === '/v1/deliveries') {
    const status = optional(url, 'status');
    if (status !== undefined && !isDeliveryStatus(status)) throw new HttpError(400, `unknown status "${status.slice(0, 40)}": one of ${DELIVERY_STATUSES.join(', ')}`);
    const rows = await cursor(() =>
      operator.deliveries(account.id, { status: status as never, hookId: optional(url, 'hook_id'), limit: limitOf(url, 50, 100), before: optional(url, 'before') }),
    );
    send(res, 200, rows);
    return true;
  }

  const retryMatch = /^\/v1\/deliveries\/([^/]+)\/retry$/.exec(p);
  if (m === 'POST' && retryMatch) {
    const id = segment(retryMatch[1]);
    const r = await operator.retryDelivery(account.id, id);
    if (!r.ok) throw r.why === 'not_found' ? new HttpError(404, 'no such delivery') : new HttpError(409, r.message);
    log('info', 'delivery retried by operator', { account_id: account.id, delivery_id: id });
    ctx.kick();
    send(res, 202, { id, status: 'pending' });
    return true;
  }

  const bulkMatch = /^\/v1\/hooks\/([^/]+)\/retry-failed$/.exec(p);
  if (m === 'POST' && bulkMatch) {
    const body = await readJson(req);
    const since = timeOf(body.since, 'since');
    const hookId = segment(bulkMatch[1]);
    const n = await operator.retryFailed(account.id, hookId, since);
    if (n === null) throw new HttpError(404, 'no such subscription');
    log('info', 'failed deliveries retried by operator', { account_id: account.id, hook_id: hookId, queued: n });
    ctx.kick();
    send(res, 202, { queued: n });
    return true;
  }

  if (m === 'POST' && p === '/v1/me/rotate-key') {
    const apiKey = await operator.rotateKey(account.id);
    log('warn', 'API key rotated', { account_id: account.id });
    send(res, 200, { api_key: apiKey });
    return true;
  }

  if (m === 'POST' && p === '/v1/me/rotate-inbound') {
    const body = await readJson(req);
    const provider = body.provider;
    if (typeof provider !== 'string' || !isProvider(provider)) throw new HttpError(400, `provider must be one of ${PROVIDER_KEYS.join(', ')}`);
    const hours = body.overlap_hours ?? 24;
    if (typeof hours !== 'number' || !Number.isFinite(hours) || hours < 0 || hours > 720) throw new HttpError(400, 'overlap_hours must be a number of hours from 0 to 720');
    const r = await operator.rotateInbound(account.id, provider, Math.round(hours * 3_600_000));
    ctx.forgetAccount(account.id);
    log('warn', 'inbound URL rotated', { account_id: account.id, provider, old_url_valid_until: r.oldValidUntil });
    send(res, 200, { inbound: ctx.inboundUrls(r.tokens), old_url_valid_until: r.oldValidUntil });
    return true;
  }

  if (m === 'POST' && p === '/v1/me/disable') {
    await operator.disable(account.id);
    ctx.forgetAccount(account.id);
    log('warn', 'account disabled', { account_id: account.id });
    send(res, 204);
    return true;
  }

  return false;
}
