/**
 * OpenTelemetry traces as an operator's collector receives them: a loopback OTLP/HTTP receiver
 * (JSON) gets one trace per inbound event holding the request (with its commit), the derive and every
 * delivery attempt, the retries after a restart included; the target's `traceparent` names
 * the attempt that reached it; no secret or payload text is in any span; the log lines of the
 * event carry its trace id. Tracing off: no `traceparent`, nothing stored.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { signedHeaders } from '../../test/vendors.js';
import { SECRETS } from '../../test/helpers.js';
import { tracingConfig } from '../tracing-config.js';
import { deliveriesOf, walnutSession } from './fixtures.js';
import { call, createAccountCli, reportPgSkip, spawnRelay, startSink, startTestRelay, stopRelay, STORES, until, type SpawnedRelay } from './harness.js';

reportPgSkip();

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  status?: { code?: number; message?: string };
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
}

/** A collector's OTLP/HTTP traces endpoint on loopback: every export, as received. */
async function startReceiver() {
  const bodies: Array<{ type: string; text: string }> = [];
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces') bodies.push({ type: String(req.headers['content-type']), text: Buffer.concat(parts).toString(req.headers['content-type']?.includes('json') ? 'utf8' : 'latin1') });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    spans(): OtlpSpan[] {
      return bodies.filter((b) => b.type.includes('json')).flatMap((b) => JSON.parse(b.text).resourceSpans.flatMap((r: any) => r.scopeSpans.flatMap((s: any) => s.spans)));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const attr = (s: OtlpSpan, key: string): unknown => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  return v === undefined ? undefined : (v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue)));
};

const OTEL = (receiver: string, extra: Record<string, string> = {}) => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver,
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  OTEL_BSP_SCHEDULE_DELAY: '50',
  ...extra,
});

/** Log lines a relay in its own process wrote, parsed. */
const logLines = (relays: SpawnedRelay[]) =>
  relays.flatMap((r) => r.stdoutLines()).flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });

