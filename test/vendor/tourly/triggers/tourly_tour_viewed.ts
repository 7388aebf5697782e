import { hookTrigger } from '../lib/hook-trigger.js';
import { tourly } from '../lib/providers/tourly.js';
import { eventSpec } from '../lib/providers/lookup.js';

// Relay event `tourly.tour.viewed`.
export default hookTrigger(tourly, eventSpec(tourly, 'tour.viewed'));
