import { orList, PROVIDER_KEYS } from '../lib/providers/index.js';
import { ConfigError, loadConfig, publicBase, type RelayConfig } from './config.js';
import { openDb } from './db.js';
import { jsonLogger } from './log.js';
import { inboundUrlsFor, startRelay } from './server.js';
import { parseArgs } from 'node:util';
import { ALERT_URL } from './alerts.js';
import { isRelayEvent, unknownEventMessage } from './http/schemas.js';
import { API_DELIVERY_STATUSES, EVENT_DELIVERY_STATUSES, isDeliveryStatus, isProvider, Operator, UnknownCursor, UnknownFilter } from './operator.js';
import { Store } from './store.js';
import { resolveTarget } from './targets.js';

const USAGE = `usage:
  demohooks-relay serve
  demohooks-relay account create --name NAME [--json]
  demohooks-relay account list [--json]
  demohooks-relay account rotate-key [--account ID] [--json]
  demohooks-relay account rotate-inbound --provider P [--overlap-hours H] [--account ID] [--json]
  demohooks-relay account disable [--account ID] [--json]
  demohooks-relay account enable [--account ID] [--json]
  demohooks-relay alerts set URL [--account ID] [--json]
  demohooks-relay alerts remove [--account ID] [--json]
  demohooks-relay hooks list [--limit N] [--before ID] [--account ID] [--json]
  demohooks-relay hooks delete HOOK_ID [--account ID] [--json]
  demohooks-relay hooks retry-failed HOOK_ID [--since ISO_TIME] [--account ID] [--json]
  demohooks-relay events list [--provider P] [--event E] [--delivery-status S] [--q TEXT] [--limit N] [--before ID] [--account ID] [--json]
  demohooks-relay events replay EVENT_ID [--account ID] [--json]
  demohooks-relay deliveries list [--status S] [--hook ID] [--limit N] [--before ID] [--account ID] [--json]
  demohooks-relay deliveries retry DELIVERY_ID [--account ID] [--json]

The operator commands work on the database directly (no server needed); a running relay
sends what they queue within its poll interval. --account may be left out while the relay
has one account. Lists print their newest rows first; when there are more, they say how to
ask for the next page (--before). A command that cannot do what was asked exits 2.

environment: HOST, PORT, RELAY_DATABASE_URL, RELAY_PUBLIC_URL, RELAY_TARGET_HOSTS,
RELAY_ALERT_HOSTS, RELAY_ALLOW_PRIVATE_TARGETS, RELAY_RETENTION_DAYS (see README)`;

