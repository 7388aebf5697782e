// `npm run deploy`: builds the app as `npm test` does (scripts/package-steps.mjs), checks the zip
// loads and runs a trigger, and uploads that zip to Zapier (`zapier-platform upload`). Says what
// to do first when this machine is not logged in to Zapier or the app is not registered yet.
// `--dry-run` prints the steps and runs none.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { PACKAGE_STEPS } from './package-steps.mjs';

const UPLOAD = ['upload build/build.zip and build/source.zip to Zapier', 'zapier-platform', ['upload']];
const steps = [...PACKAGE_STEPS, UPLOAD];

if (process.argv.includes('--dry-run')) {
  for (const [name, cmd, args] of steps) console.log(`${name}: ${cmd} ${args.join(' ')}`);
  process.exit(0);
}

const fail = (message) => {
  console.error(`npm run deploy: ${message}`);
  process.exit(2);
};
const credentials = process.env.ZAPIER_AUTH_LOCATION || path.join(homedir(), '.zapierrc');
if (!process.env.ZAPIER_DEPLOY_KEY && !existsSync(credentials)) {
  fail('this machine is not logged in to Zapier. Run `npx zapier-platform login` (or set ZAPIER_DEPLOY_KEY to a deploy key), then `npm run deploy` again.');
}
let app = {};
try {
  app = JSON.parse(readFileSync('.zapierapprc', 'utf8'));
} catch {
  app = {};
}
if (!app.id) fail('the app is not registered with Zapier yet. Run `npx zapier-platform register "demohooks"` once (it records the app in .zapierapprc), then `npm run deploy` again.');

for (const [name, cmd, args] of steps) {
  console.log(`\n=== ${name}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...(cmd === 'node' ? { NODE_ENV: 'test' } : {}) } });
  if (r.status !== 0) fail(`${name} failed (exit ${r.status ?? 1}); nothing was uploaded after it.`);
}
console.log('\n=== deployed: invite each Zap builder with `npx zapier-platform users:add builder@yourcompany.com <version>`');
