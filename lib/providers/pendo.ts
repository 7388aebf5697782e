import * as z from '../zod.js';
import {
  crmNote,
  lazy,
  f,
  flattenMap,
  isoFrom,
  makeViewer,
  num,
  oneLine,
  slackEscape,
  str,
  type FlatRecord,
  type OutputField,
  type Scalar,
} from '../record.js';
import { flattenAnything } from './generic.js';
import type { EventSpec, Flattened, ProviderSpec } from './types.js';
// The "Example webhook responses" of Pendo's Webhooks article, verbatim, keyed by event.
// (The article omits the closing brace of two examples; it is restored.)
import samples from './pendo-samples.json';

// optional().nullable(), not nullish(): the same values pass, and zod checks this order without a
// lazy getter on every parse.
const opt = <T extends z.ZodType>(t: T) => t.optional().nullable();

export const pendoSchema = lazy(() => {
  const { string: ostr, number: onum, boolean: obool } = z.nullish();
  const oid = opt(z.union([z.string(), z.number()]));
  const guideProperties = z.object({
    createdAt: onum,
    createdByUser: opt(z.object({ username: ostr })),
    id: ostr,
    lastUpdatedAt: onum,
    lastUpdatedByUser: opt(z.object({ username: ostr })),
    name: ostr,
    steps: opt(z.array(z.object({ id: ostr, lastUpdatedAt: onum, resetAt: onum, type: ostr }))),
  });

  const payload = z.object({
    app: opt(z.object({ id: oid, name: ostr, platform: ostr })),
    accountId: oid,
    subscription: opt(z.object({ id: oid, name: ostr })),
    userAgent: ostr,
    event: z.string(),
    properties: opt(
      z.object({
        guideId: ostr,
        guideProperties: opt(guideProperties),
        guideStepId: ostr,
        language: ostr,
        pollResponses: opt(
          z.array(
            z.object({
              duration: onum,
              pollId: ostr,
              pollType: ostr,
              response: opt(z.union([z.string(), z.number(), z.boolean()])),
            }),
          ),
        ),
        nps: opt(z.object({ rating: onum, reason: ostr, source: ostr })),
        browserName: ostr,
        browserVersion: ostr,
        sampleGroup: onum,
        eventProperties: opt(z.record(z.string(), z.unknown())),
        name: ostr,
        source: ostr,
      }),
    ),
    timestamp: opt(z.union([z.number(), z.string()])),
    visitorId: oid,
    uniqueId: z.string().min(1),
  });
  return payload;
});

type Payload = z.infer<ReturnType<typeof pendoSchema>>;

type Group = 'guide' | 'poll' | 'nps' | 'track' | 'browser';
const NO_GROUPS: Group[] = [];

/** Which groups of fields each documented event type has (Pendo's example payloads). */
const GROUPS: Record<string, Group[]> = {
  guideDisplayed: ['guide'],
  pollDisplayed: ['guide'],
  pollSubmitted: ['guide', 'poll'],
  npsDisplayed: ['guide'],
  npsSubmitted: ['guide', 'nps'],
  visitorCreated: ['browser'],
  accountCreated: [],
  trackEventReceived: ['track'],
};

type Props = NonNullable<Payload['properties']>;
const presentGroup = (g: Group, props: Props): boolean => {
  switch (g) {
    case 'guide':
      return props.guideId != null || props.guideProperties != null || props.guideStepId != null || props.language != null;
    case 'poll':
      return props.pollResponses != null;
    case 'nps':
      return props.nps != null;
    case 'track':
      return props.name != null || props.source != null || props.eventProperties != null;
    case 'browser':
      return props.browserName != null || props.browserVersion != null;
  }
};

export const npsCategory = (rating: number | null): 'promoter' | 'passive' | 'detractor' | null =>
  rating === null ? null : rating >= 9 ? 'promoter' : rating >= 7 ? 'passive' : 'detractor';

