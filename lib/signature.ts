import { createHmac, timingSafeEqual } from 'node:crypto';
import { WebhookRefused } from './errors.js';

export interface SignatureScheme {
  /** The header as the provider sends it, e.g. `X-Walnut-Signature`. */
  header: string;
  /** Optional prefix before the hex digest that the provider may add, e.g. `sha256=`. */
  prefix?: string;
  /** Where the user finds the secret, for error messages. */
  secretWhere: string;
}

export type Headers = Record<string, string | string[] | undefined> | undefined | null;

/**
 * Finds a header regardless of case and of the `Http-` prefix Zapier adds to hook
 * headers (`X-Walnut-Signature` arrives in a hook perform as `Http-X-Walnut-Signature`).
 */
export function findHeader(headers: Headers, name: string): string | undefined {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  const wantedHttp = `http-${wanted}`;
  const wantedUnderscore = wantedHttp.replace(/-/g, '_');
  for (const [key, value] of Object.entries(headers)) {
    const k = key.toLowerCase();
    if (k === wanted || k === wantedHttp || k === wantedUnderscore) {
      const v = Array.isArray(value) ? value[0] : value;
      if (typeof v === 'string') return v;
    }
  }
  return undefined;
}

/**
 * How Zapier names a request header when it hands a hook's request to `perform`:
 * `X-Walnut-Signature` (or `x-walnut-signature`) becomes `Http-X-Walnut-Signature`. The
 * inverse of what findHeader tolerates; used wherever a request is replayed as Zapier would.
 */
export const zapierHookHeaderName = (name: string): string =>
  `Http-${name
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase())
    .join('-')}`;

/** A whole header set as Zapier hands it to a hook perform (multi-valued headers joined). */
export const asZapierHookHeaders = (headers: Record<string, string | string[] | undefined>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(headers).map(([k, v]) => [zapierHookHeaderName(k), Array.isArray(v) ? v.join(', ') : (v ?? '')]),
  );

const HEX_SHA256 = /^[0-9a-f]{64}$/i;

export interface VerifyInput {
  providerLabel: string;
  scheme: SignatureScheme;
  rawBody: string;
  /** The header value, or undefined when the request had none. */
  signature: string | undefined;
  /** Current and previous secrets; empty or missing entries are ignored. */
  secrets: Array<string | undefined | null>;
}

/**
 * Verifies a hex HMAC-SHA256 signature of the raw body against every configured secret
 * (current first, then the previous one for rotation), in constant time.
 *
 * Returns `true` when a secret matched, `false` when no secret is configured (the
 * delivery is accepted unverified, as the contract says), and throws a `WebhookRefused`
 * of kind `signature` when a secret is configured and the signature is missing or wrong.
 */
export function verifySignature(input: VerifyInput): boolean {
  const { providerLabel, scheme, rawBody } = input;
  const secrets = input.secrets.filter((s): s is string => typeof s === 'string' && s.trim() !== '');
  if (secrets.length === 0) return false;

  const raw = input.signature?.trim();
  if (!raw) {
    throw new WebhookRefused(
      'signature',
      'signature_missing',
      `${providerLabel} signature missing: the request has no ${scheme.header} header, but a ${providerLabel} ` +
        `signing secret is set on this connection. Send the request from ${providerLabel} itself (the relay forwards ` +
        `the header as is), or remove the secret from the connection to accept unsigned deliveries.`,
    );
  }

  let hex = raw;
  if (scheme.prefix && hex.toLowerCase().startsWith(scheme.prefix.toLowerCase())) {
    hex = hex.slice(scheme.prefix.length);
  }
  if (!HEX_SHA256.test(hex)) {
    throw new WebhookRefused(
      'signature',
      'signature_malformed',
      `${providerLabel} signature malformed: the ${scheme.header} header is not a hex HMAC-SHA256 digest ` +
        `(expected 64 hexadecimal characters${scheme.prefix ? `, optionally after "${scheme.prefix}"` : ''}, got ${raw.length} characters). ` +
        `Check that nothing between ${providerLabel} and Zapier rewrites the header.`,
    );
  }

  const given = Buffer.from(hex, 'hex');
  let matched = false;
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(rawBody, 'utf8').digest();
    // Every secret is compared, even after a match, so timing does not reveal which one matched.
    if (timingSafeEqual(expected, given)) matched = true;
  }
  if (!matched) {
    throw new WebhookRefused(
      'signature',
      'signature_mismatch',
      `${providerLabel} signature mismatch: the ${scheme.header} header does not match the body signed with the ` +
        `${providerLabel} secret${secrets.length > 1 ? 's (current or previous)' : ''} on this connection. Either the body was altered ` +
        `on the way, or the connection holds a different secret than ${scheme.secretWhere}. Paste the current secret ` +
        `into the connection (keep the old one in the "previous" field while you rotate).`,
    );
  }
  return true;
}

/** Signs a body the way the providers do (hex HMAC-SHA256). For tests, the relay demo and benches. */
export function signBody(rawBody: string, secret: string, prefix = ''): string {
  return prefix + createHmac('sha256', secret).update(rawBody, 'utf8').digest('hex');
}
