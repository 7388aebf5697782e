/**
 * Tracing's settings, from OpenTelemetry's standard variables only (the SDK's own names, so an
 * operator's existing collector settings work unchanged). Tracing is on when an OTLP endpoint is
 * set, and neither `OTEL_SDK_DISABLED=true` nor `OTEL_TRACES_EXPORTER=none` turns it off. The
 * exporter itself reads the rest (`OTEL_EXPORTER_OTLP_HEADERS`, `_TIMEOUT`, `_COMPRESSION`, the
 * certificates) as the specification says.
 */
export type OtlpProtocol = 'http/json' | 'http/protobuf';
export type SamplerName = 'always_on' | 'always_off' | 'traceidratio' | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';

export interface TracingConfig {
  /** Where spans are POSTed (the traces path included). */
  url: string;
  protocol: OtlpProtocol;
  serviceName: string;
  sampler: SamplerName;
  /** The ratio of the `traceidratio` samplers, 0 to 1. */
  ratio: number;
  batch: { scheduledDelayMillis: number; exportTimeoutMillis: number; maxQueueSize: number; maxExportBatchSize: number };
}

const SAMPLERS: readonly SamplerName[] = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'];

/** The variables read here, each with its default, for the docs and the checks. */
export const TRACING_VARIABLES = [
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
  'OTEL_SERVICE_NAME',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
  'OTEL_BSP_SCHEDULE_DELAY',
  'OTEL_BSP_EXPORT_TIMEOUT',
  'OTEL_BSP_MAX_QUEUE_SIZE',
  'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
  'OTEL_TRACES_EXPORTER',
  'OTEL_SDK_DISABLED',
] as const;

const set = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';

/**
 * Reads tracing's settings; null when tracing is off. Every problem is passed to `issue`
 * (variable, what is wrong and what to set), so the relay refuses to start with all of them.
 */
export function tracingConfig(env: NodeJS.ProcessEnv, issue: (variable: string, message: string) => void): TracingConfig | null {
  if (set(env.OTEL_SDK_DISABLED) && env.OTEL_SDK_DISABLED.trim().toLowerCase() === 'true') return null;
  const exporter = (env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase();
  if (exporter === 'none') return null;
  if (exporter !== '' && exporter !== 'otlp') issue('OTEL_TRACES_EXPORTER', `must be otlp or none (got "${env.OTEL_TRACES_EXPORTER}"); the relay exports over OTLP/HTTP only`);
  const url = endpoint(env, issue);
  if (url === null) return null;
  return {
    url,
    protocol: protocol(env, issue),
    serviceName: set(env.OTEL_SERVICE_NAME) ? env.OTEL_SERVICE_NAME.trim() : 'demohooks-relay',
    ...sampler(env, issue),
    batch: {
      scheduledDelayMillis: whole(env, 'OTEL_BSP_SCHEDULE_DELAY', 5000, 0, issue),
      exportTimeoutMillis: whole(env, 'OTEL_BSP_EXPORT_TIMEOUT', 30_000, 1, issue),
      maxQueueSize: whole(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 2048, 1, issue),
      maxExportBatchSize: whole(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512, 1, issue),
    },
  };
}

/** The traces URL: the signal's own endpoint as it is, or the general one with `/v1/traces`. */
function endpoint(env: NodeJS.ProcessEnv, issue: (variable: string, message: string) => void): string | null {
  const own = set(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const key = own ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  const raw = env[key];
  if (!set(raw)) return null;
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    issue(key, `must be an http(s) URL, e.g. http://localhost:4318 (got "${raw}")`);
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    issue(key, `must be an http(s) URL, e.g. http://localhost:4318 (got a ${u.protocol} URL)`);
    return null;
  }
  return own ? u.href : `${u.href.replace(/\/+$/, '')}/v1/traces`;
}

function protocol(env: NodeJS.ProcessEnv, issue: (variable: string, message: string) => void): OtlpProtocol {
  const key = set(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const raw = (env[key] ?? '').trim();
  if (raw === '' || raw === 'http/protobuf') return 'http/protobuf';
  if (raw === 'http/json') return 'http/json';
  issue(key, `must be http/protobuf or http/json (got "${raw}"); for a collector that speaks gRPC only, use its OTLP/HTTP port (4318)`);
  return 'http/protobuf';
}

function sampler(env: NodeJS.ProcessEnv, issue: (variable: string, message: string) => void): { sampler: SamplerName; ratio: number } {
  const raw = (env.OTEL_TRACES_SAMPLER ?? '').trim().toLowerCase();
  const name = (raw === '' ? 'parentbased_always_on' : raw) as SamplerName;
  if (!SAMPLERS.includes(name)) issue('OTEL_TRACES_SAMPLER', `must be one of ${SAMPLERS.join(', ')} (got "${env.OTEL_TRACES_SAMPLER}")`);
  let ratio = 1;
  if (name.endsWith('traceidratio') && set(env.OTEL_TRACES_SAMPLER_ARG)) {
    ratio = Number(env.OTEL_TRACES_SAMPLER_ARG.trim());
    if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) issue('OTEL_TRACES_SAMPLER_ARG', `must be a number from 0 to 1, the share of traces kept (got "${env.OTEL_TRACES_SAMPLER_ARG}")`);
  }
  return { sampler: SAMPLERS.includes(name) ? name : 'parentbased_always_on', ratio };
}

function whole(env: NodeJS.ProcessEnv, key: string, dflt: number, min: number, issue: (variable: string, message: string) => void): number {
  const raw = env[key];
  if (!set(raw)) return dflt;
  const n = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || n < min) {
    issue(key, `must be a whole number of at least ${min} (got "${raw}")`);
    return dflt;
  }
  return n;
}
