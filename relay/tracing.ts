/**
 * OpenTelemetry traces: one trace per inbound event, from the vendor's POST through the ack
 * (the group commit), the derive and every delivery attempt, exported over OTLP/HTTP. The
 * inbound span's context is stored with the event (a W3C `traceparent`), so an attempt made
 * hours later, after a restart or by another process on the same PostgreSQL, is a span of the
 * same trace, and the target receives that attempt's `traceparent`.
 *
 * Configured only by the standard `OTEL_*` variables (relay/tracing-config.ts). Without an OTLP
 * endpoint no SDK is loaded: `startTracing` returns null and each stage skips its span on that
 * one null check. Spans carry ids, names, counts and statuses only: never a key, token,
 * signature, email, body or a target's path.
 */
import { diag, DiagLogLevel, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { parseTraceParent } from '@opentelemetry/core';
import type { Logger } from './log.js';
import type { TracingConfig } from './tracing-config.js';

/** Attribute names of the relay's own (the HTTP ones are OpenTelemetry's semantic conventions). */
export const ATTR = {
  provider: 'demohooks.provider',
  account: 'demohooks.account.id',
  event: 'demohooks.event.id',
  eventName: 'demohooks.event.name',
  duplicate: 'demohooks.event.duplicate',
  subscription: 'demohooks.subscription.id',
  delivery: 'demohooks.delivery.id',
  attempt: 'demohooks.delivery.attempt',
  outcome: 'demohooks.delivery.outcome',
  batch: 'demohooks.batch.size',
  commitMs: 'demohooks.commit.ms',
} as const;

/** The ids a log line carries to find its trace. */
export const traceFields = (span: Span | null | undefined): { trace_id?: string; span_id?: string } => {
  if (!span) return {};
  const c = span.spanContext();
  return { trace_id: c.traceId, span_id: c.spanId };
};

/** A span's context as a W3C `traceparent` header value. */
export const traceparentOf = (span: Span): string => {
  const c = span.spanContext();
  return `00-${c.traceId}-${c.spanId}-0${(c.traceFlags & 1).toString(16)}`;
};

/** What the SDK gives the relay: a tracer, and the exporter's flush and shutdown. */
export interface TracerHandle {
  tracer: Tracer;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

export class Tracing {
  constructor(private readonly handle: TracerHandle) {}

  /** The inbound request's span: the root of its event's trace (a caller's own `traceparent` is not continued). */
  inbound(provider: string): Span {
    return this.handle.tracer.startSpan(
      'POST /v1/inbound/{provider}',
      { kind: SpanKind.SERVER, root: true, attributes: { 'http.request.method': 'POST', 'http.route': '/v1/inbound/{provider}/{token}', [ATTR.provider]: provider } },
      ROOT_CONTEXT,
    );
  }

  /**
   * A stage of a stored event (the derive, an attempt), in the trace its context names; null
   * when it has none (stored with tracing off) or the context cannot be read.
   */
  ofStored(traceparent: string | null | undefined, name: string, kind: SpanKind, attributes: Attributes, startTime?: number): Span | null {
    if (!traceparent) return null;
    const parent = parseTraceParent(traceparent);
    if (!parent) return null;
    return this.handle.tracer.startSpan(name, { kind, attributes, startTime }, trace.setSpanContext(ROOT_CONTEXT, { ...parent, isRemote: true }));
  }

  /** Ends `span` as failed, with a reason that names no secret (a status, an error class). */
  static fail(span: Span, reason: string): void {
    span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
  }

  /** Exports what has ended so far. */
  flush(): Promise<void> {
    return this.handle.forceFlush();
  }

  /** Exports what is left and stops the exporter. */
  shutdown(): Promise<void> {
    return this.handle.shutdown();
  }
}

/** The SDK, loaded and started only when an endpoint is configured; null otherwise. */
export function startTracing(cfg: TracingConfig | null, log: Logger): Tracing | null {
  if (!cfg) return null;
  // The SDK's own troubles (a collector that refuses or cannot be reached, spans dropped from a
  // full queue) are told in the relay's log, not lost.
  const text = (a: unknown): string => {
    if (a instanceof Error) return a.message;
    if (typeof a !== 'string') return JSON.stringify(a);
    try {
      const parsed = JSON.parse(a) as { message?: unknown };
      return typeof parsed.message === 'string' ? parsed.message : a; // the SDK passes errors as JSON
    } catch {
      return a;
    }
  };
  const say = (level: 'warn' | 'error') => (...args: unknown[]) => {
    const detail = args.map(text).join(' ').slice(0, 500);
    // Spans dropped from a full queue (the relay outpacing the collector) are told at most
    // once a minute, with the count, not on every drop.
    const dropped = /^Dropped (\d+) spans/.exec(detail);
    if (dropped) {
      droppedSince += Number(dropped[1]);
      if (Date.now() - droppedToldAt < 60_000) return;
      log('warn', 'tracing: spans dropped, the export queue was full (OTEL_BSP_MAX_QUEUE_SIZE)', { dropped: droppedSince });
      droppedSince = 0;
      droppedToldAt = Date.now();
      return;
    }
    log(level, 'tracing: the OpenTelemetry exporter reported a problem', { detail });
  };
  let droppedSince = 0;
  let droppedToldAt = 0;
  diag.setLogger({ error: say('error'), warn: say('warn'), info: () => undefined, debug: () => undefined, verbose: () => undefined }, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  // Required here, not imported above: with tracing off the SDK is never loaded.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startSdk } = require('./tracing-sdk.js') as typeof import('./tracing-sdk.js');
  return new Tracing(startSdk(cfg));
}
