/**
 * What happens to an inbound request, in order: the URL's token is checked (404, connection
 * closed, nothing read), the content type (415), the per-URL rate (429), the body bytes are
 * held against the relay-wide budget (503) and read raw up to 1 MiB (413, connection closed);
 * then the exact bytes are checked as UTF-8 JSON naming its event, and stored durably with the
 * others arriving together (group commit) before the `200 {id, duplicate}`.
 */
import { createHash } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { eventFieldOf, isProviderKey, PROVIDERS, relayEventName, type ProviderKey } from '../../lib/providers/index.js';
import { findHeader, schemeHeaders } from '../../lib/signature.js';
import type { GroupCommit } from '../group-commit.js';
import { activityOfPayload, MAX_IDENTITY_CHARS, type Account, type InboundItem, type IngestResult, type Store } from '../store.js';
import type { App, HttpDeps } from './app.js';
import type { ByteBudget } from './limits.js';
import { errors } from './schemas.js';
import { HttpError, isJsonType, notJson } from './util.js';

export interface InboundDeps {
  batcher: GroupCommit<InboundItem, IngestResult>;
  tokens: InboundTokens;
}

/**
 * Which account each inbound token belongs to, remembered so an inbound request costs no store
 * round trip before it joins a group commit. Unknown tokens are not remembered (nothing for a
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
    const account = await this.store.accountByToken(provider, token);
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

const CONTROL = /[\u0000-\u001f\u007f]/;

declare module 'fastify' {
  interface FastifyRequest {
    inboundAccount?: Account;
    inboundDuplicate?: boolean;
  }
}

const Params = z.object({ provider: z.string(), token: z.string() });
const Stored = z.object({ id: z.string().describe('the stored event id'), duplicate: z.boolean().describe('true for a vendor retry of an event already stored: acked, not delivered again') });

export const inboundPlugin: FastifyPluginAsync<{ deps: HttpDeps; budget: ByteBudget }> = async (fastify, { deps, budget }) => {
  const app = fastify as unknown as App;
  const { store, metrics, log, tokens, batcher } = deps;
  const maxBody = deps.cfg.maxBodyBytes;
  const unknownUrl = () => new HttpError(404, 'unknown inbound URL');

  // The exact bytes, whatever JSON type the vendor names (the type was checked in onRequest).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBody }, (_request, body, done) => done(null, body));

  app.post(
    '/v1/inbound/:provider/:token',
    {
      bodyLimit: maxBody,
      schema: {
        summary: 'Receive a vendor webhook',
        description: 'The URL to paste into the vendor. Stores the exact bytes and signature header durably, then acks. No bearer auth: the token in the URL is the credential.',
        tags: ['inbound'],
        params: Params,
        body: z.any().describe('the vendor event, JSON, at most 1 MiB; stored byte for byte'),
        response: { 200: Stored, ...errors(400, 404, 413, 415, 429, 503) },
      },
      config: {
        rateLimit:
          deps.cfg.inboundRatePerMinute > 0
            ? { max: deps.cfg.inboundRatePerMinute, timeWindow: 60_000, keyGenerator: (r: { params: unknown }) => `in:${(r.params as { token?: string }).token ?? ''}` }
            : false,
      },
      onRequest: async (request) => {
        const { provider, token } = request.params as { provider: string; token: string };
        const account = await tokens.account(provider, token);
        if (!account) {
          request.closeConnection = true;
          throw unknownUrl();
        }
        if (!isJsonType(request.headers['content-type'])) {
          request.closeConnection = true;
          throw notJson(request.headers['content-type']);
        }
        request.inboundAccount = account;
      },
      preParsing: budget.hook(),
      onResponse: async (request, reply) => {
        const outcome = reply.statusCode === 200 ? (request.inboundDuplicate ? 'duplicate' : 'stored') : `refused_${reply.statusCode}`;
        metrics.countInbound((request.params as { provider: string }).provider, outcome);
      },
    },
    async (request, reply) => {
      const provider = request.params.provider as ProviderKey;
      const token = request.params.token;
      const account = request.inboundAccount!;
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const item = parseInbound(provider, raw, request.headers as Record<string, string>);
      let stored: IngestResult;
      try {
        stored = await batcher.add({ ...item, accountId: account.id, token });
      } catch (err) {
        // Stored alone and still refused: an account deleted while its token was remembered is
        // an unknown URL (404, and forgotten); anything else is the store's fault (503, retry).
        if (!(await store.accountByToken(provider, token).catch(() => account))) {
          tokens.forget(provider, token);
          throw unknownUrl();
        }
        throw err;
      }
      if (stored.gone) {
        // Disabled, deleted, or a rotated URL past its overlap, whatever this process remembered.
        tokens.forget(provider, token);
        throw unknownUrl();
      }
      request.inboundDuplicate = stored.duplicate;
      // Debug, not info: one line per event cost about 7 µs of the ack's ~100 µs (the profile in
      // the README); the event log (GET /v1/events) and the inbound counters hold the same.
      log('debug', 'inbound event stored', { account_id: account.id, provider, event: item.event, event_id: stored.id, duplicate: stored.duplicate, bytes: raw.length });
      // The answer the schema above declares, written directly: the hottest route skips the
      // schema's serializer (the id is the relay's own, [A-Za-z0-9_-] only).
      return reply.type("application/json").send(`{"id":${JSON.stringify(stored.id)},"duplicate":${stored.duplicate}}` as never); // a string is sent as is
    },
  );

  // Vendors POST; anything else at an inbound URL is told so (and given nothing to read).
  app.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE'],
    url: '/v1/inbound/:provider/:token',
    schema: { hide: true },
    handler: async (request) => {
      request.closeConnection = true;
      throw new HttpError(405, 'use POST');
    },
  });
};

/** The exact bytes as an event to store: valid UTF-8 JSON, an object naming its event, an identity of bounded length, and its demo activity. */
function parseInbound(provider: ProviderKey, raw: Buffer, headers: Record<string, string>): Omit<InboundItem, 'accountId' | 'token'> {
  let text: string;
  try {
    // ignoreBOM keeps a byte-order mark in the text: the stored body must be the exact bytes
    // received, or the vendor's signature would no longer match when it is forwarded.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw);
  } catch {
    throw new HttpError(400, 'body is not valid UTF-8');
  }
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `body is not valid JSON: ${(err as Error).message.slice(0, 100)}`);
  }
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) throw new HttpError(400, 'body must be a JSON object');
  const body = payload as Record<string, unknown>;
  const spec = PROVIDERS[provider];
  const field = eventFieldOf(spec);
  const ev = body[field];
  if (typeof ev !== 'string' || ev.trim() === '' || ev.length > 200) throw new HttpError(400, `body has no "${field}" string naming its type`);
  // No vendor names an event with control characters; a NUL could not even be stored in PostgreSQL.
  if (CONTROL.test(ev)) throw new HttpError(400, `body's "${field}" contains control characters; it must name the event type as plain text`);
  // A NUL inside an identifying field (JSON's \\u0000) is kept as U+FFFD: the same identity,
  // so the same de-duplication, on a store that can hold a NUL and on one that cannot.
  const identity = (spec.identity(body) ?? `${provider}:body:${createHash('sha256').update(raw).digest('hex').slice(0, 40)}`).replace(/\0/g, '\uFFFD');
  if (identity.length > MAX_IDENTITY_CHARS) {
    throw new HttpError(400, `the event's identifying fields are ${identity.length} characters long; at most ${MAX_IDENTITY_CHARS} are accepted`);
  }
  // Demo activity of a company (not free-mail, not disposable, not the vendor's own people) is
  // indexed for the signals: company, person, demo and when the viewing happened.
  return {
    activity: activityOfPayload(provider, ev, body),
    provider,
    event: relayEventName(provider, ev),
    identity,
    // The headers the vendor's scheme signs with (the signature; Standard Webhooks' id and timestamp too), under their names.
    headers: Object.fromEntries(schemeHeaders(spec.scheme).flatMap((h) => {
      const v = findHeader(headers, h);
      return v !== undefined ? [[h, v]] : [];
    })),
    body: text,
  };
}
