import { ACTIVITY_VENDORS, BY_COMPANY, reengagedFields, COUNTED, ignoreDomainsField, MEMORY_DAYS, sampleActivity, signalTrigger, VERIFIED_ONLY, type NumberInput } from '../lib/signal-trigger.js';
import { onlyDomainsField } from '../lib/session-trigger.js';
import { DAY, peopleOf, returnIn, signalRecord } from '../lib/signals.js';

const QUIET_DAYS: NumberInput = { key: 'quiet_days', label: 'Quiet For (days)', dflt: 21, min: 1, max: 365 };
const MIN_PEOPLE: NumberInput = { key: 'min_people', label: 'Minimum People', dflt: 1, min: 1, max: 50 };

export default signalTrigger({
  key: 'account_reengaged',
  noun: 'Account Re-engagement',
  label: 'New Account Re-engagement',
  description: 'Triggers when a company that viewed your demos before comes back after a quiet period.',
  help:
    `Counts ${COUNTED}, ${BY_COMPANY}. A company seen for the first time does not fire it; a company back after the quiet period fires it once per return. The relay remembers each company's latest demo view for ${MEMORY_DAYS} days by default, whatever else it clears out, so quiet periods of up to a year are recognised. ${VERIFIED_ONLY}`,
  inputFields: [
    { key: 'quiet_days', label: 'Quiet For (days)', type: 'integer', default: '21', required: false, helpText: 'How many days without any demo activity from the company count as quiet (1 to 365).' },
    { key: 'min_people', label: 'Minimum People', type: 'integer', default: '1', required: false, helpText: 'How many different people from the company must be back before it fires (1 to 50); 1 fires at the first view after the quiet period.' },
    onlyDomainsField,
    ignoreDomainsField,
  ],
  ownFields: reengagedFields,
  numbers: [QUIET_DAYS, MIN_PEOPLE],
  windowMs: (n) => n.quiet_days * DAY,
  withPrevious: true,
  async judge(ctx, n) {
    const quietMs = n.quiet_days * DAY;
    const r = returnIn(ctx.sessions, quietMs, ctx.fromMs, Infinity);
    if (!r || peopleOf(r.since) < n.min_people) return [];
    return [
      {
        // One firing per return: the return's date names it.
        key: `${ctx.keyBase}:${new Date(r.returnedAt).toISOString().slice(0, 10)}`,
        moment: r.returnedAt,
        after: null,
        ttlSeconds: (n.quiet_days + 2) * 86_400,
        record: signalRecord('reengaged', ctx.domain, r.since, ctx.trigger ?? r.since[r.since.length - 1], {
          windowDays: n.quiet_days,
          momentMs: r.returnedAt,
          previous: r.previous,
          countedVendors: ctx.counted,
        }),
      },
    ];
  },
  // The documented Walnut demo session, varied into a company that comes back after 40 days.
  sample: () => {
    const visits = sampleActivity([
      { email: 'dana.lee@acme.co.uk', name: 'Dana Lee', at: '2026-10-05T10:12:00.000Z' },
      { email: 'kim.chen@acme.co.uk', name: 'Kim Chen', at: '2026-11-14T15:30:45.000Z' },
    ]);
    return signalRecord('reengaged', 'acme.co.uk', [visits[1]], visits[1], { windowDays: 21, momentMs: visits[1].at, previous: visits[0], countedVendors: ACTIVITY_VENDORS.map((p) => p.label) });
  },
});
