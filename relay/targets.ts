import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/**
 * Addresses a subscription may never reach unless the operator opts in (local testing).
 * IPv4-mapped IPv6 (::ffff:a.b.c.d) is unwrapped and checked as IPv4 below: a ::ffff:0:0/96
 * rule here would make BlockList match every IPv4 address.
 */
const blocked = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96]] as const) {
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

export type TargetCheck = { ok: true; url: URL } | { ok: false; status: 400 | 422; error: string };

const hostAllowed = (host: string, allowed: string[]) =>
  allowed.some((a) => (a.startsWith('*.') ? host.endsWith(a.slice(1)) && host.length > a.length - 1 : host === a));

/** Checks a subscription's target URL against the contract (https, no credentials, allowlisted host, no private address). */
export function checkTarget(raw: unknown, policy: TargetPolicy): TargetCheck {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 2048) {
    return { ok: false, status: 400, error: 'target_url must be a URL string of at most 2048 characters' };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, status: 400, error: 'target_url is not a valid URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, status: 400, error: 'target_url must be an https URL' };
  if (url.protocol === 'http:' && !policy.allowPrivateTargets) return { ok: false, status: 422, error: 'target_url must use https' };
  if (url.username || url.password) return { ok: false, status: 422, error: 'target_url must not carry credentials (user:pass@)' };
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (!hostAllowed(host, policy.targetHosts)) {
    return { ok: false, status: 422, error: `target host ${host} is not on this relay's allowlist (RELAY_TARGET_HOSTS)` };
  }
  if (!policy.allowPrivateTargets && (isPrivateAddress(host) || host === 'localhost' || host.endsWith('.localhost'))) {
    return { ok: false, status: 422, error: 'target_url points at a private, loopback or link-local address' };
  }
  return { ok: true, url };
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
