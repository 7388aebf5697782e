/**
 * The golden copy of what Zapier and a Zap see of the app: the whole app definition (labels,
 * help texts, input and output fields, samples; functions by name) and the record of every
 * documented payload of every vendor. `test/golden.test.ts` fails when either changes, so a
 * refactor that should change nothing (the vendor seam) is proven byte-identical. After an
 * intended change: `node dist/scripts/golden.js --write`, and review the diff of
 * test/golden/app.json.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import App from '../index.js';
import { processDelivery } from '../lib/pipeline.js';
import { PROVIDERS } from '../lib/providers/index.js';
import { signBody } from '../lib/signature.js';

export const GOLDEN = path.resolve(__dirname, '..', '..', 'test', 'golden', 'app.json');

/** A JSON value of the definition: functions by their names, keys in definition order. */
function canonical(v: unknown): unknown {
  if (typeof v === 'function') return `[function ${v.name || 'anonymous'}]`;
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, canonical(x)]));
  return v;
}

export function goldenSnapshot(): string {
  const secret = 'golden-secret';
  const records: Record<string, unknown> = {};
  for (const provider of Object.values(PROVIDERS)) {
    for (const ev of provider.events) {
      const body = JSON.stringify(ev.sample);
      const out = processDelivery(provider, { rawBody: body, signature: signBody(body, secret) }, [secret], { want: '*', includeTest: true });
      records[ev.triggerKey] = out.kind === 'record' ? out.record : out;
    }
  }
  return `${JSON.stringify({ definition: canonical(App), records }, null, 1)}\n`;
}

if (require.main === module && process.argv.includes('--write')) {
  writeFileSync(GOLDEN, goldenSnapshot());
  process.stdout.write(`wrote ${GOLDEN}\n`);
}
