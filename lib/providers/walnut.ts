import * as z from '../zod.js';
import {
  crmNote,
  lazy,
  f,
  isoFrom,
  makeViewer,
  num,
  oneLine,
  slackEscape,
  slackLink,
  str,
  viewerLabel,
} from '../record.js';
import { engagementScore, type EngagementInputs } from '../engagement.js';
import { flattenAnything } from './generic.js';
import type { EventSpec, Flattened, ProviderSpec } from './types.js';

// Schemas validate what is declared; fields Walnut adds later are not rejected, and reach
// the record as extra__… (read from the raw payload, see extras()).
// Identity fields (event, data.session_id) are required; the rest may be absent or null.
// optional().nullable(), not nullish(): the same values pass, and zod checks this order without a
// lazy getter on every parse.
const opt = <T extends z.ZodType>(t: T) => t.optional().nullable();

// Each event type's schema is built on its own first use: a Zapier process runs one trigger,
// and building zod schemas is a large part of a cold start.
const walnutParts = lazy(() => {
  const { string: ostr, number: onum, boolean: obool } = z.nullish();
  const user = z.object({
    email: ostr,
    user_agent: ostr,
    domain: ostr,
    identification_method: ostr,
    ip: ostr,
    type: ostr,
  });

  const envelope = {
    event: z.string(),
    timestamp: ostr,
    is_test: obool,
  };

  return { ostr, onum, obool, user, envelope };
});

const demoSchema = lazy(() => {
  const { ostr, onum, user, envelope } = walnutParts();
  const demo = z.object({
    ...envelope,
    data: z.object({
      demo: opt(
        z.object({
          id: ostr,
          name: ostr,
          template_id: ostr,
          template_name: ostr,
          url: ostr,
        }),
      ),
      demo_engagement: opt(
        z.object({
          fab_clicks: onum,
          guides_completion_rate: onum,
          last_guide_shown: ostr,
          last_section_viewed: ostr,
          screen_completion_rate: onum,
          session_duration: onum,
        }),
      ),
      session_id: z.string().min(1),
      session_started: ostr,
      user: opt(user),
    }),
  });

  return demo;
});

const playlistSchema = lazy(() => {
  const { ostr, onum, obool, user, envelope } = walnutParts();
  const playlistItem = z.object({
    id: ostr,
    name: ostr,
    description: ostr,
    type: ostr,
    position: onum,
    duration_secs: onum,
    number_of_views: onum,
    selected: obool,
    visited: obool,
    demo_id: ostr,
    file_url: ostr,
    screenshot_uri: ostr,
  });

  const playlist = z.object({
    ...envelope,
    data: z.object({
      items: opt(z.array(playlistItem)),
      playlist: opt(
        z.object({
          id: ostr,
          name: ostr,
          description: ostr,
          url: ostr,
        }),
      ),
      session_duration_secs: onum,
      session_ended: ostr,
      session_id: z.string().min(1),
      session_started: ostr,
      user: opt(user),
    }),
  });
  return playlist;
});

const sharedSchema = lazy(() => {
  const { ostr, user, envelope } = walnutParts();
  // What every Walnut event shares: the envelope and the session and viewer parts of `data`.
  const shared = z.object({
    ...envelope,
    data: opt(z.object({ session_id: ostr, session_started: ostr, user: opt(user) })),
  });
  return shared;
});

type DemoSession = z.infer<ReturnType<typeof demoSchema>>;
type PlaylistSession = z.infer<ReturnType<typeof playlistSchema>>;

// Documented payloads, verbatim from "Configure webhooks" (Walnut help center, 2026).
export const demoSessionSample = {
  data: {
    demo: {
      id: '7a8e73ec-93ef-4f35-aadf-33c2ada9b887',
      name: 'My Awesome Demo',
      template_id: '473e5dd0-7447-4c84-9a09-d0cd51442c0a',
      template_name: 'My Awesome Template',
      url: 'https://app.teamwalnut.com/player/?demoId=7a8e73ec-93ef-4f35-aadf-33c2ada9b887&showGuide=true&showGuidesToolbar=true&showHotspots=true&source=unknown',
    },
    demo_engagement: {
      fab_clicks: 0,
      guides_completion_rate: 15,
      last_guide_shown: null,
      last_section_viewed: null,
      screen_completion_rate: 11,
      session_duration: 4,
    },
    session_id: 'eb8af248-a970-46fa-bfb0-cb675b6780e1',
    session_started: '2023-11-01T16:36:47.905000Z',
    user: {
      email: 'someone-awesome@walnut.io',
      user_agent:
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36',
    },
  },
  event: 'demo_session_finished',
  timestamp: '2023-11-01T19:15:20.666248Z',
};

