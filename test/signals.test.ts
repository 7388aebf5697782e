/**
 * The signal decisions as pure functions: a committee forms at the event that brings the N-th
 * person into the window (so two events handled at once cannot both fire, and a Zap switched on
 * later does not fire for a committee that formed before), and an account re-engages at the
 * first event after the quiet gap.
 */
import { companyOfEmail } from '../lib/company.js';
import { sampleActivity } from '../lib/signal-trigger.js';
import { committeeFormsAt, reengagesAt } from '../lib/signals.js';

const DAY = 86_400_000;
const at = (days: number) => new Date(Date.parse('2026-11-01T00:00:00Z') + days * DAY).toISOString();

describe('committeeFormsAt', () => {
  const acts = sampleActivity([
    { email: 'a@acme.io', at: at(0) },
    { email: 'b@acme.io', at: at(1) },
    { email: 'b@acme.io', at: at(2) },
    { email: 'c@acme.io', at: at(3) },
    { email: 'd@acme.io', at: at(3) },
  ]);

  it('fires at the event that brings the third person, and at no other', () => {
    expect(acts.map((t) => committeeFormsAt(acts, t, 3, 14 * DAY).fires)).toStrictEqual([false, false, false, true, false]);
  });

  it('counts only the window before the event', () => {
    const late = sampleActivity([
      { email: 'a@acme.io', at: at(0) },
      { email: 'b@acme.io', at: at(20) },
      { email: 'c@acme.io', at: at(21) },
      { email: 'd@acme.io', at: at(22) },
    ]);
    expect(late.map((t) => committeeFormsAt(late, t, 3, 14 * DAY).fires)).toStrictEqual([false, false, false, true]);
    expect(committeeFormsAt(late, late[3], 3, 14 * DAY).window.map((a) => a.record.viewer_email)).toStrictEqual(['b@acme.io', 'c@acme.io', 'd@acme.io']);
  });
});

describe('reengagesAt', () => {
  const acts = sampleActivity([
    { email: 'a@acme.io', at: at(0) },
    { email: 'b@acme.io', at: at(5) },
    { email: 'c@acme.io', at: at(40) },
    { email: 'd@acme.io', at: at(40) },
  ]);

  it('fires at the first event after the quiet gap, never for the first event of a company', () => {
    expect(acts.map((t) => reengagesAt(acts, t, 21 * DAY).fires)).toStrictEqual([false, false, true, false]);
    expect(reengagesAt(acts, acts[2], 21 * DAY).previous?.record.viewer_email).toBe('b@acme.io');
  });
});

describe('companyOfEmail', () => {
  it('is the registrable domain, never free-mail or disposable', () => {
    expect(companyOfEmail('Ana@EU.Acme.co.uk')).toBe('acme.co.uk');
    expect(companyOfEmail('ben@sales.us.initech.com')).toBe('initech.com');
    for (const e of ['joe@gmail.com', 'joe@yahoo.co.uk', 'joe@outlook.com', 'joe@mailinator.com', 'joe@10minutemail.com', 'not an email', null]) {
      expect([e, companyOfEmail(e)]).toStrictEqual([e, null]);
    }
  });
});
