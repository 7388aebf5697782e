import type { Authentication, Bundle, ZObject } from 'zapier-platform-core';
import { PROVIDERS } from './lib/providers/index.js';
import { relayRequest, type RelayMe } from './lib/relay-client.js';

const signingFields = Object.values(PROVIDERS).flatMap((p) => [
  {
    key: p.secretKeys[0],
    label: `${p.label} ${p.secretLabel}`,
    type: 'password' as const,
    required: false,
    helpText: `${p.secretHelp} See [${p.label}'s webhook guide](${p.docsUrl}). Leave empty to accept ${p.label} deliveries unverified (each record then says \`signature_verified: false\`)${p.demoActivity ? `; the account signals count only ${p.label} activity verified with this secret` : ''}.`,
  },
  {
    key: p.secretKeys[1],
    label: `${p.label} ${p.secretLabel} (previous)`,
    type: 'password' as const,
    required: false,
    helpText: `Only while rotating: the old ${p.label} secret, still accepted so deliveries signed before the switch are not refused. Clear it once the rotation is done. See [${p.label}'s webhook guide](${p.docsUrl}).`,
  },
]);

/** Secret shapes a vendor documents: a value of another shape can never verify a delivery. */
function checkSecretFormats(z: ZObject, authData: Record<string, unknown>): void {
  for (const p of Object.values(PROVIDERS)) {
    for (const [i, key] of p.secretKeys.entries()) {
      const v = authData[key];
      const wrong = typeof v === 'string' && v.trim() !== '' ? (p.checkSecret?.(v) ?? null) : null;
      if (wrong) throw new z.errors.Error(`"${p.label} ${p.secretLabel}${i === 1 ? ' (previous)' : ''}" ${wrong}`, 'secret_format', 400);
    }
  }
}

const NO_RELAY = 'Signing secrets only (no relay)';

const test = async (z: ZObject, bundle: Bundle) => {
  checkSecretFormats(z, bundle.authData);
  if ((bundle.authData.relay_url ?? '').trim()) {
    if (!(bundle.authData.api_key ?? '').trim()) {
      throw new z.errors.Error('Fill in "Relay API Key" too: the relay needs it with the Relay URL. The team that runs your demohooks relay gives you both.', 'api_key_missing', 400);
    }
    const { data } = await relayRequest<RelayMe>(z, bundle, 'GET', '/v1/me');
    if (!data || typeof data.name !== 'string') {
      throw new z.errors.Error('The Relay URL answered, but not as a demohooks relay. Check the address.', 'relay_bad_response', 502);
    }
    // What the connection shows and labels itself with, nothing more: the account's alert URL,
    // which carries a secret path (a Slack webhook's), stays out of Zapier's records.
    return { account_id: data.account_id, name: data.name, inbound: data.inbound };
  }
  const anySecret = Object.values(PROVIDERS).some((p) => (bundle.authData[p.secretKeys[0]] ?? '').trim() !== '');
  if (!anySecret) {
    throw new z.errors.Error(
      'Fill in the Relay URL and Relay API Key (for the instant triggers), or at least one signing secret (for the "Verify and Flatten Webhook" action on its own).',
      'connection_empty',
      400,
    );
  }
  return { account_id: null, name: NO_RELAY, inbound: {} };
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
        'The address of your demohooks relay, e.g. `https://demohooks.example.com` (the team that runs it gives it to you). Needed by the instant triggers; leave empty if you only use "Verify and Flatten Webhook".',
    },
    {
      key: 'api_key',
      label: 'Relay API Key',
      type: 'password',
      required: false,
      helpText: 'The API key of your relay account, from the team that runs the relay (it starts with `dh_`). Needed with the Relay URL.',
    },
    ...signingFields,
  ],
  test,
  // The relay account's name, nothing else (or that the connection has no relay).
  connectionLabel: async (z: ZObject, bundle: Bundle) => {
    const name = (bundle.inputData as { name?: string }).name;
    return name && name.trim() ? name.trim() : NO_RELAY;
  },
} satisfies Authentication;
