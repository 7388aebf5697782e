/**
 * The parts of zod the app uses, named one by one. The app's bundle (`npm run bundle`, what
 * Zapier loads) then carries only these and their dependencies: `import { z } from 'zod'`
 * pulls in all of zod, its 48 locales included, which was most of a cold start's cost above
 * zapier-platform-core. Types come from zod as they are.
 */
import { array, boolean, number, object, record, string, union, unknown, ZodDefault, ZodNullable, ZodObject, ZodOptional } from 'zod';

export { array, boolean, number, object, record, string, union, unknown, ZodDefault, ZodNullable, ZodObject, ZodOptional };
export type { infer, ZodError, ZodType } from 'zod';

// optional().nullable() accepts what nullish() does; zod checks it without a lazy getter per parse.
const makeLeaves = () => ({ string: string().optional().nullable(), number: number().optional().nullable(), boolean: boolean().optional().nullable() });
let leaves: ReturnType<typeof makeLeaves> | null = null;

/**
 * The optional (absent or null) leaves, one instance each, shared by every field that has that
 * type. Zod schemas are immutable, so sharing is safe, and building a zod instance costs more
 * than validating with it: a cold start builds a provider's schemas once, field by field.
 */
export const nullish = () => (leaves ??= makeLeaves());
