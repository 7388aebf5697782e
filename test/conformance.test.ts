/**
 * An offline stand-in for Zapier's integration checks and build guidelines, run on the app
 * definition itself. Each rule is named after the check or guideline it stands for. Zapier
 * runs the real checks on push; a private app never gets that far, so the rules live here.
 */
import { eventFieldOf, PROVIDERS, type ProviderKey, type ProviderSpec } from '../lib/providers/index.js';
import type { EventSpec } from '../lib/providers/types.js';
import { signedHeaders } from './vendors.js';
import { App, appTester, clone, hookBundle, networkOff, perform, SECRETS } from './helpers.js';

networkOff();

interface Operation {
  key: string;
  kind: 'trigger' | 'create';
  noun: string;
  label: string;
  description: string;
  sample: Record<string, unknown>;
  outputFields: Array<{ key: string; label: string }>;
}

const operations: Operation[] = [
  ...Object.entries(App.triggers ?? {}).map(([key, t]: [string, any]) => ({ key, kind: 'trigger' as const, noun: t.noun, label: t.display.label, description: t.display.description, sample: t.operation.sample, outputFields: t.operation.outputFields })),
  ...Object.entries(App.creates ?? {}).map(([key, c]: [string, any]) => ({ key, kind: 'create' as const, noun: c.noun, label: c.display.label, description: c.display.description, sample: c.operation.sample, outputFields: c.operation.outputFields ?? [] })),
];

/** The account signals: their records come from a company's activity, checked in signals.test.ts. */
const SIGNALS = new Set(['account_buying_committee', 'account_reengaged', 'account_went_quiet']);

/** Which vendors and event types an operation takes (null event = every type, a future one included). */
function scopeOf(op: Operation): Array<{ provider: ProviderSpec<ProviderKey>; event: EventSpec | null }> {
  if (op.kind === 'create') return Object.values(PROVIDERS).map((provider) => ({ provider, event: null }));
  if (SIGNALS.has(op.key)) return [];
  // New Demo Session: every vendor's session events.
  if (op.key === 'demo_session') {
    return Object.values(PROVIDERS).flatMap((provider) => provider.events.filter((e) => provider.demoActivity?.events.includes(e.event)).map((event) => ({ provider, event })));
  }
  for (const provider of Object.values(PROVIDERS)) {
    if (provider.anyEvent.triggerKey === op.key) return [{ provider, event: null }];
    const event = provider.events.find((e) => e.triggerKey === op.key);
    if (event) return [{ provider, event }];
  }
  throw new Error(`no scope for ${op.key}`);
}

/**
 * Live (non-test) variants of each documented payload, as a real account sends them (the
 * module's examples.live: Walnut's without the test flag, Pendo's with a real visitor), and
 * each also without the fields a user's own data names (Supademo custom form fields and
 * parameters, Pendo track-event properties), because a live event need not carry any.
 */
function liveVariants(provider: ProviderSpec, event: EventSpec): Array<{ name: string; payload: Record<string, unknown> }> {
  const p = clone(provider.examples.live ? provider.examples.live(event.sample) : event.sample) as any;
  const bare = clone(p);
  const own: Array<[any, string]> = [[bare.properties, 'eventProperties'], [bare.viewer, 'custom_fields'], [bare, 'customParams']];
  let stripped = false;
  for (const [parent, key] of own) if (parent && typeof parent === 'object' && key in parent) (delete parent[key], (stripped = true));
  return stripped ? [{ name: 'live', payload: p }, { name: 'live, without the user’s own fields', payload: bare }] : [{ name: 'live', payload: p }];
}

/** The records an operation gives for every live variant in its scope, through its own perform. */
async function liveRecords(op: Operation): Promise<Array<{ name: string; record: Record<string, unknown> }>> {
  const out: Array<{ name: string; record: Record<string, unknown> }> = [];
  for (const { provider, event } of scopeOf(op)) {
    const events = event ? [event] : provider.events;
    for (const e of events) {
      const variants = liveVariants(provider, e);
      // An event type the vendor adds later reaches the any-event triggers and the create too.
      if (!event) variants.push({ name: 'an event type added later', payload: { ...variants[variants.length - 1].payload, [eventFieldOf(provider)]: 'added_later' } });
      for (const v of variants) {
        const body = JSON.stringify(v.payload);
        let records: any[];
        if (op.kind === 'create') {
          const auth = { [provider.secretKeys[0]]: SECRETS[provider.key].current };
          records = [await appTester((App.creates as any)[op.key].operation.perform, { authData: auth, inputData: { provider: provider.key, body, signature: signedHeaders(provider.key, body, SECRETS[provider.key].current)[provider.scheme.header] } } as any)];
        } else {
          records = await perform(op.key, hookBundle(provider.key, v.payload));
        }
        if (records.length !== 1) throw new Error(`${op.key}: ${provider.key} ${e.event} (${v.name}) gave ${records.length} records`);
        out.push({ name: `${provider.key} ${e.event} (${v.name})`, record: records[0] });
      }
    }
  }
  return out;
}

