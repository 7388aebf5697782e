/**
 * `npm run demo`: the whole path on this machine, with no Zapier account and no network.
 *
 *   vendor samples ──signed POST──▶ relay (real, SQLite in a temp dir) ──▶ local stand-in for
 *   Zapier's hook URL ──▶ the real trigger perform (via zapier-platform-core) ──▶ printed record
 *
 * Every documented payload of the three vendors is signed with a demo secret and posted to
 * the relay's inbound URL; then a vendor retry (acked as a duplicate, not delivered twice)
 * and a forged delivery (refused by the trigger, which tells the relay) show the safety rules at
 * work; then the operator's view, and a Zap that is down: retried, alerted, sent now, recovered.
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
    {
      ...loadConfig({}),
      port: keep && process.env.PORT ? loadConfig({ PORT: process.env.PORT }).port : 0,
      databaseUrl: `sqlite:${path.join(dir, 'relay.db')}`,
      targetHosts: ['127.0.0.1:*'],
      alertHosts: ['127.0.0.1:*'],
      allowPrivateTargets: true,
      retentionDays: 0,
      pollMs: 20,
      // The outage below: a retry a minute away (only "retry now" brings it sooner), recovered at the first success.
      retryBaseMs: 60_000,
      recoveredAfterMs: 0,
    },
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
  let flakyDown = true;
  let flakyHits = 0;
  const zap = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      if (req.url === '/hooks/flaky') {
        // A Zap that is down for a while (Zapier answering 500), for the operator's part of the demo.
        flakyHits++;
        res.writeHead(flakyDown ? 500 : 200).end();
        return;
      }
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
  // The trigger told the relay it refused the forged delivery: the operator sees why.
  const walnutHook = ((await (await fetch(`${relay.url}/v1/hooks`, { headers: { Authorization: `Bearer ${apiKey}` } })).json()) as any[]).find((k) => k.trigger === 'walnut_any_event');
  console.log(`the relay was told: the Walnut Zap is ${walnutHook.health}: ${walnutHook.refusing_reason}`);

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
  await operatorView(relay.url, apiKey, zapBase, (down) => (flakyDown = down), () => flakyHits, post);

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

/**
 * What the team that runs the relay sees: each Zap's health (the Walnut Zap refused the forged
 * delivery, and took the committee's sessions after it), then a Zap that is down: its delivery
 * retried, a failing alert at a local stand-in for Slack, the Zap fixed, its waiting delivery
 * sent now, and the recovered alert.
 */
async function operatorView(
  relayUrl: string,
  apiKey: string,
  zapBase: string,
  setDown: (down: boolean) => void,
  hits: () => number,
  post: (provider: ProviderKey, body: string) => Promise<{ id: string }>,
): Promise<void> {
  const api = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${relayUrl}${p}`, { method, headers: { Authorization: `Bearer ${apiKey}`, ...(body ? { 'Content-Type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    return res.status === 204 ? null : res.json();
  };
  const alerts: Array<{ type: string; text: string }> = [];
  const slack = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      alerts.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => slack.listen(0, '127.0.0.1', r));
  const wait = async (what: string, ok: () => boolean | Promise<boolean>) => {
    const deadline = Date.now() + 15_000;
    while (!(await ok())) {
      if (Date.now() > deadline) throw new Error(`demo: ${what} did not happen within 15 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  try {
    console.log("\nthe operator's view (GET /v1/hooks, as the console and `demohooks-relay hooks list` show it):");
    for (const k of (await api('GET', '/v1/hooks')) as any[]) {
      const said = k.trigger === 'walnut_any_event' && k.health === 'healthy' ? ' (it took the genuine sessions after the forged one: healthy again)' : '';
      console.log(`  ${k.trigger ?? '-'}: ${k.health}${k.refusing_reason ? `: ${k.refusing_reason}` : ''}${said}`);
    }

    console.log('\na Zap that is down: Zapier answers 500 for its hook');
    await api('PUT', '/v1/me/alerts', { url: `http://127.0.0.1:${(slack.address() as AddressInfo).port}/services/T0/B0/demo` });
    const hook = (await api('POST', '/v1/hooks', { target_url: `${zapBase}/hooks/flaky`, event: 'walnut.demo_session_finished', zap_id: 'demo-flaky', trigger: 'walnut_demo_session_finished' })) as { id: string };
    const base = PROVIDERS.walnut.events[0].sample as any;
    await post('walnut', JSON.stringify({ ...base, data: { ...base.data, session_id: 'outage-1' } }));
    await wait('the failed attempt', async () => ((await api('GET', `/v1/deliveries?status=retrying&hook_id=${hook.id}`)) as unknown[]).length === 1);
    const [retrying] = (await api('GET', `/v1/deliveries?status=retrying&hook_id=${hook.id}`)) as any[];
    console.log(`  delivery ${retrying.id}: retrying after HTTP ${retrying.last_status_code}, next attempt ${retrying.next_attempt_at}`);
    await wait('the failing alert', () => alerts.some((a) => a.type === 'subscription.failing'));
    console.log(`  alert to Slack: ${alerts.find((a) => a.type === 'subscription.failing')!.text}`);
    setDown(false);
    const before = hits();
    const now = (await api('POST', `/v1/hooks/${hook.id}/retry-now`, {})) as { queued: number };
    console.log(`  the Zap is fixed; "Send retrying deliveries now": ${now.queued} sent without waiting for the backoff`);
    await wait('the delivery', async () => hits() > before && ((await api('GET', `/v1/deliveries?status=delivered&hook_id=${hook.id}`)) as unknown[]).length === 1);
    await wait('the recovered alert', () => alerts.some((a) => a.type === 'subscription.recovered'));
    console.log(`  delivered; alert to Slack: ${alerts.find((a) => a.type === 'subscription.recovered')!.text}`);
  } finally {
    await new Promise<void>((r) => slack.close(() => r()));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
