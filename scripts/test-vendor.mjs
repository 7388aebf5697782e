// The test vendor: a fourth vendor added to a copy of the project exactly as
// docs/adding-a-vendor.md says, then the suites every vendor passes run in that copy.
//
// 1. Copies the project (its files as git sees them, without node_modules, dist and build)
//    to a temporary folder and commits it there, so `git diff` shows what adding took.
// 2. Adds test/vendor/tourly/ (a Stripe-style vendor: `t=,v1=` signatures, the event type in
//    `type`, test events marked `livemode: false`): its module into lib/providers/, its trigger
//    files into triggers/, its registration in lib/providers/index.ts and its trigger lines in
//    index.ts.
// 3. Checks that the diff touches nothing else, compiles, and runs the shared suites (pipeline,
//    verify_webhook, conformance, vendor names, relay end to end, signals) and the fuzzing of
//    `npm run torture` over every vendor, the new one included.
//
// `npm test` runs it after the jest suite; `node scripts/test-vendor.mjs --keep` leaves the copy.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const FIXTURE = path.join(ROOT, 'test', 'vendor', 'tourly');
const KEY = 'tourly';
const keep = process.argv.includes('--keep');

const fail = (msg) => {
  console.error(`test vendor: ${msg}`);
  process.exit(1);
};
const sh = (cwd, cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', stdio: opts.inherit ? 'inherit' : 'pipe', env: { ...process.env, ...(opts.env ?? {}) } });
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} exited ${r.status}${opts.inherit ? '' : `:\n${r.stdout}${r.stderr}`}`);
  return r.stdout ?? '';
};
const git = (cwd, ...args) => sh(cwd, 'git', ['-c', 'user.name=test-vendor', '-c', 'user.email=test-vendor@localhost', '-c', 'commit.gpgsign=false', ...args]);

// 1. The copy, committed.
const base = mkdtempSync(path.join(tmpdir(), 'demohooks-test-vendor-'));
const copy = path.join(base, 'p');
const files = git(ROOT, 'ls-files', '-z', '--cached', '--others', '--exclude-standard').split('\0').filter((f) => f && existsSync(path.join(ROOT, f)));
for (const f of files) {
  mkdirSync(path.dirname(path.join(copy, f)), { recursive: true });
  cpSync(path.join(ROOT, f), path.join(copy, f));
}
symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
const shared = path.resolve(ROOT, '..', 'shared');
if (existsSync(shared)) symlinkSync(shared, path.join(base, 'shared'));
git(copy, 'init', '-q');
git(copy, 'add', '-A');
git(copy, 'commit', '-q', '-m', 'before the test vendor');

// 2. Adding the vendor, as docs/adding-a-vendor.md says.
cpSync(path.join(FIXTURE, 'lib', 'providers', `${KEY}.ts`), path.join(copy, 'lib', 'providers', `${KEY}.ts`));
const triggerFiles = readdirSync(path.join(FIXTURE, 'triggers')).filter((f) => f.endsWith('.ts'));
for (const f of triggerFiles) cpSync(path.join(FIXTURE, 'triggers', f), path.join(copy, 'triggers', f));

const edit = (rel, change) => {
  const file = path.join(copy, rel);
  const before = readFileSync(file, 'utf8');
  const after = change(before);
  if (after === before) fail(`could not register the vendor in ${rel}: its layout changed; update scripts/test-vendor.mjs and docs/adding-a-vendor.md together`);
  writeFileSync(file, after);
};
// The registration: the module's import and its entry in PROVIDERS.
edit('lib/providers/index.ts', (s) =>
  s
    .replace(/(import \{ \w+ \} from '\.\/\w+\.js';\n)(?![\s\S]*import \{ \w+ \} from '\.\/\w+\.js';)/, `$1import { ${KEY} } from './${KEY}.js';\n`)
    .replace(/(export const PROVIDERS = \{[^}]*?)( \} satisfies)/, `$1, ${KEY}$2`),
);
// The trigger lines: an import and an entry per trigger file, after the last vendor's.
const names = triggerFiles.map((f) => f.replace(/\.ts$/, ''));
edit('index.ts', (s) =>
  s
    .replace(/(import \w+_any_event from '\.\/triggers\/\w+\.js';\n)(?![\s\S]*_any_event from)/, `$1${names.map((n) => `import ${n} from './triggers/${n}.js';\n`).join('')}`)
    .replace(/( +)(\[\w+_any_event\.key\]: \w+,\n)(?![\s\S]*_any_event\.key)/, `$1$2${names.map((n) => `$1[${n}.key]: ${n},\n`).join('')}`),
);

// 3a. What the diff touches.
const status = git(copy, 'status', '--porcelain', '--untracked-files=all').trimEnd().split('\n').sort();
const want = [' M index.ts', ' M lib/providers/index.ts', `?? lib/providers/${KEY}.ts`, ...triggerFiles.map((f) => `?? triggers/${f}`)].sort();
if (JSON.stringify(status) !== JSON.stringify(want)) fail(`adding the vendor touched other files than its module, its triggers and the registration:\n${status.join('\n')}`);
const changed = (rel) =>
  git(copy, 'diff', '-U0', '--', rel)
    .split('\n')
    .filter((l) => /^[+-](?![+-])/.test(l));
const registration = changed('lib/providers/index.ts');
const okRegistration = registration.every((l) => l === `+import { ${KEY} } from './${KEY}.js';` || /^[+-]export const PROVIDERS = \{[^}]*\} satisfies/.test(l));
const triggerLines = changed('index.ts');
const okTriggers = triggerLines.every((l) => l.startsWith('+') && names.some((n) => l.includes(n)));
if (!okRegistration || !okTriggers) fail(`the registration changed more than the vendor's lines:\n${[...registration, ...triggerLines].join('\n')}`);
console.log(`test vendor "${KEY}" added: its module, ${triggerFiles.length} trigger files, ${registration.filter((l) => l.startsWith('+')).length} registration lines (lib/providers/index.ts), ${triggerLines.length} trigger lines (index.ts); nothing else changed`);
for (const l of [...registration, ...triggerLines]) console.log(`  ${l}`);

