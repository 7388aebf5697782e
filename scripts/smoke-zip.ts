/**
 * Loads build/build.zip the way Zapier does (unzipped, `zapierwrapper.js` → handler) and
 * runs one trigger through it: a signed documented Walnut delivery must come out as the
 * flattened record, and a forged one must be refused. Proves the zip holds every file the
 * app needs and that the built app behaves as the tested one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import App from '../index.js';
import { samplesOf, type SampleId } from '../lib/built-samples.js';
import { isCompanyListFile } from '../lib/company.js';
import { demoSessionSample } from '../lib/providers/walnut.js';
import { signBody } from '../lib/signature.js';

// The CLI's own unzip (pinned with the CLI), the one `zapier-platform build` tests its zip with.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const decompress = require('zapier-platform-cli/src/utils/decompress') as (zip: string, dir: string) => Promise<unknown>;

const KEY = 'smoke-test-signing-key';

async function invoke(handler: any, bundle: unknown, trigger = 'walnut_demo_session_finished'): Promise<any> {
  const event = {
    command: 'execute',
    method: `triggers.${trigger}.operation.perform`,
    bundle,
    zcacheTestObj: {},
  };
  return handler(event, {});
}

/**
 * The zip's app carries the samples the bundle computed (lib/built-samples.ts): each equals the
 * one the compiled app computes now, and loading the app reads none of the company lists.
 */
function checkSamples(dir: string): void {
  const built = samplesOf(require(path.join(dir, 'index.js')));
  const lists = Object.keys(require.cache).filter((p) => p.startsWith(dir) && isCompanyListFile(p));
  if (lists.length) throw new Error(`loading the built app read ${lists.map((p) => path.relative(dir, p)).join(', ')}: its samples were computed, not built in (npm run bundle)`);
  const compiled = samplesOf(App as never);
  if (Object.keys(built).length !== Object.keys(compiled).length) throw new Error(`built app: ${Object.keys(built).length} samples, the compiled app ${Object.keys(compiled).length} (rebuild with npm run build)`);
  for (const [id, sample] of Object.entries(compiled)) {
    const want = JSON.stringify(sample);
    const got = JSON.stringify(built[id as SampleId]);
    if (got !== want) throw new Error(`built app: the sample of ${id} differs from the compiled app's (rebuild with npm run build): ${got?.slice(0, 200)} ≠ ${want?.slice(0, 200)}`);
  }
  console.log(`smoke: the built app's ${Object.keys(compiled).length} samples equal the compiled app's, and loading it read no company list`);
}

async function main(): Promise<void> {
  const zip = path.resolve(process.argv[2] ?? 'build/build.zip');
  const dir = mkdtempSync(path.join(tmpdir(), 'demohooks-zip-'));
  try {
    await decompress(zip, dir);
    // Run from the unzipped folder only: nothing may resolve back into this checkout.
    process.chdir(dir);
    checkSamples(dir);
    const { handler } = require(path.join(dir, 'zapierwrapper.js'));
    const body = JSON.stringify(demoSessionSample);
    const bundle = (signature: string) => ({
      authData: { walnut_signing_key: KEY },
      inputData: {},
      subscribeData: { id: 'smoke' },
      rawRequest: { content: body, headers: { 'Http-X-Walnut-Signature': signature } },
    });
    const ok = await invoke(handler, bundle(signBody(body, KEY)));
    const records = ok.results;
    if (!Array.isArray(records) || records.length !== 1) throw new Error(`expected one record, got ${JSON.stringify(records)}`);
    const r = records[0];
    const want = { id: 'walnut:demo_session_finished:eb8af248-a970-46fa-bfb0-cb675b6780e1', signature_verified: true, lead_score_points: 10, viewer_domain: 'walnut.io' };
    for (const [k, v] of Object.entries(want)) {
      if (r[k] !== v) throw new Error(`built app: ${k} is ${JSON.stringify(r[k])}, expected ${JSON.stringify(v)}`);
    }
    let refused = '';
    try {
      await invoke(handler, bundle(signBody(body, 'forged')));
    } catch (err) {
      refused = (err as Error).message;
    }
    if (!refused.includes('Walnut signature mismatch')) throw new Error(`built app accepted a forged delivery (${refused || 'no error'})`);
    if (refused.includes(KEY)) throw new Error('built app leaked the signing key in an error');
    // The account signals load the public-suffix, free-mail and disposable lists on first use:
    // a free-mail viewer must be recognised (no company, no relay call) from the zip alone.
    const freeMail = JSON.stringify({ ...demoSessionSample, data: { ...demoSessionSample.data, user: { email: 'someone@gmail.com' } } });
    const signal = await invoke(
      handler,
      { authData: { walnut_signing_key: KEY }, inputData: {}, subscribeData: { id: 'smoke' }, rawRequest: { content: freeMail, headers: { 'Http-X-Walnut-Signature': signBody(freeMail, KEY) } } },
      'account_buying_committee',
    );
    if (!Array.isArray(signal.results) || signal.results.length !== 0) throw new Error(`account_buying_committee: expected [] for a free-mail viewer, got ${JSON.stringify(signal.results)}`);
    console.log(`smoke: the built zip ran walnut_demo_session_finished: record ${r.id} verified, forgery refused; account_buying_committee loaded its company lists`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`smoke: FAILED: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
