import type { ZodError, ZodType } from './zod.js';

/**
 * Validation with zod's answer at a fraction of its cost per event. zod's parse runs every
 * field through a chain of wrappers (nullable ▸ optional ▸ type), each allocating a result,
 * and copies every object and array it passes: about a fifth of a trigger's perform. Each
 * schema is compiled once, from its definition, into one function of plain `typeof` tests on
 * named properties (what zod's own JIT does for its objects), which allocates nothing: about a
 * twelfth of the cost of the same tests as closures calling closures. When it passes, the
 * payload itself is the parsed data: for the schema kinds compiled here zod's data holds the
 * same values, less the undeclared keys, which the flatteners never read (a test compares both,
 * field by field, over every sample changed at every path). When it fails, or the schema uses a
 * kind this does not know (a default, a transform, a check other than a minimum length), or the
 * runtime allows no code generation, zod parses as before, so a refusal names its paths in zod's
 * words. The generated code holds only the schema's own key names, quoted by JSON.stringify.
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

/** What the generated code calls: zod's own tests for an object (any non-array) and a record (a plain one). */
const RUNTIME = {
  isObject: (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v),
  every: (v: unknown, element: Check): boolean => {
    if (!Array.isArray(v)) return false;
    for (let i = 0; i < v.length; i++) if (!element(v[i])) return false;
    return true;
  },
  record: (v: unknown, value: Check): boolean => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
    const proto = Object.getPrototypeOf(v);
    // zod takes a stranger object as a record too, and leaves a "__proto__" key out of its
    // copy: such a payload goes to zod.
    if ((proto !== Object.prototype && proto !== null) || Object.prototype.hasOwnProperty.call(v, '__proto__')) return false;
    for (const k in v) if (!value((v as Record<string, unknown>)[k])) return false;
    return true;
  },
};

/**
 * The source of a schema's check: one function per object, array element and record value
 * (`f0` the schema's own), each a single expression over its argument `x`.
 */
function generate(schema: ZodType): string | null {
  const fns: string[] = [];
  const fn = (s: ZodType): string | null => {
    const i = fns.length;
    fns.push('');
    const e = expr(s, 'x', true);
    if (e === null) return null;
    fns[i] = `function f${i}(x) { return ${e}; }`;
    return `f${i}`;
  };
  const expr = (s: ZodType, x: string, own = false): string | null => {
    const def = defOf(s);
    if (def.coerce) return null;
    let minLength = 0;
    for (const c of def.checks ?? []) {
      const cd = c._zod.def;
      if (def.type === 'string' && cd.check === 'min_length' && typeof cd.minimum === 'number') minLength = Math.max(minLength, cd.minimum);
      else return null;
    }
    switch (def.type) {
      case 'string':
        return minLength > 0 ? `(typeof ${x} === 'string' && ${x}.length >= ${minLength})` : `typeof ${x} === 'string'`;
      case 'number':
        return `(typeof ${x} === 'number' && Number.isFinite(${x}))`;
      case 'boolean':
        return `typeof ${x} === 'boolean'`;
      case 'unknown':
      case 'any':
        return 'true';
      case 'optional': {
        const inner = expr(def.innerType!, x);
        return inner && `(${x} === undefined || ${inner})`;
      }
      case 'nullable': {
        const inner = expr(def.innerType!, x);
        return inner && `(${x} === null || ${inner})`;
      }
      case 'union': {
        const options = def.options!.map((o) => expr(o, x));
        return options.includes(null) ? null : `(${options.join(' || ')})`;
      }
      case 'array': {
        const element = fn(def.element!);
        return element && `every(${x}, ${element})`;
      }
      case 'record': {
        // Keys of any string (zod checks each against a plain string schema); values by their schema.
        const key = defOf(def.keyType!);
        if (key.type !== 'string' || key.coerce || (key.checks?.length ?? 0) > 0) return null;
        const value = fn(def.valueType!);
        return value && `record(${x}, ${value})`;
      }
      case 'object': {
        if (def.catchall !== undefined) return null;
        if (!own) {
          // A nested object is a function of its own, so its fields are read off one value.
          const f = fn(s);
          return f && `${f}(${x})`;
        }
        const fields: string[] = [];
        for (const [k, child] of Object.entries(def.shape!)) {
          const e = expr(child, `x[${JSON.stringify(k)}]`);
          if (e === null) return null;
          fields.push(e);
        }
        return `(isObject(x)${fields.map((e) => ` && ${e}`).join('')})`;
      }
      default:
        return null;
    }
  };
  const top = fn(schema);
  return top && `${fns.join('\n')}\nreturn ${top};`;
}

/** The compiled check of a schema, or null when it has a part this does not know or code cannot be generated here. */
function compile(schema: ZodType): Check | null {
  const source = generate(schema);
  if (source === null) return null;
  try {
    return new Function(...Object.keys(RUNTIME), source)(...Object.values(RUNTIME)) as Check;
  } catch {
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
