import { orList, PROVIDER_KEYS } from '../lib/providers/index.js';
import { ConfigError, loadConfig, publicBase, type RelayConfig } from './config.js';
import { openDb } from './db.js';
import { jsonLogger } from './log.js';
import { inboundUrlsFor, startRelay } from './server.js';
import { parseArgs } from 'node:util';
import { isDeliveryStatus, isProvider, Operator, UnknownCursor, UnknownFilter } from './operator.js';
import { DELIVERY_STATUSES, Store } from './store.js';

const USAGE = `usage:
  demohooks-relay serve
  demohooks-relay account create --name NAME [--json]
  demohooks-relay account list [--json]
  demohooks-relay account rotate-key [--account ID] [--json]
  demohooks-relay account disable [--account ID] [--json]
  demohooks-relay hooks list [--account ID] [--json]
  demohooks-relay events list [--account ID] [--provider P] [--event E] [--q TEXT] [--limit N] [--json]
  demohooks-relay deliveries list [--account ID] [--status S] [--hook ID] [--limit N] [--json]
  demohooks-relay deliveries retry DELIVERY_ID [--account ID] [--json]

The operator commands work on the database directly (no server needed). --account may be
left out while the relay has one account.

environment: HOST, PORT, RELAY_DATABASE_URL, RELAY_PUBLIC_URL, RELAY_TARGET_HOSTS,
RELAY_ALLOW_PRIVATE_TARGETS, RELAY_RETENTION_DAYS (see README)`;

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
      printAccount(await store.createAccount(name), publicBase(cfg), rest.includes('--json'));
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

class UsageError extends Error {}

interface OpContext {
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
    options: {},
    async run({ operator, accountId }) {
      const hooks = await operator.hooks(accountId);
      return {
        json: hooks,
        text: hooks.length
          ? table([['ID', 'EVENT', 'PENDING', 'FAILED', 'LAST SUCCESS', 'LAST ERROR'], ...hooks.map((h) => [h.id, h.event, String(h.pending), String(h.failed), h.last_success_at ?? '-', (h.last_error ?? '-').slice(0, 60)])])
          : 'No subscriptions: turn on a Zap that uses a demohooks trigger.',
      };
    },
  },
  'events list': {
    options: { provider: { type: 'string' }, event: { type: 'string' }, q: { type: 'string' }, limit: { type: 'string' }, before: { type: 'string' } },
    async run({ operator, accountId, values }) {
      const provider = values.provider as string | undefined;
      if (provider !== undefined && !isProvider(provider)) throw new UsageError(`--provider must be ${orList(PROVIDER_KEYS)}`);
      const rows = await operator.events(accountId, { provider: provider as never, event: values.event as string | undefined, q: values.q as string | undefined, limit: limitArg(values.limit, 20), before: values.before as string | undefined });
      return {
        json: rows,
        text: rows.length ? table([['ID', 'RECEIVED', 'EVENT', 'DELIVERY'], ...rows.map((e) => [e.id, e.received_at, e.event, e.delivery_status])]) : 'No events match.',
      };
    },
  },
  'deliveries list': {
    options: { status: { type: 'string' }, hook: { type: 'string' }, limit: { type: 'string' }, before: { type: 'string' } },
    async run({ operator, accountId, values }) {
      const status = values.status as string | undefined;
      if (status !== undefined && !isDeliveryStatus(status)) throw new UsageError(`--status must be one of ${DELIVERY_STATUSES.join(', ')}`);
      const rows = await operator.deliveries(accountId, { status: status as never, hookId: values.hook as string | undefined, limit: limitArg(values.limit, 50), before: values.before as string | undefined });
      return {
        json: rows,
        text: rows.length
          ? table([['ID', 'EVENT ID', 'STATUS', 'ATTEMPTS', 'LAST ANSWER', 'UPDATED'], ...rows.map((d) => [d.id, d.event_id, d.status, String(d.attempt_count), d.last_status_code !== null ? `HTTP ${d.last_status_code}` : (d.last_error ?? '-').slice(0, 50), d.updated_at])])
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
    const out = await cmd.run({ store, operator, accountId: accountId ?? '', positionals: parsed.positionals, values: parsed.values as never, publicUrl: publicBase(cfg) });
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
