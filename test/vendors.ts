/**
 * Every vendor as the suites see it, built from its module: the suites that every vendor must
 * pass (pipeline, relay end to end, signals, verify_webhook, fuzzing) run over PROVIDER_KEYS
 * with these, so a fourth vendor is tested by registering it, not by editing a test.
 */
import { createHash } from 'node:crypto';
import { eventFieldOf, PROVIDER_KEYS, PROVIDERS, type ProviderKey, type ProviderSpec } from '../lib/providers/index.js';
import { signRequest } from '../lib/signature.js';

export interface Secrets {
  current: string;
  previous: string;
  /** A well-shaped secret that is not the vendor's: what an attacker or a mix-up signs with. */
  other: string;
}

/** The real vendors keep hand-picked secrets (a Pendo secret with spaces and symbols on purpose). */
const CHOSEN: Record<string, Secrets> = {
  walnut: { current: 'wk_live_4f1c2b9e7d0a3f6e8b5c', previous: 'wk_live_old_9a8b7c6d5e4f3a2b1c0d', other: 'wk_live_attacker_guess_000000' },
  supademo: { current: 'whsec_1f2e3d4c5b6a79881726354453627180', previous: 'whsec_0a0b0c0d0e0f1a1b1c1d1e1f2a2b2c2d', other: 'whsec_ffffffffffffffffffffffffffffffff' },
  pendo: { current: 'pendo secret with spaces & symbols!', previous: 'pendo-old-secret-#42', other: 'not the pendo secret' },
};

/** A secret shaped as the vendor's module says (its prefix), long and random-looking so a leak is findable. */
export const secretFor = (spec: ProviderSpec, tag: string): string =>
  `${spec.secretPrefix ?? ''}${createHash('sha256').update(`${spec.key}:${tag}`).digest('hex').slice(0, 32)}`;

export const secretsOf = (key: string): Secrets => {
  const spec = PROVIDERS[key as ProviderKey];
  return CHOSEN[key] ?? { current: secretFor(spec, 'current'), previous: secretFor(spec, 'previous'), other: secretFor(spec, 'other') };
};

/** The headers the vendor sends with `raw`, signed with `secret`, by its module's scheme. */
export const signedHeaders = (key: string, raw: string, secret = secretsOf(key).current): Record<string, string> =>
  signRequest(PROVIDERS[key as ProviderKey].scheme, raw, secret);

/** One vendor's examples for the shared suites, from its module. */
export interface VendorCase {
  provider: ProviderKey;
  spec: ProviderSpec;
  /** The signature header as the vendor sends it. */
  header: string;
  /** The payload field that names the event type. */
  eventField: string;
  /** The trigger of the vendor's first event type, and its any-event trigger. */
  trigger: string;
  anyTrigger: string;
  /** A live (non-test) delivery for `trigger`: the first event's documented sample, as a real viewer's. */
  real: Record<string, unknown>;
  /** A live delivery of another event type, which `trigger` drops and the any-event trigger takes. */
  otherType: Record<string, unknown>;
  /** A test delivery as the vendor's "send a test" makes it, and the trigger that takes it when test events are included. */
  testEvent: Record<string, unknown>;
  testTrigger: string;
}

const live = (spec: ProviderSpec, sample: Record<string, unknown>) => (spec.examples.live ? spec.examples.live(sample) : sample);

export function vendorCase(key: ProviderKey): VendorCase {
  const spec: ProviderSpec = PROVIDERS[key];
  const [first, second] = spec.events;
  const real = live(spec, first.sample);
  if (spec.isTest(real)) throw new Error(`${key}: examples.live must turn a documented sample into a live delivery (isTest says it is a test)`);
  const otherType = second ? live(spec, second.sample) : { ...real, [eventFieldOf(spec)]: 'another_event_type' };
  return {
    provider: key,
    spec,
    header: spec.scheme.header,
    eventField: eventFieldOf(spec),
    trigger: first.triggerKey,
    anyTrigger: spec.anyEvent.triggerKey,
    real,
    otherType,
    testEvent: spec.examples.test,
    // A test-only event type reaches every trigger of the vendor; a test of a real type, that type's trigger.
    testTrigger: spec.events.find((e) => e.event === spec.examples.test[eventFieldOf(spec)])?.triggerKey ?? first.triggerKey,
  };
}

export const VENDOR_CASES: VendorCase[] = PROVIDER_KEYS.map(vendorCase);

/** The vendors whose events count as demo activity (the account signals). */
export const ACTIVITY_KEYS: ProviderKey[] = PROVIDER_KEYS.filter((k) => PROVIDERS[k].demoActivity);
