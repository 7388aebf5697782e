/**
 * What every bearer-authenticated route group shares: the per-key rate limit (429 +
 * Retry-After), the account behind the key (401 otherwise), JSON bodies of at most 64 KiB held
 * against the relay-wide body budget, an empty body read as none.
 */
import { createHash } from 'node:crypto';
import type { Account } from '../store/accounts.js';
import type { ApiLimiter, App, HttpDeps } from './deps.js';
import type { ByteBudget } from './limits.js';
import { bearerOf, HttpError } from './util.js';

declare module 'fastify' {
  interface FastifyRequest {
    account: Account;
  }
}

/** Security requirement for the OpenAPI document. */
export const BEARER = [{ bearer: [] }];

export function apiLimiter(app: App, perMinute: number): ApiLimiter | null {
  if (perMinute <= 0) return null;
  return app.createRateLimit({
    max: perMinute,
    timeWindow: 60_000,
    // Per valid key (it runs once the key is known to be one), hashed: the limiter's memory
    // never holds a key.
    keyGenerator: (request) => `key:${createHash('sha256').update(bearerOf(request) ?? '').digest('base64url')}`,
  }) as ApiLimiter;
}

export function bearerApi(app: App, deps: HttpDeps, budget: ByteBudget): void {
  app.decorateRequest('account', null as unknown as Account);
  const limit = deps.apiLimit;
  const failed = deps.failedAuth;
  // The key first: a wrong one counts against the address it came from (429 past the limit,
  // while a valid key from there still works); only a valid key is rate-limited per key, so
  // keys that do not exist never enter, or flush, the per-key limiter's memory.
  app.addHook('onRequest', async (request, reply) => {
    const key = bearerOf(request);
    const account = key ? await deps.services.accounts.byApiKey(key) : null;
    if (!account) {
      const wait = key && failed ? failed.fail(request.ip) : 0;
      if (wait > 0) {
        reply.header('Retry-After', String(wait));
        throw new HttpError(429, `too many requests with unknown API keys from this address (RELAY_AUTH_FAILURES_PER_MINUTE); retry in ${wait} s with a valid key`, wait);
      }
      throw new HttpError(401, key ? 'unknown API key' : 'missing Authorization: Bearer <api_key>');
    }
    request.account = account;
    if (!limit) return;
    const r = await limit(request);
    if (r.isAllowed || !r.isExceeded) return;
    reply.header('Retry-After', String(r.ttlInSeconds));
    throw new HttpError(429, `rate limit exceeded: at most ${r.max} requests a minute per API key (RELAY_API_RATE_PER_MINUTE); retry in ${r.ttlInSeconds} s`, r.ttlInSeconds);
  });
  app.addHook('preParsing', budget.hook());
  // A JSON body; an empty one is no body (the routes' schemas say what a missing one means).
  app.removeAllContentTypeParsers();
  const parse = (_request: unknown, body: string | Buffer, done: (err: Error | null, body?: unknown) => void) => {
    const text = body.toString();
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new HttpError(400, 'body is not valid JSON'), undefined);
    }
  };
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parse);
  app.addContentTypeParser(/^application\/[a-z0-9.+-]+\+json$/, { parseAs: 'string' }, parse);
}