const item = (
  n: number,
  id: string,
  name: string,
  description: string,
  type: string,
  duration: number,
  views: number,
  selected: boolean,
  demoId: string | null,
  file: string,
  shot: string,
) => ({
  demo_id: demoId,
  description,
  duration_secs: duration,
  file_url: `https://example.com/assets/${file}`,
  id,
  name,
  number_of_views: views,
  position: n,
  screenshot_uri: `https://example.com/screenshots/${shot}`,
  selected,
  type,
  visited: true,
});

export const playlistSessionSample = {
  data: {
    items: [
      item(1, 'item_1', 'Meet Crunchy AI', 'An introductory demo to meet Crunchy AI and explore its core value.', 'video', 123, 403, true, null, 'meet_crunchy_ai.mp4', 'meet_crunchy_ai.png'),
      item(2, 'item_2', 'Crunchy AI Intro Deck', 'A short intro deck overviewing Crunchy AI’s main features and benefits.', 'pdf', 144, 121, false, null, 'intro_deck.pdf', 'intro_deck.png'),
      item(3, 'item_3', 'Crack Open Smarter Workflows | Crunchy AI', 'A demo showing how Crunchy AI unlocks smarter workflows and automation.', 'video', 160, 90, false, 'demo_id1', 'smarter_workflows.mp4', 'smarter_workflows.png'),
      item(4, 'item_4', 'Crunchy AI Integrations', 'An overview of Crunchy AI’s integrations and how they connect across platforms.', 'video', 158, 54, false, 'demo_id2', 'integrations.mp4', 'integrations.png'),
    ],
    playlist: {
      description: 'This playlist walks through Crunchy AI’s introduction, core features, workflows, and integrations.',
      id: '9dad64b8-ff58-4874-ae5d-020d356c514c',
      name: 'Crunchy AI Overview Playlist',
      url: 'https://app.teamwalnut.com/player/playlist?playlistId=9dad64b8-ff58-4874-ae5d-020d356c514c',
    },
    session_duration_secs: 310,
    session_ended: '2024-10-07T15:31:30.606000Z',
    session_id: '80804ad4-6422-4f77-8667-7ae6aa05edad',
    session_started: '2024-10-07T15:26:20.606000Z',
    user: {
      domain: 'treebase.io',
      email: 'shellvis.sil@treebase.io',
      identification_method: 'email_gate',
      ip: '123.213.123.43',
      type: 'external',
      user_agent:
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/85.0.4183.121 Safari/537.36',
    },
  },
  event: 'playlist_session_finished',
  is_test: true,
  timestamp: '2025-07-11T13:19:39.526213Z',
};

/** What a Zap builder should know before relying on a Walnut trigger. */
const WALNUT_HELP =
  'Walnut sends a session up to two hours after the viewer leaves it, so a test session shows up late; "Occurred At" is when the session started, "Sent At" when Walnut sent it. ' +
  'Only a Walnut Admin can add the webhook (Settings > Webhooks).';

/**
 * Lead scoring from Walnut's full-funnel playbook: "+10 for any demo view, +20 for median
 * time ≥ 45s or screens viewed ≥ 25%"; "flag leads completing ≥25% of guides or spending
 * 5 minutes as high-intent MQLs".
 */
export function walnutLeadScore(duration: number | null, screens: number | null, guides: number | null) {
  const engaged = (duration ?? 0) >= 45 || (screens ?? 0) >= 25;
  return {
    lead_score_points: 10 + (engaged ? 20 : 0),
    is_high_intent: (guides ?? 0) >= 25 || (duration ?? 0) >= 300,
  };
}

/**
 * The same rules for a playlist session (the playbook calls both session events lead-scoring
 * triggers): +10 for the view, +20 more at 45 s or more or a quarter of its items visited;
 * high intent at 5 minutes.
 */
export function walnutPlaylistLeadScore(duration: number | null, visited: number, items: number) {
  const engaged = (duration ?? 0) >= 45 || (items > 0 && visited / items >= 0.25);
  return {
    lead_score_points: 10 + (engaged ? 20 : 0),
    is_high_intent: (duration ?? 0) >= 300,
  };
}

