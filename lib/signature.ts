import { createHmac } from 'node:crypto';
import { WebhookRefused } from './errors.js';

export interface SignatureScheme {
  /**
   * How the vendor signs (default `hex`):
   * - `hex`: lowercase hex HMAC-SHA256 of the raw body in `header`, optionally after `prefix`;
   * - `stripe`: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` in `header`
   *   (several `v1=` while the vendor rotates);
   * - `standard`: Standard Webhooks: `webhook-id`, `webhook-timestamp` and, in `header`
   *   (`webhook-signature`), space-separated `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<raw body>">`,
   *   keyed with the base64 after `whsec_`.
   */
  kind?: 'hex' | 'stripe' | 'standard';
  /** The header as the provider sends it, e.g. `X-Walnut-Signature`. */
  header: string;
  /** Optional prefix before the hex digest that the provider may add, e.g. `sha256=`. */
  prefix?: string;
  /** Where the user finds the secret, for error messages. */
  secretWhere: string;
  /** Timestamped kinds: how far the signed time may be from the relay's receipt (or now), in seconds; 300 by default. */
  toleranceSeconds?: number;
}

/** The request headers a scheme needs, which the relay stores and forwards with the bytes. */
export const schemeHeaders = (scheme: SignatureScheme): string[] =>
  scheme.kind === 'standard' ? ['webhook-id', 'webhook-timestamp', scheme.header] : [scheme.header];

/** Whether a scheme signs a time, and so must be judged against when the event was received. */
export const isTimestamped = (scheme: SignatureScheme): boolean => scheme.kind === 'stripe' || scheme.kind === 'standard';

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
  /** The signature header's value, or undefined when the request had none. */
  signature: string | undefined;
  /** Current and previous secrets; empty or missing entries are ignored. */
  secrets: Array<string | undefined | null>;
  /** The whole request's headers (the Standard Webhooks id and timestamp live beside the signature). */
  headers?: Headers;
  /** What a signed timestamp is judged against (ms): when the relay received the event, else now. */
  receivedAtMs?: number;
}

/**
 * Verifies a vendor's signature over the raw body against every configured secret (current
 * first, then the previous one for rotation), in constant time, by the vendor's scheme.
 *
 * Returns `true` when a secret matched, `false` when no secret is configured (the
 * delivery is accepted unverified, as the contract says), and throws a `WebhookRefused`
 * of kind `signature` when a secret is configured and the signature is missing or wrong.
 */
