/**
 * One demo view, as the account signals count it: which company, which person, which demo,
 * when it happened, which session. The relay indexes these at ingest, and the signal triggers
 * derive them again from each event they verify, with the same function, so both sides agree.
 */
import { companyOfDomain, companyOfEmail } from './company.js';
import { engagementScore } from './engagement.js';
import { isoFrom, normEmail, str } from './record.js';
import type { ProviderSpec } from './providers/types.js';

export interface DemoActivity {
  /** The company: registrable domain of the viewer's email (never free-mail or disposable), else the vendor's domain. */
  company: string;
  /** One person: the email without a `+tag`, or, for a viewer known only by domain, the session. */
  person: string;
  email: string | null;
  name: string | null;
  companyName: string | null;
  demo: string | null;
  demoName: string | null;
  /** When the viewing happened (ms), or null when the payload does not say (the caller uses arrival). */
  occurredAt: number | null;
  /** The viewing session: a vendor's several events about one view are one session. */
  session: string;
  durationSeconds: number;
  isTest: boolean;
  /** The session's engagement score (1–10), null when the vendor sends none of its inputs. */
  engagementScore: number | null;
  /** How much of the demo was seen (0–100), when the vendor says. */
  completionPct: number | null;
  /** Whether a call-to-action was taken, when the vendor says. */
  ctaClicked: boolean | null;
  /** Where the session ended (last section or guide seen), when the vendor says. */
  exit: string | null;
}

/** `dana+walnut@acme.io` and `Dana@ACME.io` are one person: lowercase, without the `+tag`. */
export function personOf(email: string): string {
  const at = email.lastIndexOf('@');
  const local = email.slice(0, at);
  const plus = local.indexOf('+');
  return `${plus > 0 ? local.slice(0, plus) : local}${email.slice(at)}`.toLowerCase();
}

/**
 * The demo activity an event of `spec` is, or null: not a demo-view event type, the vendor's
 * own people, or no company (free-mail, disposable, no email and no domain). `eventType` is
 * the vendor's own name for the event.
 */
export function demoActivityOf(spec: ProviderSpec, eventType: string, payload: Record<string, unknown>): DemoActivity | null {
  const def = spec.demoActivity;
  if (!def || !def.events.includes(eventType)) return null;
  const facts = def.of(payload);
  if (facts.internal) return null;
  const email = normEmail(facts.email);
  const session = str(facts.session);
  let company = email ? companyOfEmail(email) : null;
  let person = email && company ? personOf(email) : null;
  if (!email) {
    // A viewer known only by the company's domain (Walnut `user.domain`): the session is the person.
    company = companyOfDomain(facts.domain);
    person = company && session ? `session:${session}` : null;
  }
  if (!company || !person) return null;
  const occurred = isoFrom(facts.occurredAt);
  const duration = typeof facts.durationSeconds === 'number' && Number.isFinite(facts.durationSeconds) && facts.durationSeconds > 0 ? facts.durationSeconds : 0;
  return {
    company,
    person,
    email,
    name: str(facts.name),
    companyName: str(facts.companyName),
    demo: str(facts.demo),
    demoName: str(facts.demoName),
    occurredAt: occurred ? Date.parse(occurred) : null,
    session: session ? `${spec.key}:${session}` : `${spec.key}:${person}:${str(facts.occurredAt) ?? ''}`,
    durationSeconds: duration,
    isTest: spec.isTest(payload),
    engagementScore: facts.engagement ? engagementScore(facts.engagement) : null,
    completionPct: facts.engagement?.completionPct ?? null,
    ctaClicked: facts.engagement && facts.engagement.ctaClicks !== null ? facts.engagement.ctaClicks > 0 : null,
    exit: str(facts.exit),
  };
}
