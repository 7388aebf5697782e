/**
 * Find Company Engagement: before a call, or in a CRM enrichment Zap, look a company up by
 * domain or email and get its verified demo engagement (people with first and last seen,
 * sessions, demos, total time, the three texts), or [] when it has none in the period.
 */
import { defineSearch, type Bundle, type ZObject } from 'zapier-platform-core';
import { builtSample } from '../lib/built-samples.js';
import { companyOfDomain } from '../lib/company.js';
import {
  ACTIVITY_VENDORS,
  companySessions,
  ignoredCompanies,
  ignoreDomainsField,
  readNumber,
  requireCountedVendor,
  sampleActivity,
  signalOutputFields,
  type NumberInput,
} from '../lib/signal-trigger.js';
import { commonOutputFields, f } from '../lib/record.js';
import { DAY, engagementOf, engagementTexts, type Engagement } from '../lib/signals.js';

const DAYS: NumberInput = { key: 'days', label: 'Look Back (days)', dflt: 30, min: 1, max: 365 };

export interface EngagementRecord extends Engagement {
  id: string;
  days: number;
  summary_text: string;
  slack_message: string;
  crm_note: string;
  [key: string]: unknown;
}

function record(domain: string, e: Engagement, days: number): EngagementRecord {
  return { id: `engagement:${domain}:${days}d`, ...e, days, ...engagementTexts(e, days) };
}

export default defineSearch({
  key: 'company_engagement',
  noun: 'Company Engagement',
  display: {
    label: 'Find Company Engagement',
    description: 'Finds a company’s demo engagement by domain or email: who viewed which demos, when, and for how long.',
  },
  operation: {
    inputFields: [
      {
        key: 'domain_or_email',
        label: 'Company Domain or Email',
        type: 'string',
        required: true,
        helpText: 'The company’s domain (`acme.co.uk`, `https://www.acme.co.uk`) or anyone’s email there (`dana@acme.co.uk`), e.g. the HubSpot company’s domain or a contact’s email.',
      },
      { key: 'days', label: 'Look Back (days)', type: 'integer', default: '30', required: false, helpText: 'How many days of demo activity to add up (1 to 365).' },
      ignoreDomainsField,
    ],
    perform: async (z: ZObject, bundle: Bundle) => {
      const input = bundle.inputData as Record<string, unknown>;
      const days = readNumber(z, input, DAYS);
      const given = typeof input.domain_or_email === 'string' ? input.domain_or_email.trim() : '';
      const domain = companyOfDomain(given);
      if (!domain) {
        throw new z.errors.Error(
          `"Company Domain or Email" must be a company's domain or an email at it (got ${JSON.stringify(given.slice(0, 80))}); free-mail and disposable addresses (gmail.com, mailinator.com) name no company.`,
          'not_a_company',
          400,
        );
      }
      if (ignoredCompanies(input).has(domain)) return [];
      const counted = requireCountedVendor(z, bundle.authData);
      const sessions = await companySessions(z, bundle, domain, Date.now() - days * DAY, { includeTest: false, counted });
      if (sessions.length === 0) return [];
      return [record(domain, engagementOf(domain, sessions, counted.map((p) => p.label), Date.now()), days)];
    },
    sample: builtSample('searches.company_engagement', () => {
      const sessions = sampleActivity([
        { email: 'dana.lee@acme.co.uk', name: 'Dana Lee', at: '2026-11-10T14:02:11.000Z' },
        { email: 'sam.ortiz@eu.acme.co.uk', name: 'Sam Ortiz', at: '2026-11-12T09:40:27.000Z' },
      ]);
      return record('acme.co.uk', engagementOf('acme.co.uk', sessions, ACTIVITY_VENDORS.map((p) => p.label), sessions[sessions.length - 1].at), 30);
    }),
    outputFields: [
      ...signalOutputFields,
      f('days', 'Look Back (days)', 'integer'),
      ...commonOutputFields.filter((o) => ['summary_text', 'slack_message', 'crm_note'].includes(o.key)),
      f('id', 'Engagement ID'),
    ],
  },
});
