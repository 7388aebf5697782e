import type { Bundle, HttpResponse, ZObject } from 'zapier-platform-core';
import { orList, PROVIDERS } from './providers/index.js';

/** GET /v1/me */
export interface RelayMe {
  account_id: string | null;
  name: string;
  inbound: Record<string, string>;
}

/** A stored event as GET /v1/events and GET /v1/activity give it: the raw bytes and signature header. */
export interface RelayEvent {
  id: string;
  event: string;
  received_at: string;
  headers: Record<string, string>;
  body: string;
}

/** A stored event as GET /v1/activity gives it: also when the viewing happened. */
export interface RelayActivityEvent extends RelayEvent {
  occurred_at?: string;
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1']);

/** The relay's base URL from the connection, or a clear error saying what to fill in. */
export function relayBase(z: ZObject, bundle: Bundle): string {
  const raw = (bundle.authData.relay_url ?? '').trim();
  if (!raw) {
    throw new z.errors.Error(
      'This connection has no relay, so instant triggers cannot be turned on. Reconnect and fill in "Relay URL" and ' +
        '"Relay API Key" with the values from the team that runs your demohooks relay. ' +
        'The "Verify and Flatten Webhook" action works without a relay.',
      'relay_url_missing',
      400,
    );
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new z.errors.Error(
      `The Relay URL "${raw.slice(0, 200)}" is not a web address. Use the relay's public address, e.g. https://relay.example.com.`,
      'relay_url_invalid',
      400,
    );
  }
  // A vendor's inbound URL pasted as the Relay URL: say what goes where, before sending the key anywhere.
  const inbound = /\/v1\/inbound\//.exec(url.pathname);
  if (inbound) {
    throw new z.errors.Error(
      `The Relay URL is the relay's own address (${url.protocol}//${url.host}${url.pathname.slice(0, inbound.index)}), not an inbound URL: ` +
        `an address with /v1/inbound/… is what you paste into ${orList(Object.values(PROVIDERS).map((p) => p.label))}. Put the relay's address here.`,
      'relay_url_inbound',
      400,
    );
  }
  // Vendor payloads (viewer emails, names) and the API key travel to the relay: https only,
  // except a relay on this very machine for local testing.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOCAL_HOSTS.has(url.hostname))) {
    throw new z.errors.Error(
      `The Relay URL must start with https:// (got ${url.protocol}//${url.host}). Plain http:// is accepted only for localhost and 127.0.0.1, for local testing.`,
      'relay_url_insecure',
      400,
    );
  }
  return raw.replace(/\/+$/, '');
}

/** One request to the relay API, with the statuses turned into errors a Zap user can act on. */
export async function relayRequest<T>(
  z: ZObject,
  bundle: Bundle,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  options: { body?: unknown; params?: Record<string, string>; allow404?: boolean; timeoutMs?: number } = {},
): Promise<{ status: number; data: T }> {
  const base = relayBase(z, bundle);
  let response: HttpResponse;
  try {
    response = await z.request({
      url: `${base}${path}`,
      method,
      params: options.params,
      headers: {
        Authorization: `Bearer ${bundle.authData.api_key ?? ''}`,
        Accept: 'application/json',
        ...(options.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
      skipThrowForStatus: true,
      ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new z.errors.Error(
      `Could not reach the relay at ${base}${code ? ` (${code})` : ''}. Check the Relay URL, and ask the team that runs the relay whether it is up and reachable from the internet.`,
      'relay_unreachable',
      502,
    );
  }
  const status = response.status;
  if (status === 401 || status === 403) {
    throw new z.errors.ExpiredAuthError(
      `The relay at ${base} did not accept the Relay API Key (HTTP ${status}): it is wrong, was replaced, or the account was disabled. ` +
        'Reconnect with the current key from the team that runs your demohooks relay.',
    );
  }
  if (status === 404 && options.allow404) return { status, data: null as T };
  if (status >= 400) {
    let detail = '';
    try {
      const body = JSON.parse(response.content);
      detail = typeof body?.error === 'string' ? `: ${body.error}` : '';
    } catch {
      detail = '';
    }
    // A 404 for the API itself: the address is not the relay's (a path too many, or another server).
    const notRelay =
      status === 404 && path.split('?')[0] === '/v1/me'
        ? ` Is ${base} the relay's address? ${new URL(base).pathname.replace(/\/+$/, '') ? `Without its path that is ${new URL(base).origin}; ` : ''}the team that runs the relay can tell you.`
        : '';
    throw new z.errors.Error(
      `The relay answered ${method} ${path.split('?')[0]} with HTTP ${status}${detail}.${notRelay}`,
      `relay_http_${status}`,
      status,
    );
  }
  let data: T;
  try {
    data = (response.content ? JSON.parse(response.content) : null) as T;
  } catch {
    throw new z.errors.Error(
      `The relay at ${base} answered ${method} ${path.split('?')[0]} with something that is not JSON. Is the Relay URL the address of a demohooks relay?`,
      'relay_bad_response',
      502,
    );
  }
  return { status, data };
}
