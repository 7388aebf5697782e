/**
 * Get Demo Performance: the playbook's monthly loop ("review top 5 demos → apply one narrative
 * or CTA improvement → measure lift") and weekly funnel check. Every verified demo session of
 * the account in the period, per demo: sessions, people, companies, median time, completion,
 * call-to-action rate and where most sessions ended.
 */
import { defineSearch, type Bundle, type ZObject } from 'zapier-platform-core';
import { demoPerformance, demoPerformanceTexts, digestTailFields, playRecord, type DemoRow } from '../lib/account-plays.js';
import { builtSample } from '../lib/built-samples.js';
import { f } from '../lib/record.js';
import { onlyDomainsField } from '../lib/session-trigger.js';
import { ignoreDomainsField, playRequest, sampleActivity, VERIFIED_ONLY, type NumberInput } from '../lib/signal-trigger.js';

const DAYS: NumberInput = { key: 'days', label: 'Look Back (days)', dflt: 30, min: 1, max: 365 };
const LIMIT: NumberInput = { key: 'limit', label: 'How Many Demos', dflt: 5, min: 1, max: 50 };

export const demoPerformanceRecord = (rows: DemoRow[], days: number, atMs: number, complete: boolean) =>
  playRecord('demo_performance', 'demos', rows, days, atMs, complete, demoPerformanceTexts);

export default defineSearch({
  key: 'demo_performance',
  noun: 'Demo Performance',
  display: {
    label: 'Get Demo Performance',
    description: 'Gets how each of your demos performed in a period: sessions, people, median time, completion, call-to-action rate and where viewers left.',
  },
  operation: {
    inputFields: [
      {
        key: 'help',
        type: 'copy',
        helpText: `Ranked by sessions. Median time counts the sessions that say how long they were; completion those that say how much was seen; the call-to-action rate is empty for a demo whose sessions cannot take one; "Top Exit" is the section or guide most sessions ended on, where the vendor says. Sessions of viewers with a company email count. ${VERIFIED_ONLY} Always one record.`,
      },
      { key: 'days', label: 'Look Back (days)', type: 'integer', default: '30', required: false, helpText: 'How many days of demo sessions to add up (1 to 365); 30 for the monthly review.' },
      { key: 'limit', label: 'How Many Demos', type: 'integer', default: '5', required: false, helpText: 'How many demos to list (1 to 50).' },
      onlyDomainsField,
      ignoreDomainsField,
    ],
    perform: async (z: ZObject, bundle: Bundle) => {
      const { days, limit, sessions, complete, now } = await playRequest(z, bundle, DAYS, LIMIT);
      return [demoPerformanceRecord(demoPerformance(sessions, limit), days, now, complete)];
    },
    sample: builtSample('searches.demo_performance', () => {
      const sessions = sampleActivity([
        { email: 'dana.lee@acme.co.uk', name: 'Dana Lee', at: '2026-11-10T14:02:11.000Z' },
        { email: 'kim.chen@globex.com', name: 'Kim Chen', at: '2026-11-13T16:20:05.000Z' },
      ]);
      return demoPerformanceRecord(demoPerformance(sessions, 5), 30, Date.parse('2026-11-14T08:00:00.000Z'), true);
    }),
    outputFields: [
      f('demos_count', 'Number of Demos', 'integer'),
      f('demos[]provider', 'Demos: Vendor'),
      f('demos[]demo_id', 'Demos: Demo ID'),
      f('demos[]demo_name', 'Demos: Demo Name'),
      f('demos[]sessions', 'Demos: Sessions', 'integer'),
      f('demos[]people', 'Demos: People', 'integer'),
      f('demos[]companies', 'Demos: Companies', 'integer'),
      f('demos[]median_seconds', 'Demos: Median Time (seconds)', 'number'),
      f('demos[]avg_completion_pct', 'Demos: Average Completion (%)', 'number'),
      f('demos[]cta_click_rate', 'Demos: Call-to-Action Rate (%)', 'number'),
      f('demos[]top_exit', 'Demos: Top Exit'),
      ...digestTailFields('Review ID'),
    ],
  },
});
