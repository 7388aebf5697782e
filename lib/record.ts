import { createHash } from 'node:crypto';
import * as z from './zod.js';

/** A value in a flat record: JSON types kept, absent is null; line items are arrays of flat objects. */
export type Scalar = string | number | boolean | null;
export type FlatValue = Scalar | Scalar[] | Array<Record<string, Scalar>>;
export type FlatRecord = Record<string, FlatValue>;

export interface Viewer {
  viewer_email: string | null;
  viewer_first_name: string | null;
  viewer_last_name: string | null;
  viewer_full_name: string | null;
  viewer_company: string | null;
  viewer_domain: string | null;
}

export interface CommonRecord extends Viewer {
  id: string;
  provider: string;
  event: string;
  occurred_at: string | null;
  sent_at: string | null;
  is_test: boolean;
  signature_verified: boolean;
  summary_text: string;
  slack_message: string;
  crm_note: string;
}

export interface OutputField {
  key: string;
  label: string;
  type?: 'string' | 'number' | 'integer' | 'boolean' | 'datetime';
}

/**
 * A value built on first use. Zod schemas are built this way: constructing them is a
 * noticeable share of a cold start, and a Zapier process usually runs one provider's trigger.
 */
export function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

export const str = (v: unknown): string | null => {
  if (typeof v === 'string') {
    const t = v.trim();
    return t === '' ? null : t;
  }
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
};

export const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
export const bool = (v: unknown): boolean | null => (typeof v === 'boolean' ? v : null);

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const normEmail = (v: unknown): string | null => {
  const s = str(v)?.toLowerCase() ?? null;
  return s && EMAIL.test(s) ? s : null;
};

export const domainOfEmail = (email: string | null): string | null =>
  email ? email.slice(email.lastIndexOf('@') + 1) : null;

export function makeViewer(parts: {
  email?: unknown;
  first?: unknown;
  last?: unknown;
  full?: unknown;
  company?: unknown;
  domain?: unknown;
}): Viewer {
  const email = normEmail(parts.email);
  const first = str(parts.first);
  const last = str(parts.last);
  const full = str(parts.full) ?? ([first, last].filter(Boolean).join(' ') || null);
  const domain = str(parts.domain)?.toLowerCase() ?? domainOfEmail(email);
  return {
    viewer_email: email,
    viewer_first_name: first,
    viewer_last_name: last,
    viewer_full_name: full,
    viewer_company: str(parts.company),
    viewer_domain: domain,
  };
}

/**
 * ISO 8601 from an ISO string or an epoch (seconds or milliseconds: Pendo documents
 * seconds; anything past 1e12 is taken as milliseconds). Null when absent or unparseable.
 */
const ISO_UTC = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/;

/** The number of the two digits at `i` (the caller's pattern has matched digits there). */
const twoDigits = (s: string, i: number): number => (s.charCodeAt(i) - 48) * 10 + s.charCodeAt(i + 1) - 48;

const YEAR_10000_MS = 253_402_300_800_000;
const DAY_MS = 86_400_000;
const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/**
 * `new Date(ms).toISOString()` for whole milliseconds in years 1970 to 9999, by arithmetic:
 * a third of its cost, and Pendo stamps every event and guide with epochs. The calendar is
 * Howard Hinnant's days-to-civil (a March-based year, so leap days fall at its end).
 */
function isoFromEpochMs(ms: number): string {
  const days = Math.floor(ms / DAY_MS);
  let rest = ms - days * DAY_MS;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  return `${year}-${pad2(month)}-${pad2(day)}T${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.${pad3(rest - seconds * 1000)}Z`;
}

