import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isProviderKey, PROVIDER_KEYS, PROVIDERS, relayEventName, type ProviderKey } from '../lib/providers/index.js';
import { findHeader } from '../lib/signature.js';
import { publicBase, type RelayConfig } from './config.js';
import { openDb } from './db.js';
import { Deliverer } from './deliver.js';
import type { Logger } from './log.js';
import { serveConsole } from './http/console.js';
import { isRelayEvent, operatorRoutes, unknownEvent, type OperatorContext } from './http/operator.js';
import { HttpError, isJsonType, readBody, readJson, segment, send } from './http/util.js';
import { createMetrics } from './metrics.js';
import { Operator } from './operator.js';
import { companyOfEmail } from '../lib/company.js';
import { normEmail } from '../lib/record.js';
import { MAX_IDENTITY_CHARS, Store, type Account, type InboundItem, type IngestResult } from './store.js';
import { GroupCommit } from './group-commit.js';
import { resolveTarget } from './targets.js';

type Stored = IngestResult;

/** Whether the request carries `Authorization: Bearer <expected>`, compared in constant time. */
function bearerIs(req: http.IncomingMessage, expected: string): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return false;
  const a = createHash('sha256').update(m[1]).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export const inboundUrlsFor = (base: string, tokens: Record<string, string>): Record<string, string> =>
  Object.fromEntries(PROVIDER_KEYS.map((p) => [p, `${base}/v1/inbound/${p}/${tokens[p]}`]));

export interface Relay {
  url: string;
  /** The base of the inbound URLs this relay hands out. */
  publicUrl: string;
  store: Store;
  deliverer: Deliverer;
  server: http.Server;
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
  // Inbound events that arrive together are stored in one transaction (group commit), so each
  // ack is durable without one disk sync per request.
  const batcher = new GroupCommit<InboundItem, Stored>((items) => store.ingest(items), 500, () => deliverer.kick());

  const authenticate = async (req: http.IncomingMessage): Promise<Account> => {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const account = m ? await store.accountByApiKey(m[1]) : null;
    if (!account) throw new HttpError(401, m ? 'unknown API key' : 'missing Authorization: Bearer <api_key>');
    return account;
  };

  let base = publicBase(cfg);
  const inboundUrls = (tokens: Record<string, string>) => inboundUrlsFor(base, tokens);

  // Remember which account each inbound token belongs to, so an inbound request costs no
  // store round trip before it joins a group commit. Unknown tokens are not remembered
  // (nothing for a scanner to fill the cache with); a token whose account is gone is evicted
  // when storing its event fails.
  const tokenCache = new Map<string, Account>();
  const accountForToken = async (provider: string, token: string): Promise<Account | null> => {
    const key = `${provider}/${token}`;
    const hit = tokenCache.get(key);
    if (hit) return hit;
    const account = await store.accountByToken(provider, token);
    if (account) {
      if (tokenCache.size >= 10_000) tokenCache.clear();
      tokenCache.set(key, account);
    }
    return account;
  };

  const operatorContext: OperatorContext = {
    store,
    operator,
    log,
    inboundUrls: (tokens) => inboundUrls(tokens),
    kick: () => deliverer.kick(),
    forgetAccount: (accountId) => {
      for (const [k, a] of tokenCache) if (a.id === accountId) tokenCache.delete(k);
    },
  };

  /** Counts each inbound post by provider and outcome for /metrics. */
  async function countedInbound(req: http.IncomingMessage, res: http.ServerResponse, provider: string, token: string): Promise<void> {
    try {
      const duplicate = await inbound(req, res, provider, token);
      metrics.countInbound(provider, duplicate ? 'duplicate' : 'stored');
    } catch (err) {
      metrics.countInbound(provider, `refused_${err instanceof HttpError ? err.status : 503}`);
      throw err;
    }
  }

  async function inbound(req: http.IncomingMessage, res: http.ServerResponse, provider: string, token: string): Promise<boolean> {
    const account = isProviderKey(provider) ? await accountForToken(provider, token) : null;
    if (!account || !isProviderKey(provider)) {
      req.resume();
      throw new HttpError(404, 'unknown inbound URL');
    }
    if (!isJsonType(req.headers['content-type'])) {
      req.resume();
      throw new HttpError(415, `Content-Type must be application/json (got ${JSON.stringify(req.headers['content-type'] ?? null)})`);
    }
    const raw = await readBody(req, cfg.maxBodyBytes);
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
    const ev = (payload as Record<string, unknown>).event;
    if (typeof ev !== 'string' || ev.trim() === '' || ev.length > 200) throw new HttpError(400, 'body has no "event" string naming its type');
    const spec = PROVIDERS[provider as ProviderKey];
    const signature = findHeader(req.headers as Record<string, string>, spec.scheme.header);
    const identity = spec.identity(payload as Record<string, unknown>) ?? `${provider}:body:${createHash('sha256').update(raw).digest('hex').slice(0, 40)}`;
    if (identity.length > MAX_IDENTITY_CHARS) {
      throw new HttpError(400, `the event's identifying fields are ${identity.length} characters long; at most ${MAX_IDENTITY_CHARS} are accepted`);
    }
    // Demo activity of a company (not free-mail, not disposable) is indexed for the signals.
    let activity: InboundItem['activity'];
    if (spec.demoActivity?.events.includes(ev)) {
      const email = normEmail(spec.demoActivity.email(payload as Record<string, unknown>));
      const domain = companyOfEmail(email);
      if (email && domain) activity = { domain, email, isTest: spec.isTest(payload as Record<string, unknown>) };
    }
    let stored: Stored;
    try {
      stored = await batcher.add({
        activity,
        accountId: account.id,
        provider,
        event: relayEventName(provider, ev),
        identity,
        headers: signature !== undefined ? { [spec.scheme.header]: signature } : {},
        body: text,
        token,
      });
    } catch (err) {
      // Stored alone and still refused: an account deleted while its token was remembered is
      // an unknown URL (404, and forgotten); anything else is the store's fault (503, retry).
      if (!(await store.accountByToken(provider, token).catch(() => account))) {
        tokenCache.delete(`${provider}/${token}`);
        throw new HttpError(404, 'unknown inbound URL');
      }
      throw err;
    }
    if (stored.gone) {
      // Disabled, deleted, or a rotated URL past its overlap, whatever this process remembered.
      tokenCache.delete(`${provider}/${token}`);
      throw new HttpError(404, 'unknown inbound URL');
    }
    log('info', 'inbound event stored', { account_id: account.id, provider, event: ev, event_id: stored.id, duplicate: stored.duplicate, bytes: raw.length });
    send(res, 200, { id: stored.id, duplicate: stored.duplicate });
    return stored.duplicate;
  }

