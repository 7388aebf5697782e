/** `demohooks-relay`: serve, create an account, and the operator commands (relay/cli/*-commands.ts). */
import { PROVIDER_KEYS } from '../../lib/providers/index.js';
import { ConfigError, loadConfig, type RelayConfig } from '../config.js';
import { jsonLogger } from '../log.js';
import { inboundUrlsFor, startRelay } from '../main.js';
import { Store } from '../store/index.js';
import { ACCOUNT_COMMANDS } from './account-commands.js';
import { HOOK_COMMANDS } from './hook-commands.js';
import { LOG_COMMANDS } from './log-commands.js';
import { runOperator, servedUrl } from './operator.js';
import { USAGE } from './usage.js';

export { terminalSafe } from './format.js';

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
    const store = await Store.open(cfg.databaseUrl);
    try {
      await store.migrate();
      printAccount(await store.accounts.create(name), await servedUrl(store, cfg), rest.includes('--json'));
    } finally {
      await store.close();
    }
    return 0;
  }
  const ops = ACCOUNT_COMMANDS[`${cmd} ${sub}`] ?? HOOK_COMMANDS[`${cmd} ${sub}`] ?? LOG_COMMANDS[`${cmd} ${sub}`];
  if (ops) return runOperator(cfg, ops, rest);
  if (cmd === 'serve') {
    const log = jsonLogger();
    // Handlers first: a SIGTERM during start-up still drains and exits cleanly.
    let signalled: ((signal: string) => void) | null = null;
    const stopped = new Promise<string>((resolve) => (signalled = resolve));
    process.once('SIGTERM', () => signalled?.('SIGTERM'));
    process.once('SIGINT', () => signalled?.('SIGINT'));
    const relay = await startRelay(cfg, log);
    if ((await relay.store.accounts.count()) === 0) {
      // First start: a local account so a newcomer can connect Zapier straight away.
      // The key goes to the terminal (stderr), not to the log stream (stdout), and only now.
      const created = await relay.store.accounts.create('local');
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