const pct = (n: number | null) => (n === null ? null : `${n}%`);
const secs = (n: number | null) => (n === null ? null : `${n}s`);

function flattenDemo(p: DemoSession): Flattened {
  const d = p.data;
  const e = d.demo_engagement ?? {};
  const viewer = makeViewer({ email: d.user?.email, domain: d.user?.domain });
  const duration = num(e.session_duration);
  const screens = num(e.screen_completion_rate);
  const guides = num(e.guides_completion_rate);
  const score = walnutLeadScore(duration, screens, guides);
  const demoName = str(d.demo?.name);
  const demoUrl = str(d.demo?.url);
  const who = viewerLabel(viewer, 'an anonymous viewer');
  const stats = [
    duration !== null ? `${duration}s` : null,
    screens !== null ? `${screens}% of screens` : null,
    guides !== null ? `${guides}% of guides` : null,
  ].filter(Boolean);
  const intent = score.is_high_intent ? ' High intent.' : '';
  const started = isoFrom(d.session_started);
  const fab = num(e.fab_clicks);
  const engagement = engagementScore(walnutEngagement(d));
  return {
    // Walnut sends a session when it ends, up to hours later: it happened when it started.
    occurred_at: started ?? isoFrom(p.timestamp),
    sent_at: isoFrom(p.timestamp),
    viewer,
    fields: {
      session_id: d.session_id,
      session_started_at: started,
      session_duration_seconds: duration,
      demo_id: str(d.demo?.id),
      demo_name: demoName,
      demo_url: demoUrl,
      template_id: str(d.demo?.template_id),
      template_name: str(d.demo?.template_name),
      fab_clicks: fab,
      guides_completion_rate: guides,
      screen_completion_rate: screens,
      last_guide_shown: str(e.last_guide_shown),
      last_section_viewed: str(e.last_section_viewed),
      user_agent: str(d.user?.user_agent),
      lead_score_points: score.lead_score_points,
      is_high_intent: score.is_high_intent,
      engagement_score: engagement,
    },
    summary_text: oneLine(
      `${who} finished Walnut demo "${demoName ?? 'unnamed demo'}"${stats.length ? ` (${stats.join(', ')})` : ''}. ` +
        `Lead score +${score.lead_score_points}${engagement !== null ? `, engagement ${engagement}/10` : ''}.${intent}`,
    ),
    slack_message:
      `:eyes: *${slackEscape(who)}* finished the Walnut demo ${slackLink(demoUrl, demoName ?? 'unnamed demo')}` +
      (stats.length ? ` (${slackEscape(stats.join(', '))})` : '') +
      ` · lead score *+${score.lead_score_points}*` +
      (engagement !== null ? ` · engagement *${engagement}/10*` : '') +
      (score.is_high_intent ? ' · :fire: *high intent*' : ''),
    crm_note: crmNote(`Walnut demo session finished: ${demoName ?? 'unnamed demo'}`, [
      ['Viewer', viewer.viewer_email],
      ['Demo', demoUrl],
      ['Template', str(d.demo?.template_name)],
      ['Started', started],
      ['Duration', secs(duration)],
      ['Screens completed', pct(screens)],
      ['Guides completed', pct(guides)],
      ['CTA (FAB) clicks', num(e.fab_clicks)],
      ['Last guide shown', str(e.last_guide_shown)],
      ['Last section viewed', str(e.last_section_viewed)],
      ['Lead score points', score.lead_score_points],
      ['High intent', score.is_high_intent],
      ['Engagement score (1-10)', engagement],
      ['Session ID', d.session_id],
    ]),
  };
}

