/**
 * The company behind a viewer's email: the registrable domain of its host (`eu.acme.co.uk` and
 * `acme.co.uk` are one company, by the Public Suffix List through tldts), unless it is a
 * free-mail provider (email-providers) or a disposable-mail domain (disposable-email-domains).
 * The lists load on first use: a Zapier process running any other trigger never pays for them.
 */
import { normEmail } from './record.js';

/** The packages that hold the lists (kept out of the app's bundle: they are data, loaded on first use). */
export const COMPANY_LIST_PACKAGES = ['tldts', 'email-providers', 'disposable-email-domains-js'] as const;

/** Whether a loaded file (a require.cache key) is one of those packages'. */
export function isCompanyListFile(file: string): boolean {
  const parts = file.split(/[\\/]/);
  return parts.some((part, i) => parts[i - 1] === 'node_modules' && (COMPANY_LIST_PACKAGES as readonly string[]).includes(part));
}

let lists: { free: Set<string>; disposable: Set<string>; getDomain: (host: string) => string | null } | null = null;

function load() {
  if (!lists) {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { getDomain } = require('tldts') as typeof import('tldts');
    const free = new Set<string>(require('email-providers/all.json') as string[]);
    const { disposableEmailBlocklistSet } = require('disposable-email-domains-js') as { disposableEmailBlocklistSet(): Set<string> };
    /* eslint-enable @typescript-eslint/no-require-imports */
    lists = { free, disposable: disposableEmailBlocklistSet(), getDomain: (host) => getDomain(host) };
  }
  return lists;
}

/**
 * Loads the lists now: the relay does at start, so its first inbound event (every demo view
 * names a company) does not wait the 10 to 20 ms they take.
 */
export function loadCompanyLists(): void {
  load();
}

/** The company domain of an email address, or null (no email, free-mail, disposable, no registrable domain). */
export function companyOfEmail(raw: unknown): string | null {
  const email = normEmail(raw);
  if (!email) return null;
  return companyOfHost(email.slice(email.lastIndexOf('@') + 1));
}

/**
 * The company of a domain a vendor gives or a user types (`eu.acme.co.uk`, `https://www.acme.io/`,
 * `dana@acme.io`), or null (free-mail, disposable, not a registrable domain).
 */
export function companyOfDomain(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  let host = raw.trim().toLowerCase();
  if (host.includes('@')) return companyOfEmail(host);
  host = host.replace(/^[a-z][a-z0-9+.-]*:\/\//, '').replace(/[/?#:].*$/, '').replace(/\.$/, '');
  return /^[a-z0-9.-]{1,253}$/.test(host) ? companyOfHost(host) : null;
}

function companyOfHost(host: string): string | null {
  const { free, disposable, getDomain } = load();
  const domain = getDomain(host);
  if (!domain) return null;
  if (free.has(host) || free.has(domain) || disposable.has(host) || disposable.has(domain)) return null;
  return domain;
}

/**
 * A company's name read from its domain, for when the vendor sends none (Walnut never does):
 * the registrable label, its words capitalised (`acme.co.uk` → `Acme`, `umbrella-corp.com` →
 * `Umbrella Corp`). A guess a person can read, not a legal name: the domain stays beside it.
 */
export function nameOfDomain(domain: string): string {
  const { getDomain } = load();
  const registrable = getDomain(domain) ?? domain;
  const label = registrable.slice(0, registrable.indexOf('.') > 0 ? registrable.indexOf('.') : undefined);
  const words = label.split(/[-_]+/).filter(Boolean);
  return words.length ? words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(' ') : domain;
}
