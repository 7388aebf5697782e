/**
 * Refusals inside the Zap: Zapier answers a hook 200 before the trigger's perform runs, so a
 * run that halts (a signature that does not verify, a body it cannot read) is told to the
 * relay by the trigger itself, as a reason code. These are the codes, and what each says to
 * the operator who has to act on it.
 */
import { PROVIDERS, type ProviderKey } from '../../lib/providers/index.js';

export const REFUSAL_REASONS = [
  'signature_mismatch',
  'signature_missing',
  'signature_malformed',
  'signature_expired',
  'received_at_untrusted',
  'body_missing',
  'body_not_json',
  'body_not_object',
  'event_missing',
  'payload_invalid',
] as const;

export type RefusalReason = (typeof REFUSAL_REASONS)[number];

const labelOf = (provider: string | null): string => (provider && provider in PROVIDERS ? PROVIDERS[provider as ProviderKey].label : 'the vendor');

/** What the operator reads for a refusal of `provider`'s event: what is wrong, and where to fix it. */
export function refusalWords(reason: string, provider: string | null): string {
  const v = labelOf(provider);
  const where = provider && provider in PROVIDERS ? PROVIDERS[provider as ProviderKey].scheme.secretWhere : `${v}'s webhook settings`;
  switch (reason as RefusalReason) {
    case 'signature_mismatch':
      return `the ${v} signing secret in this Zap's connection is not the one ${v} signs with: copy ${where} into the connection's ${v} secret (in Zapier, the demohooks connection); if it is the current one already, the event was not signed by ${v} (someone who knows the inbound URL posted it: rotate that URL)`;
    case 'signature_missing':
      return `${v} sent the event unsigned, but this Zap's connection has a ${v} signing secret: turn signing on in ${v}, or clear the secret from the connection`;
    case 'signature_malformed':
      return `the ${v} signature on the event is not in the form ${v} uses: something between ${v} and the relay rewrites its headers`;
    case 'signature_expired':
      return `the ${v} signature's time was too far from when the relay received the event: check the clock of whatever signs it, or whether the event was sent again long after`;
    case 'received_at_untrusted':
      return `the Zap could not read when the relay received the event: the relay and the Zapier app are of different versions`;
    case 'body_missing':
    case 'body_not_json':
    case 'body_not_object':
    case 'event_missing':
    case 'payload_invalid':
      return `the Zap could not read the ${v} event (${reason.replace(/_/g, ' ')}): ${v} sent a body the trigger does not take; its run history in Zapier has the details`;
  }
  return `the Zap refused the event (${reason})`;
}
