/**
 * `npm run deploy`: the steps it runs are the packaging steps `npm test` runs and checks (the
 * build with --skip-dep-install, then the zip loaded and a trigger run through it), then the
 * upload of that zip; and before building anything it says what to do on a machine not logged
 * in to Zapier or with the app not registered.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, cpSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const deploy = (cwd: string, env: Record<string, string | undefined>, ...args: string[]) => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'deploy.mjs'), ...args], { cwd, env: { ...process.env, ZAPIER_DEPLOY_KEY: undefined, ...env }, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('npm run deploy', () => {
  it('builds exactly as npm test does, then uploads that zip (never the default build of push)', () => {
    const plan = deploy(ROOT, {}, '--dry-run');
    expect(plan.code).toBe(0);
    // The module as ESM, read in a child (jest's sandbox does not import ESM).
    const PACKAGE_STEPS = JSON.parse(
      spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(path.join(ROOT, 'scripts', 'package-steps.mjs'))}); console.log(JSON.stringify(m.PACKAGE_STEPS));`], { encoding: 'utf8' }).stdout,
    );
    const lines = plan.out.trim().split('\n');
    expect(lines.slice(0, -1)).toStrictEqual(PACKAGE_STEPS.map(([name, cmd, args]: [string, string, string[]]) => `${name}: ${cmd} ${args.join(' ')}`));
    expect(lines[lines.length - 1]).toMatch(/: zapier-platform upload$/);
    expect(plan.out).toContain('zapier-platform build --skip-validation --skip-dep-install');
    expect(plan.out).not.toContain(' push');
    // npm test runs those packaging steps itself, so the zip deploy uploads is the one it checked.
    const testScript = readFileSync(path.join(ROOT, 'scripts', 'test.mjs'), 'utf8');
    for (const step of ['COMPILE', 'BUNDLE', 'VALIDATE', 'BUILD', 'SMOKE']) expect(testScript).toMatch(new RegExp(`^  ${step},$`, 'm'));
    expect(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.deploy).toBe('node scripts/deploy.mjs');
  });

  it('says to log in, then to register, before building anything', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'demohooks-deploy-'));
    const home = path.join(dir, 'home');
    mkdirSync(home);
    cpSync(path.join(ROOT, '.zapierapprc'), path.join(dir, '.zapierapprc'));
    const notLoggedIn = deploy(dir, { HOME: home, ZAPIER_AUTH_LOCATION: undefined });
    expect([notLoggedIn.code, notLoggedIn.err.trim()]).toStrictEqual([2, expect.stringContaining('not logged in to Zapier. Run `npx zapier-platform login`')]);
    expect(notLoggedIn.out).toBe(''); // nothing was run
    writeFileSync(path.join(home, '.zapierrc'), '{"deployKey":"not-a-real-key"}');
    const unregistered = deploy(dir, { HOME: home, ZAPIER_AUTH_LOCATION: undefined });
    expect([unregistered.code, unregistered.err.trim()]).toStrictEqual([2, expect.stringContaining('not registered with Zapier yet. Run `npx zapier-platform register "demohooks"` once')]);
    expect(unregistered.out).toBe('');
  });
});
