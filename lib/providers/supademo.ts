import * as z from '../zod.js';
import {
  crmNote,
  lazy,
  f,
  flattenMap,
  isoFrom,
  makeViewer,
  oneLine,
  slackEscape,
  slackLink,
  str,
  viewerLabel,
  type OutputField,
} from '../record.js';
import { engagementScore, type EngagementInputs } from '../engagement.js';
import { flattenAnything } from './generic.js';
import type { EventSpec, Flattened, ProviderSpec } from './types.js';

// optional().nullable(), not nullish(): the same values pass, and zod checks this order without a
// lazy getter on every parse.
const opt = <T extends z.ZodType>(t: T) => t.optional().nullable();

/**
 * Every viewer field Supademo documents (besides id, email, names, company and custom_fields),
 * in the order a Zap builder looks for them: role in the buying group, how to reach them,
 * the company's firmographics, then the address.
 */
export const SUPADEMO_VIEWER_FIELDS = [
  'job_title',
  'role',
  'department',
  'seniority_level',
  'phone',
  'mobile_phone',
  'website',
  'industry',
  'annual_revenue',
  'number_of_employees',
  'number_of_locations',
  'lead_source',
  'address',
  'city',
  'state',
  'postal_code',
  'country',
] as const;

const VIEWER_LABELS: Record<(typeof SUPADEMO_VIEWER_FIELDS)[number], string> = {
  job_title: 'Viewer Job Title',
  role: 'Viewer Role',
  department: 'Viewer Department',
  seniority_level: 'Viewer Seniority Level',
  phone: 'Viewer Phone',
  mobile_phone: 'Viewer Mobile Phone',
  website: 'Viewer Company Website',
  industry: 'Viewer Industry',
  annual_revenue: 'Viewer Company Annual Revenue',
  number_of_employees: 'Viewer Company Employees',
  number_of_locations: 'Viewer Company Locations',
  lead_source: 'Viewer Lead Source',
  address: 'Viewer Street Address',
  city: 'Viewer City',
  state: 'Viewer State or Region',
  postal_code: 'Viewer Postal Code',
  country: 'Viewer Country',
};

const UTM_KEYS = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'gclid', 'fbclid', 'msclkid'] as const;

export const supademoSchema = lazy(() => {
  const { string: ostr, number: onum, boolean: obool } = z.nullish();
  const viewerSchema = z.object({
    id: ostr,
    email: ostr,
    first_name: ostr,
    last_name: ostr,
    company: ostr,
    ...Object.fromEntries(SUPADEMO_VIEWER_FIELDS.map((k) => [k, ostr])),
    custom_fields: opt(z.record(z.string(), z.unknown())),
  });

  // The documented envelope, shared by lead.captured, demo.viewed, demo.completed and showcase.viewed.
  const payload = z.object({
    event: z.string(),
    workspaceId: ostr,
    viewerId: z.string().min(1),
    email: ostr,
    name: ostr,
    company: ostr,
    viewer: opt(viewerSchema),
    entityType: ostr,
    entityId: z.string().min(1),
    entityTitle: ostr,
    entityLink: ostr,
    entityAnalyticsLink: ostr,
    entityViewedAt: z.string().min(1),
    utmParams: opt(z.object(Object.fromEntries(UTM_KEYS.map((k) => [k, ostr])))),
    customParams: opt(z.record(z.string(), z.unknown())),
    location: opt(z.object({ country: ostr, city: ostr })),
    device: opt(z.object({ browser: ostr, os: ostr })),
  });
  return payload;
});

type Payload = z.infer<ReturnType<typeof supademoSchema>>;

