/**
 * The signal decisions as pure functions, and who counts: a committee forms at the session that
 * brings the N-th person into a window (by when each viewing happened), a company returns at
 * the first session after the quiet gap, and the rules that make a session, a person and a
 * company out of a vendor's payload.
 */
import { demoActivityOf, personOf } from '../lib/activity.js';
import { companyOfDomain, companyOfEmail } from '../lib/company.js';
import { leadCapturedSample } from '../lib/providers/supademo.js';
import { PROVIDERS } from '../lib/providers/index.js';
import { demoSessionSample, playlistSessionSample } from '../lib/providers/walnut.js';
import { sampleActivity } from '../lib/signal-trigger.js';
import { committeeIn, returnIn, sessionsOf } from '../lib/signals.js';
import App from '../index.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-11-01T00:00:00Z');
const at = (days: number) => new Date(T0 + days * DAY).toISOString();

describe('committeeIn', () => {
  const acts = sampleActivity([
    { email: 'a@acme.io', at: at(0) },
    { email: 'b@acme.io', at: at(1) },
    { email: 'b@acme.io', at: at(2) },
    { email: 'c@acme.io', at: at(3) },
    { email: 'd@acme.io', at: at(3.5) },
  ]);

  it('forms at the session that brings the third person, with the window that formed it', () => {
    const c = committeeIn(acts, 3, 14 * DAY, -Infinity, Infinity)!;
    expect(new Date(c.formedAt).toISOString()).toBe(at(3));
    expect(c.members.map((m) => m.email)).toStrictEqual(['a@acme.io', 'b@acme.io', 'b@acme.io', 'c@acme.io']);
    // Positive above; here nothing forms with a window too short to hold three people.
    expect(committeeIn(acts, 3, 1 * DAY, -Infinity, Infinity)).toBeNull();
  });

  it('judges only windows ending in the range asked (a later window of the same people still holds)', () => {
    expect(new Date(committeeIn(acts, 3, 14 * DAY, T0 + 3.2 * DAY, Infinity)!.formedAt).toISOString()).toBe(at(3.5));
    expect(committeeIn(acts, 3, 14 * DAY, T0 + 4 * DAY, Infinity)).toBeNull();
  });

  it('counts only the window before each session', () => {
    const late = sampleActivity([
      { email: 'a@acme.io', at: at(0) },
      { email: 'b@acme.io', at: at(20) },
      { email: 'c@acme.io', at: at(21) },
      { email: 'd@acme.io', at: at(22) },
    ]);
    const c = committeeIn(late, 3, 14 * DAY, -Infinity, Infinity)!;
    expect(c.members.map((m) => m.email)).toStrictEqual(['b@acme.io', 'c@acme.io', 'd@acme.io']);
  });
});

describe('returnIn', () => {
  const acts = sampleActivity([
    { email: 'a@acme.io', at: at(0) },
    { email: 'b@acme.io', at: at(5) },
    { email: 'c@acme.io', at: at(40) },
    { email: 'd@acme.io', at: at(41) },
  ]);

  it('finds the first session after the quiet gap, with the one before the silence; never for a company seen for the first time', () => {
    const r = returnIn(acts, 21 * DAY, -Infinity, Infinity)!;
    expect([new Date(r.returnedAt).toISOString(), r.previous.email, r.since.map((s) => s.email)]).toStrictEqual([at(40), 'b@acme.io', ['c@acme.io', 'd@acme.io']]);
    expect(returnIn(acts.slice(0, 2), 21 * DAY, -Infinity, Infinity)).toBeNull();
    expect(returnIn(acts.slice(2), 21 * DAY, -Infinity, Infinity)).toBeNull(); // first seen at day 40
    expect(returnIn(acts, 41 * DAY, -Infinity, Infinity)).toBeNull(); // not quiet long enough
  });
});

