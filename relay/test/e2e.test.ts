/**
 * The whole path, as in production: the Zapier app's own performSubscribe registers a hook
 * on a real relay; each vendor posts a delivery signed by its own scheme to the inbound URL;
 * the relay delivers it to a stand-in for Zapier's hook URL; the request is handed to the
 * trigger's perform exactly as Zapier would (raw body, headers renamed `Http-…`); the record
 * must be the one the trigger makes of the vendor's request itself.
 */
import zapier from 'zapier-platform-core';
import App from '../../index.js';
import { asZapierHookHeaders } from '../../lib/signature.js';
import { authData as directAuth, hookBundle, SECRETS } from '../../test/helpers.js';
import { signedHeaders, VENDOR_CASES } from '../../test/vendors.js';
import { call, freshSqliteUrl, startSink, startTestRelay } from './harness.js';

const appTester = zapier.createAppTester(App);
const triggerPerform = (key: string) => (App.triggers as any)[key].operation.perform;

// Every vendor (test/vendors.ts), signed by its module's scheme: the record through the relay
// must be the record the trigger makes of the vendor's own request (the documented records
// themselves are checked field by field in test/providers.test.ts).
describe('end to end: vendor → relay → Zapier trigger', () => {
  let relay: Awaited<ReturnType<typeof startTestRelay>>;
  let sink: Awaited<ReturnType<typeof startSink>>;
  let authData: Record<string, string>;
  let inbound: Record<string, string>;

  beforeAll(async () => {
    relay = await startTestRelay(freshSqliteUrl());
    sink = await startSink();
    const { apiKey } = await relay.store.accounts.create('e2e');
    authData = { ...directAuth(), relay_url: relay.url, api_key: apiKey };
    inbound = (await call(relay.url, 'GET', '/v1/me', { key: apiKey })).json.inbound;
  });

  afterAll(async () => {
    await relay.close();
    await sink.close();
  });

  it.each(VENDOR_CASES)('$trigger', async (c) => {
    // The vendor's own request, read against this relay before the event reaches it: a session's
    // viewer history is then its viewer's first session, as through the relay it must be too.
    const want = (await appTester(triggerPerform(c.trigger), { ...hookBundle(c.provider, c.real), authData } as any)) as unknown[];
    expect(want).toHaveLength(1);
    const op = (App.triggers as any)[c.trigger].operation;
    const targetUrl = `${sink.url}/hooks/standard/${c.trigger}`;
    const subscribeData: any = await appTester(op.performSubscribe, { authData, inputData: {}, targetUrl } as any);
    expect(subscribeData.target_url).toBe(targetUrl);

    const body = JSON.stringify(c.real);
    const ack = await call('', 'POST', inbound[c.provider], { body, headers: signedHeaders(c.provider, body, SECRETS[c.provider].current) });
    expect(ack.status).toBe(200);

    await sink.until(() => sink.received.some((r) => r.path === `/hooks/standard/${c.trigger}`));
    const delivered = sink.received.find((r) => r.path === `/hooks/standard/${c.trigger}`)!;
    const bundle = {
      authData,
      inputData: { include_test_events: false },
      subscribeData,
      targetUrl,
      rawRequest: { method: 'POST', querystring: '', headers: asZapierHookHeaders(delivered.headers), content: delivered.body },
      cleanedRequest: JSON.parse(delivered.body),
    };
    const records = await appTester(op.perform, bundle as any, true);
    expect(records).toStrictEqual(want);

    // A redelivery of the same event (at-least-once) does not enter the Zap twice.
    expect(await appTester(op.perform, bundle as any)).toStrictEqual([]);

    // The trigger's performList sees the stored event, verified.
    const listed: any = await appTester(op.performList, { authData, inputData: { include_test_events: false }, meta: { limit: -1 } } as any);
    expect(listed[0]).toStrictEqual(want[0]);

    await appTester(op.performUnsubscribe, { authData, inputData: {}, subscribeData } as any);
    expect((await call(relay.url, 'DELETE', `/v1/hooks/${subscribeData.id}`, { key: authData.api_key })).status).toBe(404);
  });
});
