/**
 * What the account-signal tests share: a real relay on a store, a local stand-in for Zapier's
 * hook URLs, vendors posting signed demo activity over loopback HTTP, and the trigger's
 * perform run on each delivery as Zapier would run it. Time is a mocked Date.now, which the
 * relay stamps arrivals with too.
 */
import zapier from 'zapier-platform-core';
import App from '../../index.js';
import { leadCapturedSample } from '../../lib/providers/supademo.js';
import { demoSessionSample } from '../../lib/providers/walnut.js';
import { PROVIDERS, type ProviderKey } from '../../lib/providers/index.js';
import { secretsOf } from '../../test/vendors.js';
import { asZapierHookHeaders, signRequest } from '../../lib/signature.js';
import type { RelayConfig } from '../config.js';
import { call, startSink, startTestRelay } from './harness.js';

export const DAY = 86_400_000;
export const HOUR = 3_600_000;
/** Each vendor's signing secret in these worlds (test/vendors.ts makes one for a vendor not named here). */
export const SECRETS: Record<string, string> = {
  ...Object.fromEntries(Object.keys(PROVIDERS).map((k) => [k, secretsOf(k).current])),
  walnut: 'walnut-signal-key',
  supademo: 'whsec_signal_secret',
};

export interface Visit {
  vendor?: string;
  /** The signing secret the vendor used (a forger's guess). */
  secret?: string;
  demo?: { id: string; name: string };
  test?: boolean;
  company?: string;
  /** When the viewing happened (ms); the clock by default. Walnut may send it hours later. */
  happenedAt?: number;
  /** Walnut `user` fields besides the email (type, domain). */
  user?: Record<string, unknown>;
  /** Supademo: the event type (one view sends viewed, lead and completed) and the viewer id. */
  event?: string;
  viewerId?: string;
}

export async function signalWorld(dbUrl: string, overrides: Partial<RelayConfig> = {}) {
  let clock = Date.parse('2026-11-01T10:00:00Z');
  jest.spyOn(Date, 'now').mockImplementation(() => clock);
  const relay = await startTestRelay(dbUrl, overrides);
  const sink = await startSink();
  const { apiKey } = await relay.store.accounts.create('signals');
  const authData: Record<string, string> = { relay_url: relay.url, api_key: apiKey, ...Object.fromEntries(Object.values(PROVIDERS).map((p) => [p.secretKeys[0], SECRETS[p.key]])) };
  const inbound: Record<string, string> = (await call(relay.url, 'GET', '/v1/me', { key: apiKey })).json.inbound;
  const appTester = zapier.createAppTester(App); // a fresh z.cache per world
  let seq = 0;
  let hooks = 0;
  const op = (key: string) => (App.triggers as any)[key].operation;

  async function subscribe(trigger: string, inputData: Record<string, unknown> = {}, auth: Record<string, string> = authData) {
    const targetUrl = `${sink.url}/hooks/${trigger}/${++hooks}`;
    const subscribeData: any = await appTester(op(trigger).performSubscribe, { authData: auth, inputData, targetUrl } as any);
    expect(subscribeData.event).toBe('demo.activity');
    const path = new URL(targetUrl).pathname;
    const delivered = (eventId: string) => sink.received.find((r) => r.headers['x-relay-event-id'] === eventId && r.path === path);
    /** The relay's delivery of `eventId` to this subscription, as Zapier hands it to perform. */
    const bundleFor = async (eventId: string, over: Record<string, unknown> = {}) => {
      await sink.until(() => delivered(eventId) !== undefined);
      const d = delivered(eventId)!;
      return { authData: auth, inputData, subscribeData, targetUrl, rawRequest: { method: 'POST', querystring: '', headers: asZapierHookHeaders(d.headers), content: d.body }, ...over };
    };
    /** Runs the trigger's perform on the relay's delivery of `eventId`, as Zapier would. */
    const deliver = async (eventId: string, over: Record<string, unknown> = {}) => (await appTester(op(trigger).perform, (await bundleFor(eventId, over)) as any)) as any[];
    return { subscribeData, deliver, bundleFor, targetUrl };
  }

  /** A signed Walnut demo session by `email` (or a Supademo event), posted to the relay now. */
  function bodyOf(email: string | null, opts: Visit = {}) {
    seq += 1;
    const happened = new Date(opts.happenedAt ?? clock).toISOString();
    if (opts.vendor === 'supademo') {
      const l = leadCapturedSample as any;
      return JSON.stringify({
        ...l,
        event: opts.event ?? l.event,
        viewerId: opts.viewerId ?? `viewer-${seq}`,
        entityViewedAt: happened,
        ...(opts.demo ? { entityId: opts.demo.id, entityTitle: opts.demo.name } : {}),
        viewer: { ...l.viewer, email, company: opts.company ?? l.viewer.company },
      });
    }
    const d = demoSessionSample.data;
    return JSON.stringify({
      ...demoSessionSample,
      timestamp: new Date(clock).toISOString(),
      ...(opts.test ? { is_test: true } : {}),
      data: { ...d, session_id: `s-${seq}`, session_started: happened, demo: { ...d.demo, ...(opts.demo ?? {}) }, user: { ...d.user, email: email ?? undefined, ...(opts.user ?? {}) } },
    });
  }

  async function post(body: string, opts: Visit = {}) {
    const vendor = (opts.vendor ?? 'walnut') as ProviderKey;
    const r = await call('', 'POST', inbound[vendor], { body, headers: signRequest(PROVIDERS[vendor].scheme, body, opts.secret ?? SECRETS[vendor]) });
    expect(r.status).toBe(200);
    return r.json.id as string;
  }

  const visit = (email: string | null, opts: Visit = {}) => post(bodyOf(email, opts), opts);

  /** Any activity vendor's demo view by `email` now, as its module's example makes it. */
  const viewAt = (vendor: ProviderKey, email: string) => {
    seq += 1;
    const body = JSON.stringify(PROVIDERS[vendor].demoActivity!.example({ email, at: new Date(clock).toISOString(), session: `view-${seq}` }));
    return post(body, { vendor });
  };

  return {
    relay,
    sink,
    authData,
    inbound,
    appTester,
    op,
    subscribe,
    visit,
    viewAt,
    bodyOf,
    post,
    get clock() {
      return clock;
    },
    set clock(v: number) {
      clock = v;
    },
    async close() {
      jest.restoreAllMocks();
      await relay.close();
      await sink.close();
    },
  };
}

export type SignalWorld = Awaited<ReturnType<typeof signalWorld>>;
