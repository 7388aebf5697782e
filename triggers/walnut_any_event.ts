import { hookTrigger } from '../lib/hook-trigger.js';
import { walnut } from '../lib/providers/walnut.js';

// Relay event `walnut.*`: every walnut event, including types added after this app was built.
export default hookTrigger(walnut, null);
