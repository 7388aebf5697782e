/**
 * Samples as the app Zapier loads carries them: computed once when `npm run bundle` builds it
 * (scripts/bundle.mjs), not in every fresh process.
 *
 * A sample is a vendor's documented payload through the same flattening, company lookups and
 * plays as a live event. Building them all loads the public-suffix, free-mail and
 * disposable-mail lists and was about half of what the app added to a cold start, for data that
 * changes only with the code. The compiled tree (the tests, the relay, `npm run bundle` itself)
 * computes each one; the zip's smoke test checks the built ones equal them.
 */
declare const DEMOHOOKS_BUILT_SAMPLES: string | undefined;

let built: Record<string, unknown> | null | undefined;

// JSON text, parsed when the app is defined: V8 reads a string and JSON.parse faster than the
// same data as an object literal in the code.
function builtSamples(): Record<string, unknown> | null {
  if (built === undefined) built = typeof DEMOHOOKS_BUILT_SAMPLES === 'string' ? (JSON.parse(DEMOHOOKS_BUILT_SAMPLES) as Record<string, unknown>) : null;
  return built;
}

/** Where the bundle keeps a sample: `triggers.walnut_any_event`, `searches.top_accounts`, `creates.verify_webhook`. */
export type SampleId = `${'triggers' | 'searches' | 'creates'}.${string}`;

const KINDS = ['triggers', 'searches', 'creates'] as const;

/** Every sample an app definition carries, by where the bundle keeps it. */
export function samplesOf(app: Partial<Record<(typeof KINDS)[number], Record<string, { operation?: { sample?: unknown } }>>>): Record<SampleId, unknown> {
  const out: Record<SampleId, unknown> = {};
  for (const kind of KINDS) {
    for (const [key, def] of Object.entries(app[kind] ?? {})) {
      if (def.operation?.sample !== undefined) out[`${kind}.${key}`] = def.operation.sample;
    }
  }
  return out;
}

/** The sample the bundle was built with, else `compute()` (everything a sample needs goes inside it). */
export function builtSample<T>(id: SampleId, compute: () => T): T {
  const found = builtSamples()?.[id];
  return found === undefined ? compute() : (found as T);
}
