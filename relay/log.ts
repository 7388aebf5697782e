/**
 * Structured JSON logs, one object a line. Callers pass only ids, names, counts and
 * statuses: never API keys, inbound tokens (they are in inbound URLs) or payload bodies.
 * RELAY_LOG_LEVEL: debug, info (default), warn, error or silent.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  (level: Level, msg: string, fields?: Record<string, unknown>): void;
}

const RANK: Record<string, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export const jsonLogger =
  (stream: NodeJS.WritableStream = process.stdout, threshold = process.env.RELAY_LOG_LEVEL || 'info'): Logger =>
  (level, msg, fields = {}) => {
    if (RANK[level] < (RANK[threshold] ?? RANK.info)) return;
    stream.write(`${JSON.stringify({ ts: new Date().toISOString(), level, msg, ...fields })}\n`);
  };

export const silentLogger: Logger = () => undefined;
