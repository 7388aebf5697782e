/**
 * `npm run screenshot`: regenerates the console pictures in docs/operating.md (docs/console-*.png)
 * from the vendors' documented payloads, through a real relay, in headless Chromium.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { PROVIDERS } from '../lib/providers/index.js';
import { signRequest } from '../lib/signature.js';
import { silentLogger } from '../relay/log.js';
import { startRelay } from '../relay/main.js';
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
    const { apiKey, tokens, account } = await relay.store.accounts.create('Acme RevOps');
    for (const p of Object.values(PROVIDERS)) await relay.store.hooks.create(account.id, `${p.key}.*`, `${zapUrl}/hooks/${p.key}`);
    for (const p of Object.values(PROVIDERS)) {
      for (const e of p.events) {
        const body = JSON.stringify(e.sample);
        await fetch(`${relay.url}/v1/inbound/${p.key}/${tokens[p.key]}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...signRequest(p.scheme, body, 'demo') }, body });
      }
    }
    // Wait for the state pictured: every event's deliveries attempted (the Pendo Zap's refused).
    const settled = async () => Number((await relay.store.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM deliveries WHERE status = 'pending' AND attempts = 0"))[0].n) === 0;
    for (let i = 0; i < 200 && !(await settled()); i++) await new Promise((r) => setTimeout(r, 50));
    mkdirSync(OUT, { recursive: true });
    const shots: string[] = [];
    const shoot = async (page: import('playwright-core').Page, name: string, full = false) => {
      await page.screenshot({ path: path.join(OUT, name), fullPage: full });
      shots.push(name);
    };
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${relay.url}/`);
    await page.fill('#apikey', apiKey);
    await page.press('#apikey', 'Enter');
    await page.waitForSelector('#hooks');
    await page.waitForSelector('#chart canvas');
    await shoot(page, 'console-overview.png', true);
    await page.goto(`${relay.url}/#/events?live=0`);
    await page.waitForSelector('#events tbody tr');
    await shoot(page, 'console-events.png');
    await page.click('#events tbody tr a');
    await page.waitForSelector('#body');
    await shoot(page, 'console-event.png');
    await page.goto(`${relay.url}/#/failed`);
    await page.waitForSelector('#problems-failed');
    await shoot(page, 'console-problems.png');
    await page.goto(`${relay.url}/#/settings`);
    await page.waitForSelector('#rotate-inbound');
    await shoot(page, 'console-settings.png');
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1 });
    await phone.goto(`${relay.url}/`);
    await phone.fill('#apikey', apiKey);
    await phone.press('#apikey', 'Enter');
    await phone.waitForSelector('#chart canvas');
    await shoot(phone, 'console-phone.png');
    process.stdout.write(`wrote ${shots.map((f) => path.join('docs', f)).join(', ')}\n`);
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
