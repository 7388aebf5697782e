/** Which subscriptions an event goes to. */
import { DEMO_ACTIVITY, PROVIDERS, type ProviderKey } from '../../lib/providers/index.js';

/** Its exact name, its provider's `*`, and for a test-only event type every subscription of the provider. */
export function matchingPatterns(provider: ProviderKey, event: string): { exact: string[]; anyOfProvider: boolean } {
  const eventType = event.slice(provider.length + 1);
  return {
    exact: [event, `${provider}.*`],
    anyOfProvider: PROVIDERS[provider].testEventTypes.includes(eventType),
  };
}

/**
 * Whether a subscription to `hookEvent` gets an event of `provider` whose patterns are `m`
 * (`isActivity`: the event is a company's demo view, which `demo.activity` subscribes to).
 */
export function hookMatches(hookEvent: string, provider: ProviderKey, m: ReturnType<typeof matchingPatterns>, isActivity: boolean): boolean {
  if (hookEvent === DEMO_ACTIVITY) return isActivity;
  return hookEvent.startsWith(`${provider}.`) && (m.anyOfProvider || m.exact.includes(hookEvent));
}
