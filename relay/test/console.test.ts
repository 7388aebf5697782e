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
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CHROMIUM, launchChromium } from './browser.js';
import { call, freshSqliteUrl, startSink, startTestRelay, until } from './harness.js';
import { deliveriesOf } from './fixtures.js';

/** axe-core, the accessibility engine, run in the page by the tests. */
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

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
    sink = await startSink((r) =>
      r.path === '/zap-busy' ? { status: 429, body: '{}', headers: { 'Retry-After': '600' } } : r.path === '/zap-down' ? 500 : r.path === '/zap-refuses' && refuse ? 400 : 200,
    );
    const created = await relay.store.accounts.create('Acme RevOps');
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

  /** The text of the next confirmation the page asks, answered with `accept`. */
  const nextDialog = (accept = true) =>
    new Promise<string>((resolve) =>
      page.once('dialog', async (d) => {
        resolve(d.message());
        await (accept ? d.accept() : d.dismiss());
      }),
    );

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

  it('asks for the live event list again only once the last answer came, with previews of the bodies', async () => {
    await signIn();
    const asked: number[] = [];
    let out = 0;
    let most = 0;
    const bodies = new Set<string | null>();
    // The relay answering slowly (3 s), as it would under load: the console must not pile up requests.
    await page.route('**/v1/events?**', async (route) => {
      asked.push(Date.now());
      out++;
      most = Math.max(most, out);
      bodies.add(new URL(route.request().url()).searchParams.get('body'));
      await new Promise((r) => setTimeout(r, 3000));
      await route.continue();
      out--;
    });
    await page.click('nav a[href="#/events"]');
    await until('four lists asked for', () => asked.length >= 4, 30_000);
    expect(most).toBe(1);
    expect([...bodies]).toStrictEqual(['preview']);
    // Each next one came 2 s after the last answer, not on a clock of its own.
    for (let i = 2; i < asked.length; i++) expect(asked[i] - asked[i - 1]).toBeGreaterThanOrEqual(4900);
    await page.unroute('**/v1/events?**');
  });

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
    await until('failed', async () => (await deliveriesOf(relay, id))[0]?.status === 'failed');
    await signIn();
    await page.click('nav a[href="#/failed"]');
    await page.waitForSelector('#problems-failed tbody tr');
    expect(await page.locator('#problems-failed tbody tr').count()).toBe(1);
    await page.click(`#problems-failed a[href="#/events/${id}"]`);
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
    await until('both failed', async () => (await Promise.all(ids.map((i) => deliveriesOf(relay, i)))).every((d) => d[0]?.status === 'failed'));
    await signIn();
    await page.click('nav a[href="#/failed"]');
    await page.waitForSelector('#problems-failed tbody tr');
    refuse = false;
    // It asks first, saying what it will do.
    const asked = nextDialog();
    await page.click('button.retry-all');
    expect(await asked).toContain('Retry every failed and given-up delivery of the subscription');
    await page.waitForSelector('text=2 deliveries queued again.');
    await until('both delivered', async () => (await Promise.all(ids.map((i) => deliveriesOf(relay, i)))).every((d) => d[0]?.status === 'delivered'));
  });

  it('shows a payload carrying <script> as text, never running it', async () => {
    const evil = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';
    const id = await post({ ...demoSessionSample, data: { ...demoSessionSample.data, session_id: 'xss', demo: { ...demoSessionSample.data.demo, name: evil } } });
    await signIn();
    await page.click('nav a[href="#/events"]');
    await page.waitForSelector(`#events tr[data-id="${id}"]`);
    expect(await page.textContent(`#events tr[data-id="${id}"] td:nth-child(3)`)).toContain('<script>window.__pwned');
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

  /** axe-core's serious and critical findings on the page as it is now (CDP evaluation: the page's CSP does not apply). */
  const axeFindings = async (): Promise<string[]> => {
    await page.evaluate(AXE_SOURCE);
    const result = await page.evaluate(async () => (globalThis as any).axe.run((globalThis as any).document, { resultTypes: ['violations'] }));
    return (result.violations as Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }>)
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  };

  it('overview: the 24-hour chart, and a subscription red from its first failed attempt (not from the give-up), with its problems a click away', async () => {
    refuse = false;
    const ok = (await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${sink.url}/zap`, event: 'walnut.*' } })).json;
    const down = (await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${sink.url}/zap-down`, event: 'walnut.*' } })).json;
    const busy = (await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${sink.url}/zap-busy`, event: 'walnut.*' } })).json;
    const id = await post({ ...demoSessionSample, data: { ...demoSessionSample.data, session_id: 'down-1' } });
    await until('the busy target paused by its 429', async () => (await deliveriesOf(relay, id)).find((x) => x.hook_id === busy.id)?.last_status === 429);
    await until('one failed attempt recorded, still retrying', async () => {
      const d = (await deliveriesOf(relay, id)).find((x) => x.hook_id === down.id);
      return d !== undefined && d.attempts >= 1 && d.status === 'pending';
    });
    await until('the other delivered', async () => (await deliveriesOf(relay, id)).find((x) => x.hook_id === ok.id)?.status === 'delivered');
    await signIn();
    await page.waitForSelector('#chart canvas');
    expect(await page.getAttribute('#chart', 'aria-label')).toMatch(/events received 1, /);
    // Positive control: the healthy one reads healthy; the failing one is red, saying since when.
    expect(await page.textContent(`#hooks tr[data-id="${ok.id}"]`)).toContain('healthy');
    const failing = page.locator(`#hooks tr[data-id="${down.id}"]`);
    expect(await failing.getAttribute('class')).toBe('failing');
    expect(await failing.textContent()).toMatch(/failing since .+ failed attempts? in a row/);
    expect(await page.textContent('main')).toContain('1 subscription is failing');
    // A target that asked to slow down is throttled, not failing: not red, saying until when.
    const throttled = page.locator(`#hooks tr[data-id="${busy.id}"]`);
    expect(await throttled.getAttribute('class')).toBe('');
    expect(await throttled.textContent()).toMatch(/throttled by the target until /);
    await page.screenshot({ path: path.join(tmpdir(), 'demohooks-console-throttled.png'), fullPage: true });
    await failing.locator('a', { hasText: 'See problems' }).click();
    await page.waitForSelector('#problems-retrying tbody tr');
    expect(await page.textContent('#problems-retrying')).toContain('retrying');
    expect(await axeFindings()).toStrictEqual([]);
    expect(errors).toStrictEqual([]);
  });

  it('events: every page reachable with a count, filters by type and delivery, finds by id, says what happened with the time zone', async () => {
    refuse = false;
    await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${sink.url}/zap`, event: 'walnut.demo_session_finished' } });
    const ids: string[] = [];
    for (let i = 0; i < 55; i++) ids.push(await post({ ...demoSessionSample, data: { ...demoSessionSample.data, session_id: `page-${i}` } }));
    const supademo = JSON.stringify(PROVIDERS.supademo.events[0].sample);
    const other = (await call('', 'POST', inbound.supademo, { body: supademo })).json.id as string;
    await until('delivered', async () => (await deliveriesOf(relay, ids[54]))[0]?.status === 'delivered');
    await signIn();
    await page.goto(`${relay.url}/#/events?live=0`);
    await page.waitForSelector('#events tbody tr');
    expect(await page.locator('#events tbody tr').count()).toBe(50);
    expect(await page.textContent('#event-count')).toBe('Showing 50 events (there are older ones).');
    await page.click('#older');
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('#events tbody tr').length === 56);
    expect(await page.textContent('#event-count')).toBe('Showing 56 events.');
    expect(await page.isVisible('#older')).toBe(false);
    // In words, with the zone of the time.
    const row = page.locator(`#events tr[data-id="${ids[54]}"]`);
    expect(await row.locator('td').nth(2).textContent()).toContain('someone-awesome@walnut.io');
    expect(await row.locator('td').nth(0).textContent()).toMatch(/UTC|GMT/);
    // Filters: by event type, by delivery status.
    await page.selectOption('select[name=event]', 'supademo.lead.captured');
    await page.click('#filters button[type=submit]');
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('#events tbody tr').length === 1);
    expect(await page.getAttribute('#events tbody tr', 'data-id')).toBe(other);
    await page.goto(`${relay.url}/#/events?live=0&delivery_status=no_subscription`);
    await page.waitForFunction((id) => (globalThis as any).document.querySelectorAll("#events tbody tr").length === 1 && (globalThis as any).document.querySelector('#events tbody tr')!.getAttribute('data-id') === id, other);
    // Find by id.
    await page.fill('#find-id', ids[3]);
    await page.click('#find button');
    await page.waitForSelector('#body');
    expect(await page.textContent('#body')).toContain('"session_id": "page-3"');
    expect(await axeFindings()).toStrictEqual([]);
    await page.goto(`${relay.url}/#/events?live=0`);
    await page.waitForSelector('#events tbody tr');
    expect(await axeFindings()).toStrictEqual([]);
    expect(errors).toStrictEqual([]);
  });

  it('safe actions: rotation asks first and says when the old URL ends; a cleared overlap or a refused action is said by the button, and nothing changes', async () => {
    await signIn();
    await page.click('nav a[href="#/settings"]');
    await page.waitForSelector('#rotate-inbound');
    expect(await page.inputValue('#overlap')).toBe('24');
    // A cleared overlap: refused on the page, nothing rotated.
    await page.fill('#overlap', '');
    await page.click('#rotate-inbound');
    await page.waitForSelector('#url-status .notice.error');
    expect(await page.textContent('#url-status')).toContain('Nothing was changed');
    expect((await call(relay.url, 'GET', '/v1/me', { key })).json.inbound.walnut).toBe(inbound.walnut);
    // Declined: nothing changes.
    await page.fill('#overlap', '24');
    let asked = nextDialog(false);
    await page.click('#rotate-inbound');
    expect(await asked).toMatch(/The current one stops working at .+(UTC|GMT)/);
    expect((await call(relay.url, 'GET', '/v1/me', { key })).json.inbound.walnut).toBe(inbound.walnut);
    // Accepted: a new URL, the old one still working until the time said.
    asked = nextDialog(true);
    await page.click('#rotate-inbound');
    await asked;
    await page.waitForSelector('#new-url');
    const fresh = await page.textContent('#new-url');
    expect(fresh).not.toBe(inbound.walnut);
    expect((await call('', 'POST', inbound.walnut, { body: JSON.stringify(demoSessionSample) })).status).toBe(200);
    // Notices stay until dismissed.
    expect(await page.isVisible('#url-status .notice')).toBe(true);
    await page.click('#url-status .notice .dismiss');
    expect(await page.locator('#url-status .notice').count()).toBe(0);
    // Alerts: a refused URL says why where it was typed; an allowed one is saved.
    await page.fill('#alert-url', 'https://example.com/not-slack');
    await page.click('#save-alerts');
    await page.waitForSelector('#alert-status .notice.error');
    expect(await page.textContent('#alert-status')).toContain('RELAY_ALERT_HOSTS');
    expect((await call(relay.url, 'GET', '/v1/me', { key })).json.alert_url).toBeNull();
    expect(await axeFindings()).toStrictEqual([]);
    // Disable asks first, saying what it does; declined, the account stays.
    asked = nextDialog(false);
    await page.click('#disable');
    expect(await asked).toContain('queued deliveries pause until `demohooks-relay account enable`');
    expect((await call(relay.url, 'GET', '/v1/me', { key })).status).toBe(200);
    // The browser logs the refused save (422) itself; nothing else went wrong.
    expect(errors.filter((e) => !e.includes('status of 422'))).toStrictEqual([]);
  });

  it('a retry the relay refuses is said where it was clicked; replays and manual retries are marked', async () => {
    const hook = (await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${sink.url}/zap-refuses`, event: 'walnut.*' } })).json;
    const id = await post(demoSessionSample);
    await until('failed', async () => (await deliveriesOf(relay, id))[0]?.status === 'failed');
    await signIn();
    await page.goto(`${relay.url}/#/failed`);
    await page.waitForSelector('#problems-failed tbody tr');
    expect(await axeFindings()).toStrictEqual([]);
    // The Zap is turned off meanwhile: its subscription is gone.
    expect((await call(relay.url, 'DELETE', `/v1/hooks/${hook.id}`, { key })).status).toBe(204);
    await page.click('#problems-failed button.retry');
    await page.waitForSelector('#problems-failed .notice.error');
    expect(await page.textContent('#problems-failed .notice.error')).toContain('its subscription no longer exists');
    // Replay to a new subscription: marked as a replay on the event.
    refuse = false;
    await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${sink.url}/zap`, event: 'walnut.*' } });
    await page.goto(`${relay.url}/#/events/${id}`);
    await page.waitForSelector('#replay');
    const asked = nextDialog(true);
    await page.click('#replay');
    expect(await asked).toContain('marked as a replay');
    await page.waitForSelector('text=Replayed to 1 subscription.');
    await page.waitForSelector('section.delivery .badge.mark:has-text("replay")');
    expect(errors.filter((e) => !e.includes('409'))).toStrictEqual([]);
  });

  it("overview: which Zap each subscription is, a Zap refusing what it gets in words, retrying deliveries sent now by one click, events heard by no one counted; chart as bars", async () => {
    refuse = false;
    // A retry ten minutes away: only "send now" brings it sooner.
    await relay.close();
    relay = await startTestRelay(freshSqliteUrl(), { retryBaseMs: 600_000, retryMaxMs: 600_000 });
    const created = await relay.store.accounts.create('Acme RevOps');
    key = created.apiKey;
    inbound = (await call(relay.url, 'GET', '/v1/me', { key })).json.inbound;
    const ok = (await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${sink.url}/hooks/standard/1/ok-zap/`, event: 'walnut.*', zap_id: '5150', trigger: 'walnut_any_event' } })).json;
    const down = (await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${sink.url}/zap-down`, event: 'walnut.*' } })).json;
    const id = await post({ ...demoSessionSample, data: { ...demoSessionSample.data, session_id: 'zap-1' } });
    await until('delivered to one, retrying to the other', async () => {
      const ds = await deliveriesOf(relay, id);
      return ds.find((x) => x.hook_id === ok.id)?.status === 'delivered' && ds.find((x) => x.hook_id === down.id)?.attempts === 1;
    });
    // The Zap behind the first reports that its run halted on the signature.
    expect((await call(relay.url, 'POST', `/v1/hooks/${ok.id}/runs`, { key, body: { event_id: id, outcome: 'refused', reason: 'signature_mismatch' } })).status).toBe(202);
    // A Supademo event nobody listens for.
    expect((await call('', 'POST', inbound.supademo, { body: JSON.stringify({ event: 'demo.viewed', data: { id: 'nobody' } }) })).status).toBe(200);
    await signIn();
    await page.waitForSelector('#chart canvas');
    const refusing = page.locator(`#hooks tr[data-id="${ok.id}"]`);
    expect(await refusing.getAttribute('class')).toBe('failing');
    const text = (await refusing.textContent()) ?? '';
    expect(text).toContain('Zap 5150');
    expect(text).toContain('walnut_any_event');
    expect(text).toContain('ok-zap/'); // the URL's end, which tells Zaps apart
    expect(text).toContain("refused by its Zap since");
    expect(text).toContain("the Walnut signing secret in this Zap's connection is not the one Walnut signs with");
    expect(await page.textContent('main')).toContain('1 Zap refuses what the relay delivers');
    expect(await page.textContent('main')).toContain('1 event in the last 24 hours arrived with no subscription listening');
    await page.screenshot({ path: path.join(tmpdir(), 'demohooks-console-refusing.png'), fullPage: true });
    // Retrying, a minute of backoff ahead: sent now from the overview.
    const retrying = page.locator(`#hooks tr[data-id="${down.id}"]`);
    const button = retrying.locator('button.retry-now');
    expect(await button.textContent()).toBe('Send 1 retrying delivery now');
    const before = (await deliveriesOf(relay, id)).find((x) => x.hook_id === down.id)!.attempts;
    await button.click();
    await page.waitForSelector('text=1 retrying delivery sent now.');
    await until('attempted again at once', async () => (await deliveriesOf(relay, id)).find((x) => x.hook_id === down.id)!.attempts === before + 1);
    expect(await axeFindings()).toStrictEqual([]);
    expect(errors).toStrictEqual([]);
  });

  it('at 390 px the subscriptions are cards: no sideways scrolling, the hook URL readable', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const long = `${sink.url}/hooks/standard/12345678/0a1b2c3d4e5f6a7b8c9d/`;
    const hook = (await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: long, event: 'walnut.demo_session_finished', zap_id: '271828', trigger: 'walnut_demo_session_finished' } })).json;
    await signIn();
    await page.waitForSelector(`#hooks tr[data-id="${hook.id}"]`);
    const table = await page.evaluate(() => {
      const t = (globalThis as any).document.querySelector('#hooks');
      const code = (globalThis as any).document.querySelector('#hooks code');
      return { scroll: t.scrollWidth, client: t.parentElement.clientWidth, codeWidth: code.getBoundingClientRect().width, codeHeight: code.getBoundingClientRect().height };
    });
    expect(table.scroll).toBeLessThanOrEqual(table.client);
    // Wrapped at full width, not a letter a line: wider than tall.
    expect(table.codeWidth).toBeGreaterThan(table.codeHeight * 3);
    expect(await page.textContent(`#hooks tr[data-id="${hook.id}"] td[data-label="Zap"]`)).toContain('Zap 271828');
    // Each cell says what it is, the table's header being hidden.
    const label = await page.evaluate(() => (globalThis as any).getComputedStyle((globalThis as any).document.querySelector('#hooks td[data-label="Health"]'), '::before').content);
    expect(label).toBe('"Health: "');
    await page.screenshot({ path: path.join(tmpdir(), 'demohooks-console-390.png'), fullPage: true });
    expect(await axeFindings()).toStrictEqual([]);
  });

  it('at 390 px the page is no wider than the screen, and every page passes axe-core', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${sink.url}/zap-refuses`, event: 'walnut.*' } });
    const id = await post(demoSessionSample);
    await until('failed', async () => (await deliveriesOf(relay, id))[0]?.status === 'failed');
    await page.goto(`${relay.url}/`);
    await page.waitForSelector('#apikey');
    expect(await axeFindings()).toStrictEqual([]);
    await signIn();
    for (const [hash, ready] of [['#/', '#chart canvas'], ['#/events?live=0', '#events tbody tr'], [`#/events/${id}`, '#body'], ['#/failed', '#problems-failed tbody tr'], ['#/settings', '#rotate-inbound']]) {
      await page.goto(`${relay.url}/${hash}`);
      await page.waitForSelector(ready);
      const width = await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth);
      expect([hash, width]).toStrictEqual([hash, 390]);
      expect([hash, await axeFindings()]).toStrictEqual([hash, []]);
    }
    expect(errors).toStrictEqual([]);
  });
});
