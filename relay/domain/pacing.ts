/**
 * Pacing: when a delivery to a target may be sent without the target's limits being crossed.
 * Zapier answers 429 past about 30 requests a second to one hook URL and past 10,000 requests
 * in 5 minutes to one user's hooks (the user being the number in
 * `/hooks/<kind>/<user>/<hook>/`); a legacy route without a user id past 1,000 in 5 minutes.
 * The relay keeps under them: at most `targetRate` sends to one URL in any 1 s, at most
 * `userRate` to one user's URLs in any 5 minutes (a legacy URL: a tenth of it, on its own).
 *
 * Each limit is a window kept as state: the send times of one URL's last `targetRate` sends
 * (exact), and per-second counts of one user's sends over the last 5 minutes. A turn is the
 * earliest time at or after `now` at which one more send keeps every window of the limit
 * within it, never before the URL's last turn (a URL's deliveries keep their order).
 */

export const URL_WINDOW_MS = 1000;
/**
 * A URL's turns `targetRate` apart are spaced this much more than the window: an attempt that
 * starts after its turn (a process short of CPU, a commit that took its time) then still
 * cannot put one send too many into one second at the target. A start later than this is not
 * made on that turn (relay/delivery/ready-queue.ts).
 */
export const TURN_MARGIN_MS = 200;
export const USER_WINDOW_MS = 5 * 60 * 1000;
const USER_WINDOW_S = USER_WINDOW_MS / 1000;

export interface PacingLimits {
  /** Sends to one target URL in any 1 s (0: no limit). */
  targetRate: number;
  /** Sends to one Zapier user's hook URLs in any 5 minutes (0: no limit). */
  userRate: number;
}

/** The limits a target URL falls under: the key of its own window, and of its user's (null: none). */
export interface PaceKeys {
  url: string;
  /** `user:<id>` for a Zapier hook URL with a user id; for a legacy hook URL, the URL itself keeps a 5-minute window of its own. */
  user: string | null;
  /** A legacy Zapier route (no user id): its 5-minute limit is a tenth of the user limit, per URL. */
  legacy: boolean;
}

/** `/hooks/<kind>/<user>/<hook>/` names a user; `/hooks/<kind>/<hook>/` is a legacy route. */
export function paceKeys(targetUrl: string): PaceKeys {
  let path = '';
  try {
    path = new URL(targetUrl).pathname;
  } catch {
    return { url: targetUrl, user: null, legacy: false };
  }
  const parts = path.split('/').filter(Boolean);
  if (parts[0] !== 'hooks' || parts.length < 3) return { url: targetUrl, user: null, legacy: false };
  if (parts.length >= 4 && /^\d+$/.test(parts[2])) return { url: targetUrl, user: `user:${parts[2]}`, legacy: false };
  return { url: targetUrl, user: `legacy:${targetUrl}`, legacy: true };
}

/** One URL's window: the times of its latest sends (ascending, at most `targetRate`), the latest being its last turn. */
export type UrlWindow = number[];

/** One user's (or legacy URL's) window: send counts per whole second, `[second, count]`, ascending. */
export type UserWindow = Array<[number, number]>;

/** The 5-minute limit of a key: a legacy URL gets a tenth of the user limit. */
export const userLimitOf = (limits: PacingLimits, legacy: boolean): number => (legacy ? Math.max(1, Math.floor(limits.userRate / 10)) : limits.userRate);

/** The URL's next turn at or after `at`: its last turn, and `rate` sends in any 1 s. */
function urlTurn(w: UrlWindow, at: number, rate: number): number {
  let t = Math.max(at, w.length ? w[w.length - 1] : at);
  if (rate > 0 && w.length >= rate) t = Math.max(t, w[w.length - rate] + URL_WINDOW_MS + TURN_MARGIN_MS);
  return t;
}

/**
 * The first second at or after `from` where one more send keeps every window of 301 whole
 * seconds that holds it within `limit` (301, not 300: then any 300 s of real time, which spans
 * at most 301 whole seconds, is within the limit too).
 */
function userSecond(w: UserWindow, from: number, limit: number): number {
  const last = w.length ? w[w.length - 1][0] : from;
  const lo = from - USER_WINDOW_S;
  const hi = Math.max(from, last) + USER_WINDOW_S + 1; // past the last send's windows: always free
  const counts = new Float64Array(hi - lo + USER_WINDOW_S + 2);
  for (const [sec, n] of w) if (sec >= lo && sec <= hi) counts[sec - lo] += n;
  const prefix = new Float64Array(counts.length + 1);
  for (let i = 0; i < counts.length; i++) prefix[i + 1] = prefix[i] + counts[i];
  // The sends in the window [s, s + 300], for s from lo.
  const inWindow = (s: number) => prefix[Math.min(counts.length, s - lo + USER_WINDOW_S + 1)] - prefix[s - lo];
  // x is free when every window that holds it (s from x - 300 to x) has room: a sliding maximum.
  const deque: number[] = [];
  for (let s = lo; s <= hi; s++) {
    while (deque.length && inWindow(deque[deque.length - 1]) <= inWindow(s)) deque.pop();
    deque.push(s);
    const x = s; // windows s' in [x - 300, x] are all pushed once s reaches x
    if (x < from) continue;
    while (deque[0] < x - USER_WINDOW_S) deque.shift();
    if (inWindow(deque[0]) + 1 <= limit) return x;
  }
  return hi;
}

/** The state of one key, as kept between claims. */
export interface PaceState {
  url: UrlWindow;
  user: UserWindow;
}

/**
 * Takes the next turn of a target: the time its delivery may be sent (≥ `now`), and the windows
 * with that send in them. Older entries that can no longer matter are dropped.
 */
export function takeTurn(urlWindow: UrlWindow, userWindow: UserWindow | null, now: number, limits: PacingLimits, legacy: boolean): { at: number; url: UrlWindow; user: UserWindow | null } {
  let at = urlTurn(urlWindow, now, limits.targetRate);
  const userLimit = userWindow ? userLimitOf(limits, legacy) : 0;
  if (userWindow && userLimit > 0) {
    const second = userSecond(userWindow, Math.floor(at / 1000), userLimit);
    if (second * 1000 > at) at = second * 1000;
  }
  // Kept while a later turn can still be spaced from it: the window and its margin.
  const url = [...urlWindow.filter((t) => t > now - URL_WINDOW_MS - TURN_MARGIN_MS), at].slice(-Math.max(1, limits.targetRate));
  let user: UserWindow | null = null;
  if (userWindow) {
    const s = Math.floor(at / 1000);
    const kept = userWindow.filter(([sec]) => sec > Math.floor(now / 1000) - USER_WINDOW_S - 1);
    const i = kept.findIndex(([sec]) => sec === s);
    if (i >= 0) kept[i] = [s, kept[i][1] + 1];
    else {
      kept.push([s, 1]);
      kept.sort((a, b) => a[0] - b[0]);
    }
    user = kept;
  }
  return { at, url, user };
}

/** Whether any limit is on. */
export const pacingOn = (limits: PacingLimits) => limits.targetRate > 0 || limits.userRate > 0;
