/**
 * The operator commands, run as an operator on the box would: the real binary against the
 * database a relay is using, with no HTTP involved.
 */
import { spawnSync } from 'node:child_process';
import { demoSessionSample } from '../../lib/providers/walnut.js';
import { call, freshSqliteUrl, RELAY_BIN, startSink, startTestRelay, until } from './harness.js';
import { deliveriesOf } from './fixtures.js';

const run = (dbUrl: string, ...args: string[]) => {
  const r = spawnSync(process.execPath, [RELAY_BIN, ...args], {
    // The CLI's own environment names no port or public URL: what it prints must come from the running relay.
    env: { ...process.env, RELAY_DATABASE_URL: dbUrl, RELAY_ALERT_HOSTS: '127.0.0.1:*', RELAY_ALLOW_PRIVATE_TARGETS: '1', PORT: '', RELAY_PUBLIC_URL: '' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr, json: () => JSON.parse(r.stdout) };
};

describe('demohooks-relay operator commands', () => {
  it('lists, retries, rotates and disables against the database directly', async () => {
    const dbUrl = freshSqliteUrl();
    const relay = await startTestRelay(dbUrl);
    const sink = await startSink((r) => (r.path === '/bad' ? 400 : 200));
    try {
      const { apiKey, tokens, account } = await relay.store.accounts.create('cli');
      await call(relay.url, 'POST', '/v1/hooks', { key: apiKey, body: { target_url: `${sink.url}/bad`, event: 'walnut.*' } });
      const body = JSON.stringify(demoSessionSample);
      const ack = await call(relay.url, 'POST', `/v1/inbound/walnut/${tokens.walnut}`, { body });
      expect(ack.status).toBe(200);
      await until('failed', async () => (await deliveriesOf(relay, ack.json.id))[0]?.status === 'failed');

      const hooks = run(dbUrl, 'hooks', 'list', '--json');
      expect(hooks.code).toBe(0);
      expect(hooks.json()).toMatchObject([{ event: 'walnut.*', failed: 1, pending: 0 }]);
      expect(run(dbUrl, 'hooks', 'list').out).toMatch(/^ID\s+ZAP\s+TRIGGER\s+EVENT\s+TARGET\s+HEALTH\s+PENDING\s+RETRYING\s+FAILED OR GIVEN UP\s+DELIVERED, 24 H/);
      expect(run(dbUrl, 'events', 'list', '--json').json().map((e: any) => [e.id, e.delivery_status])).toStrictEqual([[ack.json.id, 'failed']]);
      const failed = run(dbUrl, 'deliveries', 'list', '--status', 'failed', '--json').json();
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ event_id: ack.json.id, status: 'failed', last_status_code: 400 });

      const retried = run(dbUrl, 'deliveries', 'retry', failed[0].id, '--json');
      expect([retried.code, retried.json()]).toStrictEqual([0, { id: failed[0].id, status: 'pending' }]);
      await until('retried by the running relay', async () => (await deliveriesOf(relay, ack.json.id))[0].attempts === 2);
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
      await relay.store.accounts.create('second');
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

  it("has the API's subscription commands: hooks create and retry-now, deliveries show with attempts and the next one, and the running relay's rules for alert URLs", async () => {
    const dbUrl = freshSqliteUrl();
    // The relay allows alert URLs on 127.0.0.1; the CLI's own environment does not say so.
    const relay = await startTestRelay(dbUrl, { alertHosts: ['127.0.0.1:*'], retryBaseMs: 60_000, retryMaxMs: 60_000 });
    const sink = await startSink(() => 500);
    const cli = (...args: string[]) => {
      const r = spawnSync(process.execPath, [RELAY_BIN, ...args], {
        env: { ...process.env, RELAY_DATABASE_URL: dbUrl, RELAY_ALERT_HOSTS: '', RELAY_TARGET_HOSTS: '', RELAY_ALLOW_PRIVATE_TARGETS: '', PORT: '', RELAY_PUBLIC_URL: '' },
        encoding: 'utf8',
        timeout: 20_000,
      });
      return { code: r.status, out: r.stdout, err: r.stderr, json: () => JSON.parse(r.stdout) };
    };
    try {
      const { tokens } = await relay.store.accounts.create('cli');
      const created = cli('hooks', 'create', `${sink.url}/hooks/standard/1/zap-a/`, '--event', 'walnut.*', '--zap-id', '991', '--trigger', 'walnut_any_event', '--json');
      expect(created.code).toBe(0);
      expect(created.json()).toMatchObject({ event: 'walnut.*', zap_id: '991', trigger: 'walnut_any_event' });
      const typo = cli('hooks', 'create', `${sink.url}/x`, '--event', 'walnut.demo_session_finishd');
      expect([typo.code, typo.err]).toStrictEqual([2, expect.stringContaining('did you mean "walnut.demo_session_finished"')]);
      expect(cli('hooks', 'create', `${sink.url}/x`).code).toBe(2);
      const listed = cli('hooks', 'list');
      expect(listed.out).toContain('991');
      expect(listed.out).toContain('zap-a/');

      const ack = await call(relay.url, 'POST', `/v1/inbound/walnut/${tokens.walnut}`, { body: JSON.stringify(demoSessionSample) });
      await until('retrying', async () => (await deliveriesOf(relay, ack.json.id))[0]?.attempts === 1);
      const [d] = await deliveriesOf(relay, ack.json.id);
      const shown = cli('deliveries', 'show', d.id);
      expect(shown.code).toBe(0);
      expect(shown.out).toContain(`Delivery ${d.id}: retrying`);
      expect(shown.out).toMatch(/^1\s+\S+\s+\d+\s+HTTP 500/m);
      expect(cli('deliveries', 'show', d.id, '--json').json()).toMatchObject({ id: d.id, event_id: ack.json.id, attempts: [{ n: 1, status_code: 500 }], next_attempt_at: expect.any(String) });
      expect(cli('deliveries', 'list').out).toMatch(/NEXT ATTEMPT/);
      expect(cli('deliveries', 'show', 'dlv_nope').code).toBe(2);

      const now = cli('hooks', 'retry-now', created.json().id, '--json');
      expect([now.code, now.json()]).toStrictEqual([0, { queued: 1 }]);
      await until('sent again by the running relay', async () => (await deliveriesOf(relay, ack.json.id))[0].attempts === 2);
      expect(cli('hooks', 'retry-now', 'hook_nope').code).toBe(2);

      // The alert URL passes by the rules of the relay that serves this database.
      const alerts = cli('alerts', 'set', `${sink.url}/services/T0/B0/x`);
      expect([alerts.code, alerts.err]).toStrictEqual([0, '']);
    } finally {
      await relay.close();
      await sink.close();
    }
  });

  it('has every console action, with target columns, paging, the URLs the running relay serves, and exit 2 on every refusal', async () => {
    const dbUrl = freshSqliteUrl();
    const relay = await startTestRelay(dbUrl, { giveUpMs: 300, retryBaseMs: 40, retryMaxMs: 80, alertHosts: ['127.0.0.1:*'] });
    const sink = await startSink((r) => (r.path === '/bad' ? 400 : 200));
    try {
      // account create prints the inbound URLs and console of the relay on this database, not of the CLI's environment.
      const created = run(dbUrl, 'account', 'create', '--name', 'ops', '--json');
      expect(created.code).toBe(0);
      const acct = created.json();
      expect(acct.inbound.walnut.startsWith(`${relay.publicUrl}/v1/inbound/walnut/`)).toBe(true);
      expect(run(dbUrl, 'account', 'create', '--name', 'ops2').out).toContain(`Console (sign in with the API key above): ${relay.publicUrl}/`);
      const A = ['--account', acct.account_id];
      const key = acct.api_key;
      const bad = (await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${sink.url}/bad`, event: 'walnut.*' } })).json;
      await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${sink.url}/ok`, event: 'walnut.*' } });
      const body = JSON.stringify(demoSessionSample);
      const ack = await call('', 'POST', acct.inbound.walnut, { body });
      await until('settled', async () => (await deliveriesOf(relay, ack.json.id)).map((d) => d.status).sort().join() === 'delivered,failed');

      // Lists: target columns, health, paging that says how to go on.
      const hooksText = run(dbUrl, 'hooks', 'list', ...A).out;
      expect(hooksText).toMatch(/^ID\s+ZAP\s+TRIGGER\s+EVENT\s+TARGET\s+HEALTH\s+PENDING\s+RETRYING\s+FAILED OR GIVEN UP/);
      expect(hooksText).toContain(`${sink.url}/bad`);
      expect(hooksText).toMatch(/FAILING since \S+ \(1 failed attempt\)/);
      const page1 = run(dbUrl, 'deliveries', 'list', ...A, '--limit', '1');
      expect(page1.out).toMatch(/^ID\s+EVENT ID\s+TARGET\s+STATUS/);
      const more = /More: (demohooks-relay deliveries list .* --before (\S+))$/m.exec(page1.out);
      expect(more).not.toBeNull();
      const page2 = run(dbUrl, 'deliveries', 'list', ...A, '--limit', '1', '--before', more![2], '--json').json();
      expect(page2).toHaveLength(1);
      expect(run(dbUrl, 'deliveries', 'list', ...A, '--limit', '1', '--before', page2[0].id).out.trim()).toBe('No deliveries match.');
      expect(run(dbUrl, 'events', 'list', ...A, '--delivery-status', 'failed', '--json').json().map((e: any) => e.id)).toStrictEqual([ack.json.id]);

      // Refusals exit 2 and say what was wrong, as the API would.
      const unknownEvent = run(dbUrl, 'events', 'list', ...A, '--event', 'walnut.nope');
      expect([unknownEvent.code, unknownEvent.err]).toStrictEqual([2, expect.stringContaining('unknown event "walnut.nope"')]);
      expect(run(dbUrl, 'events', 'list', ...A, '--delivery-status', 'lost').code).toBe(2);
      expect(run(dbUrl, 'hooks', 'retry-failed', 'hook_nope', ...A).code).toBe(2);
      expect(run(dbUrl, 'hooks', 'retry-failed', bad.id, '--since', 'yesterday', ...A).code).toBe(2);
      expect(run(dbUrl, 'events', 'replay', 'evt_nope', ...A).code).toBe(2);
      expect(run(dbUrl, 'account', 'rotate-inbound', '--provider', 'hubspot', ...A).code).toBe(2);
      const refusedAlert = run(dbUrl, 'alerts', 'set', 'https://example.com/x', ...A);
      expect([refusedAlert.code, refusedAlert.err]).toStrictEqual([2, expect.stringContaining('RELAY_ALERT_HOSTS')]);

      // The actions.
      const retried = run(dbUrl, 'hooks', 'retry-failed', bad.id, ...A, '--json');
      expect([retried.code, retried.json()]).toStrictEqual([0, { queued: 1 }]);
      await until('failed again', async () => (await deliveriesOf(relay, ack.json.id)).find((d) => d.hook_id === bad.id)?.attempts === 2);
      const replayed = run(dbUrl, 'events', 'replay', ack.json.id, ...A, '--json');
      expect([replayed.code, replayed.json()]).toStrictEqual([0, { deliveries: 2 }]);
      const replays = run(dbUrl, 'deliveries', 'list', ...A);
      expect(replays.out).toContain('replay');
      expect(replays.out).toContain('retried by hand ×1');
      const rotated = run(dbUrl, 'account', 'rotate-inbound', '--provider', 'walnut', '--overlap-hours', '1', ...A, '--json').json();
      expect(rotated.inbound.walnut.startsWith(`${relay.publicUrl}/v1/inbound/walnut/`)).toBe(true);
      expect(rotated.inbound.walnut).not.toBe(acct.inbound.walnut);
      expect(run(dbUrl, 'alerts', 'set', `${sink.url}/alerts`, ...A).code).toBe(0);
      expect((await call(relay.url, 'GET', '/v1/me', { key })).json.alert_url).toBe(`${sink.url}/alerts`);
      expect(run(dbUrl, 'alerts', 'remove', ...A).code).toBe(0);
      expect((await call(relay.url, 'GET', '/v1/me', { key })).json.alert_url).toBeNull();

      const deleted = run(dbUrl, 'hooks', 'delete', bad.id, ...A, '--json');
      expect([deleted.code, deleted.json()]).toStrictEqual([0, { id: bad.id, deleted: true }]);
      expect(run(dbUrl, 'hooks', 'delete', bad.id, ...A).code).toBe(2);

      expect(run(dbUrl, 'account', 'disable', ...A).code).toBe(0);
      expect((await call(relay.url, 'GET', '/v1/me', { key })).status).toBe(401);
      const enabled = run(dbUrl, 'account', 'enable', ...A, '--json');
      expect([enabled.code, enabled.json()]).toStrictEqual([0, { account_id: acct.account_id, enabled: true, changed: true }]);
      await until('the key works again', async () => (await call(relay.url, 'GET', '/v1/me', { key })).status === 200);

      // The usage text names every command and --before.
      const usage = run(dbUrl, '--help').out;
      for (const c of ['hooks delete', 'hooks retry-failed', 'events replay', 'account enable', 'account rotate-inbound', 'alerts set', 'alerts remove', '--before']) expect(usage).toContain(c);
    } finally {
      await relay.close();
      await sink.close();
    }
  });
});
