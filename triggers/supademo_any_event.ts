import { hookTrigger } from '../lib/hook-trigger.js';
import { supademo } from '../lib/providers/supademo.js';

// Relay event `supademo.*`: every supademo event, including types added after this app was built.
export default hookTrigger(supademo, null);
