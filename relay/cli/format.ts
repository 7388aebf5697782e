/** How the CLI prints: tables safe for a terminal, pages that say how to ask for the next one, and its usage errors. */
import type { RelayConfig } from '../config.js';
import type { Services } from '../services/index.js';

/** A list's rows, and the command that asks for the next page when there is one. */
export function paging<T extends { id: string }>(rows: T[], limit: number, next: (before: string) => string): { rows: T[]; more: string } {
  const page = rows.slice(0, limit);
  return { rows: page, more: rows.length > limit ? `\nMore: ${next(page[page.length - 1].id)}` : '' };
}

export const argsOf = (values: Record<string, unknown>, names: string[]) =>
  names.flatMap((n) => (values[n] === undefined ? [] : [`--${n}`, String(values[n])]));

export class UsageError extends Error {}

export interface OpContext {
  cfg: RelayConfig;
  services: Services;
  accountId: string;
  positionals: string[];
  values: Record<string, string | boolean | undefined>;
  publicUrl: string;
}

export type OpResult = { json: unknown; text: string };

/**
 * Text from the database (event names, account names, errors) made safe for a terminal: control
 * characters (C0, DEL, C1 such as the one-byte CSI) and bidirectional overrides are shown as
 * `\uXXXX`, so a payload cannot move the cursor, recolour or rewrite the operator's screen.
 */
export const terminalSafe = (text: string): string =>
  text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);

export const table = (input: string[][]): string => {
  if (input.length === 0) return '';
  const rows = input.map((r) => r.map((c) => terminalSafe(c ?? '')));
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ').trimEnd()).join('\n');
};

export const limitArg = (v: string | boolean | undefined, dflt: number): number => {
  const n = v === undefined ? dflt : Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new UsageError('--limit must be a whole number from 1 to 1000');
  return n;
};

export interface Command {
  options: Record<string, { type: 'string' | 'boolean' }>;
  run: (c: OpContext) => Promise<OpResult>;
}
