import { lookup as dnsLookup, promises as dnsPromises, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';

/**
 * Addresses a subscription may never reach unless the operator opts in (local testing).
 * IPv4-mapped IPv6 (::ffff:a.b.c.d) is unwrapped and checked as IPv4 below: a ::ffff:0:0/96
 * rule here would make BlockList match every IPv4 address.
 */
const blocked = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 96], // unspecified, loopback and IPv4-compatible ::a.b.c.d
  ['64:ff9b::', 96], ['64:ff9b:1::', 48], // NAT64: reaches whatever IPv4 address it embeds
  ['100::', 64], // discard-only
  ['2001::', 32], // Teredo: embeds an IPv4 address
  ['2001:10::', 28], ['2001:20::', 28], ['2001:db8::', 32], // ORCHID, documentation
  ['2002::', 16], // 6to4: embeds an IPv4 address
  ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8], // unique-local, link-local, site-local, multicast
] as const) {
  blocked.addSubnet(net, bits, 'ipv6');
}

export const isPrivateAddress = (address: string): boolean => {
  const family = isIP(address);
  if (family === 0) return false;
  if (family === 6 && address.toLowerCase().startsWith('::ffff:')) {
    const v4 = address.slice(7);
    if (isIP(v4) === 4) return blocked.check(v4, 'ipv4');
  }
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
};

export interface TargetPolicy {
  targetHosts: string[];
  allowPrivateTargets: boolean;
}

export type TargetCheck = { ok: true; url: URL } | { ok: false; status: 400 | 422 | 503; error: string };


/**
 * One RELAY_TARGET_HOSTS entry: `host`, `*.domain`, `host:port`, `host:*` (any port), or an IPv6
 * address, bracketed when it has a port. Without a port only the scheme's default port is allowed.
 */
function parseAllowEntry(entry: string): { host: string; port: string | null } {
  const e = entry.trim().toLowerCase();
  const bracketed = /^\[([^\]]+)\](?::(\d+|\*))?$/.exec(e);
  if (bracketed) return { host: bracketed[1], port: bracketed[2] ?? null };
  if (isIP(e) === 6) return { host: e, port: null };
  const m = /^(.*):(\d+|\*)$/.exec(e);
  return m ? { host: m[1], port: m[2] } : { host: e, port: null };
}

const hostMatches = (host: string, pattern: string) =>
  pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1 : host === pattern;

/** Whether `host` on `port` ('' = the scheme's default) is allowlisted. */
function allowed(host: string, port: string, list: string[]): boolean {
  return list.some((raw) => {
    const e = parseAllowEntry(raw);
    if (!hostMatches(host, e.host)) return false;
    if (port === '') return e.port === null || e.port === '*';
    return e.port === '*' || e.port === port;
  });
}

/** What the checked URL is called in errors: a subscription's `target_url`, or an account's alert `url`. */
export interface TargetNames {
  field: string;
  hostsVar: string;
}
const TARGET_URL: TargetNames = { field: 'target_url', hostsVar: 'RELAY_TARGET_HOSTS' };

/** The alert URL's rule: the same, with its own allowlist. */
export const ALERT_URL: TargetNames = { field: 'url', hostsVar: 'RELAY_ALERT_HOSTS' };

/** Checks a subscription's target URL against the contract (https, no credentials, allowlisted host and port, no private address literal). */
export function checkTarget(raw: unknown, policy: TargetPolicy, names: TargetNames = TARGET_URL): TargetCheck {
  const { field, hostsVar } = names;
  const localTesting = `for local testing only, set RELAY_ALLOW_PRIVATE_TARGETS=1 and list the host in ${hostsVar}`;
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 2048) {
    return { ok: false, status: 400, error: `${field} must be a URL string of at most 2048 characters` };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, status: 400, error: `${field} is not a valid URL` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, status: 400, error: `${field} must be an https URL` };
  if (url.protocol === 'http:' && !policy.allowPrivateTargets) return { ok: false, status: 422, error: `${field} must use https (plain http: ${localTesting})` };
  if (url.username || url.password) return { ok: false, status: 422, error: `${field} must not carry credentials (user:pass@)` };
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (!allowed(host, url.port, policy.targetHosts)) {
    const where = url.port ? `${host} on port ${url.port}` : host;
    const hint = url.port ? ` (a non-default port must be listed as ${host}:${url.port})` : '';
    return { ok: false, status: 422, error: `${field === 'target_url' ? 'target' : field} ${where} is not on this relay's allowlist, ${hostsVar}${hint}` };
  }
  if (!policy.allowPrivateTargets && (isPrivateAddress(host) || host === 'localhost' || host.endsWith('.localhost'))) {
    return { ok: false, status: 422, error: `${field} points at a private, loopback or link-local address (${localTesting})` };
  }
  return { ok: true, url };
}

