import { pendo } from './pendo.js';
import { supademo } from './supademo.js';
import type { ProviderSpec } from './types.js';
import { walnut } from './walnut.js';

export type { EventSpec, ProviderSpec } from './types.js';

/**
 * Every provider demohooks knows. Adding a fourth is one module (signature scheme, schema,
 * samples, flattening) added here, plus its trigger files.
 */
export const PROVIDERS = { walnut, supademo, pendo } satisfies Record<string, ProviderSpec>;

/** A vendor's key: one of PROVIDERS' (the modules' `key` must be the name it is registered under). */
export type ProviderKey = keyof typeof PROVIDERS;

export const PROVIDER_KEYS = Object.keys(PROVIDERS) as ProviderKey[];

export const isProviderKey = (k: unknown): k is ProviderKey =>
  typeof k === 'string' && Object.prototype.hasOwnProperty.call(PROVIDERS, k);

/** The relay's event name for a provider event: `{provider}.{event as the provider sends it}`. */
export const relayEventName = (provider: string, event: string): string => `${provider}.${event}`;

/** The payload field that names the event type: `event` unless the vendor module says otherwise. */
export const eventFieldOf = (spec: ProviderSpec): string => spec.eventField ?? 'event';

/** `a`, `a or b`, `a, b or c`: a list of vendors in a sentence. */
export const orList = (items: string[]): string => (items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`);

/** The relay event of the account signals: every demo view of a company, whichever vendor sent it. */
export const DEMO_ACTIVITY = 'demo.activity';
