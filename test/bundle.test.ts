/**
 * The bundle Zapier loads carries every sample computed when it was built (lib/built-samples.ts):
 * each equal to what the compiled app computes, and a fresh process that loads it reads none of
 * the company lists the samples need.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { App } from './helpers.js';

const ROOT = path.resolve(__dirname, '..', '..');

describe('the bundle (npm run bundle)', () => {
  let dir: string;
  let loaded: { samples: Record<string, unknown>; lists: string[] };

  beforeAll(() => {
    // Inside dist/, so the bundle's packages resolve from the project's node_modules.
    dir = mkdtempSync(path.join(ROOT, 'dist', 'bundle-check-'));
    const outfile = path.join(dir, 'app.bundle.js');
    execFileSync(process.execPath, ['scripts/bundle.mjs', `--outfile=${outfile}`], { cwd: ROOT, stdio: 'pipe' });
    const probe = `
      const app = require(${JSON.stringify(outfile)}).default;
      const samples = {};
      for (const kind of ['triggers', 'searches', 'creates'])
        for (const [key, def] of Object.entries(app[kind] ?? {})) samples[kind + '.' + key] = def.operation.sample;
      const lists = Object.keys(require.cache).filter((p) => /[\\\\/](tldts|email-providers|disposable-email-domains-js)[\\\\/]/.test(p));
      process.stdout.write(JSON.stringify({ samples, lists }));`;
    loaded = JSON.parse(execFileSync(process.execPath, ['-e', probe], { cwd: ROOT, encoding: 'utf8' }));
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("carries every trigger's, search's and create's sample, each equal to the compiled app's", () => {
    const kinds = ['triggers', 'searches', 'creates'] as const;
    const ids = kinds.flatMap((kind) => Object.keys((App as any)[kind] ?? {}).map((key) => `${kind}.${key}`));
    expect(ids.length).toBeGreaterThan(20);
    expect(Object.keys(loaded.samples).sort()).toEqual(ids.sort());
    for (const kind of kinds) {
      for (const [key, def] of Object.entries((App as any)[kind] ?? {})) {
        expect(JSON.stringify(loaded.samples[`${kind}.${key}`])).toBe(JSON.stringify((def as any).operation.sample));
      }
    }
  });

  it('loads without reading the public-suffix, free-mail or disposable-mail lists', () => {
    // The samples above need them (a viewer's company): they were computed at build time.
    expect(Object.keys(loaded.samples)).toContain('triggers.account_buying_committee');
    expect(loaded.lists).toEqual([]);
  });
});
