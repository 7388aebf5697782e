/**
 * `npm run demo`: the whole path on this machine, with no Zapier account and no network.
 *
 *   vendor samples ──signed POST──▶ relay (real, SQLite in a temp dir) ──▶ local stand-in for
 *   Zapier's hook URL ──▶ the real trigger perform (via zapier-platform-core) ──▶ printed record
 *
 * Every documented payload of the three vendors is signed with a demo secret and posted to
 * the relay's inbound URL; then a vendor retry (acked as a duplicate, not delivered twice)
 * and a forged delivery (refused by the trigger) show the safety rules at work.
 * `--json` prints each record in full. `--keep` leaves the relay running afterwards and prints
 * the console's address and the demo account's API key, to look at real data in the console.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import zapier from 'zapier-platform-core';
import App from '../index.js';
import { PROVIDERS, type ProviderKey } from '../lib/providers/index.js';
import { asZapierHookHeaders, signRequest } from '../lib/signature.js';
import { loadConfig } from '../relay/config.js';
import { silentLogger } from '../relay/log.js';
import { startRelay } from '../relay/main.js';

const full = process.argv.includes('--json');
const keep = process.argv.includes('--keep');
const appTester = zapier.createAppTester(App);
/** Each vendor's signing secret in the demo, shaped as its module says (its prefix). */
const SECRETS = Object.fromEntries(Object.values(PROVIDERS).map((p) => [p.key, `${p.secretPrefix ?? ''}demo-${p.key}-secret`])) as Record<ProviderKey, string>;


