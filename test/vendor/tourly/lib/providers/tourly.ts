/**
 * Tourly: a made-up fourth demo vendor for the test build (scripts/test-vendor.mjs), with the
 * commonest webhook style the three real ones do not use: Stripe-style signatures
 * (`Tourly-Signature: t=<unix>,v1=<hex HMAC of "<t>.<body>">`, 300 s tolerance), the event
 * type in `type`, test deliveries marked `livemode: false`. It is copied into lib/providers/
 * of a copy of the project, registered there, and must pass the suites every vendor passes.
 */
import * as z from '../zod.js';
import { crmNote, f, isoFrom, lazy, makeViewer, oneLine, slackEscape, slackLink, str, viewerLabel, type OutputField } from '../record.js';
import { flattenAnything } from './generic.js';
import type { EventSpec, Flattened, ProviderSpec } from './types.js';

const schema = lazy(() => {
  const { string: ostr, number: onum } = z.nullish();
  return z.object({
    id: z.string().min(1),
    object: ostr,
    type: z.string(),
    created: z.number(),
    livemode: z.boolean(),
    data: z.object({
      object: z.object({
        tour: z.object({ id: z.string().min(1), name: ostr, url: ostr }),
        viewer: z.object({ id: ostr, email: ostr, name: ostr, company: ostr }),
        session_id: z.string().min(1),
        started_at: z.string().min(1),
        duration_seconds: onum,
        completion_pct: onum,
      }),
    }),
  });
});

type Payload = z.infer<ReturnType<typeof schema>>;

const viewedSample = {
  id: 'evt_3QpXk2Lm9TzA81',
  object: 'event',
  type: 'tour.viewed',
  created: 1763650842,
  livemode: true,
  data: {
    object: {
      tour: { id: 'tour_8f2a', name: 'Pipeline Tour', url: 'https://app.tourly.example/t/tour_8f2a' },
      viewer: { id: 'vwr_5521', email: 'jane.doe@acme.io', name: 'Jane Doe', company: 'Acme' },
      session_id: 'ses_91b0c2',
      started_at: '2025-11-20T14:58:31Z',
      duration_seconds: 142,
      completion_pct: 80,
    },
  },
};
const completedSample = { ...viewedSample, id: 'evt_3QpXk2Lm9TzA82', type: 'tour.completed', created: 1763650990 };

const VERBS: Record<string, string> = { 'tour.viewed': 'viewed', 'tour.completed': 'completed' };

function flatten(p: Payload): Flattened {
  const o = p.data.object;
  const viewer = makeViewer({ email: o.viewer.email, full: o.viewer.name, company: o.viewer.company });
  const at = isoFrom(o.started_at);
  const name = str(o.tour.name) ?? o.tour.id;
  const who = viewerLabel(viewer);
  const verb = VERBS[p.type] ?? `sent "${p.type}" for`;
  return {
    occurred_at: at,
    viewer,
    fields: {
      tourly_event_id: p.id,
      tour_id: o.tour.id,
      tour_name: str(o.tour.name),
      tour_url: str(o.tour.url),
      viewer_id: str(o.viewer.id),
      session_id: o.session_id,
      duration_seconds: o.duration_seconds ?? null,
      completion_pct: o.completion_pct ?? null,
    },
    summary_text: oneLine(`${who} ${verb} the Tourly tour "${name}".`),
    slack_message: `:compass: *${slackEscape(who)}* ${verb} the Tourly tour ${slackLink(str(o.tour.url), name)}`,
    crm_note: crmNote(`Tourly tour ${verb}: ${name}`, [
      ['Viewer', viewer.viewer_full_name],
      ['Email', viewer.viewer_email],
      ['Started at', at],
      ['Duration (s)', o.duration_seconds],
    ]),
  };
}