function flatten(p: Payload): Flattened {
  const props = p.properties ?? {};
  const visitorId = str(p.visitorId);
  const accountId = str(p.accountId);
  // Pendo visitor IDs are often the user's email; when one is, it is the viewer's email.
  const viewer = makeViewer({ email: visitorId });
  const rating = num(props.nps?.rating);
  const category = npsCategory(rating);
  const polls = (props.pollResponses ?? []).map((r) => ({
    poll_id: str(r.pollId),
    poll_type: str(r.pollType),
    response: (r.response ?? null) as Scalar,
    duration: num(r.duration),
  }));
  const guideName = str(props.guideProperties?.name);
  const appName = str(p.app?.name);
  const who = viewer.viewer_email ?? (visitorId ? `visitor ${visitorId}` : 'a visitor');
  const acct = accountId ? ` (account ${accountId})` : '';
  const inApp = appName ? ` in ${appName}` : '';
  const trackName = str(props.name);

  let headline: string;
  switch (p.event) {
    case 'guideDisplayed':
      headline = `guide "${guideName ?? props.guideId ?? '?'}" displayed to ${who}${acct}${inApp}`;
      break;
    case 'pollDisplayed':
      headline = `poll "${guideName ?? props.guideId ?? '?'}" displayed to ${who}${acct}${inApp}`;
      break;
    case 'pollSubmitted':
      headline = `${who}${acct} answered poll "${guideName ?? props.guideId ?? '?'}"${inApp}: ${polls.map((r) => String(r.response)).join(' | ')}`;
      break;
    case 'npsDisplayed':
      headline = `NPS survey "${guideName ?? props.guideId ?? '?'}" displayed to ${who}${acct}${inApp}`;
      break;
    case 'npsSubmitted':
      headline = `${who}${acct} gave NPS ${rating ?? '?'}${category ? ` (${category})` : ''}${inApp}${props.nps?.reason ? `: "${props.nps.reason}"` : ''}`;
      break;
    case 'visitorCreated':
      headline = `new visitor ${visitorId ?? '?'}${acct} first seen${inApp}`;
      break;
    case 'accountCreated':
      headline = `new account ${accountId ?? '?'} first seen${inApp}`;
      break;
    case 'trackEventReceived':
      headline = `track event "${trackName ?? '?'}" from ${who}${acct}${inApp}`;
      break;
    default:
      headline = `${p.event} for ${who}${acct}${inApp}`;
  }
  const headlineText = headline.charAt(0).toUpperCase() + headline.slice(1);

  const occurredAt = isoFrom(p.timestamp);
  // The envelope every Pendo event has, then the groups of fields this event type has (and any
  // group whose fields the payload carries anyway, so nothing sent is dropped): "New Pendo
  // Visitor" gives no NPS or poll fields.
  const groups = GROUPS[p.event] ?? NO_GROUPS;
  const has = (g: Group) => groups.includes(g) || presentGroup(g, props);
  const fields: FlatRecord = {
    visitor_id: visitorId,
    account_id: accountId,
    app_id: (p.app?.id ?? null) as Scalar,
    app_name: appName,
    app_platform: str(p.app?.platform),
    subscription_id: (p.subscription?.id ?? null) as Scalar,
    subscription_name: str(p.subscription?.name),
    user_agent: str(p.userAgent),
  };
  if (has('guide')) {
    const gp = props.guideProperties;
    fields.guide_id = str(props.guideId);
    fields.guide_name = guideName;
    fields.guide_step_id = str(props.guideStepId);
    fields.language = str(props.language);
    fields.guide_created_at = isoFrom(gp?.createdAt);
    fields.guide_created_by = str(gp?.createdByUser?.username);
    fields.guide_updated_at = isoFrom(gp?.lastUpdatedAt);
    fields.guide_updated_by = str(gp?.lastUpdatedByUser?.username);
    fields.guide_steps = (gp?.steps ?? []).map((st) => ({
      id: str(st.id),
      type: str(st.type),
      updated_at: isoFrom(st.lastUpdatedAt),
      reset_at: isoFrom(st.resetAt),
    }));
  }
  if (has('poll')) fields.poll_responses = polls;
  if (has('nps')) {
    fields.nps_rating = rating;
    fields.nps_reason = str(props.nps?.reason);
    fields.nps_source = str(props.nps?.source);
    fields.nps_category = category;
  }
  if (has('track')) {
    fields.track_event_name = trackName;
    fields.track_event_source = str(props.source);
  }
  if (has('browser')) {
    fields.browser_name = str(props.browserName);
    fields.browser_version = str(props.browserVersion);
    fields.visitor_sample_group = num(props.sampleGroup);
  }
  return {
    occurred_at: occurredAt,
    viewer,
    fields,
    dynamic: props.eventProperties ? flattenMap(props.eventProperties, 'track_event_properties__') : undefined,
    summary_text: oneLine(`Pendo: ${headline}.`),
    slack_message:
      `${p.event === 'npsSubmitted' ? (category === 'detractor' ? ':rotating_light:' : ':star:') : ':compass:'} ` +
      `*Pendo* · ${slackEscape(oneLine(headlineText))}`,
    crm_note: crmNote(`Pendo: ${oneLine(headlineText)}`, [
      ['Visitor', visitorId],
      ['Account', accountId],
      ['App', appName],
      ['Guide', guideName],
      ['NPS rating', rating],
      ['NPS category', category],
      ['NPS reason', str(props.nps?.reason)],
      ...polls.map((r, i): [string, unknown] => [`Poll answer ${i + 1} (${r.poll_type ?? 'poll'})`, r.response]),
      ['Track event', trackName],
      ['Browser', [str(props.browserName), str(props.browserVersion)].filter(Boolean).join(' ') || null],
      ['Occurred at', occurredAt],
    ]),
  };
}

