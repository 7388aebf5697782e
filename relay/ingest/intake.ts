/**
 * Intake, the first stage of an inbound event: the token names an account (remembered, so an
 * inbound request costs no store round trip before it joins a group commit); the exact bytes
 * are checked as UTF-8 JSON naming its event, with an identity of bounded length and its demo
 * activity; then stored durably with the others arriving together (group commit) before the
 * ack. What follows from it (the activity index, the fan-out) is the deriver's.
 */
import { createHash } from 'node:crypto';
import type { Span } from '@opentelemetry/api';
import { eventFieldOf, isProviderKey, PROVIDERS, relayEventName, type ProviderKey } from '../../lib/providers/index.js';
import { findHeader, schemeHeaders } from '../../lib/signature.js';
import { activityOfPayload } from '../domain/activity.js';
import { Refused } from '../domain/errors.js';
import { MAX_IDENTITY_CHARS } from '../domain/identity.js';
import type { AcksFirst } from '../loops/acks-first.js';
import { GroupCommit } from '../loops/group-commit.js';
import type { Account } from '../store/accounts.js';
import type { InboundItem, IngestResult } from '../store/events.js';
import type { Store } from '../store/index.js';
import { ATTR, type Tracing, traceparentOf } from '../tracing.js';
import type { Handoff } from './handoff.js';

const CONTROL = /[\u0000-\u001f\u007f]/;
// One decoder for every body (a decode without `stream` starts afresh). ignoreBOM keeps a
// byte-order mark in the text: the stored body must be the exact bytes received, or the
// vendor's signature would no longer match when it is forwarded.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const unknownUrl = () => new Refused(404, 'unknown inbound URL');

/**
 * Which account each inbound token belongs to. Unknown tokens are not remembered (nothing for a
 * scanner to fill the cache with); a token whose account is gone is forgotten when storing its
 * event says so.
 */
export class InboundTokens {
  private readonly cache = new Map<string, Account>();

  constructor(private readonly store: Store) {}

