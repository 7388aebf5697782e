import { hookTrigger } from '../lib/hook-trigger.js';
import { pendo } from '../lib/providers/pendo.js';
import { eventSpec } from '../lib/providers/lookup.js';

// Relay event `pendo.pollDisplayed`.
export default hookTrigger(pendo, eventSpec(pendo, 'pollDisplayed'));
