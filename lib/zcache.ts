import type { ZObject } from 'zapier-platform-core';

/** z.cache with the scope and set-if-absent arguments zapier-platform-core 19 takes (its types lag). */
export const zCache = (z: ZObject) =>
  z.cache as unknown as {
    get(k: string, scope?: string[]): Promise<unknown>;
    set(k: string, v: unknown, ttl?: number, scope?: string[], nx?: boolean): Promise<boolean | null>;
  };
