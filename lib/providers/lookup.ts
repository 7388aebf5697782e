import type { EventSpec, ProviderSpec } from './types.js';

/** The spec of one event of a provider; a typo in a trigger file fails at load, not at run time. */
export function eventSpec(provider: ProviderSpec, event: string): EventSpec {
  const spec = provider.events.find((e) => e.event === event);
  if (!spec) throw new Error(`${provider.label} has no event "${event}"`);
  return spec;
}