function printAccount(
  created: { account: { id: string; name: string }; apiKey: string; tokens: Record<string, string> },
  publicUrl: string,
  json: boolean,
  out: NodeJS.WritableStream = process.stdout,
) {
  const inbound = inboundUrlsFor(publicUrl, created.tokens);
  if (json) {
    out.write(`${JSON.stringify({ account_id: created.account.id, name: created.account.name, api_key: created.apiKey, inbound })}\n`);
    return;
  }
  // Printed to the terminal once, never logged: the key is stored only as a hash.
  out.write(
    [
      `Account "${created.account.name}" (${created.account.id}) created.`,
      `API key (shown once; paste it into the Zapier connection as "Relay API Key"):`,
      `  ${created.apiKey}`,
      `Inbound URLs (paste each into the vendor's webhook settings):`,
      ...PROVIDER_KEYS.map((p) => `  ${p.padEnd(9)} ${inbound[p]}`),
      `Console (sign in with the API key above): ${publicUrl}/`,
      '',
    ].join('\n'),
  );
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, sub, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === 'help' || cmd === '-h') {
    // Asked for help: usage on stdout, success. No command at all: usage on stderr, exit 2.
    (cmd === undefined ? process.stderr : process.stdout).write(`${USAGE}\n`);
    return cmd === undefined ? 2 : 0;
  }
  let cfg: RelayConfig;
  try {
    cfg = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`demohooks-relay: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (cmd === 'account' && sub === 'create') {
    const i = rest.indexOf('--name');
    const name = i >= 0 ? rest[i + 1] : undefined;
    if (!name || name.startsWith('--')) {
      process.stderr.write(`account create needs --name NAME\n${USAGE}\n`);
      return 2;
    }
    const store = new Store(await openDb(cfg.databaseUrl));
    try {
      await store.migrate();
      printAccount(await store.createAccount(name), await servedUrl(store, cfg), rest.includes('--json'));
    } finally {
      await store.close();
    }
    return 0;
  }
  const ops = OPERATOR_COMMANDS[`${cmd} ${sub}`];
  if (ops) return runOperator(cfg, ops, rest);
  if (cmd === 'serve') {
    const log = jsonLogger();
    // Handlers first: a SIGTERM during start-up still drains and exits cleanly.
    let signalled: ((signal: string) => void) | null = null;
    const stopped = new Promise<string>((resolve) => (signalled = resolve));
    process.once('SIGTERM', () => signalled?.('SIGTERM'));
    process.once('SIGINT', () => signalled?.('SIGINT'));
    const relay = await startRelay(cfg, log);
    if ((await relay.store.countAccounts()) === 0) {
      // First start: a local account so a newcomer can connect Zapier straight away.
      // The key goes to the terminal (stderr), not to the log stream (stdout), and only now.
      const created = await relay.store.createAccount('local');
      process.stderr.write('\nFirst start: created a local account.\n');
      printAccount(created, relay.publicUrl, false, process.stderr);
    }
    const signal = await stopped;
    log('info', 'shutting down', { signal });
    await relay.close();
    return 0;
  }
  process.stderr.write(`demohooks-relay: unknown command "${argv.join(' ')}"\n${USAGE}\n`);
  return 2;
}

// Operator commands -----------------------------------------------------------------------------

/** The base URL the relay on this database serves (it records it at start); else this environment's. */
async function servedUrl(store: Store, cfg: RelayConfig): Promise<string> {
  return (await store.setting('public_url')) ?? publicBase(cfg);
}

/** A list's rows, and the command that asks for the next page when there is one. */
function paging<T extends { id: string }>(rows: T[], limit: number, next: (before: string) => string): { rows: T[]; more: string } {
  const page = rows.slice(0, limit);
  return { rows: page, more: rows.length > limit ? `\nMore: ${next(page[page.length - 1].id)}` : '' };
}

const argsOf = (values: Record<string, unknown>, names: string[]) =>
  names.flatMap((n) => (values[n] === undefined ? [] : [`--${n}`, String(values[n])]));

class UsageError extends Error {}

interface OpContext {
  cfg: RelayConfig;
  store: Store;
  operator: Operator;
  accountId: string;
  positionals: string[];
  values: Record<string, string | boolean | undefined>;
  publicUrl: string;
}

type OpResult = { json: unknown; text: string };

/**
 * Text from the database (event names, account names, errors) made safe for a terminal: control
 * characters (C0, DEL, C1 such as the one-byte CSI) and bidirectional overrides are shown as
 * `\uXXXX`, so a payload cannot move the cursor, recolour or rewrite the operator's screen.
 */
export const terminalSafe = (text: string): string =>
  text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);

const table = (input: string[][]): string => {
  if (input.length === 0) return '';
  const rows = input.map((r) => r.map((c) => terminalSafe(c ?? '')));
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ').trimEnd()).join('\n');
};

const limitArg = (v: string | boolean | undefined, dflt: number): number => {
  const n = v === undefined ? dflt : Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new UsageError('--limit must be a whole number from 1 to 1000');
  return n;
};

const OPERATOR_COMMANDS: Record<string, { options: Record<string, { type: 'string' | 'boolean' }>; run: (c: OpContext) => Promise<OpResult> }> = {
  'account list': {
    options: {},
    async run({ operator }) {
      const accounts = await operator.accounts();
      return { json: accounts, text: accounts.length ? table([['ID', 'NAME', 'STATE'], ...accounts.map((a) => [a.id, a.name, a.disabled ? 'disabled' : 'active'])]) : 'No accounts yet: demohooks-relay account create --name NAME' };
    },
  },
  'account rotate-key': {
    options: {},
    async run({ operator, accountId }) {
      const apiKey = await operator.rotateKey(accountId);
      return { json: { account_id: accountId, api_key: apiKey }, text: `New API key for ${accountId} (shown once; the old key stops working now):\n  ${apiKey}` };
    },
  },
  'account disable': {
    options: {},
    async run({ operator, accountId }) {
      const changed = await operator.disable(accountId);
      return { json: { account_id: accountId, disabled: true, changed }, text: changed ? `Account ${accountId} disabled: its inbound URLs answer 404 and its API key 401, on every relay process.` : `Account ${accountId} was already disabled.` };
    },
  },
  'hooks list': {
    options: { limit: { type: 'string' }, before: { type: 'string' } },
    async run({ operator, accountId, values }) {
      const limit = limitArg(values.limit, 100);
      const { rows: hooks, more } = paging(await operator.hooks(accountId, { limit: limit + 1, before: values.before as string | undefined }), limit, (b) =>
        ['demohooks-relay hooks list', ...argsOf(values, ['account', 'limit']), '--before', b].join(' '),
      );
      const health = (h: (typeof hooks)[number]) => (h.health === 'failing' ? `FAILING since ${h.failing_since} (${h.consecutive_failures} failed)` : 'healthy');
      return {
        json: hooks,
        text: hooks.length
          ? table([
              ['ID', 'EVENT', 'TARGET', 'HEALTH', 'PENDING', 'FAILED', 'LAST SUCCESS', 'LAST ERROR'],
              ...hooks.map((h) => [h.id, h.event, h.target_url, health(h), String(h.pending), String(h.failed), h.last_success_at ?? '-', (h.last_error ?? '-').slice(0, 60)]),
            ]) + more
          : 'No subscriptions: turn on a Zap that uses a demohooks trigger.',
      };
    },
  },
  'hooks delete': {
    options: {},
    async run({ store, accountId, positionals, cfg }) {
      const id = positionals[0];
      if (!id) throw new UsageError('hooks delete needs the subscription id (demohooks-relay hooks list)');
      // As DELETE /v1/hooks/{id}: nothing is sent to it once this returns.
      if (!(await store.deleteHook(accountId, id, cfg.leaseMs))) throw new UsageError(`no subscription ${id} in account ${accountId}`);
      return { json: { id, deleted: true }, text: `Subscription ${id} deleted: its queued deliveries are cancelled and nothing more is sent to it. (Its Zap, if still on, subscribes again when turned off and on.)` };
    },
  },
  'hooks retry-failed': {
    options: { since: { type: 'string' } },
    async run({ operator, accountId, positionals, values }) {
      const id = positionals[0];
      if (!id) throw new UsageError('hooks retry-failed needs the subscription id (demohooks-relay hooks list)');
      const since = values.since === undefined ? 0 : Date.parse(String(values.since));
      if (!Number.isFinite(since) || (values.since !== undefined && !/^\d{4}-\d\d-\d\d/.test(String(values.since)))) throw new UsageError('--since must be an ISO 8601 time, e.g. 2026-11-24T09:00:00Z');
      const n = await operator.retryFailed(accountId, id, since);
      if (n === null) throw new UsageError(`no subscription ${id} in account ${accountId}`);
      return { json: { queued: n }, text: n ? `${n} failed or given-up deliveries of ${id} are due again now.` : `Subscription ${id} has no failed or given-up deliveries${values.since ? ` since ${values.since}` : ''}.` };
    },
  },
  'events replay': {
    options: {},
    async run({ store, accountId, positionals }) {
      const id = positionals[0];
      if (!id) throw new UsageError('events replay needs the event id (demohooks-relay events list)');
      const n = await store.replay(accountId, id);
      if (n === null) throw new UsageError(`no event ${id} in account ${accountId}`);
      return { json: { deliveries: n }, text: n ? `Event ${id} replayed to ${n} current subscription(s) (marked as replays).` : `Event ${id} matches no current subscription: nothing to send.` };
    },
  },
  'account enable': {
    options: {},
    async run({ operator, accountId }) {
      const changed = await operator.enable(accountId);
      return { json: { account_id: accountId, enabled: true, changed }, text: changed ? `Account ${accountId} enabled: its API key and inbound URLs work again and its paused deliveries are due.` : `Account ${accountId} was not disabled.` };
    },
  },
  'account rotate-inbound': {
    options: { provider: { type: 'string' }, 'overlap-hours': { type: 'string' } },
    async run({ operator, accountId, values, publicUrl }) {
      const provider = values.provider as string | undefined;
      if (provider === undefined || !isProvider(provider)) throw new UsageError(`--provider must be ${orList(PROVIDER_KEYS)}`);
      const raw = values['overlap-hours'] ?? '24';
      const hours = Number(raw);
      if (!/^\d+(\.\d+)?$/.test(String(raw)) || hours > 720) throw new UsageError('--overlap-hours must be a number of hours from 0 to 720 (default 24: the old URL keeps working that long)');
      const r = await operator.rotateInbound(accountId, provider, Math.round(hours * 3_600_000));
      const url = inboundUrlsFor(publicUrl, r.tokens)[provider];
      return {
        json: { inbound: inboundUrlsFor(publicUrl, r.tokens), old_url_valid_until: r.oldValidUntil },
        text: `New ${provider} inbound URL (paste it into the vendor now):\n  ${url}\nThe old URL keeps working until ${r.oldValidUntil}, then answers 404.`,
      };
    },
  },
  'alerts set': {
    options: {},
    async run({ operator, accountId, positionals, cfg }) {
      const url = positionals[0];
      if (!url) throw new UsageError('alerts set needs the URL (a Slack incoming-webhook URL works as is)');
      const checked = await resolveTarget(url, { targetHosts: cfg.alertHosts, allowPrivateTargets: cfg.allowPrivateTargets }, undefined, ALERT_URL);
      if (!checked.ok) throw new UsageError(checked.error);
      await operator.setAlertUrl(accountId, url);
      return { json: { url }, text: `Alerts for ${accountId} go to ${checked.url.host} from now on: a subscription failing, recovering, or giving deliveries up.` };
    },
  },
  'alerts remove': {
    options: {},
    async run({ operator, accountId }) {
      await operator.setAlertUrl(accountId, null);
      return { json: { url: null }, text: `No more alerts for ${accountId}.` };
    },
  },
  'events list': {
    options: { provider: { type: 'string' }, event: { type: 'string' }, 'delivery-status': { type: 'string' }, q: { type: 'string' }, limit: { type: 'string' }, before: { type: 'string' } },
    async run({ operator, accountId, values }) {
      const provider = values.provider as string | undefined;
      if (provider !== undefined && !isProvider(provider)) throw new UsageError(`--provider must be ${orList(PROVIDER_KEYS)}`);
      const event = values.event as string | undefined;
      // As the API: an event name this relay does not know is a mistake, not an empty list.
      if (event !== undefined && !isRelayEvent(event)) throw new UsageError(unknownEventMessage(event));
      const state = values['delivery-status'] as string | undefined;
      if (state !== undefined && !(EVENT_DELIVERY_STATUSES as readonly string[]).includes(state)) throw new UsageError(`--delivery-status must be one of ${EVENT_DELIVERY_STATUSES.join(', ')}`);
      const limit = limitArg(values.limit, 20);
      const { rows, more } = paging(
        await operator.events(accountId, { provider: provider as never, event, deliveryStatus: state as never, q: values.q as string | undefined, limit: limit + 1, before: values.before as string | undefined }),
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
    async run({ operator, accountId, values }) {
      const status = values.status as string | undefined;
      if (status !== undefined && !isDeliveryStatus(status)) throw new UsageError(`--status must be one of ${API_DELIVERY_STATUSES.join(', ')}`);
      const limit = limitArg(values.limit, 50);
      const { rows, more } = paging(
        await operator.deliveries(accountId, { status: status as never, hookId: values.hook as string | undefined, limit: limit + 1, before: values.before as string | undefined }),
        limit,
        (b) => ['demohooks-relay deliveries list', ...argsOf(values, ['account', 'status', 'hook', 'limit']), '--before', b].join(' '),
      );
      const marks = (d: (typeof rows)[number]) => [d.origin === 'replay' ? 'replay' : '', d.manual_retries ? `retried by hand ×${d.manual_retries}` : ''].filter(Boolean).join(', ');
      return {
        json: rows,
        text: rows.length
          ? table([
              ['ID', 'EVENT ID', 'TARGET', 'STATUS', 'ATTEMPTS', 'LAST ANSWER', 'UPDATED', 'NOTE'],
              ...rows.map((d) => [d.id, d.event_id, d.target_url, d.status, String(d.attempt_count), d.last_status_code !== null ? `HTTP ${d.last_status_code}` : (d.last_error ?? '-').slice(0, 50), d.updated_at, marks(d) || '-']),
            ]) + more
          : 'No deliveries match.',
      };
    },
  },
  'deliveries retry': {
    options: {},
    async run({ operator, accountId, positionals }) {
      const id = positionals[0];
      if (!id) throw new UsageError('deliveries retry needs the delivery id');
      const r = await operator.retryDelivery(accountId, id);
      if (!r.ok) throw new UsageError(r.why === 'not_found' ? `no delivery ${id} in account ${accountId}` : `cannot retry ${id}: ${r.message}`);
      return { json: { id, status: 'pending' }, text: `Delivery ${id} is due again now (a running relay sends it within its poll interval).` };
    },
  },
};

async function runOperator(cfg: RelayConfig, cmd: (typeof OPERATOR_COMMANDS)[string], args: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { ...cmd.options, account: { type: 'string' }, json: { type: 'boolean' } } });
  } catch (err) {
    process.stderr.write(`demohooks-relay: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const store = new Store(await openDb(cfg.databaseUrl));
  try {
    await store.migrate();
    const operator = new Operator(store);
    let accountId = parsed.values.account as string | undefined;
    if (accountId === undefined && cmd !== OPERATOR_COMMANDS['account list']) {
      const accounts = await operator.accounts();
      if (accounts.length !== 1) throw new UsageError(accounts.length === 0 ? 'there are no accounts yet' : `this relay has ${accounts.length} accounts: name one with --account ID (demohooks-relay account list)`);
      accountId = accounts[0].id;
    } else if (accountId !== undefined && !(await operator.accounts()).some((a) => a.id === accountId)) {
      throw new UsageError(`no account ${accountId} (demohooks-relay account list)`);
    }
    const out = await cmd.run({ cfg, store, operator, accountId: accountId ?? '', positionals: parsed.positionals, values: parsed.values as never, publicUrl: await servedUrl(store, cfg) });
    // JSON.stringify escapes C0 but leaves C1 controls raw: escaped here, it is the same JSON.
    process.stdout.write(`${parsed.values.json ? terminalSafe(JSON.stringify(out.json)) : out.text}\n`);
    return 0;
  } catch (err) {
    if (err instanceof UsageError || err instanceof UnknownCursor || err instanceof UnknownFilter) {
      process.stderr.write(`demohooks-relay: ${terminalSafe(err.message)}\n`);
      return 2;
    }
    throw err;
  } finally {
    await store.close();
  }
}
