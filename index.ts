import { defineApp, version as platformVersion } from 'zapier-platform-core';
import packageJson from './package.json';
import authentication from './authentication.js';
import verifyWebhook from './creates/verify_webhook.js';
import walnut_demo_session_finished from './triggers/walnut_demo_session_finished.js';
import walnut_playlist_session_finished from './triggers/walnut_playlist_session_finished.js';
import walnut_any_event from './triggers/walnut_any_event.js';
import supademo_lead_captured from './triggers/supademo_lead_captured.js';
import supademo_demo_viewed from './triggers/supademo_demo_viewed.js';
import supademo_demo_completed from './triggers/supademo_demo_completed.js';
import supademo_showcase_viewed from './triggers/supademo_showcase_viewed.js';
import supademo_any_event from './triggers/supademo_any_event.js';
import pendo_guide_displayed from './triggers/pendo_guide_displayed.js';
import pendo_poll_displayed from './triggers/pendo_poll_displayed.js';
import pendo_poll_submitted from './triggers/pendo_poll_submitted.js';
import pendo_nps_displayed from './triggers/pendo_nps_displayed.js';
import pendo_nps_submitted from './triggers/pendo_nps_submitted.js';
import pendo_visitor_created from './triggers/pendo_visitor_created.js';
import pendo_account_created from './triggers/pendo_account_created.js';
import pendo_track_event_received from './triggers/pendo_track_event_received.js';
import pendo_any_event from './triggers/pendo_any_event.js';
import account_buying_committee from './triggers/account_buying_committee.js';
import account_reengaged from './triggers/account_reengaged.js';
import demo_session from './triggers/demo_session.js';
import account_went_quiet from './triggers/account_went_quiet.js';
import company_engagement from './searches/company_engagement.js';
import top_accounts from './searches/top_accounts.js';
import demo_performance from './searches/demo_performance.js';

export default defineApp({
  version: packageJson.version,
  platformVersion,
  authentication,
  // Every request this app makes goes through z.request, which Zapier logs itself; the
  // extra patch of node's http module would only log calls made around it (there are none).
  flags: { skipHttpPatch: true },
  triggers: {
    [walnut_demo_session_finished.key]: walnut_demo_session_finished,
    [walnut_playlist_session_finished.key]: walnut_playlist_session_finished,
    [walnut_any_event.key]: walnut_any_event,
    [supademo_lead_captured.key]: supademo_lead_captured,
    [supademo_demo_viewed.key]: supademo_demo_viewed,
    [supademo_demo_completed.key]: supademo_demo_completed,
    [supademo_showcase_viewed.key]: supademo_showcase_viewed,
    [supademo_any_event.key]: supademo_any_event,
    [pendo_guide_displayed.key]: pendo_guide_displayed,
    [pendo_poll_displayed.key]: pendo_poll_displayed,
    [pendo_poll_submitted.key]: pendo_poll_submitted,
    [pendo_nps_displayed.key]: pendo_nps_displayed,
    [pendo_nps_submitted.key]: pendo_nps_submitted,
    [pendo_visitor_created.key]: pendo_visitor_created,
    [pendo_account_created.key]: pendo_account_created,
    [pendo_track_event_received.key]: pendo_track_event_received,
    [pendo_any_event.key]: pendo_any_event,
    [account_buying_committee.key]: account_buying_committee,
    [account_reengaged.key]: account_reengaged,
    [demo_session.key]: demo_session,
    [account_went_quiet.key]: account_went_quiet,
  },
  creates: {
    [verifyWebhook.key]: verifyWebhook,
  },
  searches: {
    [company_engagement.key]: company_engagement,
    [top_accounts.key]: top_accounts,
    [demo_performance.key]: demo_performance,
  },
});