async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'demohooks-demo-'));
  const relay = await startRelay(
    // With --keep the relay stays up for the console: on PORT when it is set (checked like the relay's own), else any free port.
    { ...loadConfig({}), port: keep && process.env.PORT ? loadConfig({ PORT: process.env.PORT }).port : 0, databaseUrl: `sqlite:${path.join(dir, 'relay.db')}`, targetHosts: ['127.0.0.1:*'], allowPrivateTargets: true, retentionDays: 0, pollMs: 20 },
    silentLogger,
  );
  const { apiKey, tokens } = await relay.store.accounts.create('demo');
  const authData: Record<string, string> = { relay_url: relay.url, api_key: apiKey };
  for (const p of Object.values(PROVIDERS)) authData[p.secretKeys[0]] = SECRETS[p.key];

  // The stand-in for Zapier: runs the subscribed trigger's real perform on each delivery.
  const subscriptions = new Map<string, { trigger: string; subscribeData: unknown }>();
  let records = 0;
  let refusals = 0;
  let skipped = 0;
  const signals: any[] = [];
  let signalChecks = 0;
  const zap = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const sub = subscriptions.get(req.url ?? '');
      res.writeHead(sub ? 200 : 410).end();
      if (!sub) return;
      const bundle = {
        authData,
        inputData: { include_test_events: true },
        subscribeData: sub.subscribeData,
        rawRequest: { method: 'POST', querystring: '', headers: asZapierHookHeaders(req.headers), content: Buffer.concat(chunks).toString('utf8') },
      };
      try {
        const out = (await appTester((App.triggers as any)[sub.trigger].operation.perform, bundle as any)) as any[];
        if (sub.trigger.startsWith('account_')) {
          // The account signal judges each demo view against the company's verified activity.
          signalChecks++;
          if (out.length === 0) console.log(`  [${sub.trigger}] no signal yet`);
          for (const r of out) {
            signals.push(r);
            console.log(`  [${sub.trigger}] ${r.summary_text}`);
            console.log(r.slack_message.split('\n').map((l: string) => `      ${l}`).join('\n'));
            if (full) console.log(JSON.stringify(r, null, 2));
          }
          return;
        }
        if (out.length === 0) {
          skipped++;
          console.log(`  [${sub.trigger}] delivery ${req.headers['x-relay-event-id']} already in the Zap: dropped`);
        }
        for (const r of out) {
          records++;
          console.log(`  [${sub.trigger}] ${r.summary_text}`);
          console.log(`      id=${r.id} verified=${r.signature_verified} test=${r.is_test} email=${r.viewer_email ?? '-'}`);
          if (full) console.log(JSON.stringify(r, null, 2));
        }
      } catch (err) {
        refusals++;
        console.log(`  [${sub.trigger}] REFUSED: ${(err as Error).message.split('\n')[0]}`);
      }
    });
  });
  await new Promise<void>((r) => zap.listen(0, '127.0.0.1', r));
  const zapBase = `http://127.0.0.1:${(zap.address() as AddressInfo).port}`;

  console.log(`relay ${relay.url} (SQLite in ${dir}); stand-in for Zapier at ${zapBase}\n`);
  for (const p of Object.values(PROVIDERS)) {
    const trigger = p.anyEvent.triggerKey;
    const targetUrl = `${zapBase}/hooks/${trigger}`;
    const subscribeData = await appTester((App.triggers as any)[trigger].operation.performSubscribe, { authData, inputData: {}, targetUrl } as any);
    subscriptions.set(`/hooks/${trigger}`, { trigger, subscribeData });
    console.log(`subscribed ${trigger} through the app's performSubscribe`);
  }

  /** Posts `body` as the vendor would, signed by its module's scheme with `secret`. */
  const post = async (provider: ProviderKey, body: string, secret = SECRETS[provider]) => {
    const res = await fetch(`${relay.publicUrl}/v1/inbound/${provider}/${tokens[provider]}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...signRequest(PROVIDERS[provider].scheme, body, secret) },
      body,
    });
    return (await res.json()) as { id: string; duplicate: boolean };
  };

  let sent = 0;
  console.log('\nposting every documented payload, signed:');
  for (const p of Object.values(PROVIDERS)) {
    for (const ev of p.events) {
      const body = JSON.stringify(ev.sample);
      const ack = await post(p.key, body);
      sent++;
      console.log(`  ${p.label} ${ev.event}: acked ${ack.id}${ack.duplicate ? ' (duplicate)' : ''}`);
    }
  }
  const retryBody = JSON.stringify(PROVIDERS.walnut.events[0].sample);
  const retry = await post('walnut', retryBody);
  console.log(`  Walnut retry of demo_session_finished: acked ${retry.id}, duplicate=${retry.duplicate} (not delivered again)`);
  const forged = JSON.stringify({ ...PROVIDERS.walnut.events[0].sample, data: { ...(PROVIDERS.walnut.events[0].sample as any).data, session_id: 'forged-session' } });
  await post('walnut', forged, 'not the walnut key');
  sent++;
  console.log('  a forged Walnut delivery (signed with the wrong key): acked by the relay, which holds no secrets\n');

  console.log('records made by the trigger perform of each delivery:');
  const deadline = Date.now() + 15_000;
  while (records + refusals + skipped < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));

  console.log(`\n${records} records into the Zap, ${refusals} refused, ${sent} posted (+1 vendor retry acked as duplicate).`);
  const recordsBeforeSignals = records;

  // The playbook's buying-committee signal: the documented Walnut demo session, varied into
  // three people at one company (two of its hosts), fires when the third person appears.
  console.log('\naccount signal: three people from one company view the Walnut demo');
  const committee = 'account_buying_committee';
  const committeeSub = await appTester((App.triggers as any)[committee].operation.performSubscribe, { authData, inputData: {}, targetUrl: `${zapBase}/hooks/${committee}` } as any);
  subscriptions.set(`/hooks/${committee}`, { trigger: committee, subscribeData: committeeSub });
  const base = PROVIDERS.walnut.events[0].sample as any;
  for (const [i, email] of ['dana.lee@acme.co.uk', 'sam.ortiz@eu.acme.co.uk', 'kim.chen@acme.co.uk'].entries()) {
    const body = JSON.stringify({ ...base, data: { ...base.data, session_id: `committee-${i + 1}`, user: { ...base.data.user, email } } });
    await post('walnut', body);
    console.log(`  ${email} finished "${base.data.demo.name}"`);
    const until = Date.now() + 10_000;
    while (signalChecks < i + 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  }
  if (signals.length !== 1 || signals[0].people_count !== 3) {
    console.log(`expected one buying-committee signal of 3 people, got ${signals.length}`);
    process.exitCode = 1;
  }
  if (keep) {
    console.log(`\nThe relay keeps running with this data. Console: ${relay.url}/`);
    console.log(`Sign in with the demo account's API key: ${apiKey}`);
    console.log('Press Ctrl-C to stop (the demo data is deleted then).');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  }
  await relay.close();
  await new Promise<void>((r) => zap.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
  if (recordsBeforeSignals !== sent - 1 || refusals !== 1) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
