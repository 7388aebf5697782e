/** The CLI's commands on subscriptions, as the console and the API have them: list, create, retry now. */
import { unknownEventMessage, isRelayEvent } from '../http/schemas.js';
import type { HookHealth } from '../store/hooks.js';
import { argsOf, limitArg, paging, table, UsageError, type Command } from './format.js';

/** A hook URL's end tells Zaps apart (`…/hooks/standard/123/abc/`): the table keeps it whole and cuts the start. */
export const urlTail = (url: string, max = 48): string => (url.length <= max ? url : `…${url.slice(url.length - max + 1)}`);

/** A subscription's health in words, with what it is waiting on. */
export function healthWords(h: HookHealth): string {
  const state =
    h.health === 'failing'
      ? `FAILING since ${h.failing_since} (${h.consecutive_failures} failed attempt${h.consecutive_failures === 1 ? '' : 's'})`
      : h.health === 'refusing'
        ? `REFUSED BY ITS ZAP since ${h.refusing_since}: ${h.refusing_reason}`
        : h.health === 'throttled'
          ? `throttled by the target until ${h.throttled_until}`
          : 'healthy';
  return h.paced ? `${state}, ${h.paced} paced` : state;
}

export const HOOK_COMMANDS: Record<string, Command> = {
  'hooks list': {
    options: { limit: { type: 'string' }, before: { type: 'string' } },
    async run({ services, accountId, values }) {
      const limit = limitArg(values.limit, 100);
      const { rows: hooks, more } = paging(await services.reads.hooks(accountId, { limit: limit + 1, before: values.before as string | undefined }), limit, (b) =>
        ['demohooks-relay hooks list', ...argsOf(values, ['account', 'limit']), '--before', b].join(' '),
      );
      const rate = (h: HookHealth) => (h.success_rate_24h === null ? '-' : `${Math.round(h.success_rate_24h * 1000) / 10} %`);
      return {
        json: hooks,
        text: hooks.length
          ? table([
              ['ID', 'ZAP', 'TRIGGER', 'EVENT', 'TARGET', 'HEALTH', 'PENDING', 'RETRYING', 'FAILED OR GIVEN UP', 'DELIVERED, 24 H', 'LAST SUCCESS', 'LAST ERROR'],
              ...hooks.map((h) => [
                h.id,
                h.zap_id ?? '-',
                h.trigger ?? '-',
                h.event,
                urlTail(h.target_url),
                healthWords(h),
                String(h.pending - h.retrying),
                String(h.retrying),
                String(h.failed),
                rate(h),
                h.last_success_at ?? '-',
                (h.last_error ?? '-').slice(0, 60),
              ]),
            ]) + more
          : 'No subscriptions: turn on a Zap that uses a demohooks trigger.',
      };
    },
  },
  'hooks create': {
    options: { event: { type: 'string' }, 'zap-id': { type: 'string' }, trigger: { type: 'string' } },
    async run({ services, accountId, positionals, values }) {
      const url = positionals[0];
      const event = values.event as string | undefined;
      if (!url || !event) throw new UsageError('hooks create needs the target URL and --event (e.g. hooks create https://hooks.zapier.com/hooks/catch/1/abc/ --event demo.activity)');
      if (!isRelayEvent(event)) throw new UsageError(unknownEventMessage(event));
      for (const k of ['zap-id', 'trigger'] as const) if (String(values[k] ?? '').length > 100) throw new UsageError(`--${k} must be at most 100 characters`);
      const r = await services.subscriptions.subscribe(accountId, event, url, { zapId: (values['zap-id'] as string | undefined) ?? null, trigger: (values.trigger as string | undefined) ?? null });
      if (!r.ok) throw new UsageError(`cannot subscribe ${url}: ${r.error}`);
      return { json: r.hook, text: `Subscription ${r.hook.id} created: ${event} → ${r.hook.target_url}. A running relay delivers new events to it.` };
    },
  },
  'hooks retry-now': {
    options: {},
    async run({ services, accountId, positionals }) {
      const id = positionals[0];
      if (!id) throw new UsageError('hooks retry-now needs the subscription id (demohooks-relay hooks list)');
      const n = await services.deliveries.retryNow(accountId, id);
      if (n === null) throw new UsageError(`no subscription ${id} in account ${accountId}`);
      return { json: { queued: n }, text: n ? `${n} retrying deliveries of ${id} are due now, without waiting out their backoff.` : `Subscription ${id} has no retrying deliveries.` };
    },
  },
};
