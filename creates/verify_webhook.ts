import { defineCreate, type CreatePerform } from 'zapier-platform-core';
import { includeTestEventsField, runPipeline, truthy } from '../lib/hook-trigger.js';
import { builtSample } from '../lib/built-samples.js';
import { scopeSampleRecord, type DemoRecord } from '../lib/pipeline.js';
import { isProviderKey, orList, PROVIDER_KEYS, PROVIDERS } from '../lib/providers/index.js';
import { zapierHookHeaderName } from '../lib/signature.js';
import { commonOutputFields, type OutputField } from '../lib/record.js';

// Every field any vendor's record can have, labelled; the sample holds the ones all share.
const outputFields: OutputField[] = [...commonOutputFields];
for (const p of Object.values(PROVIDERS)) {
  for (const e of p.events) for (const fl of e.outputFields) if (!outputFields.some((o) => o.key === fl.key)) outputFields.push(fl);
}

const inputFields = [
  {
    key: 'provider',
    label: 'Provider',
    required: true,
    choices: Object.fromEntries(Object.values(PROVIDERS).map((p) => [p.key, p.label])),
    helpText: 'Which vendor sent the webhook. This action needs no relay: only the vendor’s signing secret in the connection.',
  },
  {
    key: 'body',
    label: 'Raw Body',
    type: 'text' as const,
    required: true,
    helpText:
      'The request body exactly as received: map **Raw Body** from Webhooks by Zapier’s **Catch Raw Hook**. A parsed or re-serialised body will not match the signature.',
  },
  {
    key: 'signature',
    label: 'Signature Header',
    type: 'string' as const,
    required: false,
    helpText:
      `The value of the signature header from the caught request: ${orList(Object.values(PROVIDERS).map((p) => `\`${p.scheme.header}\``))} (Catch Raw Hook shows it as e.g. **Headers ${zapierHookHeaderName(Object.values(PROVIDERS)[0].scheme.header).replace(/-/g, ' ')}**). Required when the connection holds that provider’s secret.`,
  },
  { ...includeTestEventsField, helpText: 'Also accept test deliveries. When off, a test delivery stops the Zap here (halted, not failed).' },
];

const perform = (async (z, bundle) => {
  const key = bundle.inputData.provider;
  if (!isProviderKey(key)) {
    throw new z.errors.Error(
      `Unknown provider "${String(key).slice(0, 50)}": choose ${orList(PROVIDER_KEYS)}.`,
      'provider_unknown',
      400,
    );
  }
  const provider = PROVIDERS[key];
  const outcome = await runPipeline(
    z,
    bundle,
    provider,
    { rawBody: bundle.inputData.body as string | undefined, signature: (bundle.inputData.signature as string | undefined) ?? null },
    { want: '*', includeTest: truthy(bundle.inputData.include_test_events) },
  );
  if (outcome.kind === 'skipped') {
    throw new z.errors.HaltedError(`${provider.label} ${outcome.reason}; nothing to pass on.`);
  }
  return outcome.record;
}) satisfies CreatePerform<Record<string, unknown>, DemoRecord>;

export default defineCreate({
  key: 'verify_webhook',
  noun: 'Webhook',
  display: {
    label: 'Verify and Flatten Webhook',
    description:
      `Verifies the signature of a ${orList(Object.values(PROVIDERS).map((p) => p.label))} webhook caught with Webhooks by Zapier and turns it into the same flat record the instant triggers give.`,
  },
  operation: {
    inputFields,
    perform,
    sample: builtSample('creates.verify_webhook', () => scopeSampleRecord(Object.values(PROVIDERS))),
    outputFields,
  },
});
