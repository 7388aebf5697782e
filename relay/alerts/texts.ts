/** What an alert says: a Slack-compatible `text` (a Slack incoming-webhook URL works as is). */
import type { AlertType } from '../store/alerts.js';

/** Slack mrkdwn: `&`, `<` and `>` are control characters in message text. */
const esc = (s: unknown) => String(s ?? '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export interface Payload {
  type: AlertType;
  subscription: { id: string; event: string; target_url: string; zap_id?: string | null };
  since?: string;
  last_error?: string | null;
  failed_attempts?: number;
  count?: number;
  /** A refusing Zap: why, in words; a recovered one: how many refusals it had reported. */
  reason?: string;
  refusals?: number;
}

/** The alert's Slack-compatible text: what happened, to which subscription, and where to look. */
export function alertText(p: Payload, account: string, consoleUrl: string, giveUpHours: number): string {
  // Code, not bold: an event like `supademo.*` would end a bold span early.
  const zap = p.subscription.zap_id ? ` (Zap ${esc(p.subscription.zap_id)})` : '';
  const sub = `\`${esc(p.subscription.event).replace(/`/g, "'")}\` → ${esc(p.subscription.target_url)}${zap}`;
  const link = `<${consoleUrl}|Open in the relay console>`;
  if (p.type === 'subscription.failing') {
    return `:red_circle: demohooks relay (${esc(account)}): the subscription ${sub} is failing since ${esc(p.since)}. Last error: ${esc(p.last_error ?? 'unknown')}. Deliveries are retried for ${giveUpHours} h, then given up. ${link}`;
  }
  if (p.type === 'subscription.refusing') {
    return `:no_entry: demohooks relay (${esc(account)}): the Zap behind ${sub} is refusing what the relay delivers since ${esc(p.since)}: ${esc(p.reason ?? 'no reason given')}. Its runs halt, so nothing reaches the CRM; the relay counts it as delivered. ${link}`;
  }
  if (p.type === 'subscription.removed') {
    return `:wastebasket: demohooks relay (${esc(account)}): the subscription ${sub} was removed: its target answered 410 Gone (the Zap was turned off or deleted). Events for it are no longer sent anywhere; turn the Zap on again to subscribe anew. ${link}`;
  }
  if (p.type === 'subscription.recovered' && p.refusals !== undefined) {
    return `:large_green_circle: demohooks relay (${esc(account)}): the Zap behind ${sub} takes its deliveries again (refusing since ${esc(p.since)}, ${p.refusals} refused). ${link}`;
  }
  if (p.type === 'subscription.recovered') {
    return `:large_green_circle: demohooks relay (${esc(account)}): the subscription ${sub} is delivering again (failing since ${esc(p.since)}, ${p.failed_attempts ?? 0} failed attempt${p.failed_attempts === 1 ? '' : 's'}). ${link}`;
  }
  const n = p.count ?? 1;
  return `:warning: demohooks relay (${esc(account)}): ${n} ${n === 1 ? 'delivery' : 'deliveries'} to ${sub} given up after ${giveUpHours} h of retries. Retry them from the console once the target answers: ${link}`;
}

