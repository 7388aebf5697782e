/** What an operator asks of deliveries: retry one, retry a subscription's failures, replay an event. */
import type { RetryResult } from '../store/deliveries/manage.js';
import type { Store } from '../store/index.js';
import type { CaughtUp } from './caught-up.js';

export class DeliveryService {
  constructor(
    private readonly store: Store,
    private readonly caughtUp: CaughtUp,
    /** New work is due: the deliverer looks now (nothing where none runs: the CLI). */
    private readonly kick: () => void = () => undefined,
  ) {}

  /** A failed, given-up or retrying delivery due now, its give-up window restarted. */
  async retry(accountId: string, id: string): Promise<RetryResult> {
    const r = await this.store.deliveries.retryOne(accountId, id);
    if (r.ok) this.kick();
    return r;
  }

  /** Every retrying delivery of a subscription due now; null: not this account's. */
  async retryNow(accountId: string, hookId: string): Promise<number | null> {
    const n = await this.store.deliveries.retryNow(accountId, hookId);
    if (n) this.kick();
    return n;
  }

  /** Every failed or given-up delivery of a subscription since `sinceMs`; null: not this account's. */
  async retryFailed(accountId: string, hookId: string, sinceMs?: number): Promise<number | null> {
    const n = await this.store.deliveries.retryFailed(accountId, hookId, sinceMs);
    if (n) this.kick();
    return n;
  }

  /** A stored event sent again to the account's current matching subscriptions; null: not this account's. */
  async replay(accountId: string, eventId: string): Promise<number | null> {
    await this.caughtUp.wait(); // its activity index row, if it has one
    const n = await this.store.deliveries.replay(accountId, eventId);
    if (n) this.kick();
    return n;
  }
}
