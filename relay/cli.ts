import { PROVIDER_KEYS } from '../lib/providers/index.js';
import { loadConfig, publicBase } from './config.js';
import { openDb } from './db.js';
import { jsonLogger } from './log.js';
import { inboundUrlsFor, startRelay } from './server.js';
import { Store } from './store.js';

const USAGE = `usage:
  demohooks-relay serve
  demohooks-relay account create --name NAME [--json]

environment: HOST, PORT, RELAY_DATABASE_URL, RELAY_PUBLIC_URL, RELAY_TARGET_HOSTS,
RELAY_ALLOW_PRIVATE_TARGETS, RELAY_RETENTION_DAYS (see README)`;

function printAccount(created: { account: { id: string; name: string }; apiKey: string; tokens: Record<string, string> }, publicUrl: string, json: boolean) {
  const inbound = inboundUrlsFor(publicUrl, created.tokens);
  if (json) {
    process.stdout.write(`${JSON.stringify({ account_id: created.account.id, name: created.account.name, api_key: created.apiKey, inbound })}\n`);
    return;
  }
  // Printed to the terminal once, never logged: the key is stored only as a hash.
  process.stdout.write(
    [
      `Account "${created.account.name}" (${created.account.id}) created.`,
      `API key (shown once; paste it into the Zapier connection as "Relay API Key"):`,
      `  ${created.apiKey}`,
      `Inbound URLs (paste each into the vendor's webhook settings):`,
      ...PROVIDER_KEYS.map((p) => `  ${p.padEnd(9)} ${inbound[p]}`),
      '',
    ].join('\n'),
  );
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, sub, ...rest] = argv;
  const cfg = loadConfig();
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
      const created = await relay.store.createAccount('local');
      process.stdout.write('\nFirst start: created a local account.\n');
      printAccount(created, relay.publicUrl, false);
    }
    const signal = await stopped;
    log('info', 'shutting down', { signal });
    await relay.close();
    return 0;
  }
  process.stderr.write(`${USAGE}\n`);
  return cmd === undefined || cmd === '--help' || cmd === 'help' ? 0 : 2;
}
