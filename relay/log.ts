/**
 * Structured JSON logs, one object a line. Callers pass only ids, names, counts and
 * statuses: never API keys, inbound tokens (they are in inbound URLs) or payload bodies.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  (level: Level, msg: string, fields?: Record<string, unknown>): void;
}

export const jsonLogger =
  (stream: NodeJS.WritableStream = process.stdout, quiet = process.env.RELAY_LOG_LEVEL === 'silent'): Logger =>
  (level, msg, fields = {}) => {
    if (quiet || (level === 'debug' && process.env.RELAY_LOG_LEVEL !== 'debug')) return;
    stream.write(`${JSON.stringify({ ts: new Date().toISOString(), level, msg, ...fields })}\n`);
  };

export const silentLogger: Logger = () => undefined;