export type Resolve = (host: string) => Promise<LookupAddress[]>;
const systemResolve: Resolve = (host) => dnsPromises.lookup(host, { all: true, verbatim: true });

/**
 * `checkTarget`, then resolves the host as delivery will: a name that resolves to a private
 * address (an /etc/hosts entry, an internal DNS name) is refused now, with a reason, instead of
 * being accepted and failing quietly on every event. Delivery checks again at connect time
 * (DNS answers change).
 */
export async function resolveTarget(raw: unknown, policy: TargetPolicy, resolve: Resolve = systemResolve, names: TargetNames = TARGET_URL): Promise<TargetCheck> {
  const checked = checkTarget(raw, policy, names);
  if (!checked.ok) return checked;
  const host = checked.url.hostname.replace(/^\[|\]$/g, '');
  let addresses: LookupAddress[];
  try {
    addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await resolve(host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') return { ok: false, status: 422, error: `target host ${host} does not resolve (${code})` };
    return { ok: false, status: 503, error: `could not resolve target host ${host} now (${code ?? 'DNS error'}); retry` };
  }
  if (addresses.length === 0) return { ok: false, status: 422, error: `target host ${host} does not resolve` };
  const bad = addresses.find((a) => isPrivateAddress(a.address));
  if (bad && !policy.allowPrivateTargets) {
    return { ok: false, status: 422, error: `target host ${host} resolves to a private, loopback or link-local address (${bad.address}); for local testing only, set RELAY_ALLOW_PRIVATE_TARGETS=1 and list the host in ${names.hostsVar}` };
  }
  return checked;
}

/**
 * A `lookup` for http(s).request that refuses private addresses at connect time, so a host
 * that resolves (or re-resolves: DNS rebinding) to an internal address is never reached.
 */
export function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: any, callback: (...args: any[]) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err);
      const list = Array.isArray(addresses) ? addresses : [];
      const bad = list.find((a) => isPrivateAddress(a.address));
      if (!allowPrivate && bad) {
        const e = new Error(`target ${hostname} resolves to a private address; refused`) as NodeJS.ErrnoException;
        e.code = 'ETARGETPRIVATE';
        return callback(e);
      }
      if (options?.all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(new Error(`no address for ${hostname}`));
      return callback(null, first.address, first.family);
    });
  };
}

/**
 * A POST to a URL that passed `checkTarget`, as deliveries and alerts send one: redirects not
 * followed, the connection made through `lookup` (guardedLookup, so the address is checked at
 * connect), cut off after `timeoutMs` whether the peer is silent or drips. `onError` gets the
 * network error (or the timeout); `onResponse` the answer.
 */
export function guardedPost(
  url: URL,
  opts: { agents: { http: http.Agent; https: https.Agent }; lookup: unknown; timeoutMs: number; headers: Record<string, string> },
  onResponse: (res: http.IncomingMessage) => void,
  onError: (err: NodeJS.ErrnoException) => void,
): http.ClientRequest {
  const secure = url.protocol === 'https:';
  const req = (secure ? https : http).request(
    url,
    { method: 'POST', agent: secure ? opts.agents.https : opts.agents.http, lookup: opts.lookup as never, timeout: opts.timeoutMs, headers: opts.headers },
    onResponse,
  );
  const timedOut = () => req.destroy(new Error(`timed out after ${opts.timeoutMs} ms`));
  const timer = setTimeout(timedOut, opts.timeoutMs);
  req.on('timeout', timedOut);
  req.on('error', (err: NodeJS.ErrnoException) => {
    clearTimeout(timer);
    onError(err);
  });
  req.on('close', () => clearTimeout(timer));
  return req;
}