// The documented lead.captured example, verbatim from Supademo's "Webhooks" page.
export const leadCapturedSample = {
  event: 'lead.captured',
  workspaceId: 'clx...',
  viewerId: 'viewer_abc123',
  email: 'jane@example.com',
  name: 'Jane Smith',
  company: 'Acme Inc',
  viewer: {
    id: 'viewer_abc123',
    email: 'jane@example.com',
    first_name: 'Jane',
    last_name: 'Smith',
    company: 'Acme Inc',
    job_title: 'Product Manager',
    custom_fields: {
      use_case: 'Onboarding',
    },
  },
  entityType: 'demo',
  entityId: 'demo_xyz',
  entityTitle: 'Product Tour',
  entityLink: 'https://app.supademo.com/demo/demo_xyz',
  entityAnalyticsLink: 'https://app.supademo.com/demo/demo_xyz?analytics=true',
  entityViewedAt: '2025-06-01T14:30:00.000Z',
  utmParams: {
    utm_source: 'linkedin',
    utm_medium: 'social',
    utm_campaign: 'launch',
    utm_term: null,
    utm_content: null,
    gclid: null,
    fbclid: null,
    msclkid: null,
  },
  customParams: {},
  location: {
    country: 'US',
    city: 'San Francisco',
  },
  device: {
    browser: 'Chrome',
    os: 'macOS',
  },
};

// Supademo documents no example for demo.viewed, demo.completed or showcase.viewed, only that
// every delivery shares the envelope above. These samples are that documented envelope with
// the event name (and, for the showcase, the entity) changed; nothing in them is invented
// beyond the names and the showcase's id and links (the triggers' help says so).
// demo.completed's engagement metrics are undocumented: whatever Supademo sends arrives as
// extra__… fields.
const fromEnvelope = (event: string, overrides: Record<string, unknown> = {}) => ({
  ...leadCapturedSample,
  event,
  ...overrides,
});

export const demoViewedSample = fromEnvelope('demo.viewed');
export const demoCompletedSample = fromEnvelope('demo.completed');
export const showcaseViewedSample = fromEnvelope('showcase.viewed', {
  entityType: 'showcase',
  entityId: 'showcase_xyz',
  entityTitle: 'Product Showcase',
  entityLink: 'https://app.supademo.com/showcase/showcase_xyz',
  entityAnalyticsLink: 'https://app.supademo.com/showcase/showcase_xyz?analytics=true',
});

/**
 * What each event says about the session's engagement: Supademo sends no time or completion
 * rate, so a completion is the whole demo seen and a lead is a call-to-action taken; a view
 * alone says nothing (its score is empty).
 */
const ENGAGEMENT: Record<string, EngagementInputs> = {
  'demo.completed': { completionPct: 100, seconds: null, ctaClicks: null },
  'lead.captured': { completionPct: null, seconds: null, ctaClicks: 1 },
};
const SUPADEMO_ENGAGEMENT = 'Supademo sends no time or completion rate: a completion counts as 100% completion and a lead (a form submitted) as a call-to-action, so a view alone has no score.';
const NO_ENGAGEMENT: EngagementInputs = { completionPct: null, seconds: null, ctaClicks: null };

const VERBS: Record<string, string> = {
  'lead.captured': 'submitted a form in',
  'demo.viewed': 'opened',
  'demo.completed': 'completed',
  'showcase.viewed': 'opened',
};
const TITLES: Record<string, string> = {
  'lead.captured': 'Supademo lead captured',
  'demo.viewed': 'Supademo demo viewed',
  'demo.completed': 'Supademo demo completed',
  'showcase.viewed': 'Supademo showcase viewed',
};

