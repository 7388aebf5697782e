/**
 * Structured JSON logs, one object a line, written by pino (Fastify's logger, so the HTTP layer
 * and the rest of the relay share one). Callers pass only ids, names, counts and statuses:
 * never API keys, inbound tokens (they are in inbound URLs) or payload bodies; `redact` below
 * and the request serializer (relay/http/app.ts) are the net under that rule.
 * RELAY_LOG_LEVEL: debug, info (default), warn, error or silent.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { PROVIDERS } from '../lib/providers/index.js';
import { schemeHeaders } from '../lib/signature.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  (level: Level, msg: string, fields?: Record<string, unknown>): void;
  /** The pino logger behind it, handed to Fastify. */
  readonly pino: pino.Logger;
}

/**
 * Field paths that may carry a secret if a caller ever passes one: bearer keys, signature
 * values, inbound tokens. Censored, not dropped, so a log line shows that something was there.
 */
export const REDACT_PATHS = [
  'api_key',
  'apiKey',
  'token',
  'authorization',
  'signature',
  'secret',
  '*.api_key',
  '*.token',
  '*.authorization',
  '*.signature',
  '*.secret',
  'headers.authorization',
  'req.headers.authorization',
  // Every header a vendor's scheme signs with, as Node names request headers (lowercase).
  ...Object.values(PROVIDERS).flatMap((p) => schemeHeaders(p.scheme).flatMap((h) => [`headers["${h.toLowerCase()}"]`, `req.headers["${h.toLowerCase()}"]`])),
];

/** Wraps a pino logger in the relay's `log(level, msg, fields)` call. */
export function fromPino(p: pino.Logger): Logger {
  const log = ((level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (p.isLevelEnabled(level)) p[level](fields ?? {}, msg);
  }) as Logger;
  Object.defineProperty(log, 'pino', { value: p });
  return log;
}

/** The relay's log format: `{"level":"info","ts":"<ISO 8601>",…fields,"msg":"…"}`. */
export const pinoOptions = (threshold: string): pino.LoggerOptions => ({
  level: ['debug', 'info', 'warn', 'error', 'silent'].includes(threshold) ? threshold : 'info',
  base: null,
  messageKey: 'msg',
  timestamp: () => `,"ts":"${new Date().toISOString()}"`,
  formatters: { level: (label) => ({ level: label }) },
  redact: { paths: REDACT_PATHS, censor: '[redacted]' },
});

export const jsonLogger = (stream: NodeJS.WritableStream = process.stdout, threshold = process.env.RELAY_LOG_LEVEL || 'info'): Logger =>
  fromPino(pino(pinoOptions(threshold), stream as pino.DestinationStream));

export const silentLogger: Logger = fromPino(pino({ level: 'silent' }));

export type LogSink = (level: Level, msg: string, fields: Record<string, unknown>) => void;

/** A logger whose lines, as written, are parsed back and handed to `sink` (tests read what an operator would). */
export function capturingLogger(sink: LogSink, threshold = 'debug'): Logger {
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        const { level, ts: _ts, msg, ...fields } = JSON.parse(line) as { level: Level; ts: string; msg: string } & Record<string, unknown>;
        sink(level, msg, fields);
      }
      done();
    },
  });
  return jsonLogger(stream, threshold);
}
