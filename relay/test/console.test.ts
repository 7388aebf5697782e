/**
 * The web console in a real headless Chromium (Debian's package, driven by playwright-core):
 * sign in, watch an event arrive, open it, retry a failed delivery and see the new attempt, and
 * a payload carrying <script> shown as text. Skipped, saying so, where no Chromium is installed
 * (`.ci/run` installs it, so CI always runs these).
 */
import type { Browser, Page } from 'playwright-core';
import { PROVIDERS } from '../../lib/providers/index.js';
import { demoSessionSample } from '../../lib/providers/walnut.js';
import { signBody } from '../../lib/signature.js';
import { CONSOLE_CSP } from '../http/console.js';
import { CHROMIUM, launchChromium } from './browser.js';
import { call, freshSqliteUrl, startSink, startTestRelay, until } from './harness.js';

if (!CHROMIUM) {
  // eslint-disable-next-line no-console
  console.warn('Console browser tests SKIPPED: no Chromium found (apt-get install chromium, or set CHROMIUM_PATH).');
}

(CHROMIUM ? describe : describe.skip)('the web console in Chromium', () => {
  let browser: Browser;
  let relay: Awaited<ReturnType<typeof startTestRelay>>;
  let sink: Awaited<ReturnType<typeof startSink>>;
  let key: string;
  let inbound: Record<string, string>;
  let page: Page;
  let refuse = true;
  const errors: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  beforeEach(async () => {
    refuse = true;
    relay = await startTestRelay(freshSqliteUrl(), { retryBaseMs: 50, retryMaxMs: 100 });
    sink = await startSink((r) => (r.path === '/zap-refuses' && refuse ? 400 : 200));
    const created = await relay.store.createAccount('Acme RevOps');
    key = created.apiKey;
    inbound = (await call(relay.url, 'GET', '/v1/me', { key })).json.inbound;
    page = await browser.newPage();
    errors.length = 0;
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
  });

  afterEach(async () => {
    await page.close();
    await relay.close();
    await sink.close();
  });

  const post = async (payload: unknown) => {
    const body = JSON.stringify(payload);
    const r = await call('', 'POST', inbound.walnut, { body, headers: { 'X-Walnut-Signature': signBody(body, 'k') } });
    expect(r.status).toBe(200);
    return r.json.id as string;
  };

  /** Signs in with the keyboard only: Tab to the field, type, Enter. */
  const signIn = async () => {
    const res = await page.goto(`${relay.url}/`);
    expect(res?.headers()['content-security-policy']).toBe(CONSOLE_CSP);
    await page.waitForSelector('#apikey');
    expect(await page.isVisible('#signout')).toBe(false); // nothing to sign out of yet
    await page.keyboard.type(key); // the field has focus on load
    await page.keyboard.press('Enter');
    await page.waitForSelector('#account:has-text("Acme RevOps")');
    expect(await page.isVisible('#signout')).toBe(true);
  };

  it('signs in, shows the webhook URLs, and shows an event arriving live; opening it shows its body and deliveries', async () => {
    await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${sink.url}/zap`, event: 'walnut.*' } });
    await signIn();
    // Overview: the three URLs to paste, and the subscription.
    await page.waitForSelector('#inbound');
    expect(await page.locator('#inbound code').allTextContents()).toStrictEqual([inbound.walnut, inbound.supademo, inbound.pendo]);
    // Where to paste each, from the vendor modules (served by the relay as /vendors.js).
    expect(await page.locator('#inbound tbody tr td:nth-child(3)').allTextContents()).toStrictEqual(Object.values(PROVIDERS).map((p) => p.consoleHelp));
    expect(await page.locator('#hooks tbody tr').count()).toBe(1);
    // The event log, live: an event posted now appears without a reload.
    await page.click('nav a[href="#/events"]');
    await page.waitForSelector('#events');
    expect(await page.locator('#events tbody tr').count()).toBe(0);
    expect(await page.isVisible('text=No events match')).toBe(true);
    const id = await post({ ...demoSessionSample, data: { ...demoSessionSample.data, session_id: 'live-arrival' } });
    await page.waitForSelector(`#events tr[data-id="${id}"]`, { timeout: 10_000 });
    await page.click(`#events tr[data-id="${id}"] a`);
    await page.waitForSelector('#body');
    expect(await page.textContent('#body')).toContain('"session_id": "live-arrival"');
    expect(await page.textContent('#headers')).toContain('X-Walnut-Signature');
    await page.waitForSelector('section.delivery .badge.delivered', { timeout: 10_000 });
    expect(errors).toStrictEqual([]);
  });

  it('retries a failed delivery and shows the new attempt', async () => {
    await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${sink.url}/zap-refuses`, event: 'walnut.*' } });
    const id = await post(demoSessionSample);
    await until('failed', async () => (await relay.store.deliveriesOf(id))[0]?.status === 'failed');
    await signIn();
    await page.click('nav a[href="#/failed"]');
    await page.waitForSelector('#failed tbody tr');
    expect(await page.locator('#failed tbody tr').count()).toBe(1);
    await page.click(`#failed a[href="#/events/${id}"]`);
    await page.waitForSelector('section.delivery .badge.failed');
    expect(await page.locator('section.delivery table.attempts tbody tr').count()).toBe(1);
    refuse = false; // the Zap is fixed
    await page.click('section.delivery button.retry');
    await page.waitForSelector('section.delivery .badge.delivered', { timeout: 10_000 });
    const attempts = await page.locator('section.delivery table.attempts tbody tr').allTextContents();
    expect(attempts).toHaveLength(2);
    expect(attempts[0]).toContain('HTTP 400');
    expect(attempts[1]).toContain('HTTP 200');
    expect(errors).toStrictEqual([]);
  });

  it('retries every failed delivery of a subscription from the failed list', async () => {
    await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${sink.url}/zap-refuses`, event: 'walnut.*' } });
    const ids = [await post({ ...demoSessionSample, data: { ...demoSessionSample.data, session_id: 'a' } }), await post({ ...demoSessionSample, data: { ...demoSessionSample.data, session_id: 'b' } })];
    await until('both failed', async () => (await Promise.all(ids.map((i) => relay.store.deliveriesOf(i)))).every((d) => d[0]?.status === 'failed'));
    await signIn();
    await page.click('nav a[href="#/failed"]');
    await page.waitForSelector('#failed tbody tr');
    refuse = false;
    await page.click('button.retry-all');
    await page.waitForSelector('text=2 deliveries queued again.');
    await until('both delivered', async () => (await Promise.all(ids.map((i) => relay.store.deliveriesOf(i)))).every((d) => d[0]?.status === 'delivered'));
  });

  it('shows a payload carrying <script> as text, never running it', async () => {
    const evil = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';
    const id = await post({ ...demoSessionSample, data: { ...demoSessionSample.data, session_id: 'xss', demo: { ...demoSessionSample.data.demo, name: evil } } });
    await signIn();
    await page.click('nav a[href="#/events"]');
    await page.waitForSelector(`#events tr[data-id="${id}"]`);
    expect(await page.textContent(`#events tr[data-id="${id}"] td.preview`)).toContain('<script>window.__pwned');
    await page.click(`#events tr[data-id="${id}"] a`);
    await page.waitForSelector('#body');
    // Positive control: the text is on the page, character for character.
    expect(await page.textContent('#body')).toContain(evil.replace(/"/g, '\\"'));
    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('#main script, #main img').count()).toBe(0);
    expect(errors).toStrictEqual([]);
  });

  it('shows a body whose integers JSON cannot hold exactly as received, digit for digit', async () => {
    const body = `{"event":"demo_session_finished","data":{"session_id":"big","account_ref":12345678901234567891}}`;
    const r = await call('', 'POST', inbound.walnut, { body });
    expect(r.status).toBe(200);
    await signIn();
    await page.goto(`${relay.url}/#/events/${r.json.id}`);
    await page.waitForSelector('#body');
    expect(await page.textContent('#body')).toBe(body);
  });

  it('says plainly when the key is wrong', async () => {
    await page.goto(`${relay.url}/`);
    await page.fill('#apikey', 'dh_wrong');
    await page.click('#signin button');
    await page.waitForSelector('.notice.error');
    expect(await page.textContent('.notice.error')).toContain('That API key was not accepted');
    expect(await page.isVisible('nav a[href="#/events"]')).toBe(false);
  });
});