  async function api(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const p = url.pathname;
    if (req.method === 'GET' && p === '/healthz') {
      try {
        await store.ping();
        send(res, 200, { ok: true });
      } catch {
        send(res, 503, { ok: false, error: 'store unavailable' });
      }
      return;
    }
    const inboundMatch = /^\/v1\/inbound\/([^/]+)\/([^/]+)$/.exec(p);
    if (inboundMatch) {
      if (req.method !== 'POST') throw new HttpError(405, 'use POST');
      await countedInbound(req, res, segment(inboundMatch[1]), segment(inboundMatch[2]));
      return;
    }
    if (p.startsWith('/v1/inbound/') || p === '/v1/inbound') {
      req.resume();
      throw new HttpError(404, 'unknown inbound URL');
    }
    if (req.method === 'GET' && p === '/metrics') {
      if (cfg.metricsToken && !bearerIs(req, cfg.metricsToken)) throw new HttpError(401, 'metrics need Authorization: Bearer <RELAY_METRICS_TOKEN>');
      const text = await metrics.registry.metrics();
      res.writeHead(200, { 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-store' }).end(text);
      return;
    }
    if (req.method === 'GET' && serveConsole(p, res)) return;
    if (!p.startsWith('/v1/')) throw new HttpError(404, 'not found');
    const account = await authenticate(req);
    if (req.method === 'GET' && p === '/v1/me') {
      send(res, 200, { account_id: account.id, name: account.name, inbound: inboundUrls(await store.inboundTokens(account.id)) });
      return;
    }
    if (req.method === 'POST' && p === '/v1/hooks') {
      const body = await readJson(req);
      const event = body.event;
      if (typeof event !== 'string' || !isRelayEvent(event)) throw unknownEvent(event);
      const target = await resolveTarget(body.target_url, cfg);
      if (!target.ok) throw new HttpError(target.status, target.error);
      const hook = await store.createHook(account.id, event, target.url.toString());
      log('info', 'subscription created', { account_id: account.id, hook_id: hook.id, event, target_host: target.url.host });
      send(res, 201, hook);
      return;
    }
    const hookMatch = /^\/v1\/hooks\/([^/]+)$/.exec(p);
    if (req.method === 'DELETE' && hookMatch) {
      const ok = await store.deleteHook(account.id, segment(hookMatch[1]));
      if (!ok) throw new HttpError(404, 'no such subscription');
      log('info', 'subscription deleted', { account_id: account.id, hook_id: hookMatch[1] });
      send(res, 204);
      return;
    }
    if (await operatorRoutes(operatorContext, req, res, url, account)) return;
    throw new HttpError(404, 'not found');
  }

  const inflight = new Set<Promise<void>>();
  const server = http.createServer((req, res) => {
    const started = Date.now();
    const work = (async () => {
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://relay');
        await api(req, res, url);
      } catch (err) {
        if (err instanceof HttpError) {
          send(res, err.status, { error: err.message });
        } else {
          log('error', 'request failed', { method: req.method, error: (err as Error).message });
          send(res, 503, { error: 'temporarily unavailable; retry' });
        }
      } finally {
        // Inbound paths carry the capability token: log the route, never the path.
        const route = (req.url ?? '').startsWith('/v1/inbound/') ? '/v1/inbound/{provider}/{token}' : (req.url ?? '').split('?')[0];
        log('debug', 'request', { method: req.method, route, status: res.statusCode, ms: Date.now() - started });
      }
    })();
    inflight.add(work);
    void work.finally(() => inflight.delete(work));
  });
  server.keepAliveTimeout = 5000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  base = publicBase(cfg, url);
  if (options.deliver !== false) deliverer.start();

  const retention = cfg.retentionDays > 0 ? setInterval(() => void purge(), 60 * 60 * 1000) : null;
  retention?.unref();
  async function purge() {
    try {
      const n = await store.purge(Date.now() - cfg.retentionDays * 86_400_000);
      if (n > 0) log('info', 'retention purge', { events_deleted: n, retention_days: cfg.retentionDays });
    } catch (err) {
      log('error', 'retention purge failed', { error: (err as Error).message });
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
    server,
    close() {
      closing ??= (async () => {
        if (retention) clearInterval(retention);
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await Promise.allSettled([...inflight]);
        await deliverer.stop();
        await store.close();
        log('info', 'relay stopped', {});
      })();
      return closing;
    },
  };
}
