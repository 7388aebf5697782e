// `npm run bundle`: the app Zapier loads, dist/app.bundle.js, from the compiled tree (run tsc
// first). One minified file (function names kept for stack traces, a source map beside it)
// with only the parts of zod the app uses, so a fresh Zapier process loads one file instead of
// about 150; the packages that are data (the public-suffix, free-mail and disposable-mail
// lists) stay outside, loaded when first used.
//
// Every trigger's, search's and create's sample is computed here, from the compiled app, and
// carried in the bundle (lib/built-samples.ts), so a cold start does not build them again.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// `--outfile=<path>`: somewhere else than dist/app.bundle.js (the test that checks the built samples).
const outfile = process.argv.find((a) => a.startsWith('--outfile='))?.slice(10) ?? 'dist/app.bundle.js';
const compiled = new URL('../dist/index.js', import.meta.url);
if (!existsSync(compiled)) {
  console.error('npm run bundle: dist/index.js is missing. Compile first: `npx tsc -p .` (npm run build does both).');
  process.exit(1);
}
const { samplesOf } = require('../dist/lib/built-samples.js');
const { COMPANY_LIST_PACKAGES } = require('../dist/lib/company.js');
const samples = samplesOf(require(compiled.pathname).default);

await build({
  entryPoints: ['index.ts'],
  bundle: true,
  minify: true,
  keepNames: true,
  sourcemap: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  external: ['zapier-platform-core', ...COMPANY_LIST_PACKAGES],
  outfile,
  logLevel: 'warning',
  define: { DEMOHOOKS_BUILT_SAMPLES: JSON.stringify(JSON.stringify(samples)) },
});