function flatten(p: Payload): Flattened {
  const v = p.viewer ?? {};
  const vr = v as Record<string, unknown>;
  const viewer = makeViewer({
    email: v.email ?? p.email,
    first: v.first_name,
    last: v.last_name,
    full: p.name,
    company: v.company ?? p.company,
  });
  const utm = (p.utmParams ?? {}) as Record<string, unknown>;
  const entityType = str(p.entityType);
  const title = str(p.entityTitle);
  const link = str(p.entityLink);
  const what = `${entityType ?? 'demo'} "${title ?? p.entityId ?? '?'}"`;
  const who = viewerLabel(viewer);
  const company = viewer.viewer_company ? ` from ${viewer.viewer_company}` : '';
  const jobTitle = str(vr.job_title);
  const viewedAt = isoFrom(p.entityViewedAt);
  const fields = {
    workspace_id: str(p.workspaceId),
    viewer_id: str(v.id) ?? str(p.viewerId),
    viewer_role: str(vr.role),
    viewer_job_title: str(vr.job_title),
    viewer_phone: str(vr.phone),
    viewer_mobile_phone: str(vr.mobile_phone),
    viewer_website: str(vr.website),
    viewer_address: str(vr.address),
    viewer_city: str(vr.city),
    viewer_state: str(vr.state),
    viewer_country: str(vr.country),
    viewer_postal_code: str(vr.postal_code),
    viewer_industry: str(vr.industry),
    viewer_lead_source: str(vr.lead_source),
    viewer_annual_revenue: str(vr.annual_revenue),
    viewer_number_of_employees: str(vr.number_of_employees),
    viewer_number_of_locations: str(vr.number_of_locations),
    viewer_department: str(vr.department),
    viewer_seniority_level: str(vr.seniority_level),
    entity_type: entityType,
    entity_id: str(p.entityId),
    entity_title: title,
    entity_link: link,
    entity_analytics_link: str(p.entityAnalyticsLink),
    entity_viewed_at: viewedAt,
    utm_source: str(utm.utm_source),
    utm_medium: str(utm.utm_medium),
    utm_campaign: str(utm.utm_campaign),
    utm_term: str(utm.utm_term),
    utm_content: str(utm.utm_content),
    gclid: str(utm.gclid),
    fbclid: str(utm.fbclid),
    msclkid: str(utm.msclkid),
    location_country: str(p.location?.country),
    location_city: str(p.location?.city),
    device_browser: str(p.device?.browser),
    device_os: str(p.device?.os),
    engagement_score: engagementScore(ENGAGEMENT[p.event] ?? NO_ENGAGEMENT),
  };
  const dynamic =
    v.custom_fields || p.customParams
      ? { ...flattenMap(v.custom_fields, 'viewer_custom_fields__'), ...flattenMap(p.customParams, 'custom_params__') }
      : undefined;
  const where = [str(p.location?.city), str(p.location?.country)].filter(Boolean).join(', ');
  const source = [str(utm.utm_source), str(utm.utm_medium), str(utm.utm_campaign)].filter(Boolean).join(' / ');
  const verb = VERBS[p.event] ?? `sent "${p.event}" for`;
  return {
    occurred_at: viewedAt,
    viewer,
    fields,
    dynamic,
    summary_text: oneLine(`${who}${company} ${verb} Supademo ${what}${source ? ` (source: ${source})` : ''}.`),
    slack_message:
      `:sparkles: *${slackEscape(who)}*${slackEscape(company)}${jobTitle ? ` (${slackEscape(jobTitle)})` : ''} ${verb} ` +
      `the Supademo ${slackEscape(entityType ?? 'demo')} ${slackLink(link, title ?? p.entityId ?? '?')}` +
      (p.entityAnalyticsLink ? ` · ${slackLink(str(p.entityAnalyticsLink), 'analytics')}` : '') +
      (source ? `\nSource: ${slackEscape(source)}` : ''),
    crm_note: crmNote(`${TITLES[p.event] ?? `Supademo ${p.event}`}: ${title ?? p.entityId ?? '?'}`, [
      ['Viewer', viewer.viewer_full_name],
      ['Email', viewer.viewer_email],
      ['Company', viewer.viewer_company],
      ['Job title', jobTitle],
      [`${entityType ? entityType[0].toUpperCase() + entityType.slice(1) : 'Entity'}`, link],
      ['Analytics', str(p.entityAnalyticsLink)],
      ['Viewed at', viewedAt],
      ['Source', source || null],
      ['Location', where || null],
      ['Device', [str(p.device?.browser), str(p.device?.os)].filter(Boolean).join(' on ') || null],
    ]),
  };
}

