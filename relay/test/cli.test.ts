/**
 * The operator commands, run as an operator on the box would: the real binary against the
 * database a relay is using, with no HTTP involved.
 */
import { spawnSync } from 'node:child_process';
import { demoSessionSample } from '../../lib/providers/walnut.js';
import { call, freshSqliteUrl, RELAY_BIN, startSink, startTestRelay, until } from './harness.js';

const run = (dbUrl: string, ...args: string[]) => {
  const r = spawnSync(process.execPath, [RELAY_BIN, ...args], { env: { ...process.env, RELAY_DATABASE_URL: dbUrl }, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr, json: () => JSON.parse(r.stdout) };
};

describe('demohooks-relay operator commands', () => {
  it('lists, retries, rotates and disables against the database directly', async () => {
    const dbUrl = freshSqliteUrl();
    const relay = await startTestRelay(dbUrl);
    const sink = await startSink((r) => (r.path === '/bad' ? 400 : 200));
    try {
      const { apiKey, tokens, account } = await relay.store.createAccount('cli');
      await call(relay.url, 'POST', '/v1/hooks', { key: apiKey, body: { target_url: `${sink.url}/bad`, event: 'walnut.*' } });
      const body = JSON.stringify(demoSessionSample);
      const ack = await call(relay.url, 'POST', `/v1/inbound/walnut/${tokens.walnut}`, { body });
      expect(ack.status).toBe(200);
      await until('failed', async () => (await relay.store.deliveriesOf(ack.json.id))[0]?.status === 'failed');

      const hooks = run(dbUrl, 'hooks', 'list', '--json');
      expect(hooks.code).toBe(0);
      expect(hooks.json()).toMatchObject([{ event: 'walnut.*', failed: 1, pending: 0 }]);
      expect(run(dbUrl, 'hooks', 'list').out).toMatch(/^ID\s+EVENT\s+PENDING\s+FAILED/);
      expect(run(dbUrl, 'events', 'list', '--json').json().map((e: any) => [e.id, e.delivery_status])).toStrictEqual([[ack.json.id, 'failed']]);
      const failed = run(dbUrl, 'deliveries', 'list', '--status', 'failed', '--json').json();
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ event_id: ack.json.id, status: 'failed', last_status_code: 400 });

      const retried = run(dbUrl, 'deliveries', 'retry', failed[0].id, '--json');
      expect([retried.code, retried.json()]).toStrictEqual([0, { id: failed[0].id, status: 'pending' }]);
      await until('retried by the running relay', async () => (await relay.store.deliveriesOf(ack.json.id))[0].attempts === 2);
      const again = run(dbUrl, 'deliveries', 'retry', 'dlv_nope');
      expect([again.code, again.err.trim()]).toStrictEqual([2, `demohooks-relay: no delivery dlv_nope in account ${account.id}`]);
      expect(run(dbUrl, 'deliveries', 'list', '--status', 'lost').code).toBe(2);
      expect(run(dbUrl, 'deliveries', 'list', '--hook', failed[0].hook_id, '--json').json()).toHaveLength(1);
      const noHook = run(dbUrl, 'deliveries', 'list', '--hook', 'hook_nope');
      expect([noHook.code, noHook.err.trim()]).toStrictEqual([2, 'demohooks-relay: hook_id: no subscription hook_nope in this account']);

      const rotated = run(dbUrl, 'account', 'rotate-key', '--json').json();
      expect(rotated.api_key).toMatch(/^dh_/);
      expect((await call(relay.url, 'GET', '/v1/me', { key: apiKey })).status).toBe(401);
      expect((await call(relay.url, 'GET', '/v1/me', { key: rotated.api_key })).status).toBe(200);

      // Two accounts: the command asks which.
      await relay.store.createAccount('second');
      const ambiguous = run(dbUrl, 'hooks', 'list');
      expect([ambiguous.code, ambiguous.err]).toStrictEqual([2, expect.stringContaining('this relay has 2 accounts: name one with --account ID')]);
      expect(run(dbUrl, 'account', 'list', '--json').json().map((a: any) => a.name)).toStrictEqual(['cli', 'second']);

      const disabled = run(dbUrl, 'account', 'disable', '--account', account.id, '--json');
      expect(disabled.json()).toStrictEqual({ account_id: account.id, disabled: true, changed: true });
      expect((await call(relay.url, 'POST', `/v1/inbound/walnut/${tokens.walnut}`, { body })).status).toBe(404);
      expect((await call(relay.url, 'GET', '/v1/me', { key: rotated.api_key })).status).toBe(401);
    } finally {
      await relay.close();
      await sink.close();
    }
  });
});