function flattenPlaylist(p: PlaylistSession): Flattened {
  const d = p.data;
  const viewer = makeViewer({ email: d.user?.email, domain: d.user?.domain });
  const items = (d.items ?? []).map((it) => ({
    id: str(it.id),
    name: str(it.name),
    description: str(it.description),
    type: str(it.type),
    position: num(it.position),
    duration_secs: num(it.duration_secs),
    number_of_views: num(it.number_of_views),
    selected: it.selected ?? null,
    visited: it.visited ?? null,
    demo_id: str(it.demo_id),
    file_url: str(it.file_url),
    screenshot_uri: str(it.screenshot_uri),
  }));
  const visited = items.filter((i) => i.visited === true);
  const selected = items.filter((i) => i.selected === true);
  const names = (xs: typeof items) => xs.map((i) => i.name ?? i.id ?? '?').join(', ') || null;
  const name = str(d.playlist?.name);
  const url = str(d.playlist?.url);
  const duration = num(d.session_duration_secs);
  const who = viewerLabel(viewer, 'an anonymous viewer');
  const visitedLine = `${visited.length} of ${items.length} items visited`;
  const started = isoFrom(d.session_started);
  const ended = isoFrom(d.session_ended);
  const score = walnutPlaylistLeadScore(duration, visited.length, items.length);
  const engagement = engagementScore(walnutEngagement(d));
  const intent = score.is_high_intent ? ' High intent.' : '';
  return {
    occurred_at: started ?? isoFrom(p.timestamp),
    sent_at: isoFrom(p.timestamp),
    viewer,
    fields: {
      session_id: d.session_id,
      session_started_at: started,
      session_ended_at: ended,
      session_duration_seconds: duration,
      playlist_id: str(d.playlist?.id),
      playlist_name: name,
      playlist_description: str(d.playlist?.description),
      playlist_url: url,
      viewer_ip: str(d.user?.ip),
      viewer_type: str(d.user?.type),
      viewer_identification_method: str(d.user?.identification_method),
      user_agent: str(d.user?.user_agent),
      items,
      items_count: items.length,
      items_visited_count: visited.length,
      items_visited_names: names(visited),
      items_selected_names: names(selected),
      lead_score_points: score.lead_score_points,
      is_high_intent: score.is_high_intent,
      engagement_score: engagement,
    },
    summary_text: oneLine(
      `${who} finished Walnut playlist "${name ?? 'unnamed playlist'}"` +
        `${duration !== null ? ` (${duration}s, ${visitedLine})` : ` (${visitedLine})`}. ` +
        `Lead score +${score.lead_score_points}${engagement !== null ? `, engagement ${engagement}/10` : ''}.${intent}`,
    ),
    slack_message:
      `:movie_camera: *${slackEscape(who)}* finished the Walnut playlist ${slackLink(url, name ?? 'unnamed playlist')}` +
      ` (${duration !== null ? `${duration}s, ` : ''}${visitedLine})` +
      ` · lead score *+${score.lead_score_points}*` +
      (engagement !== null ? ` · engagement *${engagement}/10*` : '') +
      (score.is_high_intent ? ' · :fire: *high intent*' : '') +
      (visited.length ? `\nVisited: ${slackEscape(names(visited) ?? '')}` : ''),
    crm_note: crmNote(`Walnut playlist session finished: ${name ?? 'unnamed playlist'}`, [
      ['Viewer', viewer.viewer_email],
      ['Company domain', viewer.viewer_domain],
      ['Playlist', url],
      ['Started', started],
      ['Ended', ended],
      ['Duration', secs(duration)],
      ['Items visited', `${visited.length} of ${items.length}${visited.length ? ` (${names(visited)})` : ''}`],
      ['Items selected', names(selected)],
      ['Identified by', str(d.user?.identification_method)],
      ['Lead score points', score.lead_score_points],
      ['High intent', score.is_high_intent],
      ['Engagement score (1-10)', engagement],
      ['Session ID', d.session_id],
    ]),
  };
}

type Shared = z.infer<ReturnType<typeof sharedSchema>>;

/** An event type Walnut adds later: its session and viewer under their usual names. */
function flattenShared(p: Shared, eventName: string): Flattened {
  const d = p.data ?? {};
  const viewer = makeViewer({ email: d.user?.email, domain: d.user?.domain });
  const who = viewerLabel(viewer, 'an anonymous viewer');
  const occurredAt = isoFrom(d.session_started) ?? isoFrom(p.timestamp);
  const sessionId = str(d.session_id);
  return {
    occurred_at: occurredAt,
    sent_at: isoFrom(p.timestamp),
    viewer,
    fields: {
      session_id: sessionId,
      session_started_at: isoFrom(d.session_started),
      user_agent: str(d.user?.user_agent),
      viewer_ip: str(d.user?.ip),
      viewer_type: str(d.user?.type),
      viewer_identification_method: str(d.user?.identification_method),
    },
    summary_text: oneLine(`Walnut event "${eventName}" for ${who}.`),
    slack_message: `:bell: Walnut event *${slackEscape(eventName)}* for *${slackEscape(who)}*`,
    crm_note: crmNote(`Walnut event: ${eventName}`, [
      ['Viewer', viewer.viewer_email],
      ['Session ID', sessionId],
      ['Occurred at', occurredAt],
    ]),
  };
}

