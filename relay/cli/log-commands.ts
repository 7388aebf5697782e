/** The CLI's commands on the event log and deliveries: lists that page, replay and retry. */
import { orList, PROVIDER_KEYS } from '../../lib/providers/index.js';
import { isProviderKey as isProvider } from '../../lib/providers/index.js';
import { API_DELIVERY_STATUSES, EVENT_DELIVERY_STATUSES, isDeliveryStatus } from '../domain/statuses.js';
import { isRelayEvent, unknownEventMessage } from '../http/schemas.js';
import { argsOf, limitArg, paging, table, UsageError, type Command } from './format.js';
import { PREVIEW_CHARS } from '../services/reads.js';
import { urlTail } from './hook-commands.js';

export const LOG_COMMANDS: Record<string, Command> = {
  'events list': {
    options: { provider: { type: 'string' }, event: { type: 'string' }, 'delivery-status': { type: 'string' }, q: { type: 'string' }, limit: { type: 'string' }, before: { type: 'string' } },
    async run({ services, accountId, values }) {
      const provider = values.provider as string | undefined;
      if (provider !== undefined && !isProvider(provider)) throw new UsageError(`--provider must be ${orList(PROVIDER_KEYS)}`);
      const event = values.event as string | undefined;
      // As the API: an event name this relay does not know is a mistake, not an empty list.
      if (event !== undefined && !isRelayEvent(event)) throw new UsageError(unknownEventMessage(event));
      const state = values['delivery-status'] as string | undefined;
      if (state !== undefined && !(EVENT_DELIVERY_STATUSES as readonly string[]).includes(state)) throw new UsageError(`--delivery-status must be one of ${EVENT_DELIVERY_STATUSES.join(', ')}`);
      const limit = limitArg(values.limit, 20);
      const { rows, more } = paging(
        // Previews: the listing shows no bodies (`events show` has the whole), so wide ones cost it nothing.
        (await services.reads.events(accountId, { provider: provider as never, event, deliveryStatus: state as never, q: values.q as string | undefined, limit: limit + 1, before: values.before as string | undefined, preview: PREVIEW_CHARS })).rows,
        limit,
        (b) => ['demohooks-relay events list', ...argsOf(values, ['account', 'provider', 'event', 'delivery-status', 'q', 'limit']), '--before', b].join(' '),
      );
      return {
        json: rows,
        text: rows.length ? table([['ID', 'RECEIVED', 'EVENT', 'DELIVERY'], ...rows.map((e) => [e.id, e.received_at, e.event, e.delivery_status])]) + more : 'No events match.',
      };
    },
  },
  'deliveries list': {
    options: { status: { type: 'string' }, hook: { type: 'string' }, limit: { type: 'string' }, before: { type: 'string' } },
    async run({ services, accountId, values }) {
      const status = values.status as string | undefined;
      if (status !== undefined && !isDeliveryStatus(status)) throw new UsageError(`--status must be one of ${API_DELIVERY_STATUSES.join(', ')}`);
      const limit = limitArg(values.limit, 50);
      const { rows, more } = paging(
        await services.reads.deliveries(accountId, { status: status as never, hookId: values.hook as string | undefined, limit: limit + 1, before: values.before as string | undefined }),
        limit,
        (b) => ['demohooks-relay deliveries list', ...argsOf(values, ['account', 'status', 'hook', 'limit']), '--before', b].join(' '),
      );
      const marks = (d: (typeof rows)[number]) => [d.origin === 'replay' ? 'replay' : '', d.manual_retries ? `retried by hand ×${d.manual_retries}` : ''].filter(Boolean).join(', ');
      return {
        json: rows,
        text: rows.length
          ? table([
              ['ID', 'EVENT ID', 'TARGET', 'STATUS', 'ATTEMPTS', 'LAST ANSWER', 'NEXT ATTEMPT', 'UPDATED', 'NOTE'],
              ...rows.map((d) => [
                d.id,
                d.event_id,
                urlTail(d.target_url),
                d.status,
                String(d.attempt_count),
                d.last_status_code !== null ? `HTTP ${d.last_status_code}` : (d.last_error ?? '-').slice(0, 50),
                d.next_attempt_at ?? '-',
                d.updated_at,
                marks(d) || '-',
              ]),
            ]) + more
          : 'No deliveries match.',
      };
    },
  },
  'deliveries show': {
    options: {},
    async run({ services, accountId, positionals }) {
      const id = positionals[0];
      if (!id) throw new UsageError('deliveries show needs the delivery id (demohooks-relay deliveries list)');
      const d = await services.reads.delivery(accountId, id);
      if (!d) throw new UsageError(`no delivery ${id} in account ${accountId}`);
      const head = [
        `Delivery ${d.id}: ${d.status}${d.manual_retries ? `, retried by hand ×${d.manual_retries}` : ''}${d.origin === 'replay' ? ', a replay' : ''}`,
        `  event ${d.event_id} (${d.event}) → ${d.target_url}`,
        `  subscription ${d.hook_id ?? '(deleted)'}; next attempt ${d.next_attempt_at ?? '-'}`,
      ].join('\n');
      const attempts = d.attempts.length
        ? table([
            ['#', 'STARTED', 'MS', 'ANSWER', 'RESPONSE'],
            ...d.attempts.map((a) => [String(a.n), a.started_at, String(a.duration_ms), a.status_code !== null ? `HTTP ${a.status_code}` : (a.error ?? '-').slice(0, 60), (a.response_snippet ?? '-').replace(/\s+/g, ' ').slice(0, 60)]),
          ])
        : 'No attempt yet.';
      return { json: d, text: `${head}\n\n${attempts}` };
    },
  },
  'deliveries retry': {
    options: {},
    async run({ services, accountId, positionals }) {
      const id = positionals[0];
      if (!id) throw new UsageError('deliveries retry needs the delivery id');
      const r = await services.deliveries.retry(accountId, id);
      if (!r.ok) throw new UsageError(r.why === 'not_found' ? `no delivery ${id} in account ${accountId}` : `cannot retry ${id}: ${r.message}`);
      return { json: { id, status: 'pending' }, text: `Delivery ${id} is due now (a running relay sends it within its poll interval).` };
    },
  },
};

