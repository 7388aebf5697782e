/** Runs an operator command on the database directly (no server needed): the account it names, one service call, printed. */
import { parseArgs } from 'node:util';
import { UnknownCursor, UnknownFilter } from '../domain/errors.js';
import { publicBase, withServedRules, type RelayConfig } from '../config.js';
import { createServices } from '../services/index.js';
import { Store } from '../store/index.js';
import { ACCOUNT_COMMANDS } from './account-commands.js';
import { terminalSafe, UsageError, type Command } from './format.js';
import { USAGE } from './usage.js';

/** The base URL the relay on this database serves (it records it at start); else this environment's. */
export async function servedUrl(store: Store, cfg: RelayConfig): Promise<string> {
  return (await store.settings.get('public_url')) ?? publicBase(cfg);
}

export async function runOperator(cfg: RelayConfig, cmd: Command, args: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { ...cmd.options, account: { type: 'string' }, json: { type: 'boolean' } } });
  } catch (err) {
    process.stderr.write(`demohooks-relay: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const store = await Store.open(cfg.databaseUrl);
  try {
    await store.migrate();
    const rules = withServedRules(cfg, await store.settings.get('served_rules'));
    const services = createServices(store, rules);
    let accountId = parsed.values.account as string | undefined;
    if (accountId === undefined && cmd !== ACCOUNT_COMMANDS['account list']) {
      const accounts = await services.reads.accounts();
      if (accounts.length !== 1) throw new UsageError(accounts.length === 0 ? 'there are no accounts yet' : `this relay has ${accounts.length} accounts: name one with --account ID (demohooks-relay account list)`);
      accountId = accounts[0].id;
    } else if (accountId !== undefined && !(await services.reads.accounts()).some((a) => a.id === accountId)) {
      throw new UsageError(`no account ${accountId} (demohooks-relay account list)`);
    }
    const out = await cmd.run({ cfg: rules, services, accountId: accountId ?? '', positionals: parsed.positionals, values: parsed.values as never, publicUrl: await servedUrl(store, cfg) });
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