/** What a Walnut session gives the engagement score. */
const WALNUT_ENGAGEMENT = 'For Walnut, completion is the larger of screen and guide completion (a playlist: items visited ÷ items), and a call-to-action is a FAB click.';

const scoreFields = [
  f('lead_score_points', 'Lead Score Points', 'integer'),
  f('is_high_intent', 'High Intent', 'boolean'),
  f('engagement_score', 'Engagement Score (1-10)', 'integer'),
];

const maxOf = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b));

/** What a Walnut session (demo or playlist) gives the engagement score, from its raw `data`. */
function walnutEngagement(d: Record<string, any>): EngagementInputs {
  if (d.demo_engagement && typeof d.demo_engagement === 'object') {
    const e = d.demo_engagement;
    return { completionPct: maxOf(num(e.screen_completion_rate), num(e.guides_completion_rate)), seconds: num(e.session_duration), ctaClicks: num(e.fab_clicks) };
  }
  const items = Array.isArray(d.items) ? d.items : null;
  const visited = items ? items.filter((i: any) => i && i.visited === true).length : 0;
  return { completionPct: items && items.length ? (100 * visited) / items.length : null, seconds: num(d.session_duration_secs), ctaClicks: null };
}

const demoEvent: EventSpec = {
  event: 'demo_session_finished',
  triggerKey: 'walnut_demo_session_finished',
  noun: 'Demo Session',
  label: 'New Walnut Demo Session Finished',
  description:
    'Triggers when a viewer finishes a Walnut interactive demo, with engagement metrics, lead score and high-intent flag.',
  help: WALNUT_HELP,
  get schema() {
    return demoSchema();
  },
  sample: demoSessionSample,
  flatten: flattenDemo,
  outputFields: [
    f('session_id', 'Session ID'),
    f('session_started_at', 'Session Started At', 'datetime'),
    f('session_duration_seconds', 'Session Duration (seconds)', 'integer'),
    f('demo_id', 'Demo ID'),
    f('demo_name', 'Demo Name'),
    f('demo_url', 'Demo URL'),
    f('template_id', 'Template ID'),
    f('template_name', 'Template Name'),
    f('fab_clicks', 'Call-to-Action Clicks', 'integer'),
    f('guides_completion_rate', 'Guide Completion Rate (%)', 'number'),
    f('screen_completion_rate', 'Screen Completion Rate (%)', 'number'),
    f('last_guide_shown', 'Last Guide Shown'),
    f('last_section_viewed', 'Last Section Viewed'),
    f('user_agent', 'User Agent'),
    ...scoreFields,
  ],
};

const playlistEvent: EventSpec = {
  event: 'playlist_session_finished',
  triggerKey: 'walnut_playlist_session_finished',
  noun: 'Playlist Session',
  label: 'New Walnut Playlist Session Finished',
  description:
    'Triggers when a viewer finishes a Walnut playlist session, with every demo, video and PDF in it and whether it was visited or selected.',
  help: WALNUT_HELP,
  get schema() {
    return playlistSchema();
  },
  sample: playlistSessionSample,
  flatten: flattenPlaylist,
  outputFields: [
    f('session_id', 'Session ID'),
    f('session_started_at', 'Session Started At', 'datetime'),
    f('session_ended_at', 'Session Ended At', 'datetime'),
    f('session_duration_seconds', 'Session Duration (seconds)', 'integer'),
    f('playlist_id', 'Playlist ID'),
    f('playlist_name', 'Playlist Name'),
    f('playlist_description', 'Playlist Description'),
    f('playlist_url', 'Playlist URL'),
    f('viewer_ip', 'Viewer IP Address'),
    f('viewer_type', 'Viewer Type'),
    f('viewer_identification_method', 'Viewer Identification Method'),
    f('user_agent', 'User Agent'),
    f('items[]id', 'Items: ID'),
    f('items[]name', 'Items: Name'),
    f('items[]description', 'Items: Description'),
    f('items[]type', 'Items: Type'),
    f('items[]position', 'Items: Position', 'integer'),
    f('items[]duration_secs', 'Items: Duration (seconds)', 'integer'),
    f('items[]number_of_views', 'Items: Number of Views', 'integer'),
    f('items[]selected', 'Items: Selected', 'boolean'),
    f('items[]visited', 'Items: Visited', 'boolean'),
    f('items[]demo_id', 'Items: Demo ID'),
    f('items[]file_url', 'Items: File URL'),
    f('items[]screenshot_uri', 'Items: Screenshot URL'),
    f('items_count', 'Number of Items', 'integer'),
    f('items_visited_count', 'Number of Items Visited', 'integer'),
    f('items_visited_names', 'Visited Item Names'),
    f('items_selected_names', 'Selected Item Names'),
    ...scoreFields,
  ],
};

