/**
 * A loopback stand-in for hooks.zapier.com that enforces Zapier's documented hook limits: past
 * `perHookPerSecond` requests to one hook URL in any 1 s, or `perUserPer5Min` to one user's hooks
 * (the number in `/hooks/<kind>/<user>/<hook>/`) in any 5 minutes, it answers 429 with a
 * Retry-After, as Zapier does. It records when each request arrived, per path, and what it
 * answered; `answer` may override an answer (a target that asks to slow down on its own).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Arrival {
  path: string;
  at: number;
  status: number;
  eventId: string;
}

/** The most of `times` (ms) that fall in any `windowMs`. */
export function peak(times: number[], windowMs: number): number {
  const sorted = [...times].sort((x, y) => x - y);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i] - sorted[j] >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

export async function startZapier(opts: { perHookPerSecond?: number; perUserPer5Min?: number; answer?: (path: string, n: number) => { status: number; headers?: Record<string, string> } | null } = {}) {
  const arrivals: Arrival[] = [];
  const byHook = new Map<string, number[]>();
  const byUser = new Map<string, number[]>();
  const within = (list: number[], now: number, ms: number) => list.filter((t) => t > now - ms);
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const now = Date.now();
      const path = req.url ?? '/';
      const user = /^\/hooks\/[^/]+\/(\d+)\//.exec(path)?.[1] ?? null;
      const hookTimes = within(byHook.get(path) ?? [], now, 1000);
      const userTimes = user ? within(byUser.get(user) ?? [], now, 300_000) : [];
      let status = 200;
      let headers: Record<string, string> = {};
      const own = opts.answer?.(path, arrivals.filter((a) => a.path === path).length + 1);
      if (own) ({ status, headers = {} } = own);
      else if (opts.perHookPerSecond !== undefined && hookTimes.length >= opts.perHookPerSecond) [status, headers] = [429, { 'Retry-After': '1' }];
      else if (opts.perUserPer5Min !== undefined && user && userTimes.length >= opts.perUserPer5Min) [status, headers] = [429, { 'Retry-After': '60' }];
      if (status === 200) {
        byHook.set(path, [...hookTimes, now]);
        if (user) byUser.set(user, [...userTimes, now]);
      }
      arrivals.push({ path, at: now, status, eventId: String(req.headers['x-relay-event-id']) });
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    arrivals,
    /** The most requests that reached `paths` (all when omitted) in any `windowMs`. */
    peak: (windowMs: number, paths?: string[]): number => peak(arrivals.filter((a) => !paths || paths.includes(a.path)).map((a) => a.at), windowMs),
    /** Events answered 200, each once. */
    delivered: () => new Set(arrivals.filter((a) => a.status === 200).map((a) => a.eventId)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
