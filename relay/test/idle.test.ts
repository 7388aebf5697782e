/**
 * A relay that waits for work instead of polling for it: with its polls a minute
 * away (RELAY_POLL_MS and RELAY_IDLE_POLL_MS at 60 s), a retry is still sent when it comes due,
 * after a restart too, and a failing subscription's alert still goes out at once. On SQLite and
 * PostgreSQL; every wait is for the state the relay has recorded.
 */
import { signBody } from '../../lib/signature.js';
import { deliveriesOf, walnutSession as session } from './fixtures.js';
import { call, reportPgSkip, startSink, startTestRelay, STORES, until } from './harness.js';

reportPgSkip();

const NO_POLL = { pollMs: 60_000, idlePollMs: 60_000, leaseMs: 20_000, deliveryTimeoutMs: 1500, alertHosts: ['127.0.0.1:*'] };

describe.each(STORES)('waking on work, not on a poll, on %s', (_name, dbUrl) => {
  const target = { status: 500 };
  let zap: Awaited<ReturnType<typeof startSink>>;
  let slack: Awaited<ReturnType<typeof startSink>>;

  beforeEach(async () => {
    target.status = 500;
    zap = await startSink(() => target.status);
    slack = await startSink(() => 200);
  });
  afterEach(async () => {
    await zap.close();
    await slack.close();
  });

  async function account(relay: Awaited<ReturnType<typeof startTestRelay>>) {
    const created = await relay.store.accounts.create('idle');
    const key = created.apiKey;
    const inbound = (await call(relay.url, 'GET', '/v1/me', { key })).json.inbound as Record<string, string>;
    expect((await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url: `${zap.url}/zap`, event: 'walnut.*' } })).status).toBe(201);
    const post = async (body: string) => {
      const r = await call('', 'POST', inbound.walnut, { body, headers: { 'X-Walnut-Signature': signBody(body, 'k') } });
      expect(r.status).toBe(200);
      return r.json.id as string;
    };
    return { key, post };
  }

  it('sends a retry when it comes due, and tells the alert URL of the failure at once', async () => {
    const relay = await startTestRelay(dbUrl(), { ...NO_POLL, retryBaseMs: 400, retryMaxMs: 400, alertRepeatMs: 0 });
    try {
      const { key, post } = await account(relay);
      expect((await call(relay.url, 'PUT', '/v1/me/alerts', { key, body: { url: `${slack.url}/services/T0/B0/x` } })).status).toBe(200);
      const id = await post(session('idle-1'));
      // The first attempt failed and was recorded as such (the positive case: it was attempted).
      await until('the first attempt recorded', async () => (await deliveriesOf(relay, id))[0]?.attempts === 1);
      expect((await deliveriesOf(relay, id))[0].status).toBe('pending');
      // The alert loop was kicked by the failure: the failing alert is sent without its poll.
      await slack.until(() => slack.received.some((r) => JSON.parse(r.body).type === 'subscription.failing'));
      target.status = 200;
      // Due 400 ms later: sent then, not at a poll a minute away.
      await until('delivered by the retry', async () => (await deliveriesOf(relay, id))[0]?.status === 'delivered');
      expect((await deliveriesOf(relay, id))[0].attempts).toBe(2);
    } finally {
      await relay.close();
    }
  });

  it('a relay started with a retry due later wakes for it', async () => {
    const url = dbUrl();
    const first = await startTestRelay(url, { retryBaseMs: 2500, retryMaxMs: 2500 });
    let id: string;
    try {
      const { post } = await account(first);
      id = await post(session('idle-2'));
      await until('the first attempt recorded', async () => (await deliveriesOf(first, id))[0]?.attempts === 1);
    } finally {
      await first.close();
    }
    target.status = 200;
    const second = await startTestRelay(url, { ...NO_POLL, retryBaseMs: 2500, retryMaxMs: 2500 });
    try {
      // Not due at its start (the first claim finds nothing): it sleeps until the retry is due.
      await until('delivered by the retry', async () => (await deliveriesOf(second, id))[0]?.status === 'delivered');
      expect((await deliveriesOf(second, id))[0].attempts).toBe(2);
    } finally {
      await second.close();
    }
  });
});
