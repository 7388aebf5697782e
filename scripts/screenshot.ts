/**
 * `npm run screenshot`: regenerates the console pictures in the README (docs/console-*.png)
 * from the vendors' documented payloads, through a real relay, in headless Chromium.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { PROVIDERS } from '../lib/providers/index.js';
import { signRequest } from '../lib/signature.js';
import { silentLogger } from '../relay/log.js';
import { startRelay } from '../relay/server.js';
import { launchChromium } from '../relay/test/browser.js';
import { dropStores, freshSqliteUrl, testConfig } from '../relay/test/harness.js';

const OUT = path.resolve(__dirname, '..', '..', 'docs');

async function main(): Promise<void> {
  // A stand-in for Zapier: the Pendo Zap refuses (as a misconfigured Zap would), the rest accept.
  const zap = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(req.url === '/hooks/pendo' ? 400 : 200, { 'Content-Type': 'application/json' }).end(req.url === '/hooks/pendo' ? '{"status":"error","message":"Zap is paused"}' : '{"status":"success"}'));
  });
  await new Promise<void>((r) => zap.listen(0, '127.0.0.1', r));
  const zapUrl = `http://127.0.0.1:${(zap.address() as AddressInfo).port}`;
  const relay = await startRelay(testConfig(freshSqliteUrl(), { retentionDays: 0 }), silentLogger);
  const browser = await launchChromium();
  try {
    const { apiKey, tokens, account } = await relay.store.createAccount('Acme RevOps');
    for (const p of Object.values(PROVIDERS)) await relay.store.createHook(account.id, `${p.key}.*`, `${zapUrl}/hooks/${p.key}`);
    for (const p of Object.values(PROVIDERS)) {
      for (const e of p.events) {
        const body = JSON.stringify(e.sample);
        await fetch(`${relay.url}/v1/inbound/${p.key}/${tokens[p.key]}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...signRequest(p.scheme, body, 'demo') }, body });
      }
    }
    await new Promise((r) => setTimeout(r, 1500));
    mkdirSync(OUT, { recursive: true });
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    await page.goto(`${relay.url}/`);
    await page.fill('#apikey', apiKey);
    await page.press('#apikey', 'Enter');
    await page.waitForSelector('#hooks');
    await page.screenshot({ path: path.join(OUT, 'console-overview.png') });
    await page.goto(`${relay.url}/#/events?live=0`);
    await page.waitForSelector('#events tbody tr');
    await page.screenshot({ path: path.join(OUT, 'console-events.png') });
    await page.click('#events tbody tr a');
    await page.waitForSelector('#body');
    await page.screenshot({ path: path.join(OUT, 'console-event.png') });
    process.stdout.write(`wrote ${['console-overview.png', 'console-events.png', 'console-event.png'].map((f) => path.join('docs', f)).join(', ')}\n`);
  } finally {
    await browser.close();
    await relay.close();
    zap.close();
    await dropStores();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