describe('who counts', () => {
  const walnut = (user: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    demoActivityOf(PROVIDERS.walnut, 'demo_session_finished', { ...demoSessionSample, data: { ...demoSessionSample.data, user, ...extra } });

  it('one person whatever the case or +tag; a dotted name is another person', () => {
    expect(personOf('Dana+Walnut@ACME.io')).toBe('dana@acme.io');
    expect(walnut({ email: 'dana+walnut@acme.io' })!.person).toBe(walnut({ email: 'DANA@acme.io' })!.person);
    expect(walnut({ email: 'dana.lee@acme.io' })!.person).not.toBe(walnut({ email: 'dana@acme.io' })!.person);
  });

  it("Walnut's internal viewers never count; external and untyped viewers do", () => {
    expect(walnut({ email: 'rep@acme.io', type: 'external' })).not.toBeNull();
    expect(walnut({ email: 'rep@acme.io' })).not.toBeNull();
    expect(walnut({ email: 'rep@acme.io', type: 'internal' })).toBeNull();
  });

  it('a Walnut viewer known only by domain counts for that company, one person per session', () => {
    const a = walnut({ domain: 'eu.treebase.io' }, { session_id: 's1' })!;
    const b = walnut({ domain: 'treebase.io' }, { session_id: 's2' })!;
    expect([a.company, b.company]).toStrictEqual(['treebase.io', 'treebase.io']);
    expect(a.person).not.toBe(b.person);
    expect(walnut({ domain: 'gmail.com' }, { session_id: 's3' })).toBeNull();
    expect(walnut({}, { session_id: 's4' })).toBeNull();
  });

  it('the viewing time: when the Walnut session started, not when Walnut sent it', () => {
    expect(new Date(walnut({ email: 'x@acme.io' })!.occurredAt!).toISOString()).toBe('2023-11-01T16:36:47.905Z');
    const p = demoActivityOf(PROVIDERS.walnut, 'playlist_session_finished', playlistSessionSample)!;
    expect([p.company, p.demo, new Date(p.occurredAt!).toISOString()]).toStrictEqual(['treebase.io', playlistSessionSample.data.playlist.id, '2024-10-07T15:26:20.606Z']);
  });

  it('one Supademo view is one session, however many of viewed, lead and completed it sends', () => {
    const jane = { ...leadCapturedSample, viewer: { ...leadCapturedSample.viewer, email: 'jane@initech.com' } };
    const three = ['demo.viewed', 'lead.captured', 'demo.completed'].map((event, i) => {
      const a = demoActivityOf(PROVIDERS.supademo, event, { ...jane, event })!;
      return { ...a, relayId: `e${i}`, receivedAt: T0 + i, at: a.occurredAt!, vendor: 'supademo', event };
    });
    expect(new Set(three.map((a) => a.session)).size).toBe(1);
    expect(sessionsOf(three)).toHaveLength(1);
    const other = demoActivityOf(PROVIDERS.supademo, 'demo.viewed', { ...jane, event: 'demo.viewed', entityViewedAt: '2025-06-02T10:00:00.000Z' })!;
    expect(other.session).not.toBe(three[0].session);
  });
});

describe('companyOfEmail and companyOfDomain', () => {
  it('is the registrable domain, never free-mail or disposable', () => {
    expect(companyOfEmail('Ana@EU.Acme.co.uk')).toBe('acme.co.uk');
    expect(companyOfEmail('ben@sales.us.initech.com')).toBe('initech.com');
    for (const e of ['joe@gmail.com', 'joe@yahoo.co.uk', 'joe@outlook.com', 'joe@mailinator.com', 'joe@10minutemail.com', 'not an email', null]) {
      expect([e, companyOfEmail(e)]).toStrictEqual([e, null]);
    }
    expect(['https://www.Acme.co.uk/pricing', 'eu.acme.co.uk', 'dana@acme.co.uk', 'acme.co.uk.'].map(companyOfDomain)).toStrictEqual(Array(4).fill('acme.co.uk'));
    expect(['gmail.com', 'not a domain', '', 'co.uk'].map(companyOfDomain)).toStrictEqual([null, null, null, null]);
  });
});

describe("each signal's own fields", () => {
  const op = (key: string) => (App.triggers as any)[key].operation;
  const keys = (key: string) => op(key).outputFields.map((f: { key: string }) => f.key);

  it('a committee lists its demo and no quiet period; a return its quiet period and no demo; their samples likewise', () => {
    expect(keys('account_buying_committee')).toEqual(expect.arrayContaining(['demo_id', 'demo_name', 'window_days']));
    expect(keys('account_reengaged')).toEqual(expect.arrayContaining(['quiet_days', 'previous_activity_at', 'window_days']));
    expect(keys('account_buying_committee').filter((k: string) => ['quiet_days', 'previous_activity_at'].includes(k))).toStrictEqual([]);
    expect(keys('account_reengaged').filter((k: string) => ['demo_id', 'demo_name'].includes(k))).toStrictEqual([]);
    expect(['quiet_days' in op('account_buying_committee').sample, 'demo_id' in op('account_reengaged').sample]).toStrictEqual([false, false]);
  });
});
