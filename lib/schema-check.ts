import type { ZodError, ZodType } from './zod.js';

/**
 * Validation with zod's answer at a fraction of its cost per event. zod's parse runs every
 * field through a chain of wrappers (nullable ▸ optional ▸ type), each allocating a result,
 * and copies every object and array it passes: about a fifth of a trigger's perform. Each
 * schema is compiled once, from its definition, into a predicate of plain `typeof` checks
 * that allocates nothing. When the predicate passes, the payload itself is the parsed data:
 * for the schema kinds compiled here zod's data holds the same values, less the undeclared
 * keys, which the flatteners never read (a test compares both, field by field, over every
 * sample mutated at every path). When it fails, or the schema uses a kind the compiler does
 * not know (a default, a transform, a check other than a minimum length), zod parses as
 * before, so a refusal names its paths in zod's words.
 */
export type SafeParse<T> = { success: true; data: T } | { success: false; error: ZodError };

type Check = (v: unknown) => boolean;

interface Def {
  type: string;
  checks?: Array<{ _zod: { def: { check: string; minimum?: number } } }>;
  coerce?: boolean;
  shape?: Record<string, ZodType>;
  catchall?: ZodType;
  element?: ZodType;
  options?: ZodType[];
  innerType?: ZodType;
  keyType?: ZodType;
  valueType?: ZodType;
}

const defOf = (schema: ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What zod's record takes as an object: a plain one (zod's own test is looser; a stranger one goes to zod). */
const isPlain = (v: unknown): v is Record<string, unknown> => {
  if (!isObject(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

const hasOwn = Object.prototype.hasOwnProperty;

/** The predicate for a schema, or null when the schema has a part this compiler does not know. */
function compile(schema: ZodType): Check | null {
  const def = defOf(schema);
  if (def.coerce) return null;
  let minLength = 0;
  for (const c of def.checks ?? []) {
    const cd = c._zod.def;
    if (def.type === 'string' && cd.check === 'min_length' && typeof cd.minimum === 'number') minLength = Math.max(minLength, cd.minimum);
    else return null;
  }
  switch (def.type) {
    case 'string':
      return minLength > 0 ? (v) => typeof v === 'string' && v.length >= minLength : (v) => typeof v === 'string';
    case 'number':
      return (v) => typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return (v) => typeof v === 'boolean';
    case 'unknown':
    case 'any':
      return () => true;
    case 'optional':
    case 'nullable': {
      // Most fields are optional().nullable() of a type: one test for both wrappers.
      const innerDef = defOf(def.innerType!);
      const both = (innerDef.type === 'optional' || innerDef.type === 'nullable') && innerDef.type !== def.type && !innerDef.checks?.length;
      const inner = compile(both ? innerDef.innerType! : def.innerType!);
      if (!inner) return null;
      if (both) return (v) => v == null || inner(v);
      return def.type === 'optional' ? (v) => v === undefined || inner(v) : (v) => v === null || inner(v);
    }
    case 'array': {
      const element = compile(def.element!);
      if (!element) return null;
      return (v) => {
        if (!Array.isArray(v)) return false;
        for (let i = 0; i < v.length; i++) if (!element(v[i])) return false;
        return true;
      };
    }
    case 'union': {
      const options: Check[] = [];
      for (const o of def.options!) {
        const c = compile(o);
        if (!c) return null;
        options.push(c);
      }
      return (v) => {
        for (let i = 0; i < options.length; i++) if (options[i](v)) return true;
        return false;
      };
    }
    case 'record': {
      // Keys of any string (zod checks each against a plain string schema); values by their schema.
      const key = defOf(def.keyType!);
      if (key.type !== 'string' || key.coerce || (key.checks?.length ?? 0) > 0) return null;
      const value = compile(def.valueType!);
      if (!value) return null;
      return (v) => {
        // zod leaves a "__proto__" key out of its copy: such a payload goes to zod.
        if (!isPlain(v) || hasOwn.call(v, '__proto__')) return false;
        for (const k in v) if (!value(v[k])) return false;
        return true;
      };
    }
    case 'object': {
      if (def.catchall !== undefined) return null;
      const keys: string[] = [];
      const checks: Check[] = [];
      for (const [k, child] of Object.entries(def.shape!)) {
        const c = compile(child);
        if (!c) return null;
        keys.push(k);
        checks.push(c);
      }
      return (v) => {
        if (!isObject(v)) return false;
        for (let i = 0; i < keys.length; i++) if (!checks[i](v[keys[i]])) return false;
        return true;
      };
    }
    default:
      return null;
  }
}

const compiled = new WeakMap<ZodType, Check | null>();

/** zod's safeParse, with the payload itself as the data when the compiled predicate passes it. */
export function safeParse<T>(schema: ZodType<T>, payload: unknown): SafeParse<T> {
  let check = compiled.get(schema);
  if (check === undefined) {
    check = compile(schema);
    compiled.set(schema, check);
  }
  if (check?.(payload)) return { success: true, data: payload as T };
  return schema.safeParse(payload) as SafeParse<T>;
}

/** Whether the schema compiles to a predicate (the tests check every provider's does). */
export const compiles = (schema: ZodType): boolean => compile(schema) !== null;
