/**
 * The compiled validation gives zod's answer: every documented payload, changed at every path
 * in every way JSON can change it, passes or fails as zod says, and what the vendor's flattener
 * makes of a passing one is what it makes of zod's parsed copy. And the epoch-to-ISO arithmetic
 * writes what `Date#toISOString` writes.
 */
import fc from 'fast-check';
import { PROVIDERS } from '../lib/providers/index.js';
import type { ProviderSpec } from '../lib/providers/types.js';
import { isoFrom } from '../lib/record.js';
import { compiles, safeParse } from '../lib/schema-check.js';
import type { ZodType } from '../lib/zod.js';
import { clone } from './helpers.js';

type Json = unknown;

/** What JSON can put where a value was: each type, empty and not, and a nested object or list. */
const REPLACEMENTS: Json[] = [null, '', 'x', 0, -1.5, 1e300, true, false, [], [1], ['a', null], [{}], {}, { a: 1 }, { id: 'x' }];


/** An object with an own "__proto__" key, as JSON.parse makes one. */
const withProtoKey = (o: Record<string, Json>): Record<string, Json> => JSON.parse(JSON.stringify({ ...o, ['__proto__marker']: 1 }).replace('"__proto__marker"', '"__proto__"'));

/** Every path to a value inside a JSON value (objects and arrays), the root excluded. */
function paths(v: Json, at: Array<string | number> = []): Array<Array<string | number>> {
  if (v === null || typeof v !== 'object') return [];
  const out: Array<Array<string | number>> = [];
  const keys: Array<string | number> = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
  for (const k of keys) {
    const p = [...at, k];
    out.push(p, ...paths((v as Record<string | number, Json>)[k], p));
  }
  return out;
}

/** A copy of `root` with the value at `path` replaced (or removed when `to` is `remove`). */
function changed(root: Json, path: Array<string | number>, to: Json | typeof remove): Json {
  const copy = clone(root);
  let parent = copy as Record<string | number, Json>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, Json>;
  const last = path[path.length - 1];
  if (to === remove) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else {
    parent[last] = clone(to);
  }
  return copy;
}
const remove = Symbol('remove');

/** Every object inside a value, with a key no schema declares added, and one with a "__proto__" key. */
function withUnknownKeys(root: Json): Json[] {
  const out: Json[] = [];
  const objects = [[], ...paths(root)].filter((p) => {
    let v = root as Record<string | number, Json>;
    for (const k of p) v = v[k] as Record<string | number, Json>;
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  });
  for (const p of objects) {
    for (const add of [(o: Record<string, Json>) => ({ ...o, added_later: { nested: [1, { deep: 'x' }] } }), withProtoKey]) {
      const copy = clone(root) as Record<string | number, Json>;
      if (p.length === 0) {
        out.push(add(copy));
        continue;
      }
      let parent = copy;
      for (const k of p.slice(0, -1)) parent = parent[k] as Record<string | number, Json>;
      parent[p[p.length - 1]] = add(parent[p[p.length - 1]] as Record<string, Json>);
      out.push(copy);
    }
  }
  return out;
}

/** Every variant of a payload the test checks. */
function variants(sample: Json): Json[] {
  const out: Json[] = [clone(sample), ...withUnknownKeys(sample), null, [], 'x', 1];
  for (const p of paths(sample)) {
    out.push(changed(sample, p, remove));
    for (const r of REPLACEMENTS) out.push(changed(sample, p, r));
  }
  return out;
}

const outcome = (f: () => unknown): { value: unknown } | { error: string } => {
  try {
    return { value: f() };
  } catch (err) {
    return { error: (err as Error).message };
  }
};

interface Case {
  name: string;
  schema: ZodType;
  flatten: (data: never) => unknown;
  samples: Json[];
}

const cases: Case[] = Object.values(PROVIDERS as Record<string, ProviderSpec>).flatMap((p) => [
  ...p.events.map((e) => ({ name: `${p.key} ${e.event}`, schema: e.schema, flatten: e.flatten as (d: never) => unknown, samples: [e.sample] })),
  {
    name: `${p.key} envelope`,
    schema: p.envelope.schema(),
    flatten: ((d: Record<string, unknown>) => p.envelope.flatten(d, 'an_event_type_added_later')) as (d: never) => unknown,
    samples: p.events.map((e) => e.sample),
  },
]);

