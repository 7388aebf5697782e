import { hookTrigger } from '../lib/hook-trigger.js';
import { supademo } from '../lib/providers/supademo.js';
import { eventSpec } from '../lib/providers/lookup.js';

// Relay event `supademo.demo.viewed`.
export default hookTrigger(supademo, eventSpec(supademo, 'demo.viewed'));
