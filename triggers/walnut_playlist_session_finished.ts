import { hookTrigger } from '../lib/hook-trigger.js';
import { walnut } from '../lib/providers/walnut.js';
import { eventSpec } from '../lib/providers/lookup.js';

// Relay event `walnut.playlist_session_finished`.
export default hookTrigger(walnut, eventSpec(walnut, 'playlist_session_finished'));
