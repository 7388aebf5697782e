/**
 * Delivering within Zapier's limits: each target URL and each Zapier user gets at most its rate,
 * on every relay process; a 429 or 503 pauses the whole target for its Retry-After (throttled,
 * not failing); a flapping subscription cannot flood the alert channel. The pure rules first,
 * then a real relay on each store against a stand-in that enforces Zapier's limits.
 */
import { execFileSync } from 'node:child_process';
import { playlistSessionSample } from '../../lib/providers/walnut.js';
import { paceKeys, takeTurn, TURN_MARGIN_MS, type PacingLimits, type UserWindow } from '../domain/pacing.js';
import { retryAfterMs } from '../domain/retry.js';
import type { Relay } from '../main.js';
import { openDb } from '../store/db.js';
import { Store } from '../store/index.js';
import { walnutSession } from './fixtures.js';
import { call, pgAvailable, RELAY_BIN, reportPgSkip, sleep, spawnRelay, startSink, startTestRelay, STORES, until, freshPgUrl, type SpawnedRelay } from './harness.js';
import { peak, startZapier } from './zapier-standin.js';

reportPgSkip();


describe('pacing rules', () => {
  it('reads the Zapier user from a hook URL; a legacy route has none', () => {
    expect(paceKeys('https://hooks.zapier.com/hooks/catch/123456/abcdef/')).toStrictEqual({ url: 'https://hooks.zapier.com/hooks/catch/123456/abcdef/', user: 'user:123456', legacy: false });
    expect(paceKeys('https://hooks.zapier.com/hooks/standard/98765/f00/')).toMatchObject({ user: 'user:98765', legacy: false });
    expect(paceKeys('https://hooks.zapier.com/hooks/catch/abcdef/')).toMatchObject({ user: 'legacy:https://hooks.zapier.com/hooks/catch/abcdef/', legacy: true });
    expect(paceKeys('https://example.com/webhook')).toMatchObject({ user: null, legacy: false });
  });

  it('a burst to one URL: at most the rate in any second, none at the start beyond it, and no turn later than the window requires', () => {
    const limits: PacingLimits = { targetRate: 25, userRate: 0 };
    let w: number[] = [];
    const turns: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t = takeTurn(w, null, 1_000_000, limits, false);
      w = t.url;
      turns.push(t.at);
    }
    expect(peak(turns, 1000)).toBe(25);
    // The first 25 at once, then 25 a second: the k-th turn comes exactly when the window allows it.
    expect(turns.map((t) => t - 1_000_000)).toStrictEqual(Array.from({ length: 100 }, (_, k) => Math.floor(k / 25) * (1000 + TURN_MARGIN_MS)));
    // A URL's turns keep their order.
    expect([...turns].sort((a, b) => a - b)).toStrictEqual(turns);
  });

  it('a turn taken after the window has passed still keeps the margin from the turns a window before it', () => {
    const limits: PacingLimits = { targetRate: 4, userRate: 0 };
    let w: number[] = [];
    for (let i = 0; i < 4; i++) w = takeTurn(w, null, 5_000_000, limits, false).url;
    // Positive control: asked for at the window's end plus the margin, the turn is now.
    expect(takeTurn(w, null, 5_000_000 + 1000 + TURN_MARGIN_MS, limits, false).at).toBe(5_000_000 + 1000 + TURN_MARGIN_MS);
    // Asked for inside the margin (the window itself over), the turn waits for the margin.
    expect(takeTurn(w, null, 5_000_000 + 1000 + TURN_MARGIN_MS / 2, limits, false).at).toBe(5_000_000 + 1000 + TURN_MARGIN_MS);
  });

  it("a user's window counts every URL of that user, 5 minutes long; a legacy URL gets a tenth, on its own", () => {
    const limits: PacingLimits = { targetRate: 0, userRate: 60 };
    const urls: Record<string, number[]> = { a: [], b: [] };
    let user: UserWindow = [];
    const turns: number[] = [];
    for (let i = 0; i < 140; i++) {
      const key = i % 2 ? 'a' : 'b';
      const t = takeTurn(urls[key], user, 2_000_000, limits, false);
      urls[key] = t.url;
      user = t.user!;
      turns.push(t.at);
    }
    turns.sort((x, y) => x - y);
    expect(peak(turns, 300_000)).toBeLessThanOrEqual(60);
    expect(turns.filter((t) => t === 2_000_000)).toHaveLength(60); // the allowance is used at once
    expect(turns[60] - 2_000_000).toBeGreaterThanOrEqual(300_000);
    expect(turns[60] - 2_000_000).toBeLessThanOrEqual(302_000); // waits no longer than the window (and its second of slack)
    let legacy: UserWindow = [];
    let lw: number[] = [];
    const legacyTurns: number[] = [];
    for (let i = 0; i < 8; i++) {
      const t = takeTurn(lw, legacy, 3_000_000, limits, true);
      [lw, legacy] = [t.url, t.user!];
      legacyTurns.push(t.at);
    }
    expect(legacyTurns.filter((t) => t === 3_000_000)).toHaveLength(6);
  });

  it('reads Retry-After as seconds or an HTTP date, capped at an hour; anything else is no pause', () => {
    const now = Date.parse('2026-12-02T10:00:00Z');
    expect(retryAfterMs('4', now)).toBe(4000);
    expect(retryAfterMs(' 0 ', now)).toBe(0);
    expect(retryAfterMs('Wed, 02 Dec 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Wed, 02 Dec 2026 09:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('86400', now)).toBe(3_600_000);
    expect(retryAfterMs(undefined, now)).toBeNull();
    expect(retryAfterMs('soon', now)).toBeNull();
    expect(retryAfterMs('-5', now)).toBeNull();
  });
});

describe.each(STORES)('alert limits at their real scale on %s', (_name, dbUrl) => {
  it('a target flipping between failure and success every second for 5 minutes: at most one failing and one recovered alert in 15 minutes', async () => {
    const store = await Store.open(dbUrl());
    try {
      await store.migrate();
      const { account } = await store.accounts.create('flaps');
      const hook = await store.hooks.create(account.id, 'walnut.*', 'https://hooks.zapier.com/hooks/catch/1/flap/');
      const t0 = Date.now();
      const alerts: Array<[string, number]> = [];
      let failing = false;
      // The recorder's rules, driven by a clock of their own: a failure marks it failing (an alert
      // unless one went out within 15 minutes); a success while failing starts or continues its
      // steady run, recovered after a minute of it (an alert on the same terms).
      for (let s = 0; s < 300; s++) {
        const now = t0 + s * 1000;
        if (s % 2 === 0) {
          const began = await store.tx((q) => store.hooks.markFailing(hook.id, 1, now, 900_000, q));
          if (began) failing = true;
          if (began?.alert) alerts.push(['failing', s]);
        } else if (failing) {
          const back = await store.tx((q) => store.hooks.markSucceeded(hook.id, now, 60_000, 900_000, q));
          if (back.recovered) failing = false;
          if (back.alert) alerts.push(['recovered', s]);
        }
      }
      expect(alerts).toStrictEqual([['failing', 0]]);
      // Then it steadies (its run of successes began with the last flip, at 299 s): recovered
      // once a minute of successes has passed, and said so once.
      const steady = t0 + 299_000;
      await store.tx((q) => store.hooks.markSucceeded(hook.id, steady + 30_000, 60_000, 900_000, q));
      expect(await store.tx((q) => store.hooks.recoverIfSteady(hook.id, steady + 59_000, 60_000, 900_000, q))).toStrictEqual({ recovered: false, alert: false });
      expect(await store.tx((q) => store.hooks.recoverIfSteady(hook.id, steady + 60_000, 60_000, 900_000, q))).toStrictEqual({ recovered: true, alert: true });
      // A new failure within the 15 minutes marks it failing again, without a second alert.
      expect(await store.tx((q) => store.hooks.markFailing(hook.id, 1, steady + 120_000, 900_000, q))).toStrictEqual({ alert: false });
      // Past them, it is told again.
      await store.tx((q) => store.hooks.markSucceeded(hook.id, steady + 130_000, 0, 900_000, q));
      expect(await store.tx((q) => store.hooks.markFailing(hook.id, 1, t0 + 901_000 + 300_000, 900_000, q))).toStrictEqual({ alert: true });
    } finally {
      await store.close();
    }
  });
});

describe.each(STORES)('pacing on %s', (_name, dbUrl) => {
  let relay: Relay;
  let key: string;
  let inbound: string;
  const start = async (overrides: Record<string, unknown>) => {
    relay = await startTestRelay(dbUrl(), { alertHosts: ['127.0.0.1:*'], ...overrides });
    const a = await relay.store.accounts.create('pacing');
    key = a.apiKey;
    inbound = `${relay.url}/v1/inbound/walnut/${a.tokens.walnut}`;
  };
  afterEach(async () => relay?.close());
  const subscribe = async (target_url: string, event = 'walnut.*') => {
    const r = await call(relay.url, 'POST', '/v1/hooks', { key, body: { target_url, event } });
    expect(r.status).toBe(201);
    return r.json.id as string;
  };
  const post = async (body: string) => {
    const r = await call('', 'POST', inbound, { body });
    expect(r.status).toBe(200);
    return r.json.id as string;
  };
  const hooks = async () => (await call(relay.url, 'GET', '/v1/hooks', { key })).json as Array<{ id: string; health: string; paced: number; throttled_until: string | null; failing_since: string | null; consecutive_failures: number; pending: number }>;
  const delivered = async () => Number((await relay.store.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM deliveries WHERE status = 'delivered'`))[0].n);
  const attemptStarts = async () => (await relay.store.db.query<{ t: number | string }>('SELECT started_at AS t FROM delivery_attempts ORDER BY started_at')).map((r) => Number(r.t));

  it('a burst to one hook arrives whole, never more than RELAY_TARGET_RATE in any second, and draws no 429', async () => {
    // The stand-in's limit above the relay's rate, as Zapier's 30 a second is above the default 25.
    const zapier = await startZapier({ perHookPerSecond: 12 });
    try {
      // Positive control: the stand-in does refuse a burst past its limit.
      const direct = await Promise.all(Array.from({ length: 13 }, () => call(zapier.url, 'POST', '/hooks/catch/1/control/', { body: '{}' })));
      expect(direct.filter((r) => r.status === 429)).toHaveLength(1);
      await start({ targetRate: 10 });
      await subscribe(`${zapier.url}/hooks/catch/1/burst/`);
      const ids = [];
      for (let i = 0; i < 35; i++) ids.push(await post(walnutSession(`burst-${i}`)));
      await until('every delivery recorded delivered', async () => (await delivered()) === 35, 20_000);
      const arrivals = zapier.arrivals.filter((a) => a.path === '/hooks/catch/1/burst/');
      expect(arrivals.filter((a) => a.status === 429)).toHaveLength(0);
      // The relay's own record: never more than 10 attempts begun in any second.
      expect(peak(await attemptStarts(), 1000)).toBeLessThanOrEqual(10);
      expect(new Set(arrivals.map((a) => a.eventId))).toStrictEqual(new Set(ids));
    } finally {
      await zapier.close();
    }
  }, 60_000);

  it('a paced subscription does not delay another subscription of the same account', async () => {
    const zapier = await startZapier();
    try {
      await start({ targetRate: 4 });
      const busy = await subscribe(`${zapier.url}/hooks/catch/2/busy/`, 'walnut.demo_session_finished');
      await subscribe(`${zapier.url}/hooks/catch/2/other/`, 'walnut.playlist_session_finished');
      for (let i = 0; i < 30; i++) await post(walnutSession(`busy-${i}`));
      const other = await post(JSON.stringify({ ...playlistSessionSample, data: { ...playlistSessionSample.data, session_id: 'other-1' } }));
      await until('the other subscription delivered', async () => zapier.delivered().has(other), 25_000);
      // Meanwhile the busy one still waits for its turns: paced, not failing. (A delivery between
      // two claims, its turn given back by a process that reached it late, is due and not yet
      // paced again: the state is waited for, not read once.)
      let busyNow = (await hooks()).find((h) => h.id === busy)!;
      await until('the busy one seen waiting for its turns', async () => {
        busyNow = (await hooks()).find((h) => h.id === busy)!;
        return busyNow.paced > 0;
      }, 10_000);
      expect(busyNow.pending).toBeGreaterThan(10);
      expect(busyNow).toMatchObject({ health: 'healthy', consecutive_failures: 0 });
    } finally {
      await zapier.close();
    }
  }, 60_000);

  it("the 5-minute window counts every hook of one Zapier user, and only that user's", async () => {
    const zapier = await startZapier({ perUserPer5Min: 12 });
    try {
      await start({ targetRate: 0, zapierUserRate: 12 });
      await subscribe(`${zapier.url}/hooks/catch/77/a/`);
      await subscribe(`${zapier.url}/hooks/catch/77/b/`);
      await subscribe(`${zapier.url}/hooks/catch/78/c/`);
      for (let i = 0; i < 10; i++) await post(walnutSession(`user-${i}`));
      // The other user's hook gets all ten; user 77's two hooks 12 of their 20, the rest wait.
      await until("the other user's hook delivered", async () => zapier.arrivals.filter((a) => a.path === '/hooks/catch/78/c/' && a.status === 200).length === 10, 25_000);
      await until('user 77 at its allowance, the rest recorded as paced', async () => {
        const list = await hooks();
        return zapier.arrivals.filter((a) => a.path.startsWith('/hooks/catch/77/')).length === 12 && list.reduce((n, h) => n + h.paced, 0) === 8;
      }, 25_000);
      await sleep(500);
      const toUser = zapier.arrivals.filter((a) => a.path.startsWith('/hooks/catch/77/'));
      expect(toUser).toHaveLength(12);
      expect(toUser.filter((a) => a.status === 429)).toHaveLength(0);
      expect(new Set(toUser.map((a) => a.path))).toStrictEqual(new Set(['/hooks/catch/77/a/', '/hooks/catch/77/b/']));
    } finally {
      await zapier.close();
    }
  }, 60_000);

  it.each([
    ['seconds', () => '2', 1900],
    ['an HTTP date', () => new Date(Date.now() + 3000).toUTCString(), 1900],
  ])("a 429's Retry-After in %s pauses the whole target, then its deliveries resume in order; throttled, never failing, no failing alert", async (_form, retryAfter, minGapMs) => {
    const slack = await startSink();
    const zapier = await startZapier({ answer: (_path, n) => (n === 2 ? { status: 429, headers: { 'Retry-After': retryAfter() } } : null) });
    try {
      // One a second, so the order in which they reach the target is the relay's, not the network's.
      await start({ targetRate: 1 });
      expect((await call(relay.url, 'PUT', '/v1/me/alerts', { key, body: { url: `${slack.url}/alerts` } })).status).toBe(200);
      const hook = await subscribe(`${zapier.url}/hooks/catch/5/x/`);
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push(await post(walnutSession(`pause-${i}`)));
      await until('throttled recorded', async () => (await hooks()).find((h) => h.id === hook)!.health === 'throttled', 10_000);
      const during = (await hooks()).find((h) => h.id === hook)!;
      expect(during).toMatchObject({ health: 'throttled', failing_since: null, consecutive_failures: 0, throttled_until: expect.any(String) });
      await until('every event delivered', async () => ids.every((id) => zapier.delivered().has(id)), 15_000);
      const paused = zapier.arrivals.find((a) => a.status === 429)!;
      const after = zapier.arrivals.filter((a) => a.at > paused.at);
      // Nothing reached the target during its pause; then the rest came in their order.
      expect(after.length).toBeGreaterThan(0);
      expect(after[0].at - paused.at).toBeGreaterThanOrEqual(minGapMs);
      const order = zapier.arrivals.filter((a) => a.status === 200).map((a) => ids.indexOf(a.eventId));
      expect(order).toStrictEqual([...order].sort((a, b) => a - b));
      await sleep(300);
      expect(slack.received.map((r) => JSON.parse(r.body).type)).not.toContain('subscription.failing');
      expect((await hooks()).find((h) => h.id === hook)).toMatchObject({ health: 'healthy', consecutive_failures: 0 });
    } finally {
      await zapier.close();
      await slack.close();
    }
  }, 60_000);

  it('a delivery throttled past its give-up window is given up and told, never failing', async () => {
    const slack = await startSink();
    const zapier = await startZapier({ answer: () => ({ status: 429, headers: { 'Retry-After': '0' } }) });
    try {
      await start({ targetRate: 0, giveUpMs: 400 });
      expect((await call(relay.url, 'PUT', '/v1/me/alerts', { key, body: { url: `${slack.url}/alerts` } })).status).toBe(200);
      const hook = await subscribe(`${zapier.url}/hooks/catch/6/busy/`);
      const id = await post(walnutSession('given-up-1'));
      await until('given up', async () => (await relay.store.db.query<{ status: string }>('SELECT status FROM deliveries WHERE event_id = $1', [id]))[0]?.status === 'given_up', 10_000);
      expect(zapier.arrivals.length).toBeGreaterThan(1); // retried while throttled, until the window closed
      await until('the given-up alert sent', async () => slack.received.some((r) => JSON.parse(r.body).type === 'delivery.given_up'), 10_000);
      expect(slack.received.map((r) => JSON.parse(r.body).type)).not.toContain('subscription.failing');
      expect((await hooks()).find((h) => h.id === hook)).toMatchObject({ failing_since: null, consecutive_failures: 0 });
    } finally {
      await zapier.close();
      await slack.close();
    }
  }, 60_000);

  it.each([
    ['without the limits, every flip alerts', { alertRepeatMs: 0, recoveredAfterMs: 0 }, (n: number) => n > 2],
    ['with them, one failing and one recovered at most', { alertRepeatMs: 60_000, recoveredAfterMs: 700 }, (n: number) => n <= 2],
  ])('a target flipping between failing and succeeding every 100 ms for 4 s: %s', async (_what, rules, judge) => {
    const slack = await startSink();
    let steady = false;
    const target = await startSink(() => (steady || Math.floor(Date.now() / 100) % 2 === 0 ? 200 : 500));
    try {
      await start({ targetRate: 0, ...rules });
      expect((await call(relay.url, 'PUT', '/v1/me/alerts', { key, body: { url: `${slack.url}/alerts` } })).status).toBe(200);
      const hook = await subscribe(`${target.url}/flap`);
      const end = Date.now() + 4000;
      for (let i = 0; Date.now() < end; i++) {
        await post(walnutSession(`flap-${i}`));
        await sleep(30);
      }
      steady = true;
      await until('healthy again', async () => (await hooks()).find((h) => h.id === hook)!.health === 'healthy', 10_000);
      await until('every alert sent', async () => Number((await relay.store.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM alerts WHERE status = 'pending'`))[0].n) === 0, 10_000);
      const types = slack.received.map((r) => JSON.parse(r.body).type);
      expect(types.filter((t) => t === 'subscription.failing').length).toBeGreaterThan(0);
      expect(judge(types.length)).toBe(true);
      if (rules.alertRepeatMs > 0) expect(types).toStrictEqual(['subscription.failing', 'subscription.recovered']);
    } finally {
      await target.close();
      await slack.close();
    }
  }, 60_000);
});