export function verifySignature(input: VerifyInput): boolean {
  const { providerLabel, scheme } = input;
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
  const candidates = scheme.kind === 'stripe' ? stripeCandidates(input, raw) : scheme.kind === 'standard' ? standardCandidates(input, raw) : hexCandidates(input, raw);

  let matched = false;
  const encoding = scheme.kind === 'standard' ? 'base64' : 'hex';
  for (const secret of secrets) {
    const key = scheme.kind === 'standard' ? standardKey(secret) : secret;
    // The digest as text in the header's own encoding: Node hands a hex or base64 string back
    // from native code faster than it builds a Buffer for the bytes.
    const expected = createHmac('sha256', key).update(candidates.signed, 'utf8').digest(encoding);
    // Every secret and every given signature is compared, even after a match, so timing does
    // not reveal which one matched.
    for (const given of candidates.given) if (sameText(expected, given)) matched = true;
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

/**
 * Whether two texts are equal, in a time that depends on their length only (what stripe-node's
 * `secureCompare` does): every character is compared, whatever the first difference.
 */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

const malformed = (input: VerifyInput, expected: string, raw: string) =>
  new WebhookRefused(
    'signature',
    'signature_malformed',
    `${input.providerLabel} signature malformed: the ${input.scheme.header} header is not ${expected} (got ${raw.length} characters). ` +
      `Check that nothing between ${input.providerLabel} and Zapier rewrites the header.`,
  );

/** The text signed and the signatures given, each in the digest's encoding (lowercase hex, canonical base64). */
interface Candidates {
  signed: string;
  given: string[];
}

function hexCandidates(input: VerifyInput, raw: string): Candidates {
  const { scheme } = input;
  let hex = raw;
  if (scheme.prefix && hex.toLowerCase().startsWith(scheme.prefix.toLowerCase())) hex = hex.slice(scheme.prefix.length);
  if (!HEX_SHA256.test(hex)) {
    throw malformed(input, `a hex HMAC-SHA256 digest (expected 64 hexadecimal characters${scheme.prefix ? `, optionally after "${scheme.prefix}"` : ''})`, raw);
  }
  return { signed: input.rawBody, given: [hex.toLowerCase()] };
}

/** The signed time against the relay's receipt (or now): outside the tolerance, refused as a replay or a stale copy. */
function checkTimestamp(input: VerifyInput, seconds: number): void {
  const tolerance = input.scheme.toleranceSeconds ?? 300;
  const against = input.receivedAtMs ?? Date.now();
  const skew = Math.abs(against / 1000 - seconds);
  if (skew > tolerance) {
    throw new WebhookRefused(
      'signature',
      'signature_expired',
      `${input.providerLabel} signature too old or too new: it was signed at ${new Date(seconds * 1000).toISOString()}, ` +
        `${Math.round(skew)} s from when ${input.receivedAtMs === undefined ? 'it is checked' : 'the relay received it'} (${new Date(against).toISOString()}); ` +
        `at most ${tolerance} s are accepted. A copy replayed later is refused; a clock far off on the sending side is the other cause.`,
    );
  }
}

function stripeCandidates(input: VerifyInput, raw: string): Candidates {
  const parts = raw.split(',').map((p) => p.trim().split('=') as [string, string?]);
  const t = parts.find(([k]) => k === 't')?.[1];
  const v1 = parts.filter(([k, v]) => k === 'v1' && v && HEX_SHA256.test(v)).map(([, v]) => v!.toLowerCase());
  if (!t || !/^\d{1,12}$/.test(t) || v1.length === 0) throw malformed(input, '"t=<unix seconds>,v1=<64 hex characters>"', raw);
  checkTimestamp(input, Number(t));
  return { signed: `${t}.${input.rawBody}`, given: v1 };
}

function standardCandidates(input: VerifyInput, raw: string): Candidates {
  const id = findHeader(input.headers, 'webhook-id');
  const ts = findHeader(input.headers, 'webhook-timestamp');
  if (!id || !ts || !/^\d{1,12}$/.test(ts.trim())) {
    throw new WebhookRefused(
      'signature',
      'signature_missing',
      `${input.providerLabel} signature incomplete: Standard Webhooks signs the webhook-id and webhook-timestamp headers with the body, and ` +
        `${!id ? 'webhook-id' : 'webhook-timestamp'} is ${!id ? 'missing' : 'not a number of seconds'}. The relay forwards all three; check what else is in between.`,
    );
  }
  const given = raw
    .split(' ')
    .map((p) => p.trim())
    .filter((p) => p.startsWith('v1,'))
    // Decoded and encoded again: the same bytes written another way (base64url, no padding) compare equal.
    .map((p) => Buffer.from(p.slice(3), 'base64').toString('base64'));
  if (given.length === 0) throw malformed(input, 'one or more "v1,<base64>" entries', raw);
  checkTimestamp(input, Number(ts.trim()));
  return { signed: `${id}.${ts.trim()}.${input.rawBody}`, given };
}

/** A Standard Webhooks secret is `whsec_` and base64; the key is the decoded bytes. */
const standardKey = (secret: string): Buffer => Buffer.from(secret.trim().replace(/^whsec_/, ''), 'base64');

/** Signs a body the way the hex-HMAC providers do (hex HMAC-SHA256). For tests, the relay demo and benches. */
export function signBody(rawBody: string, secret: string, prefix = ''): string {
  return prefix + createHmac('sha256', secret).update(rawBody, 'utf8').digest('hex');
}

/**
 * The headers a vendor of `scheme` sends with `rawBody`, signed with `secret`: what tests,
 * benches and the demo post as that vendor. `atMs` is the signing time of timestamped schemes
 * (now by default), `id` the Standard Webhooks message id.
 */
export function signRequest(scheme: SignatureScheme, rawBody: string, secret: string, opts: { atMs?: number; id?: string } = {}): Record<string, string> {
  const t = Math.floor((opts.atMs ?? Date.now()) / 1000);
  if (scheme.kind === 'stripe') return { [scheme.header]: `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${rawBody}`, 'utf8').digest('hex')}` };
  if (scheme.kind === 'standard') {
    const id = opts.id ?? `msg_${createHmac('sha256', 'id').update(rawBody).digest('hex').slice(0, 24)}`;
    const sig = createHmac('sha256', standardKey(secret)).update(`${id}.${t}.${rawBody}`, 'utf8').digest('base64');
    return { 'webhook-id': id, 'webhook-timestamp': String(t), [scheme.header]: `v1,${sig}` };
  }
  return { [scheme.header]: signBody(rawBody, secret) };
}
