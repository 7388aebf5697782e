/**
 * The parts of zod the app uses, named one by one. The app's bundle (`npm run bundle`, what
 * Zapier loads) then carries only these and their dependencies: `import { z } from 'zod'`
 * pulls in all of zod, its 48 locales included, which was most of a cold start's cost above
 * zapier-platform-core. Types come from zod as they are.
 */
export { array, boolean, number, object, record, string, union, unknown, ZodDefault, ZodNullable, ZodObject, ZodOptional } from 'zod';
export type { infer, ZodError, ZodType } from 'zod';
