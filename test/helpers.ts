import nock from 'nock';
import zapier from 'zapier-platform-core';
import App from '../index.js';
import { PROVIDER_KEYS, PROVIDERS, type ProviderKey } from '../lib/providers/index.js';
import { secretsOf, type Secrets } from './vendors.js';
import { signBody, signRequest, zapierHookHeaderName } from '../lib/signature.js';

export { App };
export const appTester = zapier.createAppTester(App);

export const RELAY = 'https://relay.demohooks.test';
export const API_KEY = 'dh_test_api_key_0123456789';
export const TARGET = 'https://hooks.zapier.com/hooks/standard/1/2/3';

/** Secrets as long random-looking strings, so a test can assert that none ever leaks (test/vendors.ts makes them per vendor). */
export const SECRETS: Record<string, Secrets> = Object.fromEntries(PROVIDER_KEYS.map((k) => [k, secretsOf(k)]));

export const ALL_SECRET_VALUES = Object.values(SECRETS).flatMap((s) => [s.current, s.previous, s.other]);

export { zapierHookHeaderName as zapierHeaderName } from '../lib/signature.js';

export function authData(overrides: Record<string, string> = {}): Record<string, string> {
  const a: Record<string, string> = { relay_url: RELAY, api_key: API_KEY };
  for (const p of Object.values(PROVIDERS)) a[p.secretKeys[0]] = SECRETS[p.key].current;
  return { ...a, ...overrides };
}

export interface HookOptions {
  /** Sign with this secret (default: the provider's current secret); null sends no header. */
  signWith?: string | null;
  /** Replace the body after signing (a tampered delivery). */
  tamper?: (raw: string) => string;
  includeTest?: boolean;
  auth?: Record<string, string>;
  subscribeId?: string;
  prefix?: string;
}

/** A hook bundle exactly as Zapier builds it: raw body string, renamed headers. */
export function hookBundle(provider: ProviderKey, payload: unknown, opts: HookOptions = {}) {
  const spec = PROVIDERS[provider];
  const raw = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const secret = opts.signWith === undefined ? SECRETS[provider].current : opts.signWith;
  const headers: Record<string, string> = {
    'Http-Content-Type': 'application/json',
    'Http-User-Agent': 'vendor-webhooks/1.0',
  };
  if (secret !== null) {
    // Signed the way the vendor's module says (a prefix, where a test asks for one, on the plain hex digest).
    const signed = opts.prefix ? { [spec.scheme.header]: signBody(raw, secret, opts.prefix) } : signRequest(spec.scheme, raw, secret);
    for (const [name, value] of Object.entries(signed)) headers[zapierHookHeaderName(name)] = value;
  }
  return {
    authData: opts.auth ?? authData(),
    inputData: { include_test_events: opts.includeTest ?? false },
    subscribeData: { id: opts.subscribeId ?? 'sub_1' },
    targetUrl: TARGET,
    rawRequest: {
      method: 'POST' as const,
      querystring: '',
      headers,
      content: opts.tamper ? opts.tamper(raw) : raw,
    },
    cleanedRequest: (() => {
      try {
        return JSON.parse(raw);
      } catch {
        return {};
      }
    })(),
    meta: { isLoadingSample: false, isFillingDynamicDropdown: false, isPopulatingDedupe: false, limit: -1, page: 0 },
  };
}

export const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));

export function triggerOp(key: string) {
  const t = (App.triggers as Record<string, any>)[key];
  if (!t) throw new Error(`no trigger ${key}`);
  return t.operation;
}

/** Runs a trigger's perform with a fresh z.cache (unless told to keep it). */
export async function perform(key: string, bundle: unknown, keepCache = false): Promise<any[]> {
  return (await appTester(triggerOp(key).perform, bundle as any, !keepCache)) as any[];
}

/** The error a call throws; fails the test when it does not throw. */
export async function errorOf(p: Promise<unknown>): Promise<Error & { name: string; code?: string; status?: number }> {
  try {
    await p;
  } catch (err) {
    const e = err as Error & { name: string; code?: string; status?: number };
    // z.errors.Error carries {message, code, status} as JSON in its message; Zapier's UI
    // shows the inner message, so tests read it the same way.
    try {
      const inner = JSON.parse(e.message);
      if (inner && typeof inner.message === 'string') {
        return Object.assign(new Error(inner.message), { name: e.name, code: inner.code, status: inner.status });
      }
    } catch {
      // a plain message
    }
    return e;
  }
  throw new Error('expected an error, got none');
}

export function expectNoSecret(text: string): void {
  for (const s of ALL_SECRET_VALUES) expect(text).not.toContain(s);
  expect(text).not.toContain(API_KEY);
}

export function networkOff(): void {
  beforeAll(() => nock.disableNetConnect());
  afterEach(() => nock.cleanAll());
  afterAll(() => nock.enableNetConnect());
}