export const walnut: ProviderSpec<'walnut'> = {
  key: 'walnut',
  label: 'Walnut',
  scheme: {
    header: 'X-Walnut-Signature',
    secretWhere: 'the signing key shown in Walnut under Settings > Webhooks',
  },
  secretLabel: 'Signing Key',
  testEventHow: '"Send a test event"',
  consoleHelp: 'Walnut: Settings > Webhooks > New webhook, paste as the endpoint.',
  secretKeys: ['walnut_signing_key', 'walnut_signing_key_previous'],
  // The vendor's own page on its webhooks (the seed document), linked from the connection's help.
  docsUrl: 'https://help.walnut.io/hc/en-us/articles/32765928601363-Configure-Webhooks',
  secretHelp:
    'In Walnut, open **Settings > Webhooks**, add signature verification to your webhook and copy its signing key. After **Reset key**, paste the new key here and the old one into "Walnut Signing Key (previous)" until every in-flight delivery is through.',
  inboundHelp: 'Walnut **Settings > Webhooks > New webhook**: paste the relay’s Walnut inbound URL as the endpoint.',
  events: [demoEvent, playlistEvent],
  anyEvent: {
    triggerKey: 'walnut_any_event',
    noun: 'Event',
    label: 'New Walnut Event (Any Type)',
    description: 'Triggers when Walnut sends any webhook event, including event types added after this app was built.',
  },
  testEventTypes: [],
  demoActivity: {
    events: ['demo_session_finished', 'playlist_session_finished'],
    counted: 'Walnut demo and playlist sessions',
    engagementHelp: WALNUT_ENGAGEMENT,
    whoCounts: 'a Walnut viewer known only by company domain counts as one person per session; your own team’s Walnut views, marked internal, never count',
    of: (p) => {
      const d = (p.data && typeof p.data === 'object' ? p.data : {}) as Record<string, any>;
      const user = (d.user && typeof d.user === 'object' ? d.user : {}) as Record<string, unknown>;
      const type = str(user.type);
      return {
        email: user.email,
        domain: user.domain,
        // Walnut marks its customers' own team as another type than `external`: not a buyer.
        internal: type !== null && type.toLowerCase() !== 'external',
        demo: d.demo?.id ?? d.playlist?.id,
        demoName: d.demo?.name ?? d.playlist?.name,
        // Walnut sends a session up to two hours after it ends: it happened when it started.
        occurredAt: d.session_started ?? p.timestamp,
        session: d.session_id,
        durationSeconds: d.demo_engagement?.session_duration ?? d.session_duration_secs,
        engagement: walnutEngagement(d),
        exit: d.demo_engagement?.last_section_viewed ?? d.demo_engagement?.last_guide_shown,
      };
    },
    // Walnut sends no viewer name: the email says who it was.
    example: (v) => ({
      ...demoSessionSample,
      timestamp: v.at,
      data: { ...demoSessionSample.data, session_id: v.session, session_started: v.at, user: { ...demoSessionSample.data.user, email: v.email } },
    }),
  },
  // Walnut's "Send a test event" sends a real-looking session marked is_test; some documented samples are marked so.
  examples: { test: { ...demoSessionSample, is_test: true }, live: (sample) => ({ ...sample, is_test: false }) },
  envelope: { schema: sharedSchema, flatten: flattenShared },
  isTest: (p) => p.is_test === true,
  identity: (p) => {
    const data = p.data as Record<string, unknown> | undefined;
    const sid = data && typeof data === 'object' ? str(data.session_id) : null;
    const ev = str(p.event);
    return sid && ev ? `walnut:${ev}:${sid}` : undefined;
  },
  flattenUnknown: (p, eventName) => {
    const data = (p.data && typeof p.data === 'object' ? p.data : {}) as Record<string, any>;
    return flattenAnything('Walnut', eventName, p, {
      occurredAt: isoFrom(p.timestamp),
      viewer: makeViewer({ email: data.user?.email, domain: data.user?.domain }),
    });
  },
};