const base: OutputField[] = [
  f('visitor_id', 'Visitor ID'),
  f('account_id', 'Account ID'),
  f('app_id', 'App ID'),
  f('app_name', 'App Name'),
  f('app_platform', 'App Platform'),
  f('subscription_id', 'Subscription ID'),
  f('subscription_name', 'Subscription Name'),
  f('user_agent', 'User Agent'),
];
const guide: OutputField[] = [
  f('guide_id', 'Guide ID'),
  f('guide_name', 'Guide Name'),
  f('guide_step_id', 'Guide Step ID'),
  f('language', 'Language'),
  f('guide_created_at', 'Guide Created At', 'datetime'),
  f('guide_created_by', 'Guide Created By'),
  f('guide_updated_at', 'Guide Last Updated At', 'datetime'),
  f('guide_updated_by', 'Guide Last Updated By'),
  f('guide_steps[]id', 'Guide Steps: Step ID'),
  f('guide_steps[]type', 'Guide Steps: Step Type'),
  f('guide_steps[]updated_at', 'Guide Steps: Last Updated At', 'datetime'),
  f('guide_steps[]reset_at', 'Guide Steps: Reset At', 'datetime'),
];
const poll: OutputField[] = [
  f('poll_responses[]poll_id', 'Poll Responses: Poll ID'),
  f('poll_responses[]poll_type', 'Poll Responses: Poll Type'),
  f('poll_responses[]response', 'Poll Responses: Response'),
  f('poll_responses[]duration', 'Poll Responses: Duration (milliseconds)', 'number'),
];
const nps: OutputField[] = [
  f('nps_rating', 'NPS Rating', 'integer'),
  f('nps_reason', 'NPS Reason'),
  f('nps_source', 'NPS Source'),
  f('nps_category', 'NPS Category'),
];
const track: OutputField[] = [f('track_event_name', 'Track Event Name'), f('track_event_source', 'Track Event Source')];
const browser: OutputField[] = [
  f('browser_name', 'Browser Name'),
  f('browser_version', 'Browser Version'),
  f('visitor_sample_group', 'Visitor Sample Group', 'integer'),
];
const FIELDS: Record<Group, OutputField[]> = { guide, poll, nps, track, browser };
const fieldsOf = (event: string): OutputField[] => [...base, ...(GROUPS[event] ?? []).flatMap((g) => FIELDS[g])];

const sampleOf = (event: keyof typeof samples) => samples[event] as Record<string, unknown>;

/** What a Zap builder should know before relying on a Pendo trigger (Pendo's Webhooks article). */
const PENDO_HELP =
  'Pendo turns a webhook off after repeated failed deliveries; the relay answers Pendo at once and retries your Zap itself, so a Zap that fails never turns Pendo off.';
const AGENT_HELP = 'Poll and NPS events need Pendo Agent 2.33.0 or later in your app.';
const CREATED_HELP = 'A visitor or account created through Pendo’s API triggers this only once it is identified in your app.';
const HELP: Record<string, string> = {
  pollDisplayed: `${AGENT_HELP} ${PENDO_HELP}`,
  pollSubmitted: `${AGENT_HELP} ${PENDO_HELP}`,
  npsDisplayed: `${AGENT_HELP} ${PENDO_HELP}`,
  npsSubmitted: `${AGENT_HELP} ${PENDO_HELP}`,
  visitorCreated: `${CREATED_HELP} ${PENDO_HELP}`,
  accountCreated: `${CREATED_HELP} ${PENDO_HELP}`,
};