describe('compiled validation', () => {
  it('compiles every schema the vendors declare (none silently left to zod)', () => {
    expect(cases.length).toBeGreaterThanOrEqual(17);
    for (const c of cases) expect([c.name, compiles(c.schema)]).toEqual([c.name, true]);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: passes and fails as zod does, and flattens to what zod’s copy flattens to', (_name, c) => {
    const zodParse = jest.spyOn(c.schema, 'safeParse');
    let passed = 0;
    let failed = 0;
    try {
      for (const sample of c.samples) {
        for (const payload of variants(sample)) {
          const ours = safeParse(c.schema, payload);
          zodParse.mockClear();
          const theirs = c.schema.safeParse(payload);
          expect({ payload, success: ours.success }).toEqual({ payload, success: theirs.success });
          if (ours.success && theirs.success) {
            passed++;
            // The payload itself (zod was not asked), unless a record in it has a "__proto__" key,
            // which zod leaves out of its copy: that one goes to zod.
            if (!JSON.stringify(payload).includes('"__proto__"')) expect(ours.data).toBe(payload);
            expect(outcome(() => c.flatten(ours.data as never))).toStrictEqual(outcome(() => c.flatten(theirs.data as never)));
          } else {
            failed++;
            expect(ours).toStrictEqual(theirs); // zod's own answer, its paths and messages
          }
        }
      }
      // Each payload checked both ways: the fast path served the ones that pass, zod the rest.
      zodParse.mockClear();
      const sample = clone(c.samples[0]);
      expect(safeParse(c.schema, sample).success).toBe(true);
      expect(zodParse).not.toHaveBeenCalled();
      expect(safeParse(c.schema, null).success).toBe(false);
      expect(zodParse).toHaveBeenCalledTimes(1);
    } finally {
      zodParse.mockRestore();
    }
    expect(passed).toBeGreaterThan(10);
    expect(failed).toBeGreaterThan(10);
  });
});

describe('isoFrom of an epoch', () => {
  const viaDate = (ms: number) => new Date(Math.trunc(ms)).toISOString();
  /** Pendo documents seconds; anything past 1e12 is milliseconds. */
  const expected = (v: number) => viaDate(Math.abs(v) >= 1e12 ? v : v * 1000);

  it('writes what Date writes, for milliseconds and seconds across the years 1970 to 9999', () => {
    const edges = [
      0, 1, 59, 86_399, 86_400, 951_782_400 /* seconds */, 1e12, 1e12 + 1, 951_782_400_000 /* 2000-02-29 */, 951_868_800_000 /* 2000-03-01 */,
      4_107_542_400_000 /* 2100-02-28 */, 4_107_628_800_000 /* 2100-03-01: 2100 is no leap year */, 1_709_164_800_000 /* 2024-02-29 */,
      1_735_689_599_999, 1_735_689_600_000, 253_402_300_799_999 /* 9999-12-31T23:59:59.999Z */,
    ];
    for (const v of edges) expect([v, isoFrom(v)]).toEqual([v, expected(v)]);
    // Milliseconds across the years 1970 to 9999, and Pendo's seconds with a fraction: the same numbers every run.
    fc.assert(
      // A day (from the first past 1e12 ms to 9999-12-31) and a millisecond of it.
      fc.property(fc.integer({ min: 11_575, max: 2_932_896 }), fc.integer({ min: 0, max: 86_399_999 }), fc.integer({ min: 0, max: 999_999_999 }), fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), (day, inDay, seconds, fraction) => {
        const ms = day * 86_400_000 + inDay;
        expect([ms, isoFrom(ms)]).toEqual([ms, viaDate(ms)]);
        expect([seconds + fraction, isoFrom(seconds + fraction)]).toEqual([seconds + fraction, viaDate((seconds + fraction) * 1000)]);
      }),
      { seed: 42, numRuns: 20_000 },
    );
  });

  it('leaves the rest to Date: before 1970, past 9999, and what is no time', () => {
    expect(isoFrom(-1)).toBe(viaDate(-1000));
    expect(isoFrom(-1)).toBe('1969-12-31T23:59:59.000Z');
    expect(isoFrom(-2e12 - 1)).toBe(viaDate(-2e12 - 1));
    expect(isoFrom(253_402_300_800_000)).toBe('+010000-01-01T00:00:00.000Z');
    expect(isoFrom(8.64e15 + 1)).toBeNull();
    expect(isoFrom(Number.NaN)).toBeNull();
    expect(isoFrom('2024-05-01T10:00:00Z')).toBe('2024-05-01T10:00:00.000Z');
  });
});
