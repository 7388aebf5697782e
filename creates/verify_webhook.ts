import { defineCreate, type CreatePerform } from 'zapier-platform-core';
import { includeTestEventsField, runPipeline, truthy } from '../lib/hook-trigger.js';
import { sampleRecord, type DemoRecord } from '../lib/pipeline.js';
import { isProviderKey, PROVIDERS } from '../lib/providers/index.js';

const inputFields = [
  {
    key: 'provider',
    label: 'Provider',
    required: true,
    choices: { walnut: 'Walnut', supademo: 'Supademo', pendo: 'Pendo' },
    helpText: 'Which vendor sent the webhook.',
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
      'The value of the signature header from the caught request: `X-Walnut-Signature`, `x-supademo-signature` or `X-Pendo-Signature` (Catch Raw Hook shows it as e.g. **Headers Http X Walnut Signature**). Required when the connection holds that provider’s secret.',
  },
  { ...includeTestEventsField, helpText: 'Also accept test deliveries. When off, a test delivery stops the Zap here (halted, not failed).' },
];

const perform = (async (z, bundle) => {
  const key = bundle.inputData.provider;
  if (!isProviderKey(key)) {
    throw new z.errors.Error(
      `Unknown provider "${String(key).slice(0, 50)}": choose walnut, supademo or pendo.`,
      'provider_unknown',
      400,
    );
  }
  const provider = PROVIDERS[key];
  const outcome = runPipeline(
    z,
    provider,
    { rawBody: bundle.inputData.body as string | undefined, signature: (bundle.inputData.signature as string | undefined) ?? null },
    bundle.authData,
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
      'Checks the signature of a Walnut, Supademo or Pendo webhook caught with Webhooks by Zapier and turns it into the same flat record the instant triggers give. No relay needed.',
  },
  operation: {
    inputFields,
    perform,
    sample: sampleRecord(PROVIDERS.walnut, PROVIDERS.walnut.events[0].sample),
  },
});
