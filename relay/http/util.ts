import { Refused } from '../domain/errors.js';

/** The relay's HTTP errors: a status and one sentence that says what was wrong and what to do. */
export { Refused as HttpError };

/** `application/json` or any `application/…+json`, parameters ignored. */
export const isJsonType = (ct: string | undefined) => {
  const type = (ct ?? '').split(';')[0].trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
};

/** The 415 for a body that is not JSON, naming the type that came. */
export const notJson = (contentType: string | undefined) => new Refused(415, `Content-Type must be application/json (got ${JSON.stringify(contentType ?? null)})`);

/**
 * A URL with its capability tokens taken out, for logs: everything after an `inbound` segment
 * (whatever the spelling: `/v1/./inbound/…`, `%69nbound`, `//inbound`) and the query string.
 */
export function safeUrlForLog(raw: string): string {
  const path = raw.split('?')[0];
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // a malformed escape: judge the raw text
  }
  const i = decoded.toLowerCase().indexOf('inbound');
  if (i >= 0) return `${decoded.slice(0, i)}inbound/[redacted]`;
  return decoded.length > 200 ? `${decoded.slice(0, 200)}…` : decoded;
}

/**
 * The `Link` header value for the next page of a list: the request's own path and query with
 * `before` set to the last row's id (RFC 8288), relative to the relay's origin.
 */
export function nextLink(requestUrl: string, lastId: string): string {
  const u = new URL(requestUrl, 'http://relay.invalid');
  u.searchParams.set('before', lastId);
  return `<${u.pathname}${u.search}>; rel="next"`;
}

/** The bearer key of a request, for authentication and rate limits (hashed there; never logged). */
export const bearerOf = (request: { headers: { authorization?: string } }): string | null => /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? null;
