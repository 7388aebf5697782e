/**
 * The app as Zapier and a Zap see it, byte for byte: the definition (with every sample) and the
 * record of each documented payload. A change here must be intended: regenerate with
 * `node dist/scripts/golden.js --write` and review the diff of test/golden/app.json.
 */
import { readFileSync } from 'node:fs';
import { GOLDEN, goldenSnapshot } from '../scripts/golden.js';

describe('the golden copy of the app', () => {
  it('matches test/golden/app.json (definition, samples, and the record of every documented payload)', () => {
    const want = readFileSync(GOLDEN, 'utf8');
    const got = goldenSnapshot();
    if (got !== want) {
      const a = want.split('\n');
      const b = got.split('\n');
      const i = a.findIndex((line, k) => line !== b[k]);
      throw new Error(
        `the app differs from test/golden/app.json from line ${i + 1}:\n  golden: ${a[i]}\n  now:    ${b[i]}\n` +
          'If the change is intended, run `node dist/scripts/golden.js --write` and review the diff.',
      );
    }
    expect(got).toBe(want);
  });
});
