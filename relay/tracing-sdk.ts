/**
 * The OpenTelemetry SDK, started from tracing's settings: a tracer provider of its own (not the
 * process-wide one, so relays started side by side keep their exporters apart), a batch span
 * processor, and the OTLP/HTTP exporter for the protocol asked for. Loaded only when tracing is on.
 */
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOffSampler, AlwaysOnSampler, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider, type Sampler } from '@opentelemetry/sdk-trace';
import type { TracerHandle } from './tracing.js';
import type { TracingConfig } from './tracing-config.js';

const VERSION = '1.0.0';

function samplerOf(cfg: TracingConfig): Sampler {
  const root = cfg.sampler.endsWith('always_off') ? new AlwaysOffSampler() : cfg.sampler.endsWith('traceidratio') ? new TraceIdRatioBasedSampler(cfg.ratio) : new AlwaysOnSampler();
  return cfg.sampler.startsWith('parentbased_') ? new ParentBasedSampler({ root }) : root;
}

export function startSdk(cfg: TracingConfig): TracerHandle {
  const exporter = cfg.protocol === 'http/json' ? new JsonExporter({ url: cfg.url }) : new ProtobufExporter({ url: cfg.url });
  // OTEL_RESOURCE_ATTRIBUTES (read by the env detector) adds to the service's own attributes.
  const resource = resourceFromAttributes({ 'service.name': cfg.serviceName, 'service.version': VERSION }).merge(detectResources({ detectors: [envDetector] }));
  const provider = new TracerProvider({
    resource,
    sampler: samplerOf(cfg),
    spanProcessors: [new BatchSpanProcessor({ exporter, ...cfg.batch })],
  });
  return { tracer: provider.getTracer('demohooks-relay', VERSION), forceFlush: () => provider.forceFlush(), shutdown: () => provider.shutdown() };
}
