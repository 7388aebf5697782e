import type { Bundle, HttpResponse, ZObject } from 'zapier-platform-core';

/** The relay's base URL from the connection, or a clear error saying what to fill in. */
export function relayBase(z: ZObject, bundle: Bundle): string {
  const raw = (bundle.authData.relay_url ?? '').trim();
  if (!raw) {
    throw new z.errors.Error(
      'This connection has no Relay URL. Instant triggers need the demohooks relay: reconnect and fill in "Relay URL" ' +
        'and "Relay API Key" (printed by `demohooks-relay account create`). The "Verify and Flatten Webhook" action works without a relay.',
      'relay_url_missing',
      400,
    );
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new z.errors.Error(
      `The Relay URL "${raw.slice(0, 200)}" is not a URL. Use the relay's public base address, e.g. https://relay.example.com.`,
      'relay_url_invalid',
      400,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new z.errors.Error(`The Relay URL must start with https:// (got ${url.protocol}).`, 'relay_url_invalid', 400);
  }
  return raw.replace(/\/+$/, '');
}

/** One request to the relay API, with the statuses turned into errors a Zap user can act on. */
export async function relayRequest<T>(
  z: ZObject,
  bundle: Bundle,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  options: { body?: unknown; params?: Record<string, string>; allow404?: boolean } = {},
): Promise<{ status: number; data: T }> {
  const base = relayBase(z, bundle);
  const response: HttpResponse = await z.request({
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
  });
  const status = response.status;
  if (status === 401 || status === 403) {
    throw new z.errors.ExpiredAuthError(
      `The relay at ${base} refused the API key (HTTP ${status}). Reconnect with the key printed by \`demohooks-relay account create\`.`,
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
    throw new z.errors.Error(
      `The relay answered ${method} ${path.split('?')[0]} with HTTP ${status}${detail}.`,
      `relay_http_${status}`,
      status,
    );
  }
  let data: T;
  try {
    data = (response.content ? JSON.parse(response.content) : null) as T;
  } catch {
    throw new z.errors.Error(
      `The relay at ${base} answered ${method} ${path.split('?')[0]} with something that is not JSON. Is the Relay URL the demohooks relay?`,
      'relay_bad_response',
      502,
    );
  }
  return { status, data };
}