const ev = (event: keyof typeof samples, noun: string, label: string, description: string): EventSpec => ({
  event,
  help: HELP[event] ?? PENDO_HELP,
  triggerKey: `pendo_${event.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`,
  noun,
  label,
  description,
  get schema() {
    return pendoSchema();
  },
  sample: sampleOf(event),
  flatten,
  outputFields: fieldsOf(event),
});

export const pendo: ProviderSpec<'pendo'> = {
  key: 'pendo',
  label: 'Pendo',
  scheme: {
    header: 'X-Pendo-Signature',
    prefix: 'sha256=',
    secretWhere: 'the Secret field of the webhook in Pendo (Settings > Integrations > Webhooks)',
  },
  secretLabel: 'Signing Secret',
  testEventHow: '"Test"',
  consoleHelp: 'Pendo: Settings > Integrations > Webhooks > + Add Webhook (type URL), paste, choose the events, turn it on.',
  secretKeys: ['pendo_signing_secret', 'pendo_signing_secret_previous'],
  // The vendor's own page on its webhooks (the seed document), linked from the connection's help.
  docsUrl: 'https://support.pendo.io/hc/en-us/articles/360032285012-Webhooks',
  secretHelp:
    'The value you typed into the **Secret** field of the webhook in Pendo (**Settings > Integrations > Webhooks**, edit with the pencil icon). Pendo never shows it again: to rotate, set a new one in Pendo and keep the old one in "Pendo Signing Secret (previous)" meanwhile.',
  inboundHelp:
    'Pendo **Settings > Integrations > Webhooks > + Add Webhook**, type URL: paste the relay’s Pendo inbound URL, choose the event categories, then turn the webhook on.',
  events: [
    ev('guideDisplayed', 'Guide', 'New Pendo Guide Displayed', 'Triggers when Pendo displays a guide to a visitor.'),
    ev('pollDisplayed', 'Poll', 'New Pendo Poll Displayed', 'Triggers when Pendo displays a poll to a visitor.'),
    ev('pollSubmitted', 'Poll Response', 'New Pendo Poll Submitted', 'Triggers when a visitor submits a Pendo poll, with each answer as a line item.'),
    ev('npsDisplayed', 'NPS Survey', 'New Pendo NPS Survey Displayed', 'Triggers when Pendo displays an NPS survey to a visitor.'),
    ev('npsSubmitted', 'Survey Response', 'New Pendo NPS Response', 'Triggers when a visitor answers a Pendo NPS survey, with the rating, the reason and whether they are a promoter, passive or detractor.'),
    ev('visitorCreated', 'Visitor', 'New Pendo Visitor', 'Triggers when Pendo first sees a visitor in your app.'),
    ev('accountCreated', 'Account', 'New Pendo Account', 'Triggers when Pendo first sees an account in your app.'),
    ev('trackEventReceived', 'Track Event', 'New Pendo Track Event', 'Triggers when Pendo receives a track event, with its properties flattened.'),
  ],
  anyEvent: {
    triggerKey: 'pendo_any_event',
    noun: 'Event',
    label: 'New Pendo Event (Any Type)',
    description: 'Triggers when Pendo sends any webhook event, including event types added after this app was built.',
  },
  testEventTypes: [],
  // Pendo documents only its Test button's payloads; a real visitor's event names a real visitor, account and app.
  examples: {
    test: samples.npsSubmitted,
    live: (sample) => ({ ...sample, visitorId: 'Jane.Doe@Acme.io', accountId: 'acme-corp', app: { ...(sample.app as object), id: 5629499534213120, name: 'Acme Web' } }),
  },
  // Pendo's Test button sends its documented sample payloads: the visitor "Webhook Visitor"
  // of account "Webhook Account" in the app with id -323232. Real events never carry these.
  isTest: (p) =>
    (p.visitorId === 'Webhook Visitor' && p.accountId === 'Webhook Account') ||
    (typeof p.app === 'object' && p.app !== null && (p.app as Record<string, unknown>).id === -323232),
  identity: (p) => {
    const u = str(p.uniqueId);
    return u ? `pendo:${u}` : undefined;
  },
  // Every Pendo event carries the same envelope (visitor, account, app, subscription) under one
  // schema: an event type added later is flattened by the same code, its new fields as extra__.
  envelope: { schema: lazy(() => pendoSchema().partial({ uniqueId: true })), flatten: (p) => flatten(p) },
  flattenUnknown: (p, eventName) =>
    flattenAnything('Pendo', eventName, p, {
      occurredAt: isoFrom(p.timestamp),
      viewer: makeViewer({ email: p.visitorId }),
    }),
};