const SMALL_WORDS = new Set(['a', 'an', 'and', 'as', 'at', 'by', 'for', 'from', 'in', 'of', 'on', 'or', 'the', 'to', 'with']);
const isTitleCase = (text: string) =>
  text.split(/\s+/).every((w, i) => (i > 0 && SMALL_WORDS.has(w)) || /^[A-Z0-9(]/.test(w));

/** Wording a Zap builder should never meet in a label: code names, jargon, formats. */
const DEVELOPER_WORDING: Array<[RegExp, string]> = [
  [/_/, 'an underscore (a code name)'],
  [/\[\]/, 'line-item syntax'],
  [/\b[a-z]+[A-Z][a-zA-Z]*\b/, 'camelCase'],
  [/\b(mrkdwn|json|payload|boolean|null|entity|fab|playbook|extra)\b/i, 'developer jargon'],
  [/\((ms|names|one line|multi-line|mrkdwn)\)$/i, 'a format note where plain words would do'],
];

/** A sample key and the output field that labels it: line items are declared as `key[]child`. */
const labelled = (key: string, value: unknown, fields: Set<string>): boolean =>
  Array.isArray(value) && (value.length === 0 || typeof value[0] === 'object')
    ? [...fields].some((f) => f.startsWith(`${key}[]`)) && Object.keys((value[0] ?? {}) as object).every((c) => fields.has(`${key}[]${c}`))
    : fields.has(key);

describe.each(operations.map((o) => [o.key, o] as const))('%s', (_key, op) => {
  it('Zapier style (descriptions): one plain sentence that ends with a period; a trigger\'s starts "Triggers when "', () => {
    if (op.kind === 'trigger') expect(op.description).toMatch(/^Triggers when /);
    expect(op.description).toMatch(/[^.]\.$/);
    expect(op.description).not.toMatch(/\.\s+[A-Z]/); // one sentence
    expect(op.description).not.toMatch(/\(|\)/); // caveats go into help text
    expect(op.description.length).toBeLessThanOrEqual(200);
  });

  it('Zapier style (labels and nouns): a title-case label ("New …" for a trigger) and a noun of one or two words', () => {
    expect(isTitleCase(op.label)).toBe(true);
    expect(op.label).not.toMatch(/\.$/);
    if (op.kind === 'trigger') expect(op.label).toMatch(/^New /);
    expect(op.noun.split(' ').length).toBeLessThanOrEqual(2);
    expect(isTitleCase(op.noun)).toBe(true);
  });

  it('sample data guide: every sample key has an output field with a plain-English label', () => {
    const fields = new Set(op.outputFields.map((f) => f.key));
    const unlabelled = Object.entries(op.sample).filter(([k, v]) => !labelled(k, v, fields)).map(([k]) => k);
    expect(unlabelled).toStrictEqual([]);
    const bad = op.outputFields.flatMap((f) => {
      const text = f.label.includes(': ') ? f.label.split(': ').pop()! : f.label; // "Items: Name" for line items
      return DEVELOPER_WORDING.filter(([re]) => re.test(text)).map(([, why]) => `${f.key} "${f.label}": ${why}`);
    });
    expect(bad).toStrictEqual([]);
    for (const f of op.outputFields) expect([f.key, isTitleCase(f.label.replace(/\(%\)/, '').trim())]).toStrictEqual([f.key, true]);
  });

  it('T004/T006: every key of the static sample is in the record of every live event in scope, also without custom fields', async () => {
    if (SIGNALS.has(op.key)) return; // signals.test.ts: a fired signal has exactly the sample's keys
    const missing: string[] = [];
    const records = await liveRecords(op);
    expect(records.length).toBeGreaterThan(0); // positive control: the scope really ran
    for (const { name, record } of records) {
      for (const k of Object.keys(op.sample)) if (!(k in record)) missing.push(`${k} (missing from ${name})`);
    }
    expect(missing).toStrictEqual([]);
    // No dynamic key in a sample: those are named by one account's data.
    expect(Object.keys(op.sample).filter((k) => /^(extra__|viewer_custom_fields__|custom_params__|track_event_properties__)/.test(k))).toStrictEqual([]);
  });

  it('output fields per event: a specific trigger lists only fields its event has', async () => {
    if (SIGNALS.has(op.key) || scopeOf(op).some((s) => s.event === null)) return; // any-event scopes list every field any event has
    const records = await liveRecords(op);
    const keys = new Set(records.flatMap(({ record }) => Object.keys(record)));
    const phantom = op.outputFields.map((f) => f.key.split('[]')[0]).filter((k) => !keys.has(k));
    expect(phantom).toStrictEqual([]);
  });
});

describe('the whole app', () => {
  it('checks every trigger and the create', () => {
    expect(operations.map((o) => o.key).sort()).toStrictEqual([...Object.keys(App.triggers ?? {}), 'verify_webhook'].sort());
    // Each vendor's event triggers and any-event trigger, the two signals, New Demo Session, New Quiet Account, verify_webhook.
    expect(operations).toHaveLength(Object.values(PROVIDERS).reduce((n, p) => n + p.events.length + 1, 0) + 5);
  });

  it('Zapier style (nouns): nouns are unique within a vendor, so the editor\'s "New …" lists read distinctly', () => {
    for (const p of Object.values(PROVIDERS)) {
      const nouns = [...p.events.map((e) => e.noun), p.anyEvent.noun];
      expect(new Set(nouns).size).toBe(nouns.length);
    }
  });
});
