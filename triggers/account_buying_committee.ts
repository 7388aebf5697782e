import { ACTIVITY_VENDORS, BY_COMPANY, committeeFields, COUNTED, ignoreDomainsField, sampleActivity, signalTrigger, VERIFIED_ONLY, type Found, type NumberInput } from '../lib/signal-trigger.js';
import { onlyDomainsField } from '../lib/session-trigger.js';
import { committeeIn, DAY, signalRecord, type Activity } from '../lib/signals.js';

const MIN_PEOPLE: NumberInput = { key: 'min_people', label: 'Minimum People', dflt: 3, min: 2, max: 50 };
const WINDOW_DAYS: NumberInput = { key: 'window_days', label: 'Within (days)', dflt: 14, min: 1, max: 90 };

/** `same_demo` (the playbook's committee: several people on one demo) or `any_demo`. */
const sameDemo = (input: Record<string, unknown>) => input.count_views_of !== 'any_demo';

export default signalTrigger({
  key: 'account_buying_committee',
  noun: 'Buying Committee',
  label: 'New Buying Committee',
  description: 'Triggers when several different people from one company have viewed the same demo within a few days.',
  help:
    `Counts ${COUNTED} together, ${BY_COMPANY}. A committee is judged by when each demo was viewed, so a late or missed delivery is made good by the company's next demo view. It fires once per company (per demo, with "Same demo") per window. ${VERIFIED_ONLY}`,
  inputFields: [
    { key: 'min_people', label: 'Minimum People', type: 'integer', default: '3', required: false, helpText: 'How many different people from one company (2 to 50).' },
    { key: 'window_days', label: 'Within (days)', type: 'integer', default: '14', required: false, helpText: 'How many days their demo views may span (1 to 90).' },
    {
      key: 'count_views_of',
      label: 'Count Views Of',
      type: 'string',
      required: false,
      default: 'same_demo',
      choices: { same_demo: 'The same demo (the playbook’s buying committee)', any_demo: 'Any of your demos' },
      helpText: '"The same demo": the people must have viewed one demo (or playlist, or showcase) in common, as the Walnut full-funnel playbook defines a buying committee. "Any of your demos": any mix of demos counts.',
    },
    { key: 'demo_name_contains', label: 'Demo Name Contains', type: 'string', required: false, helpText: 'Count only demos whose name contains this text (e.g. "Enterprise"). Leave empty for every demo.' },
    onlyDomainsField,
    ignoreDomainsField,
  ],
  ownFields: committeeFields,
  numbers: [MIN_PEOPLE, WINDOW_DAYS],
  windowMs: (n) => n.window_days * DAY,
  withPrevious: false,
  keep(input) {
    const text = typeof input.demo_name_contains === 'string' ? input.demo_name_contains.trim().toLowerCase() : '';
    return (a) => !text || (a.demoName ?? '').toLowerCase().includes(text);
  },
  async judge(ctx, n, input) {
    const windowMs = n.window_days * DAY;
    const groups = new Map<string | null, Activity[]>();
    for (const s of ctx.sessions) {
      const g = sameDemo(input) ? s.demo : null;
      if (sameDemo(input) && g === null) continue;
      groups.set(g, [...(groups.get(g) ?? []), s]);
    }
    const found: Found[] = [];
    for (const [demo, sessions] of groups) {
      const key = demo === null ? ctx.keyBase : `${ctx.keyBase}:${demo}`;
      // Once per window: the next committee counts from a window after the last firing.
      const last = await ctx.lastFired(key);
      const c = committeeIn(sessions, n.min_people, windowMs, Math.max(ctx.fromMs, last === null ? -Infinity : last + windowMs), Infinity);
      if (!c) continue;
      const named = demo === null ? null : { id: demo, name: c.members.find((m) => m.demo === demo && m.demoName)?.demoName ?? null };
      found.push({
        key,
        moment: c.formedAt,
        after: last,
        ttlSeconds: (n.window_days + 2) * 86_400,
        record: signalRecord('buying_committee', ctx.domain, c.members, ctx.trigger ?? c.members[c.members.length - 1], { windowDays: n.window_days, momentMs: c.formedAt, demo: named, countedVendors: ctx.counted }),
      });
    }
    return found;
  },
  // The documented Walnut demo session, varied into three people at one company.
  sample: () => {
    const people = sampleActivity([
      { email: 'dana.lee@acme.co.uk', name: 'Dana Lee', at: '2026-11-10T14:02:11.000Z' },
      { email: 'sam.ortiz@eu.acme.co.uk', name: 'Sam Ortiz', at: '2026-11-12T09:40:27.000Z' },
      { email: 'kim.chen@acme.co.uk', name: 'Kim Chen', at: '2026-11-18T16:15:03.000Z' },
    ]);
    return signalRecord('buying_committee', 'acme.co.uk', people, people[2], {
      windowDays: 14,
      momentMs: people[2].at,
      demo: { id: people[0].demo!, name: people[0].demoName },
      countedVendors: ACTIVITY_VENDORS.map((p) => p.label),
    });
  },
});