(pgAvailable.ok ? describe : describe.skip)('pacing across relay processes on one PostgreSQL', () => {
  it('two relay processes keep one hook under its limit together', async () => {
    const url = freshPgUrl();
    const acct = JSON.parse(execFileSync(process.execPath, [RELAY_BIN, 'account', 'create', '--name', 'two', '--json'], { env: { ...process.env, RELAY_DATABASE_URL: url }, encoding: 'utf8' }));
    const zapier = await startZapier({ perHookPerSecond: 10 });
    const relays: SpawnedRelay[] = [];
    try {
      for (let i = 0; i < 2; i++) relays.push(await spawnRelay({ RELAY_DATABASE_URL: url, RELAY_TARGET_RATE: '8' }));
      expect((await call(relays[0].url, 'POST', '/v1/hooks', { key: acct.api_key, body: { target_url: `${zapier.url}/hooks/catch/9/shared/`, event: 'walnut.*' } })).status).toBe(201);
      const path = new URL(acct.inbound.walnut).pathname;
      const ids = new Set<string>();
      // Both processes ingest (and so hand fresh deliveries to their own deliverers) and both claim.
      for (let i = 0; i < 40; i++) {
        const r = await call(relays[i % 2].url, 'POST', path, { body: walnutSession(`two-${i}`) });
        expect(r.status).toBe(200);
        ids.add(r.json.id);
      }
      await until('every event delivered', async () => [...ids].every((id) => zapier.delivered().has(id)), 30_000);
      expect(zapier.arrivals.filter((a) => a.status === 429)).toHaveLength(0);
      const db = await openDb(url);
      try {
        const starts = (await db.query<{ t: number | string }>('SELECT started_at AS t FROM delivery_attempts ORDER BY started_at')).map((r) => Number(r.t));
        expect(starts.length).toBeGreaterThanOrEqual(40);
        expect(peak(starts, 1000)).toBeLessThanOrEqual(8);
      } finally {
        await db.close();
      }
    } finally {
      for (const r of relays) {
        r.proc.kill('SIGTERM');
        await new Promise((resolve) => r.proc.once('exit', resolve));
      }
      await zapier.close();
    }
  }, 60_000);
});