const outputFields: OutputField[] = [
  f('workspace_id', 'Workspace ID'),
  f('viewer_id', 'Viewer ID'),
  ...SUPADEMO_VIEWER_FIELDS.map((k) => f(`viewer_${k}`, VIEWER_LABELS[k])),
  f('entity_type', 'Demo or Showcase'),
  f('entity_id', 'Demo or Showcase ID'),
  f('entity_title', 'Demo or Showcase Title'),
  f('entity_link', 'Demo or Showcase Link'),
  f('entity_analytics_link', 'Analytics Link'),
  f('entity_viewed_at', 'Viewed At', 'datetime'),
  f('utm_source', 'UTM Source'),
  f('utm_medium', 'UTM Medium'),
  f('utm_campaign', 'UTM Campaign'),
  f('utm_term', 'UTM Term'),
  f('utm_content', 'UTM Content'),
  f('gclid', 'Google Ads Click ID'),
  f('fbclid', 'Facebook Click ID'),
  f('msclkid', 'Microsoft Ads Click ID'),
  f('location_country', 'Location Country'),
  f('location_city', 'Location City'),
  f('device_browser', 'Device Browser'),
  f('device_os', 'Device OS'),
  f('engagement_score', 'Engagement Score (1-10)', 'integer'),
];

/** What a Zap builder should know: who can set the webhook up, and where a sample is built rather than documented. */
const SETUP_HELP = 'Supademo sends webhooks on its Scale plan and above; a workspace Admin or Creator sets up its one webhook.';
const BUILT_SAMPLE = (what: string) =>
  `${SETUP_HELP} Supademo documents no example of this event, only that it shares the lead’s fields: the sample is the documented lead with the event changed${what}. Test the trigger with your own event to see real values.`;

const ev = (
  event: string,
  triggerKey: string,
  noun: string,
  label: string,
  description: string,
  sample: Record<string, unknown>,
  help: string,
): EventSpec => ({
  event,
  triggerKey,
  noun,
  label,
  description,
  help,
  get schema() {
    return supademoSchema();
  },
  sample,
  flatten,
  outputFields,
});