// 3b. Compile and run the suites every vendor passes, in the copy.
const bin = (n) => path.join(ROOT, 'node_modules', '.bin', n);
sh(copy, bin('tsc'), ['-p', '.'], { inherit: true });
const suites = [
  'dist/test/providers.test.js',
  'dist/test/schema-check.test.js',
  'dist/test/app.test.js',
  'dist/test/conformance.test.js',
  'dist/test/vendor-names.test.js',
  'dist/relay/test/e2e.test.js',
  'dist/relay/test/signals.test.js',
];
const nodeOptions = [process.env.NODE_OPTIONS, '--disable-warning=ExperimentalWarning'].filter(Boolean).join(' ');
const jestEnv = { NODE_OPTIONS: nodeOptions, DEMOHOOKS_JEST_RESULTS: '', ZAPIER_BASE_ENDPOINT: '' };
const report = path.join(base, 'jest.json');
sh(copy, bin('jest'), ['--ci', '--json', `--outputFile=${report}`, ...suites], { inherit: true, env: jestEnv });
// The run must have met the vendor: the shared cases are named after each vendor.
const results = JSON.parse(readFileSync(report, 'utf8'));
const ran = results.testResults.flatMap((f) => f.assertionResults).filter((t) => t.status === 'passed' && t.fullName.includes(KEY));
if (results.numFailedTests !== 0 || ran.length < 20) fail(`expected the shared suites to pass with ${KEY}'s cases among them: ${ran.length} of its cases passed, ${results.numFailedTests} tests failed`);
console.log(`test vendor "${KEY}": ${results.numPassedTests} tests passed in the copy, ${ran.length} of them ${KEY}'s own cases`);
sh(copy, process.execPath, ['dist/bench/torture.js', '--short', '--fuzz-only'], { inherit: true, env: { NODE_ENV: 'test' } });

if (keep) console.log(`the copy is kept at ${copy}`);
else rmSync(base, { recursive: true, force: true });
console.log(`test vendor "${KEY}": the shared suites and the fuzzing passed`);