describe.each(STORES)('tracing (%s)', (_name, freshUrl) => {
  it('one trace per event: the request, its commit, the derive and every attempt, across a restart; the target gets the attempt as its parent', async () => {
    const receiver = await startReceiver();
    let answer = 500;
    const sink = await startSink(() => answer);
    const databaseUrl = freshUrl();
    const acct = createAccountCli(databaseUrl, 'traced');
    const env = { RELAY_DATABASE_URL: databaseUrl, RELAY_LOG_LEVEL: 'debug', RELAY_RETRY_BASE_MS: '100', RELAY_RETRY_MAX_MS: '200', ...OTEL(receiver.url) };
    const relays = [await spawnRelay(env)];
    try {
      const relay = () => relays[relays.length - 1];
      const detail = async (id: string) => (await call(relay().url, 'GET', `/v1/events/${id}`, { key: acct.api_key })).json.deliveries[0];
      const target = `${sink.url}/hooks/standard/123/secret-hook-path/`;
      expect((await call(relay().url, 'POST', '/v1/hooks', { key: acct.api_key, body: { target_url: target, event: 'walnut.demo_session_finished' } })).status).toBe(201);
      const body = walnutSession('traced-session-0001', { user: { email: 'jane.doe@globex.example' } });
      const headers = signedHeaders('walnut', body, SECRETS.walnut.current);
      const ack = await call(relay().url, 'POST', new URL(acct.inbound.walnut).pathname, { body, headers });
      expect(ack.status).toBe(200);

      // Refused by the target until the relay that tried has stopped; the next one delivers it.
      await until('two attempts refused and recorded', async () => ((await detail(ack.json.id))?.attempts.length ?? 0) >= 2);
      await stopRelay(relay());
      answer = 200;
      relays.push(await spawnRelay(env));
      await until('delivered after the restart, and recorded', async () => (await detail(ack.json.id))?.status === 'delivered');
      await stopRelay(relay()); // exports what is left

      const delivered = sink.received[sink.received.length - 1];
      expect(delivered.headers['x-relay-event-id']).toBe(ack.json.id);
      const [, traceId, parentId, flags] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/.exec(String(delivered.headers.traceparent))!;
      expect(flags).toBe('01');
      // Every attempt, before and after the restart, carried the same trace.
      expect(sink.received.length).toBeGreaterThanOrEqual(3);
      for (const r of sink.received) expect(String(r.headers.traceparent)).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));

      const spans = receiver.spans().filter((s) => s.traceId === traceId);
      const root = spans.find((s) => s.name === 'POST /v1/inbound/{provider}')!;
      expect(root).toBeDefined();
      expect(root.parentSpanId ?? '').toBe('');
      expect(attr(root, 'demohooks.event.id')).toBe(ack.json.id);
      expect(attr(root, 'http.response.status_code')).toBe(200);
      // The ack's commit: on the request's span, with its wait.
      expect(typeof attr(root, 'demohooks.commit.ms')).toBe('number');
      expect(attr(root, 'demohooks.event.duplicate')).toBeUndefined();
      expect(spans.filter((s) => s.name === 'ingest.derive').map((s) => s.parentSpanId)).toStrictEqual([root.spanId]);
      const attempts = spans.filter((s) => s.name === 'delivery.attempt');
      expect(attempts.length).toBe(sink.received.length);
      for (const a of attempts) expect(a.parentSpanId).toBe(root.spanId);
      expect(attempts.map((a) => Number(attr(a, 'demohooks.delivery.attempt'))).sort((x, y) => x - y)).toStrictEqual(attempts.map((_, i) => i + 1));
      const last = attempts.find((a) => a.spanId === parentId)!;
      expect(attr(last, 'http.response.status_code')).toBe(200);
      expect(attr(last, 'demohooks.delivery.outcome')).toBe('delivered');
      const refused = attempts.filter((a) => attr(a, 'http.response.status_code') === 500);
      expect(refused.length).toBe(attempts.length - 1);
      for (const a of refused) expect(a.status).toMatchObject({ code: 2, message: 'HTTP 500' });

      // Ids, names and statuses only: no key, token, signature, email, body text or hook path.
      const exported = receiver.bodies.map((b) => b.text).join('\n');
      const token = acct.inbound.walnut.split('/').pop()!;
      const secrets = [acct.api_key, token, ...Object.values(headers).filter((v) => v.length >= 20), 'jane.doe@globex.example', 'traced-session-0001', 'secret-hook-path', 'My Awesome Demo', SECRETS.walnut.current];
      expect(secrets.filter((s) => exported.includes(s))).toStrictEqual([]);

      // The event's log lines name its trace.
      const lines = logLines(relays);
      expect(lines.find((l) => l.msg === 'inbound event stored')).toMatchObject({ trace_id: traceId, span_id: root.spanId });
      const retried = lines.filter((l) => l.msg === 'delivery will be retried');
      expect(retried.length).toBeGreaterThanOrEqual(2);
      for (const l of retried) {
        expect(l.trace_id).toBe(traceId);
        expect(attempts.map((a) => a.spanId)).toContain(l.span_id);
      }
      expect(lines.find((l) => l.msg === 'relay listening')).toMatchObject({ tracing: { endpoint: receiver.url, protocol: 'http/json', service: 'demohooks-relay' } });
    } finally {
      for (const r of relays) r.proc.kill('SIGKILL');
      await sink.close();
      await receiver.close();
    }
  });

  it('tracing off: no traceparent is sent and no context is stored', async () => {
    const sink = await startSink();
    const relay = await startTestRelay(freshUrl());
    try {
      expect(relay.tracing).toBeNull();
      const { apiKey } = await relay.store.accounts.create('untraced');
      const me = (await call(relay.url, 'GET', '/v1/me', { key: apiKey })).json;
      await call(relay.url, 'POST', '/v1/hooks', { key: apiKey, body: { target_url: `${sink.url}/hooks/standard/1/a/`, event: 'walnut.*' } });
      const ack = await call('', 'POST', me.inbound.walnut, { body: walnutSession('untraced-1') });
      await until('delivered and recorded', async () => (await deliveriesOf(relay, ack.json.id))[0]?.status === 'delivered');
      expect(sink.received).toHaveLength(1);
      expect(sink.received[0].headers['x-relay-event-id']).toBe(ack.json.id);
      expect(sink.received[0].headers.traceparent).toBeUndefined();
      expect((await relay.store.events.bytes([ack.json.id])).get(ack.json.id)!.trace).toBeNull();
    } finally {
      await relay.close();
      await sink.close();
    }
  });
});

