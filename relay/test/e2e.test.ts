/**
 * The whole path, as in production: the Zapier app's own performSubscribe registers a hook
 * on a real relay; a vendor posts a signed documented payload to the inbound URL; the relay
 * delivers it to a stand-in for Zapier's hook URL; the request is handed to the trigger's
 * perform exactly as Zapier would (raw body, headers renamed `Http-…`); the record must be
 * the expected flattened record.
 */
import zapier from 'zapier-platform-core';
import App from '../../index.js';
import pendoSamples from '../../lib/providers/pendo-samples.json';
import { leadCapturedSample } from '../../lib/providers/supademo.js';
import { demoSessionSample } from '../../lib/providers/walnut.js';
import { asZapierHookHeaders, signBody } from '../../lib/signature.js';
import * as expected from '../../test/expected.js';
import { call, freshSqliteUrl, startSink, startTestRelay } from './harness.js';

const appTester = zapier.createAppTester(App);


const SECRETS = { walnut: 'walnut-e2e-key', supademo: 'whsec_e2e_secret', pendo: 'pendo e2e secret' };

const cases = [
  { trigger: 'walnut_demo_session_finished', provider: 'walnut', header: 'X-Walnut-Signature', payload: demoSessionSample, includeTest: false, want: expected.walnutDemo },
  { trigger: 'supademo_lead_captured', provider: 'supademo', header: 'x-supademo-signature', payload: leadCapturedSample, includeTest: false, want: expected.supademoLead },
  { trigger: 'pendo_nps_submitted', provider: 'pendo', header: 'X-Pendo-Signature', payload: pendoSamples.npsSubmitted, includeTest: true, want: expected.pendoNps },
] as const;

describe('end to end: vendor → relay → Zapier trigger', () => {
  let relay: Awaited<ReturnType<typeof startTestRelay>>;
  let sink: Awaited<ReturnType<typeof startSink>>;
  let authData: Record<string, string>;
  let inbound: Record<string, string>;

  beforeAll(async () => {
    relay = await startTestRelay(freshSqliteUrl());
    sink = await startSink();
    const { apiKey } = await relay.store.createAccount('e2e');
    authData = {
      relay_url: relay.url,
      api_key: apiKey,
      walnut_signing_key: SECRETS.walnut,
      supademo_signing_secret: SECRETS.supademo,
      pendo_signing_secret: SECRETS.pendo,
    };
    inbound = (await call(relay.url, 'GET', '/v1/me', { key: apiKey })).json.inbound;
  });

  afterAll(async () => {
    await relay.close();
    await sink.close();
  });

  it.each(cases)('$trigger', async (c) => {
    const op = (App.triggers as any)[c.trigger].operation;
    const targetUrl = `${sink.url}/hooks/standard/${c.trigger}`;
    const subscribeData: any = await appTester(op.performSubscribe, { authData, inputData: {}, targetUrl } as any);
    expect(subscribeData.target_url).toBe(targetUrl);

    const body = JSON.stringify(c.payload);
    const ack = await call('', 'POST', inbound[c.provider], { body, headers: { [c.header]: signBody(body, SECRETS[c.provider]) } });
    expect(ack.status).toBe(200);

    await sink.until(() => sink.received.some((r) => r.path === `/hooks/standard/${c.trigger}`));
    const delivered = sink.received.find((r) => r.path === `/hooks/standard/${c.trigger}`)!;
    const bundle = {
      authData,
      inputData: { include_test_events: c.includeTest },
      subscribeData,
      targetUrl,
      rawRequest: { method: 'POST', querystring: '', headers: asZapierHookHeaders(delivered.headers), content: delivered.body },
      cleanedRequest: JSON.parse(delivered.body),
    };
    const records = await appTester(op.perform, bundle as any, true);
    expect(records).toStrictEqual([c.want]);

    // A redelivery of the same event (at-least-once) does not enter the Zap twice.
    expect(await appTester(op.perform, bundle as any)).toStrictEqual([]);

    // The trigger's performList sees the stored event, verified.
    const listed: any = await appTester(op.performList, { authData, inputData: { include_test_events: c.includeTest }, meta: { limit: -1 } } as any);
    expect(listed[0]).toStrictEqual(c.want);

    await appTester(op.performUnsubscribe, { authData, inputData: {}, subscribeData } as any);
    expect((await call(relay.url, 'DELETE', `/v1/hooks/${subscribeData.id}`, { key: authData.api_key })).status).toBe(404);
  });
});