export const supademo: ProviderSpec<'supademo'> = {
  key: 'supademo',
  label: 'Supademo',
  scheme: {
    header: 'x-supademo-signature',
    secretWhere: 'the whsec_… signing secret Supademo showed once when the webhook was created',
  },
  secretLabel: 'Signing Secret',
  checkSecret: (v) => (v.trim().startsWith('whsec_') ? null : 'must be the whole secret Supademo showed when the webhook was created, starting with whsec_. Paste it again, including the whsec_ part.'),
  testEventHow: '"Test"',
  consoleHelp: 'Supademo: Settings > Integrations > Webhook > Connect, paste as the Webhook URL and select every event.',
  secretKeys: ['supademo_signing_secret', 'supademo_signing_secret_previous'],
  // The vendor's own page on its webhooks (the seed document), linked from the connection's help.
  docsUrl: 'https://docs.supademo.com/admin-and-billing/integrations/webhooks',
  secretHelp:
    'The whole `whsec_…` string Supademo shows **once** after you create the webhook (Settings > Integrations > Webhook). If you lost it, delete and re-create the webhook in Supademo, paste the new secret here and the old one into "Supademo Signing Secret (previous)" for the switch-over.',
  inboundHelp:
    'Supademo **Settings > Integrations > Webhook > Connect**: paste the relay’s Supademo inbound URL as the Webhook URL and select every event (one webhook serves all your Zaps).',
  events: [
    ev('lead.captured', 'supademo_lead_captured', 'Lead', 'New Supademo Lead Captured', 'Triggers when a viewer submits a form inside a Supademo demo, with every form field and UTM parameter.', leadCapturedSample, SETUP_HELP),
    ev('demo.viewed', 'supademo_demo_viewed', 'Demo View', 'New Supademo Demo Viewed', 'Triggers when an identified viewer opens a Supademo demo.', demoViewedSample, BUILT_SAMPLE('')),
    ev('demo.completed', 'supademo_demo_completed', 'Demo Completion', 'New Supademo Demo Completed', 'Triggers when an identified viewer finishes a Supademo demo.', demoCompletedSample, BUILT_SAMPLE('')),
    ev('showcase.viewed', 'supademo_showcase_viewed', 'Showcase View', 'New Supademo Showcase Viewed', 'Triggers when an identified viewer opens a Supademo showcase.', showcaseViewedSample, BUILT_SAMPLE(' and a made-up showcase id, title and links')),
  ],
  anyEvent: {
    triggerKey: 'supademo_any_event',
    noun: 'Event',
    label: 'New Supademo Event (Any Type)',
    description: 'Triggers when Supademo sends any webhook event, including event types added after this app was built.',
  },
  testEventTypes: ['webhook.test'],
  // All of Supademo's documented events share one envelope and one schema.
  envelope: { schema: lazy(() => supademoSchema().partial({ viewerId: true, entityId: true, entityViewedAt: true })), flatten: (p) => flatten(p) },
  demoActivity: {
    events: ['lead.captured', 'demo.viewed', 'demo.completed', 'showcase.viewed'],
    counted: 'Supademo leads, views and completions',
    engagementHelp: SUPADEMO_ENGAGEMENT,
    of: (p) => {
      const v = (p.viewer && typeof p.viewer === 'object' ? p.viewer : {}) as Record<string, unknown>;
      const first = str(v.first_name);
      const last = str(v.last_name);
      return {
        email: v.email ?? p.email,
        name: str(p.name) ?? ([first, last].filter(Boolean).join(' ') || null),
        companyName: v.company ?? p.company,
        demo: p.entityId,
        demoName: p.entityTitle,
        occurredAt: p.entityViewedAt,
        // One view sends viewed, lead and completed: the viewer, the demo and the view's time are one session.
        session: [str(p.viewerId), str(p.entityId), str(p.entityViewedAt)].every(Boolean) ? `${p.viewerId}:${p.entityId}:${p.entityViewedAt}` : null,
        // A session's events are merged (lib/signals.ts): a view with no lead is a session without a conversion.
        engagement: ENGAGEMENT[String(p.event)] ?? { ...NO_ENGAGEMENT, ctaClicks: 0 },
      };
    },
    example: (v) => {
      const [first, ...rest] = (v.name ?? '').split(' ');
      return {
        ...demoViewedSample,
        viewerId: v.session,
        email: v.email,
        name: v.name ?? null,
        viewer: { ...leadCapturedSample.viewer, id: v.session, email: v.email, first_name: first || null, last_name: rest.join(' ') || null },
        entityViewedAt: v.at,
      };
    },
  },
  // Supademo documents only the event name of its Test button's delivery; it carries no viewer.
  examples: { test: { event: 'webhook.test', workspaceId: 'clx...' } },
  secretPrefix: 'whsec_',
  isTest: (p) => p.event === 'webhook.test',
  identity: (p) => {
    const parts = [str(p.event), str(p.viewerId), str(p.entityId), str(p.entityViewedAt)];
    return parts.every(Boolean) ? `supademo:${parts.join(':')}` : undefined;
  },
  flattenUnknown: (p, eventName) => {
    const v = (p.viewer && typeof p.viewer === 'object' ? p.viewer : {}) as Record<string, unknown>;
    return flattenAnything('Supademo', eventName, p, {
      occurredAt: isoFrom(p.entityViewedAt),
      viewer: makeViewer({
        email: v.email ?? p.email,
        first: v.first_name,
        last: v.last_name,
        full: p.name,
        company: v.company ?? p.company,
      }),
    });
  },
};
