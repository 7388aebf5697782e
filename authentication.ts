import type { Authentication, Bundle, ZObject } from 'zapier-platform-core';
import { PROVIDERS } from './lib/providers/index.js';
import { relayRequest } from './lib/relay-client.js';

interface Me {
  account_id: string;
  name: string;
  inbound: Record<string, string>;
}

const signingFields = Object.values(PROVIDERS).flatMap((p) => [
  {
    key: p.secretKeys[0],
    label: `${p.label} Signing ${p.key === 'walnut' ? 'Key' : 'Secret'}`,
    type: 'password' as const,
    required: false,
    helpText: `${p.secretHelp} Leave empty to accept ${p.label} deliveries unverified (each record then says \`signature_verified: false\`).`,
  },
  {
    key: p.secretKeys[1],
    label: `${p.label} Signing ${p.key === 'walnut' ? 'Key' : 'Secret'} (previous)`,
    type: 'password' as const,
    required: false,
    helpText: `Only while rotating: the old ${p.label} secret, still accepted so deliveries signed before the switch are not refused. Clear it once the rotation is done.`,
  },
]);

const test = async (z: ZObject, bundle: Bundle) => {
  if ((bundle.authData.relay_url ?? '').trim()) {
    const { data } = await relayRequest<Me>(z, bundle, 'GET', '/v1/me');
    return data;
  }
  const anySecret = Object.values(PROVIDERS).some((p) => (bundle.authData[p.secretKeys[0]] ?? '').trim() !== '');
  if (!anySecret) {
    throw new z.errors.Error(
      'Fill in the Relay URL and Relay API Key (for the instant triggers), or at least one signing secret (for the "Verify and Flatten Webhook" action on its own).',
      'connection_empty',
      400,
    );
  }
  return { account_id: null, name: 'signing secrets only (no relay)', inbound: {} };
};

export default {
  type: 'custom',
  fields: [
    {
      key: 'relay_url',
      label: 'Relay URL',
      type: 'string',
      required: false,
      helpText:
        'The public base address of your demohooks relay, e.g. `https://demohooks.example.com`. Needed by the instant triggers; leave empty if you only use "Verify and Flatten Webhook".',
    },
    {
      key: 'api_key',
      label: 'Relay API Key',
      type: 'password',
      required: false,
      helpText: 'The API key `demohooks-relay account create` printed (it is shown once). Needed with the Relay URL.',
    },
    ...signingFields,
  ],
  test,
  connectionLabel: async (z: ZObject, bundle: Bundle) => {
    const name = (bundle.inputData as { name?: string }).name;
    return name ? `demohooks: ${name}` : 'demohooks';
  },
} satisfies Authentication;
