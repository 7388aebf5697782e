/**
 * The bundle Zapier loads carries every sample computed when it was built (lib/built-samples.ts):
 * each equal to what the compiled app computes, and a fresh process that loads it reads none of
 * the company lists the samples need.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { samplesOf } from '../lib/built-samples.js';
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
    // A fresh process, so the require cache shows what loading the bundle alone read.
    const probe = `
      const { samplesOf } = require('./dist/lib/built-samples.js');
      const { isCompanyListFile } = require('./dist/lib/company.js');
      const samples = samplesOf(require(${JSON.stringify(outfile)}).default);
      process.stdout.write(JSON.stringify({ samples, lists: Object.keys(require.cache).filter(isCompanyListFile) }));`;
    loaded = JSON.parse(execFileSync(process.execPath, ['-e', probe], { cwd: ROOT, encoding: 'utf8' }));
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("carries every trigger's, search's and create's sample, each equal to the compiled app's", () => {
    // Every operation of the app, counted apart from samplesOf, so a walk that missed one shows.
    const ids = (['triggers', 'searches', 'creates'] as const).flatMap((kind) => Object.keys((App as any)[kind] ?? {}).map((key) => `${kind}.${key}`));
    expect(ids.length).toBeGreaterThan(20);
    expect(Object.keys(loaded.samples).sort()).toEqual(ids.sort());
    const compiled = samplesOf(App as never) as Record<string, unknown>;
    for (const id of ids) expect({ id, sample: JSON.stringify(loaded.samples[id]) }).toEqual({ id, sample: JSON.stringify(compiled[id]) });
  });

  it('loads without reading the public-suffix, free-mail or disposable-mail lists', () => {
    // The samples above need them (a viewer's company): they were computed at build time.
    expect(Object.keys(loaded.samples)).toContain('triggers.account_buying_committee');
    expect(loaded.lists).toEqual([]);
  });
});
