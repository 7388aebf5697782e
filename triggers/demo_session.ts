import { demoSessionTrigger } from '../lib/demo-session-trigger.js';

// Relay event `demo.activity`: every vendor's demo sessions, each as its vendor's record.
export default demoSessionTrigger();
