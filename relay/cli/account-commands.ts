/** The CLI's commands on accounts, alerts and subscriptions: each one service call, printed. */
import { orList, PROVIDER_KEYS } from '../../lib/providers/index.js';
import { isProviderKey as isProvider } from '../../lib/providers/index.js';
import { inboundUrlsFor } from '../main.js';
import { table, UsageError, type Command } from './format.js';

export const ACCOUNT_COMMANDS: Record<string, Command> = {
  'account list': {
    options: {},
    async run({ services }) {
      const accounts = await services.reads.accounts();
      return { json: accounts, text: accounts.length ? table([['ID', 'NAME', 'STATE'], ...accounts.map((a) => [a.id, a.name, a.disabled ? 'disabled' : 'active'])]) : 'No accounts yet: demohooks-relay account create --name NAME' };
    },
  },
  'account rotate-key': {
    options: {},
    async run({ services, accountId }) {
      const apiKey = await services.accounts.rotateKey(accountId);
      return { json: { account_id: accountId, api_key: apiKey }, text: `New API key for ${accountId} (shown once; the old key stops working now):\n  ${apiKey}` };
    },
  },
  'account disable': {
    options: {},
    async run({ services, accountId }) {
      const changed = await services.accounts.disable(accountId);
      return { json: { account_id: accountId, disabled: true, changed }, text: changed ? `Account ${accountId} disabled: its inbound URLs answer 404 and its API key 401, on every relay process.` : `Account ${accountId} was already disabled.` };
    },
  },
  'hooks delete': {
    options: {},
    async run({ services, accountId, positionals, cfg }) {
      const id = positionals[0];
      if (!id) throw new UsageError('hooks delete needs the subscription id (demohooks-relay hooks list)');
      // As DELETE /v1/hooks/{id}: nothing is sent to it once this returns.
      if (!(await services.subscriptions.unsubscribe(accountId, id, cfg.leaseMs))) throw new UsageError(`no subscription ${id} in account ${accountId}`);
      return { json: { id, deleted: true }, text: `Subscription ${id} deleted: its queued deliveries are cancelled and nothing more is sent to it. (Its Zap, if still on, subscribes again when turned off and on.)` };
    },
  },
  'hooks retry-failed': {
    options: { since: { type: 'string' } },
    async run({ services, accountId, positionals, values }) {
      const id = positionals[0];
      if (!id) throw new UsageError('hooks retry-failed needs the subscription id (demohooks-relay hooks list)');
      const since = values.since === undefined ? 0 : Date.parse(String(values.since));
      if (!Number.isFinite(since) || (values.since !== undefined && !/^\d{4}-\d\d-\d\d/.test(String(values.since)))) throw new UsageError('--since must be an ISO 8601 time, e.g. 2026-11-24T09:00:00Z');
      const n = await services.deliveries.retryFailed(accountId, id, since);
      if (n === null) throw new UsageError(`no subscription ${id} in account ${accountId}`);
      return { json: { queued: n }, text: n ? `${n} failed or given-up deliveries of ${id} are due again now.` : `Subscription ${id} has no failed or given-up deliveries${values.since ? ` since ${values.since}` : ''}.` };
    },
  },
  'events replay': {
    options: {},
    async run({ services, accountId, positionals }) {
      const id = positionals[0];
      if (!id) throw new UsageError('events replay needs the event id (demohooks-relay events list)');
      const n = await services.deliveries.replay(accountId, id);
      if (n === null) throw new UsageError(`no event ${id} in account ${accountId}`);
      return { json: { deliveries: n }, text: n ? `Event ${id} replayed to ${n} current subscription(s) (marked as replays).` : `Event ${id} matches no current subscription: nothing to send.` };
    },
  },
  'account enable': {
    options: {},
    async run({ services, accountId }) {
      const changed = await services.accounts.enable(accountId);
      return { json: { account_id: accountId, enabled: true, changed }, text: changed ? `Account ${accountId} enabled: its API key and inbound URLs work again and its paused deliveries are due.` : `Account ${accountId} was not disabled.` };
    },
  },
  'account rotate-inbound': {
    options: { provider: { type: 'string' }, 'overlap-hours': { type: 'string' } },
    async run({ services, accountId, values, publicUrl }) {
      const provider = values.provider as string | undefined;
      if (provider === undefined || !isProvider(provider)) throw new UsageError(`--provider must be ${orList(PROVIDER_KEYS)}`);
      const raw = values['overlap-hours'] ?? '24';
      const hours = Number(raw);
      if (!/^\d+(\.\d+)?$/.test(String(raw)) || hours > 720) throw new UsageError('--overlap-hours must be a number of hours from 0 to 720 (default 24: the old URL keeps working that long)');
      const r = await services.accounts.rotateInbound(accountId, provider, Math.round(hours * 3_600_000));
      const url = inboundUrlsFor(publicUrl, r.tokens)[provider];
      return {
        json: { inbound: inboundUrlsFor(publicUrl, r.tokens), old_url_valid_until: r.oldValidUntil },
        text: `New ${provider} inbound URL (paste it into the vendor now):\n  ${url}\nThe old URL keeps working until ${r.oldValidUntil}, then answers 404.`,
      };
    },
  },
  'alerts set': {
    options: {},
    async run({ services, accountId, positionals }) {
      const url = positionals[0];
      if (!url) throw new UsageError('alerts set needs the URL (a Slack incoming-webhook URL works as is)');
      const checked = await services.accounts.setAlertUrl(accountId, url);
      if (!checked.ok) throw new UsageError(checked.error);
      return { json: { url }, text: `Alerts for ${accountId} go to ${checked.url.host} from now on: a subscription failing, recovering, or giving deliveries up.` };
    },
  },
  'alerts remove': {
    options: {},
    async run({ services, accountId }) {
      await services.accounts.removeAlertUrl(accountId);
      return { json: { url: null }, text: `No more alerts for ${accountId}.` };
    },
  },
};