export function isoFrom(v: unknown): string | null {
  // Fast path for the form the vendors send (UTC, `Z`): normalised to milliseconds without
  // a Date round trip. Month and day ranges still go through Date when they look odd.
  if (typeof v === 'string') {
    const m = ISO_UTC.exec(v);
    if (m) {
      const month = twoDigits(v, 5);
      const day = twoDigits(v, 8);
      if (month >= 1 && month <= 12 && day >= 1 && day <= 28 && twoDigits(v, 11) < 24 && twoDigits(v, 14) < 60 && twoDigits(v, 17) < 60) {
        return `${m[1]}.${(m[2] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
      }
    }
  }
  if (typeof v === 'number' && Number.isFinite(v)) {
    const ms = Math.trunc(Math.abs(v) >= 1e12 ? v : v * 1000);
    if (ms >= 0 && ms < YEAR_10000_MS) return isoFromEpochMs(ms);
    const d = new Date(ms);
    return Number.isNaN(d.getTime()) ? null : d.toISOString();
  }
  if (typeof v === 'string' && v.trim() !== '') {
    const d = new Date(v.trim());
    return Number.isNaN(d.getTime()) ? null : d.toISOString();
  }
  return null;
}

/** A stable id from the body, for test events and unknown events that carry no identity. */
export const bodyHashId = (provider: string, rawBody: string): string =>
  `${provider}:body:${createHash('sha256').update(rawBody, 'utf8').digest('hex').slice(0, 40)}`;

/** Slack mrkdwn needs &, < and > escaped in text; links are `<url|label>`. */
const SLACK_SPECIAL = /[&<>]/;
export const slackEscape = (s: string): string =>
  SLACK_SPECIAL.test(s) ? s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') : s;

export const slackLink = (url: string | null, label: string | null): string => {
  const text = slackEscape(label ?? url ?? '');
  if (!url || !/^https?:\/\//i.test(url)) return text;
  return `<${url.replace(/[<>|]/g, encodeURIComponent)}|${text.replace(/\|/g, '¦')}>`;
};

/** One plain line: collapse whitespace so CRM fields and Slack previews stay single-line. */
const NEEDS_COLLAPSE = /\s\s|[\t\n\r\f\v\u00a0\u2028\u2029]|^\s|\s$/;
export const oneLine = (s: string): string => (NEEDS_COLLAPSE.test(s) ? s.replace(/\s+/g, ' ').trim() : s);

/** Who, for texts: the best identity we have. */
export const viewerLabel = (v: Viewer, fallback = 'an identified viewer'): string =>
  v.viewer_full_name && v.viewer_email
    ? `${v.viewer_full_name} (${v.viewer_email})`
    : (v.viewer_full_name ?? v.viewer_email ?? fallback);

/** A CRM note: a title line then `Label: value` lines for the values present. */
export function crmNote(title: string, rows: Array<[string, unknown]>): string {
  let note = title;
  for (const [label, value] of rows) {
    if (value === null || value === undefined || value === '') continue;
    note += `\n${label}: ${typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value)}`;
  }
  return note;
}

const toSnake = (k: string): string =>
  k
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase() || 'field';

// A vendor's custom field and property names repeat from event to event: convert each once.
const snakeCache = new Map<string, string>();
const snake = (k: string): string => {
  let out = snakeCache.get(k);
  if (out === undefined) {
    if (snakeCache.size >= 5000) snakeCache.clear();
    out = toSnake(k);
    snakeCache.set(k, out);
  }
  return out;
};

const MAX_JSON_DEPTH = 32;

/** A copy of a JSON value with anything nested deeper than 32 levels replaced by a marker. */
function capDepth(v: unknown, depth = 0): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (depth >= MAX_JSON_DEPTH) return '[nested too deep]';
  if (Array.isArray(v)) return v.map((x) => capDepth(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = capDepth((v as Record<string, unknown>)[k], depth + 1);
  return out;
}

/** JSON text of a value, safe for any nesting depth (JSON.stringify overflows the stack on thousands of levels). */
export const safeJson = (v: unknown): string => JSON.stringify(capDepth(v)) ?? 'null';

/**
 * Flattens any JSON value into `prefix__a__b` keys (snake_case). Arrays of scalars stay
 * arrays; arrays of objects become line items of flat objects. Used for fields demohooks
 * does not know yet, so a future field or event is passed through rather than dropped.
 */
export function flattenGeneric(value: unknown, prefix: string, out: FlatRecord = {}, depth = 0): FlatRecord {
  if (value === null || value === undefined) {
    out[prefix] = null;
  } else if (Array.isArray(value)) {
    if (value.every((x) => x === null || typeof x !== 'object')) {
      out[prefix] = value.map((x) => (x === undefined ? null : (x as Scalar)));
    } else {
      out[prefix] = value.map((x) => {
        if (x && typeof x === 'object' && !Array.isArray(x)) {
          const row: Record<string, Scalar> = {};
          for (const [k, v] of Object.entries(flattenGeneric(x, '', {}, depth + 1))) {
            row[k.replace(/^__/, '')] = Array.isArray(v) ? safeJson(v) : (v as Scalar);
          }
          return row;
        }
        return { value: x === undefined || typeof x === 'object' ? safeJson(x ?? null) : (x as Scalar) };
      });
    }
  } else if (typeof value === 'object') {
    if (depth > 8) {
      out[prefix] = safeJson(value);
    } else {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length === 0 && prefix) out[prefix] = null;
      for (const [k, v] of entries) {
        flattenGeneric(v, prefix ? `${prefix}__${snake(k)}` : `__${snake(k)}`, out, depth + 1);
      }
    }
  } else if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') {
    out[prefix] = value;
  } else {
    out[prefix] = String(value);
  }
  return out;
}

/** Flattens a map of user-defined keys (custom form fields, event properties) under a prefix. */
export function flattenMap(map: unknown, prefix: string): FlatRecord {
  if (!map || typeof map !== 'object' || Array.isArray(map)) return {};
  const out: FlatRecord = {};
  for (const [k, v] of Object.entries(map as Record<string, unknown>)) {
    flattenGeneric(v, `${prefix}${snake(k)}`, out);
  }
  return out;
}

/** Unwraps optional/nullable/default wrappers so the object shape underneath can be read. */
function unwrapObject(schema: z.ZodType): z.ZodObject | undefined {
  let s: z.ZodType = schema;
  for (let i = 0; i < 6; i++) {
    if (s instanceof z.ZodObject) return s;
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault) {
      s = s.unwrap() as z.ZodType;
    } else {
      return undefined;
    }
  }
  return undefined;
}

/** The keys a schema declares, as a plain tree: null for a leaf, a map for a nested object. */
type KnownKeys = Map<string, KnownKeys | null>;
const knownKeysCache = new WeakMap<z.ZodType, KnownKeys | null>();

function knownKeys(schema: z.ZodType): KnownKeys | null {
  if (knownKeysCache.has(schema)) return knownKeysCache.get(schema)!;
  const obj = unwrapObject(schema);
  let tree: KnownKeys | null = null;
  if (obj) {
    tree = new Map();
    for (const [k, child] of Object.entries(obj.shape as Record<string, z.ZodType>)) tree.set(k, knownKeys(child));
  }
  knownKeysCache.set(schema, tree);
  return tree;
}

function extrasWalk(payload: unknown, known: KnownKeys, path: string[], out: FlatRecord): void {
  for (const k in payload as Record<string, unknown>) {
    const v = (payload as Record<string, unknown>)[k];
    if (!known.has(k)) {
      flattenGeneric(v, ['extra', ...path, k].map((p, i) => (i === 0 ? p : snake(p))).join('__'), out);
      continue;
    }
    const child = known.get(k);
    if (child && v && typeof v === 'object' && !Array.isArray(v)) extrasWalk(v, child, [...path, k], out);
  }
}

/**
 * The parts of a payload its schema does not declare, flattened under `extra__`: fields a
 * vendor adds later reach the Zap instead of vanishing. The schema's declared keys are read
 * once per schema; a payload with no unknown field costs one pass over its keys.
 */
export function extras(payload: unknown, schema: z.ZodType): FlatRecord {
  const out: FlatRecord = {};
  const known = knownKeys(schema);
  if (known && payload && typeof payload === 'object' && !Array.isArray(payload)) extrasWalk(payload, known, [], out);
  return out;
}

/** A short, precise description of why a payload failed its schema. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`)
    .join('; ');
}

export const f = (key: string, label: string, type?: OutputField['type']): OutputField =>
  type ? { key, label, type } : { key, label };

export const commonOutputFields: OutputField[] = [
  f('id', 'Event ID'),
  f('provider', 'Provider'),
  f('event', 'Event Type'),
  f('occurred_at', 'Occurred At', 'datetime'),
  f('sent_at', 'Sent At', 'datetime'),
  f('is_test', 'Test Event', 'boolean'),
  f('signature_verified', 'Signature Verified', 'boolean'),
  f('viewer_email', 'Viewer Email'),
  f('viewer_first_name', 'Viewer First Name'),
  f('viewer_last_name', 'Viewer Last Name'),
  f('viewer_full_name', 'Viewer Full Name'),
  f('viewer_company', 'Viewer Company'),
  f('viewer_domain', 'Viewer Domain'),
  f('summary_text', 'Summary'),
  f('slack_message', 'Slack Message'),
  f('crm_note', 'CRM Note'),
];