  async account(provider: string, token: string): Promise<Account | null> {
    if (!isProviderKey(provider) || token.length > 200 || token.includes('\0')) return null;
    const key = `${provider}/${token}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const account = await this.store.tokens.account(provider, token);
    if (account) {
      if (this.cache.size >= 10_000) this.cache.clear();
      this.cache.set(key, account);
    }
    return account;
  }

  forget(provider: string, token: string): void {
    this.cache.delete(`${provider}/${token}`);
  }

  forgetAccount(accountId: string): void {
    for (const [k, a] of this.cache) if (a.id === accountId) this.cache.delete(k);
  }
}

export class Intake {
  readonly tokens: InboundTokens;
  private readonly batcher: GroupCommit<InboundItem, IngestResult>;

  constructor(
    private readonly store: Store,
    handoff: Handoff,
    /** A batch was stored: the deriver looks now. */
    afterBatch: () => void,
    private readonly tracing: Tracing | null = null,
    /** Told while an inbound event waits for its commit, so the work behind the ack can wait for a pause. */
    private readonly acks: AcksFirst | null = null,
  ) {
    this.tokens = new InboundTokens(store);
    // Inbound events that arrive together are stored in one transaction (group commit), so each
    // ack is durable without one disk sync per request.
    this.batcher = new GroupCommit<InboundItem, IngestResult>(
      async (items) => {
        const stored = await store.events.ingest(items);
        stored.forEach((r, i) => {
          if (!r.duplicate && !r.gone) handoff.remember(r.id, items[i].activity);
        });
        return stored;
      },
      500,
      afterBatch,
    );
  }

  /**
   * Stores one inbound event (the ack may follow once this resolves): refused with 400 when the
   * bytes are not an event, 404 when its URL no longer names an enabled account. `span`, the
   * request's (tracing on): the event is stored with its context, and the commit is its child.
   */
  async receive(account: Account, provider: ProviderKey, token: string, raw: Buffer, headers: Record<string, string>, span?: Span): Promise<{ stored: IngestResult; event: string }> {
    const item = parseInbound(provider, raw, headers);
    span?.setAttributes({ [ATTR.account]: account.id, [ATTR.eventName]: item.event });
    this.acks?.enter();
    let stored: IngestResult;
    try {
      stored = span && this.tracing ? await this.traced(span, { ...item, accountId: account.id, token, trace: traceparentOf(span) }) : await this.store1({ ...item, accountId: account.id, token });
    } finally {
      this.acks?.leave();
    }
    span?.setAttribute(ATTR.event, stored.id);
    if (stored.duplicate) span?.setAttribute(ATTR.duplicate, true);
    return { stored, event: item.event };
  }

  /**
   * The commit the ack waits for, on the request's span (`demohooks.commit.ms`): a span or a
   * span event of its own per event would cost more than the budget tracing has (the profile
   * in docs/benchmarks.md).
   */
  private async traced(parent: Span, item: InboundItem & { token: string }): Promise<IngestResult> {
    const started = performance.now();
    try {
      return await this.store1(item);
    } finally {
      parent.setAttribute(ATTR.commitMs, Math.round((performance.now() - started) * 100) / 100);
    }
  }

  /** One event into the next group commit; refused when its URL no longer names an enabled account. */
  private async store1(item: InboundItem & { token: string }): Promise<IngestResult> {
    const { provider, token } = item;
    let stored: IngestResult;
    try {
      stored = await this.batcher.add(item);
    } catch (err) {
      // Stored alone and still refused: an account deleted while its token was remembered is
      // an unknown URL (404, and forgotten); anything else is the store's fault (503, retry).
      // (A look-up that fails is not a "gone": the store's fault, answered 503.)
      if (!(await this.store.tokens.account(provider, token).catch(() => true))) {
        this.tokens.forget(provider, token);
        throw unknownUrl();
      }
      throw err;
    }
    if (stored.gone) {
      // Disabled, deleted, or a rotated URL past its overlap, whatever this process remembered.
      this.tokens.forget(provider, token);
      throw unknownUrl();
    }
    return stored;
  }
}

/** The exact bytes as an event to store: valid UTF-8 JSON, an object naming its event, an identity of bounded length, and its demo activity. */
export function parseInbound(provider: ProviderKey, raw: Buffer, headers: Record<string, string>): Omit<InboundItem, 'accountId' | 'token'> {
  let text: string;
  try {
    text = UTF8.decode(raw);
  } catch {
    throw new Refused(400, 'body is not valid UTF-8');
  }
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch (err) {
    throw new Refused(400, `body is not valid JSON: ${(err as Error).message.slice(0, 100)}`);
  }
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) throw new Refused(400, 'body must be a JSON object');
  const body = payload as Record<string, unknown>;
  const spec = PROVIDERS[provider];
  const field = eventFieldOf(spec);
  const ev = body[field];
  if (typeof ev !== 'string' || ev.trim() === '' || ev.length > 200) throw new Refused(400, `body has no "${field}" string naming its type`);
  // No vendor names an event with control characters; a NUL could not even be stored in PostgreSQL.
  if (CONTROL.test(ev)) throw new Refused(400, `body's "${field}" contains control characters; it must name the event type as plain text`);
  // A NUL inside an identifying field (JSON's \\u0000) is kept as U+FFFD: the same identity,
  // so the same de-duplication, on a store that can hold a NUL and on one that cannot.
  const identity = (spec.identity(body) ?? `${provider}:body:${createHash('sha256').update(raw).digest('hex').slice(0, 40)}`).replace(/\0/g, '\uFFFD');
  if (identity.length > MAX_IDENTITY_CHARS) {
    throw new Refused(400, `the event's identifying fields are ${identity.length} characters long; at most ${MAX_IDENTITY_CHARS} are accepted`);
  }
  // Demo activity of a company (not free-mail, not disposable, not the vendor's own people) is
  // indexed for the signals: company, person, demo and when the viewing happened.
  return {
    activity: activityOfPayload(provider, ev, body),
    provider,
    event: relayEventName(provider, ev),
    identity,
    // The headers the vendor's scheme signs with (the signature; Standard Webhooks' id and timestamp too), under their names.
    headers: Object.fromEntries(
      schemeHeaders(spec.scheme).flatMap((h) => {
        const v = findHeader(headers, h);
        return v !== undefined ? [[h, v]] : [];
      }),
    ),
    body: text,
  };
}