const outputFields: OutputField[] = [
  f('tourly_event_id', 'Tourly Event ID'),
  f('tour_id', 'Tour ID'),
  f('tour_name', 'Tour Name'),
  f('tour_url', 'Tour Link'),
  f('viewer_id', 'Viewer ID'),
  f('session_id', 'Session ID'),
  f('duration_seconds', 'Duration (Seconds)', 'number'),
  f('completion_pct', 'Completion (Percent)', 'number'),
];

const ev = (event: string, triggerKey: string, noun: string, label: string, description: string, sample: Record<string, unknown>): EventSpec => ({
  event,
  triggerKey,
  noun,
  label,
  description,
  get schema() {
    return schema();
  },
  sample,
  flatten,
  outputFields,
});

const obj = (v: unknown) => (v && typeof v === 'object' ? v : {}) as Record<string, any>;

export const tourly: ProviderSpec<'tourly'> = {
  key: 'tourly',
  label: 'Tourly',
  scheme: { kind: 'stripe', header: 'Tourly-Signature', secretWhere: 'the tsk_… signing secret on Tourly’s webhook page', toleranceSeconds: 300 },
  secretLabel: 'Signing Secret',
  secretPrefix: 'tsk_',
  checkSecret: (v) => (v.trim().startsWith('tsk_') ? null : 'must be the whole signing secret from Tourly’s webhook page, starting with tsk_.'),
  testEventHow: '"Send test webhook"',
  consoleHelp: 'Tourly: Developers > Webhooks > Add endpoint, paste as the endpoint URL.',
  eventField: 'type',
  secretKeys: ['tourly_signing_secret', 'tourly_signing_secret_previous'],
  docsUrl: 'https://docs.tourly.example/webhooks',
  secretHelp: 'The `tsk_…` signing secret on Tourly’s **Developers > Webhooks** page, under the endpoint.',
  inboundHelp: 'Tourly **Developers > Webhooks > Add endpoint**: paste the relay’s Tourly inbound URL as the endpoint URL.',
  events: [
    ev('tour.viewed', 'tourly_tour_viewed', 'Tour View', 'New Tourly Tour Viewed', 'Triggers when an identified viewer opens a Tourly tour.', viewedSample),
    ev('tour.completed', 'tourly_tour_completed', 'Tour Completion', 'New Tourly Tour Completed', 'Triggers when an identified viewer finishes a Tourly tour.', completedSample),
  ],
  anyEvent: {
    triggerKey: 'tourly_any_event',
    noun: 'Event',
    label: 'New Tourly Event (Any Type)',
    description: 'Triggers when Tourly sends any webhook event, including event types added after this app was built.',
  },
  demoActivity: {
    events: ['tour.viewed', 'tour.completed'],
    counted: 'Tourly tour views',
    of: (p) => {
      const o = obj(obj(p.data).object);
      return {
        email: obj(o.viewer).email,
        name: obj(o.viewer).name,
        companyName: obj(o.viewer).company,
        demo: obj(o.tour).id,
        demoName: obj(o.tour).name,
        occurredAt: o.started_at,
        session: o.session_id,
        durationSeconds: o.duration_seconds,
      };
    },
    example: (v) => ({
      ...viewedSample,
      id: `evt_${v.session}`,
      data: { object: { ...viewedSample.data.object, viewer: { ...viewedSample.data.object.viewer, id: v.session, email: v.email, name: v.name ?? null }, session_id: v.session, started_at: v.at } },
    }),
  },
  examples: { test: { ...viewedSample, id: 'evt_test_0001', livemode: false } },
  testEventTypes: [],
  isTest: (p) => p.livemode === false,
  identity: (p) => (str(p.id) ? `tourly:${p.id}` : undefined),
  envelope: { schema: lazy(() => schema()), flatten: (p) => flatten(p) },
  flattenUnknown: (p, eventName) => {
    const o = obj(obj(p.data).object);
    return flattenAnything('Tourly', eventName, p, {
      occurredAt: isoFrom(o.started_at),
      viewer: makeViewer({ email: obj(o.viewer).email, full: obj(o.viewer).name, company: obj(o.viewer).company }),
    });
  },
};
