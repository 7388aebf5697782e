import { BY_COMPANY, COUNTED, num, sampleActivity, signalTrigger } from '../lib/signal-trigger.js';
import { committeeFormsAt, DAY, signalRecord } from '../lib/signals.js';
const minPeople = (input: Record<string, unknown>) => num(input.min_people, 3, 2, 50);
const windowDays = (input: Record<string, unknown>) => num(input.window_days, 14, 1, 90);

// The sample: the documented Walnut demo session, varied into three people at one company.
const people = sampleActivity([
  { email: 'dana.lee@acme.co.uk', name: 'Dana Lee', at: '2026-11-10T14:02:11.000Z' },
  { email: 'sam.ortiz@eu.acme.co.uk', name: 'Sam Ortiz', at: '2026-11-12T09:40:27.000Z' },
  { email: 'kim.chen@acme.co.uk', name: 'Kim Chen', at: '2026-11-18T16:15:03.000Z' },
]);

export default signalTrigger({
  key: 'account_buying_committee',
  noun: 'Buying Committee',
  label: 'New Buying Committee',
  description: 'Triggers when several different people from one company have viewed your demos within a few days.',
  help:
    `Counts ${COUNTED} together, ${BY_COMPANY}. It fires once per company per window, the moment the last needed person appears, and again only after the window has passed. Only sessions whose signature this connection verifies are counted.`,
  inputFields: [
    { key: 'min_people', label: 'Minimum People', type: 'integer', default: '3', required: false, helpText: 'How many different people from one company (at least 2).' },
    { key: 'window_days', label: 'Within (days)', type: 'integer', default: '14', required: false, helpText: 'How many days their demo views may span (1 to 90).' },
    { key: 'demo_name_contains', label: 'Demo Name Contains', type: 'string', required: false, helpText: 'Count only demos whose name contains this text (e.g. "Enterprise"). Leave empty for every demo.' },
  ],
  windowDays,
  lookBack: (t, input) => [{ sinceMs: t - windowDays(input) * DAY - 3_600_000, untilMs: t + 60_000 }],
  decide(activity, trigger, input, domain) {
    const { fires, window } = committeeFormsAt(activity, trigger, minPeople(input), windowDays(input) * DAY);
    return fires ? signalRecord('buying_committee', domain, window, trigger, { windowDays: windowDays(input) }) : null;
  },
  sample: signalRecord('buying_committee', 'acme.co.uk', people, people[2], { windowDays: 14 }),
});
