// `npm test`: everything CI checks, in order, stopping at the first failure.
//
// The jest step goes through `zapier-platform test --skip-validate`, which calls `npm test`
// again with ZAPIER_BASE_ENDPOINT set: in that nested call this script runs jest alone.
// npm scripts put node_modules/.bin first on PATH, so `node` here is the pinned Node 22.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BUILD, BUNDLE, COMPILE, SMOKE, VALIDATE } from './package-steps.mjs';

const run = (cmd, args, extraEnv = {}) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...extraEnv } });
  return r.status ?? 1;
};

if (process.env.ZAPIER_BASE_ENDPOINT) {
  const report = process.env.DEMOHOOKS_JEST_RESULTS;
  // node:sqlite's "experimental" notice: the relay filters it (relay/db.ts), but jest runs the
  // tests in sandboxes whose warning listeners are not the process's, so it is turned off here.
  const nodeOptions = [process.env.NODE_OPTIONS, '--disable-warning=ExperimentalWarning'].filter(Boolean).join(' ');
  process.exit(run('jest', [...(report ? ['--json', `--outputFile=${report}`] : []), ...process.argv.slice(2)], { NODE_OPTIONS: nodeOptions }));
}

if (!process.version.startsWith('v22.')) {
  console.error(`npm test needs the project's Node 22 (found ${process.version}): run it through npm after \`npm install\`.`);
  process.exit(1);
}

const results = path.join(mkdtempSync(path.join(tmpdir(), 'demohooks-jest-')), 'results.json');
// The packaging steps are the ones `npm run deploy` runs before it uploads (scripts/package-steps.mjs).
const steps = [
  COMPILE,
  BUNDLE,
  VALIDATE,
  ['jest suite (via zapier-platform test)', 'zapier-platform', ['test', '--skip-validate']],
  BUILD,
  SMOKE,
  ['fault and bad-input suite (short form of npm run torture)', 'node', ['dist/bench/torture.js', '--short']],
  ['the test vendor: a fourth vendor added to a copy of the project, through the shared suites', 'node', ['scripts/test-vendor.mjs']],
];

let summary = null;
for (const [name, cmd, args] of steps) {
  console.log(`\n=== ${name}: ${cmd} ${args.join(' ')}`);
  const status = run(cmd, args, { DEMOHOOKS_JEST_RESULTS: results, ...(cmd === 'node' ? { NODE_ENV: 'test' } : {}) });
  try {
    const r = JSON.parse(readFileSync(results, 'utf8'));
    summary = { passed: r.numPassedTests, failed: r.numFailedTests, skipped: r.numPendingTests };
    rmSync(path.dirname(results), { recursive: true, force: true });
  } catch {
    // not written yet
  }
  if (status !== 0) {
    console.error(`\n=== FAILED: ${name} (exit ${status})`);
    if (summary) console.log(`jest: ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`);
    process.exit(status);
  }
}
console.log('\n=== all checks passed');
if (summary) console.log(`jest: ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`);
