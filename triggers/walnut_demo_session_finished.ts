import { hookTrigger } from '../lib/hook-trigger.js';
import { walnut } from '../lib/providers/walnut.js';
import { eventSpec } from '../lib/providers/lookup.js';

// Relay event `walnut.demo_session_finished`.
export default hookTrigger(walnut, eventSpec(walnut, 'demo_session_finished'));
