/**
 * Find Top Engaged Accounts: the weekly digest of the playbook ("measure Engagement Score
 * across accounts"). Every verified demo session of the account in the period, ranked by
 * company on the account engagement score, as line items and a Slack message, so "Schedule by
 * Zapier → Find Top Engaged Accounts → Slack" posts it.
 */
import { defineSearch, type Bundle, type ZObject } from 'zapier-platform-core';
import { ACCOUNT_SCORE_HELP, digestTailFields, playRecord, rankAccounts, topAccountsTexts, type AccountRow } from '../lib/account-plays.js';
import { byCompany } from '../lib/activity-reads.js';
import { f } from '../lib/record.js';
import { onlyDomainsField } from '../lib/session-trigger.js';
import { ignoreDomainsField, playRequest, sampleActivity, VERIFIED_ONLY, type NumberInput } from '../lib/signal-trigger.js';
import { builtSample } from '../lib/built-samples.js';

const DAYS: NumberInput = { key: 'days', label: 'Look Back (days)', dflt: 7, min: 1, max: 90 };
const LIMIT: NumberInput = { key: 'limit', label: 'How Many Accounts', dflt: 10, min: 1, max: 50 };

export const topAccountsRecord = (rows: AccountRow[], days: number, atMs: number, complete: boolean) => playRecord('top_accounts', 'accounts', rows, days, atMs, complete, topAccountsTexts);


export default defineSearch({
  key: 'top_accounts',
  noun: 'Top Engaged Accounts',
  display: {
    label: 'Find Top Engaged Accounts',
    description: 'Finds the accounts most engaged with your demos in a period, ranked by their engagement score, for a weekly digest.',
  },
  operation: {
    inputFields: [
      { key: 'help', type: 'copy', helpText: `${ACCOUNT_SCORE_HELP} ${VERIFIED_ONLY} Always one record: with no session in the period, its list is empty and its Slack message says so.` },
      { key: 'days', label: 'Look Back (days)', type: 'integer', default: '7', required: false, helpText: 'How many days of demo sessions to rank (1 to 90); 7 for a weekly digest.' },
      { key: 'limit', label: 'How Many Accounts', type: 'integer', default: '10', required: false, helpText: 'How many accounts to list (1 to 50).' },
      onlyDomainsField,
      ignoreDomainsField,
    ],
    perform: async (z: ZObject, bundle: Bundle) => {
      const { days, limit, sessions, complete, now } = await playRequest(z, bundle, DAYS, LIMIT);
      return [topAccountsRecord(rankAccounts(byCompany(sessions), now, limit), days, now, complete)];
    },
    sample: builtSample('searches.top_accounts', () => {
      // The documented Walnut demo session, varied into two companies' viewers.
      const sessions = sampleActivity([
        { email: 'dana.lee@acme.co.uk', name: 'Dana Lee', at: '2026-11-10T14:02:11.000Z' },
        { email: 'sam.ortiz@acme.co.uk', name: 'Sam Ortiz', at: '2026-11-12T09:40:27.000Z' },
        { email: 'kim.chen@globex.com', name: 'Kim Chen', at: '2026-11-13T16:20:05.000Z' },
      ]);
      const at = Date.parse('2026-11-14T08:00:00.000Z');
      return topAccountsRecord(rankAccounts(byCompany(sessions), at, 10), 7, at, true);
    }),
    outputFields: [
      f('accounts_count', 'Number of Accounts', 'integer'),
      f('accounts[]domain', 'Accounts: Company Domain'),
      f('accounts[]engagement_score', 'Accounts: Engagement Score (1-10)', 'integer'),
      f('accounts[]people', 'Accounts: People', 'integer'),
      f('accounts[]sessions', 'Accounts: Sessions', 'integer'),
      f('accounts[]total_seconds', 'Accounts: Total Time in Demos (seconds)', 'integer'),
      f('accounts[]last_session_at', 'Accounts: Last Session At', 'datetime'),
      f('accounts[]top_demo', 'Accounts: Most Viewed Demo'),
      ...digestTailFields('Digest ID'),
    ],
  },
});
