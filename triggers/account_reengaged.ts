import { BY_COMPANY, COUNTED, num, sampleActivity, signalTrigger } from '../lib/signal-trigger.js';
import { DAY, reengagesAt, signalRecord } from '../lib/signals.js';
const quietDays = (input: Record<string, unknown>) => num(input.quiet_days, 21, 1, 365);

// The sample: the documented Walnut demo session, varied into a company that comes back after 40 days.
const visits = sampleActivity([
  { email: 'dana.lee@acme.co.uk', name: 'Dana Lee', at: '2026-10-05T10:12:00.000Z' },
  { email: 'kim.chen@acme.co.uk', name: 'Kim Chen', at: '2026-11-14T15:30:45.000Z' },
]);

export default signalTrigger({
  key: 'account_reengaged',
  noun: 'Re-engaged Account',
  label: 'New Account Re-engagement',
  description: 'Triggers when a company that viewed your demos before comes back after a quiet period.',
  help:
    `Counts ${COUNTED}, ${BY_COMPANY}. A company seen for the first time does not fire it. It looks back as far as the relay keeps events (RELAY_RETENTION_DAYS, 30 days unless the relay’s team changed it), so a quiet period longer than that cannot be recognised.`,
  inputFields: [
    { key: 'quiet_days', label: 'Quiet For (days)', type: 'integer', default: '21', required: false, helpText: 'How many days without any demo activity from the company count as quiet (1 to 365).' },
  ],
  windowDays: quietDays,
  lookBack: (t, input) => [
    { untilMs: t - quietDays(input) * DAY },
    { sinceMs: t - quietDays(input) * DAY, untilMs: t + 60_000 },
  ],
  decide(activity, trigger, input, domain) {
    const { fires, previous } = reengagesAt(activity, trigger, quietDays(input) * DAY);
    return fires ? signalRecord('reengaged', domain, [trigger], trigger, { windowDays: quietDays(input), previous }) : null;
  },
  sample: signalRecord('reengaged', 'acme.co.uk', [visits[1]], visits[1], { windowDays: 21, previous: visits[0] }),
});
