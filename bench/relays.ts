/** The relays the bench measures: spawned on a store, with accounts and subscriptions, and what their CPU cost. */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { freshPgUrl, freshSqliteUrl, pgAvailable, RELAY_BIN, spawnRelay } from '../relay/test/harness.js';

export const UNLIMITED = { RELAY_INBOUND_RATE_PER_MINUTE: '100000000', RELAY_API_RATE_PER_MINUTE: '10000000' };

/**
 * The relay's own defaults in place of the test harness's quick settings (a 20 ms poll, short
 * retries and timeouts, pacing off): a blank value is the default.
 */
export const AT_DEFAULTS = Object.fromEntries(
  ['RELAY_DELIVERY_TIMEOUT_MS', 'RELAY_POLL_MS', 'RELAY_IDLE_POLL_MS', 'RELAY_RETRY_BASE_MS', 'RELAY_RETRY_MAX_MS', 'RELAY_TARGET_RATE', 'RELAY_ZAPIER_USER_RATE', 'RELAY_ALERT_REPEAT_MS', 'RELAY_RECOVERED_AFTER_MS', 'RELAY_DELIVERY_CONCURRENCY'].map((k) => [k, '']),
);

export interface Running {
  url: string;
  inbound: string;
  key: string;
  /** Its processes: paused (SIGSTOP) while another row is measured, so an idle relay's polling costs that row nothing. */
  procs?: ChildProcess[];
  stop: () => void;
}

/** A new account on the store: its Walnut inbound path and API key. */
export function newAccount(databaseUrl: string, name = 'bench'): { path: string; key: string } {
  const acct = JSON.parse(execFileSync(process.execPath, [RELAY_BIN, 'account', 'create', '--name', name, '--json'], { env: { ...process.env, RELAY_DATABASE_URL: databaseUrl }, encoding: 'utf8' }));
  return { path: new URL(acct.inbound.walnut).pathname, key: acct.api_key };
}

export async function relayOn(databaseUrl: string, env: Record<string, string> = {}): Promise<Running> {
  const acct = newAccount(databaseUrl);
  // The per-URL inbound limit (1,000/s by default) would cap the load itself: set past reach, so
  // the limiter still does its bookkeeping on every request but never refuses one.
  const r = await spawnRelay({ RELAY_DATABASE_URL: databaseUrl, RELAY_DELIVERY_CONCURRENCY: '32', ...UNLIMITED, ...env }, false);
  return { url: r.url, inbound: `${r.url}${acct.path}`, key: acct.key, procs: [r.proc], stop: () => r.proc.kill('SIGTERM') };
}

/** `count` subscriptions to `target`/s<i>, numbered from `from`. */
export async function subscribe(r: Pick<Running, 'url' | 'key'>, target: string, count: number, from = 0): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const res = await fetch(`${r.url}/v1/hooks`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${r.key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ target_url: `${target}/s${i}`, event: 'walnut.*' }),
    });
    if (res.status !== 201) throw new Error(`subscribe failed: ${res.status} ${await res.text()}`);
  }
}

export const stores = (): Array<[string, () => string]> => [['SQLite', freshSqliteUrl], ...(pgAvailable.ok ? ([['PostgreSQL', freshPgUrl]] as Array<[string, () => string]>) : [])];

/** Until the process has exited (a profile is written on the way out). */
export function exited(proc: ChildProcess): Promise<void> {
  return proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve() : new Promise((r) => proc.once('exit', () => r()));
}

/**
 * CPU time (user + system, ms) every PostgreSQL process on this machine has used so far (its
 * backends, writer and checkpointer): the database's share of an event's cost. Processes that
 * ended between two readings are missed (the relay's pool keeps its connections).
 */
export function pgCpuMs(): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      const f = stat.split(') ')[1].split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // ended meanwhile
    }
  }
  return ticks * 10;
}
