/**
 * Failed authentication counted per client address (the forwarded one behind a trusted proxy,
 * RELAY_TRUST_PROXY), not per presented credential: a wrong API key or an unknown inbound URL
 * counts against the address it came from, and past RELAY_AUTH_FAILURES_PER_MINUTE in a minute
 * that address's failures are answered 429 with Retry-After. A valid key or URL from the same
 * address still works (it is checked first), so a guesser behind a shared address cannot lock
 * its neighbours out. The memory is bounded, and flooding cannot empty it: one address is one
 * entry whatever it presents, an IPv6 client one entry per /64, and when the table is full the
 * oldest address still under the limit goes first, never one that is over it.
 */
import { isIPv6 } from 'node:net';

const WINDOW_MS = 60_000;
const MAX_ADDRESSES = 20_000;

interface Entry {
  count: number;
  since: number;
}

/** An IPv4 client as IPv4, however the socket spells it (a dual-stack socket says `::ffff:a.b.c.d`). */
export const unmapped = (address: string): string => /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] ?? address;

/** One client, as counted: an IPv4 address, or an IPv6 address's /64 (what one host is usually given). */
export function clientKey(raw: string): string {
  const address = unmapped(raw);
  if (!isIPv6(address)) return address;
  // Expand "::" to find the first four groups.
  const [head, tail = ''] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export class FailedAuth {
  private readonly entries = new Map<string, Entry>();

  constructor(
    /** Failures an address may have in a minute before it is answered 429 (0: no limit). */
    private readonly perMinute: number,
    private readonly maxAddresses = MAX_ADDRESSES,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until `address` may fail again without a 429; 0 when it is under the limit. */
  blockedFor(address: string): number {
    if (this.perMinute <= 0) return 0;
    const e = this.live(clientKey(address));
    return e && e.count >= this.perMinute ? Math.max(1, Math.ceil((e.since + WINDOW_MS - this.now()) / 1000)) : 0;
  }

  /** Counts one failure of `address`: the seconds it is told to wait when it was already past the limit (0: answered as a plain failure). */
  fail(address: string): number {
    if (this.perMinute <= 0) return 0;
    const wait = this.blockedFor(address);
    const key = clientKey(address);
    const e = this.live(key);
    if (e) e.count++;
    else {
      if (this.entries.size >= this.maxAddresses) this.evict();
      this.entries.set(key, { count: 1, since: this.now() });
    }
    return wait;
  }

  /** Addresses counted now (for the tests: bounded whatever is presented). */
  get size(): number {
    return this.entries.size;
  }

  private live(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (e && this.now() - e.since >= WINDOW_MS) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  /** Room for one more: the oldest entry under the limit (or expired) goes; only when every entry is over it, the oldest of those. */
  private evict(): void {
    const now = this.now();
    for (const [k, e] of this.entries) {
      if (now - e.since >= WINDOW_MS || e.count < this.perMinute) {
        this.entries.delete(k);
        return;
      }
    }
    this.entries.delete(this.entries.keys().next().value!);
  }
}
