/**
 * The services: the only code that spans tables in one transaction (subscribe and unsubscribe,
 * disable, enable and rotation, retry and replay) and the operator reads. The HTTP routes and
 * the CLI call these and nothing below them.
 */
import type { RelayConfig } from '../config.js';
import type { Store } from '../store/index.js';
import { AccountService } from './accounts.js';
import { CaughtUp } from './caught-up.js';
import { DeliveryService } from './deliveries.js';
import { Reads } from './reads.js';
import { Subscriptions } from './subscriptions.js';

export interface Services {
  subscriptions: Subscriptions;
  accounts: AccountService;
  deliveries: DeliveryService;
  reads: Reads;
}

/** `wake`: this process's loops, when it runs them (the CLI does not). */
export function createServices(store: Store, cfg: RelayConfig, wake: { deriver?: () => void; deliverer?: () => void; alerter?: () => void } = {}): Services {
  const caughtUp = new CaughtUp(store, wake.deriver);
  return {
    subscriptions: new Subscriptions(store, cfg, wake.alerter),
    accounts: new AccountService(store, cfg),
    deliveries: new DeliveryService(store, caughtUp, wake.deliverer),
    reads: new Reads(store, caughtUp),
  };
}
