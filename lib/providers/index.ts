import { pendo } from './pendo.js';
import { supademo } from './supademo.js';
import type { ProviderKey, ProviderSpec } from './types.js';
import { walnut } from './walnut.js';

export type { EventSpec, ProviderKey, ProviderSpec } from './types.js';

/**
 * Every provider demohooks knows. Adding a fourth is one module (signature scheme, schema,
 * samples, flattening) added here, plus its trigger files.
 */
export const PROVIDERS: Record<ProviderKey, ProviderSpec> = { walnut, supademo, pendo };

export const PROVIDER_KEYS = Object.keys(PROVIDERS) as ProviderKey[];

export const isProviderKey = (k: unknown): k is ProviderKey =>
  typeof k === 'string' && Object.prototype.hasOwnProperty.call(PROVIDERS, k);

/** The relay's event name for a provider event: `{provider}.{event as the provider sends it}`. */
export const relayEventName = (provider: ProviderKey, event: string): string => `${provider}.${event}`;

/** The relay event of the account signals: every demo view of a company, whichever vendor sent it. */
export const DEMO_ACTIVITY = 'demo.activity';

/** The vendor whose demo activity an event type is (Walnut's and Supademo's names differ), or null. */
export const activityVendor = (eventType: string): ProviderSpec | null =>
  Object.values(PROVIDERS).find((p) => p.demoActivity?.events.includes(eventType)) ?? null;
