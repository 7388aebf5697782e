import type { z } from 'zod';
import type { SignatureScheme } from '../signature.js';
import type { EngagementInputs } from '../engagement.js';
import type { FlatRecord, OutputField, Viewer } from '../record.js';


/** What an event's flattener produces; the pipeline adds id, provider, event, is_test and signature_verified. */
export interface Flattened {
  /** When it happened (the viewing, for a session). */
  occurred_at: string | null;
  /** When the vendor sent it, where the payload says so apart from when it happened. */
  sent_at?: string | null;
  viewer: Viewer;
  /** The event's own fields, as one object literal (kept in fast mode: it is copied per event). */
  fields: FlatRecord;
  /** Fields named by the user's data (custom form fields, event properties), when there are any. */
  dynamic?: FlatRecord;
  summary_text: string;
  slack_message: string;
  crm_note: string;
}

export interface EventSpec {
  /** The event name exactly as the provider sends it in the payload. */
  event: string;
  /** The Zapier trigger key. */
  triggerKey: string;
  noun: string;
  label: string;
  description: string;
  /** The schema of the whole payload; unknown extra fields are kept (loose objects). */
  schema: z.ZodType;
  /** The documented payload, as the vendor's document shows it. */
  sample: Record<string, unknown>;
  flatten(payload: any): Flattened;
  /** Event-specific output fields (the common ones are added by the trigger base). */
  outputFields: OutputField[];
  /** A caveat the Zap builder should know (shown above the trigger's fields), e.g. a vendor's delay. */
  help?: string;
}

/**
 * The fields every event of a vendor shares, named as the documented events name them: an
 * event type this app does not know yet still gives them (visitor_id, session_id, …), and only
 * what the envelope does not declare arrives as `extra__…`.
 */
export interface Envelope {
  schema(): z.ZodType;
  flatten(payload: any, eventName: string): Flattened;
}

export interface ProviderSpec<K extends string = string> {
  /** The vendor's key: its inbound URL segment, relay event prefix and trigger key prefix. */
  key: K;
  label: string;
  scheme: SignatureScheme;
  /** The connection field's name after the vendor's label: `Signing Key`, `Signing Secret`. */
  secretLabel: string;
  /** A secret of another shape can never verify: the reason, to show at the connection test, or null. */
  checkSecret?(value: string): string | null;
  /** What the vendor calls sending a test delivery, for the "Include Test Events" help (e.g. `"Send a test event"`). */
  testEventHow: string;
  /** Plain-text steps to paste the inbound URL into the vendor, for the relay's console. */
  consoleHelp: string;
  /** The payload field that names the event type (`event` unless the vendor says otherwise, e.g. `type`). */
  eventField?: string;
  /** authData keys of the current and the previous (rotation) secret. */
  secretKeys: readonly [string, string];
  /** The vendor's webhook documentation: where its secret is shown and its webhook URL is pasted. */
  docsUrl: string;
  /** Connection-field help: where the vendor shows the secret. */
  secretHelp: string;
  /** The inbound URL goes here in the vendor's UI. */
  inboundHelp: string;
  events: EventSpec[];
  anyEvent: { triggerKey: string; noun: string; label: string; description: string };
  /**
   * Demo activity (the playbook's account signals): which event types count as a viewer seeing
   * a demo, and what such a payload says about who viewed what, when. Absent for vendors whose
   * events are not demo views (Pendo). lib/activity.ts turns this into company and person.
   */
  demoActivity?: {
    events: string[];
    of(payload: Record<string, unknown>): ActivityFacts;
    /** What counts, in words, for the signals' help (`Walnut demo and playlist sessions`). */
    counted: string;
    /** What this vendor's sessions give the engagement score, in words (lib/engagement.ts). */
    engagementHelp?: string;
    /** The vendor's own rules about who counts, for the same help (or none). */
    whoCounts?: string;
    /**
     * A demo view as this vendor would send it for one viewer: the first event type's
     * documented sample with the viewer's email and name, the time and the session put in.
     * For the signal triggers' samples, the tests and the benches.
     */
    example(view: ExampleView): Record<string, unknown>;
  };
  /**
   * Examples of what the vendor sends, for the tests, the benches and the demo (never the app's
   * output): `test` is a test delivery as the vendor's "send a test" button makes it; `live`
   * turns a documented sample into a real viewer's delivery (the sample itself, unless the
   * vendor documents only test payloads).
   */
  examples: {
    test: Record<string, unknown>;
    live?(sample: Record<string, unknown>): Record<string, unknown>;
  };
  /** What every secret of this vendor starts with (e.g. `whsec_`), so tests and the demo make well-shaped ones. */
  secretPrefix?: string;
  /** Event types that exist only as tests (e.g. Supademo `webhook.test`): they reach any of the provider's triggers that include test events. */
  testEventTypes: string[];
  isTest(payload: Record<string, unknown>): boolean;
  /** The record id from the identity fields, or undefined when they are missing. */
  identity(payload: Record<string, unknown>): string | undefined;
  /** The shared envelope, for event types demohooks does not know yet. */
  envelope: Envelope;
  /** Last resort, when even the envelope does not parse (a test event lacking fields): everything as `extra__…`. */
  flattenUnknown(payload: Record<string, unknown>, eventName: string): Flattened;
}

/** What one demo-activity payload says, as the vendor put it (lib/activity.ts normalises it). */
export interface ActivityFacts {
  email: unknown;
  /** The viewer's company domain when the vendor gives one apart from the email (Walnut `user.domain`). */
  domain?: unknown;
  /** True for the vendor's own people (Walnut `user.type` present and not `external`): never activity. */
  internal?: boolean;
  name?: unknown;
  companyName?: unknown;
  /** The demo (or playlist, showcase) id, and its name. */
  demo: unknown;
  demoName: unknown;
  /** When the viewing happened, as the payload says it; arrival time is used when absent. */
  occurredAt: unknown;
  /** One viewing session: however many events a vendor sends about it, it counts once. */
  session: unknown;
  durationSeconds?: unknown;
  /** What the session gives the engagement score (lib/engagement.ts). */
  engagement?: EngagementInputs;
  /** Where the session ended: the last section or guide seen, when the vendor says. */
  exit?: unknown;
}

/** One viewer's demo view, for a vendor's `demoActivity.example`. */
export interface ExampleView {
  email: string;
  name?: string;
  /** ISO time of the view. */
  at: string;
  /** A session id unique to this view. */
  session: string;
}
