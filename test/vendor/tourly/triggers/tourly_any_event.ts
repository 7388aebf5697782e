import { hookTrigger } from '../lib/hook-trigger.js';
import { tourly } from '../lib/providers/tourly.js';

// Relay event `tourly.*`: every tourly event, including types added after this app was built.
export default hookTrigger(tourly, null);
