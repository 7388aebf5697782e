import { hookTrigger } from '../lib/hook-trigger.js';
import { pendo } from '../lib/providers/pendo.js';

// Relay event `pendo.*`: every pendo event, including types added after this app was built.
export default hookTrigger(pendo, null);
