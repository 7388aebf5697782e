/**
 * The signature schemes a vendor module can declare, each verified and signed by one module:
 * plain hex HMAC of the body, Stripe-style `t=,v1=`, and Standard Webhooks. A timestamped
 * signature is judged against when the relay received the event (X-Relay-Received-At, trusted
 * within 25 hours), so relay retries and history reads still verify.
 */
import { isWebhookRefused } from '../lib/errors.js';
import { processDelivery, RECEIVED_AT_TRUST_MS } from '../lib/pipeline.js';
import { PROVIDERS } from '../lib/providers/index.js';
import { demoSessionSample } from '../lib/providers/walnut.js';
import { signRequest, verifySignature, type SignatureScheme } from '../lib/signature.js';

const HOUR = 3_600_000;
const SCHEMES: Array<[string, SignatureScheme, string]> = [
  ['hex', { header: 'X-Acme-Signature', secretWhere: 'Acme settings' }, 'plain-secret'],
  ['stripe', { kind: 'stripe', header: 'Acme-Signature', secretWhere: 'Acme settings' }, 'whsec_stripe_style'],
  ['standard', { kind: 'standard', header: 'webhook-signature', secretWhere: 'Acme settings' }, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
];

const codeOf = (f: () => unknown): string | null => {
  try {
    f();
    return null;
  } catch (err) {
    return isWebhookRefused(err) ? err.code : String(err);
  }
};

describe.each(SCHEMES)('the %s scheme', (_kind, scheme, secret) => {
  const body = '{"type":"demo.viewed","id":"evt_1"}';
  const verify = (headers: Record<string, string>, secrets: string[], rawBody = body, receivedAtMs?: number) =>
    verifySignature({ providerLabel: 'Acme', scheme, rawBody, signature: headers[scheme.header], secrets, headers, receivedAtMs });

  it('verifies what it signs, with the current or the previous secret; refuses a tampered body, a wrong secret, no header', () => {
    const headers = signRequest(scheme, body, secret);
    expect(verify(headers, [secret])).toBe(true);
    expect(verify(headers, ['whsec_b3RoZXItc2VjcmV0LW5ldw==', secret])).toBe(true); // rotation: the previous one still matches
    expect(codeOf(() => verify(headers, [secret], body.replace('evt_1', 'evt_2')))).toBe('signature_mismatch');
    expect(codeOf(() => verify(headers, ['whsec_d3Jvbmctc2VjcmV0LWtleQ==']))).toBe('signature_mismatch');
    expect(codeOf(() => verify({}, [secret]))).toBe('signature_missing');
    expect(verify({}, [])).toBe(false); // no secret on the connection: accepted unverified
  });
});

describe('the ways a correct signature may be written', () => {
  const body = '{"type":"demo.viewed","id":"evt_1"}';
  const [, hex, hexSecret] = SCHEMES[0];
  const [, stripe, stripeSecret] = SCHEMES[1];
  const [, standard, standardSecret] = SCHEMES[2];
  const check = (scheme: SignatureScheme, secret: string, signature: string, headers: Record<string, string> = {}) =>
    codeOf(() => verifySignature({ providerLabel: 'Acme', scheme, rawBody: body, signature, secrets: [secret], headers: { ...headers, [scheme.header]: signature } })) ?? 'verified';
  /** The same text with its character at `i` replaced by another of the same alphabet. */
  const flip = (s: string, i: number, alphabet: string) => s.slice(0, i) + alphabet[(alphabet.indexOf(s[i]) + 1) % alphabet.length] + s.slice(i + 1);

  it('hex: lower or upper case, after the prefix or not; one digit changed is a mismatch, a wrong length or letter malformed', () => {
    const sig = signRequest(hex, body, hexSecret)[hex.header];
    expect(check(hex, hexSecret, sig)).toBe('verified');
    expect(check(hex, hexSecret, sig.toUpperCase())).toBe('verified');
    const prefixed = { ...hex, prefix: 'sha256=' };
    expect(check(prefixed, hexSecret, `sha256=${sig}`)).toBe('verified');
    expect(check(prefixed, hexSecret, sig)).toBe('verified');
    for (const i of [0, 31, 63]) expect(check(hex, hexSecret, flip(sig, i, '0123456789abcdef'))).toBe('signature_mismatch');
    expect(check(hex, hexSecret, sig.slice(0, 62))).toBe('signature_malformed');
    expect(check(hex, hexSecret, `${sig.slice(0, 63)}g`)).toBe('signature_malformed');
  });

  it('stripe: any v1 of several, in either case; a changed digit is a mismatch', () => {
    const header = signRequest(stripe, body, stripeSecret)[stripe.header];
    const [t, v1] = header.split(',');
    expect(check(stripe, stripeSecret, header)).toBe('verified');
    expect(check(stripe, stripeSecret, `${t},v1=${'0'.repeat(64)},${v1.toUpperCase().replace('V1=', 'v1=')}`)).toBe('verified');
    expect(check(stripe, stripeSecret, `${t},v1=${flip(v1.slice(3), 10, '0123456789abcdef')}`)).toBe('signature_mismatch');
  });

  it('standard: base64 with or without padding, or base64url, is the same signature; one character changed is a mismatch', () => {
    const headers = signRequest(standard, body, standardSecret);
    const b64 = headers[standard.header].slice(3);
    const url = b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    expect(url).not.toBe(b64);
    expect(check(standard, standardSecret, `v1,${b64}`, headers)).toBe('verified');
    expect(check(standard, standardSecret, `v1,${b64.replace(/=+$/, '')}`, headers)).toBe('verified');
    expect(check(standard, standardSecret, `v1,${url}`, headers)).toBe('verified');
    expect(check(standard, standardSecret, `v1,AAAA v1,${url}`, headers)).toBe('verified');
    expect(check(standard, standardSecret, `v1,${flip(b64, 5, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/')}`, headers)).toBe('signature_mismatch');
    expect(check(standard, standardSecret, `v1,${b64.slice(0, 40)}`, headers)).toBe('signature_mismatch');
  });
});

describe('timestamped schemes', () => {
  const [, stripe, stripeSecret] = SCHEMES[1];
  const [, standard, standardSecret] = SCHEMES[2];
  const body = '{"type":"demo.viewed"}';

  it('reproduces the Standard Webhooks specification’s test vector', () => {
    const headers = signRequest(standard, '{"test": 2432232314}', standardSecret, { atMs: 1614265330_000, id: 'msg_p5jXN8AQM9LWM0D4loKWxJek' });
    expect(headers).toStrictEqual({ 'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek', 'webhook-timestamp': '1614265330', 'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' });
  });

  it.each([
    ['stripe', stripe, stripeSecret],
    ['standard', standard, standardSecret],
  ] as const)('%s: judged against when the relay received it, not when it is checked', (_k, scheme, secret) => {
    const signedAt = Date.now() - 20 * HOUR;
    const headers = signRequest(scheme, body, secret, { atMs: signedAt });
    const v = (receivedAtMs?: number) => verifySignature({ providerLabel: 'Acme', scheme, rawBody: body, signature: headers[scheme.header], secrets: [secret], headers, receivedAtMs });
    expect(v(signedAt + 10_000)).toBe(true); // received ten seconds after signing: a retry 20 hours later still verifies
    expect(codeOf(() => v())).toBe('signature_expired'); // judged against now: 20 hours off
    expect(codeOf(() => v(signedAt + 301_000))).toBe('signature_expired'); // received past the 300 s tolerance
  });

  it('through the pipeline: X-Relay-Received-At is trusted for 25 hours, no longer', () => {
    // A Walnut-shaped vendor that signs Stripe-style (what a fourth vendor module would declare).
    const acme = { ...PROVIDERS.walnut, label: 'Acme', scheme: stripe };
    const raw = JSON.stringify(demoSessionSample);
    const run = (signedAt: number, receivedAt?: number) =>
      processDelivery(acme, { rawBody: raw, headers: { ...signRequest(stripe, raw, stripeSecret, { atMs: signedAt }), ...(receivedAt !== undefined ? { 'X-Relay-Received-At': new Date(receivedAt).toISOString() } : {}) } }, [stripeSecret], { want: '*', includeTest: false });
    const day = Date.now() - 24 * HOUR;
    expect(run(day, day + 2000)).toMatchObject({ kind: 'record', record: { signature_verified: true } });
    expect(codeOf(() => run(day))).toBe('signature_expired');
    const old = Date.now() - RECEIVED_AT_TRUST_MS - HOUR;
    expect(codeOf(() => run(old, old + 2000))).toBe('received_at_untrusted');
    // The three real vendors sign no time: the header changes nothing for them.
    const walnut = processDelivery(PROVIDERS.walnut, { rawBody: raw, headers: { ...signRequest(PROVIDERS.walnut.scheme, raw, 'k'), 'X-Relay-Received-At': 'not a time' } }, ['k'], { want: '*', includeTest: false });
    expect(walnut).toMatchObject({ kind: 'record', record: { signature_verified: true } });
  });
});