describe('tracing: exported over OTLP/HTTP as protobuf too', () => {
  it('posts protobuf to the traces path when the protocol says so', async () => {
    const receiver = await startReceiver();
    const databaseUrl = STORES[0][1]();
    const acct = createAccountCli(databaseUrl, 'proto');
    const relay = await spawnRelay({ RELAY_DATABASE_URL: databaseUrl, ...OTEL(receiver.url, { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }) });
    try {
      expect((await call(relay.url, 'POST', new URL(acct.inbound.walnut).pathname, { body: walnutSession('proto-1') })).status).toBe(200);
      await until('an export received', () => receiver.bodies.length > 0);
      expect(receiver.bodies[0].type).toBe('application/x-protobuf');
      expect(receiver.bodies[0].text).toContain('POST /v1/inbound/{provider}');
    } finally {
      await stopRelay(relay);
      await receiver.close();
    }
  });
});

describe('tracing: the standard variables', () => {
  const read = (env: Record<string, string>) => {
    const problems: string[] = [];
    return { cfg: tracingConfig(env, (k, m) => problems.push(`${k} ${m}`)), problems };
  };

  it('is on with an endpoint: the general one gets the traces path, the signal\'s own is used as it is', () => {
    expect(read({}).cfg).toBeNull();
    expect(read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).cfg).toMatchObject({ url: 'http://collector:4318/v1/traces', protocol: 'http/protobuf', serviceName: 'demohooks-relay', sampler: 'parentbased_always_on' });
    expect(read({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://api.honeycomb.io/v1/traces', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:4318', OTEL_SERVICE_NAME: 'relay-eu' }).cfg).toMatchObject({
      url: 'https://api.honeycomb.io/v1/traces',
      serviceName: 'relay-eu',
    });
    expect(read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }).cfg).toMatchObject({ sampler: 'parentbased_traceidratio', ratio: 0.25 });
  });

  it('is off when the variables say so', () => {
    expect(read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }).cfg).toBeNull();
    expect(read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }).cfg).toBeNull();
  });

  it('refuses what it cannot honour, naming the variable and what to set', () => {
    expect(read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).problems).toStrictEqual([]);
    expect(read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }).problems).toStrictEqual([
      'OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or http/json (got "grpc"); for a collector that speaks gRPC only, use its OTLP/HTTP port (4318)',
    ]);
    expect(read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }).problems[0]).toMatch(/^OTEL_EXPORTER_OTLP_ENDPOINT must be an http\(s\) URL/);
    expect(read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_SAMPLER: 'sometimes' }).problems[0]).toMatch(/^OTEL_TRACES_SAMPLER must be one of always_on/);
    expect(read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '5' }).problems).toStrictEqual([
      'OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, the share of traces kept (got "5")',
    ]);
    expect(read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_BSP_SCHEDULE_DELAY: 'soon' }).problems).toStrictEqual(['OTEL_BSP_SCHEDULE_DELAY must be a whole number of at least 0 (got "soon")']);
    expect(read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'zipkin' }).problems[0]).toMatch(/^OTEL_TRACES_EXPORTER must be otlp or none/);
  });
});
