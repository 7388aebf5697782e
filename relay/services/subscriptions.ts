/**
 * Subscribe and unsubscribe (the REST-hooks calls the Zapier app makes). After an unsubscribe
 * resolves nothing more is sent to that subscription, whatever ran concurrently.
 */
import type { RelayConfig } from '../config.js';
import { resolveTarget } from '../delivery/targets.js';
import { HookLimit } from '../domain/errors.js';
import { refusalWords, type RefusalReason } from '../domain/refusals.js';
import type { Hook, Verdict, ZapOf } from '../store/hooks.js';
import type { Store } from '../store/index.js';
import type { Scope } from '../store/deliveries/manage.js';

export type Subscribed = { ok: true; hook: Hook } | { ok: false; status: 400 | 422 | 503; error: string };

/** Waits until no delivery in `scope` is leased (an attempt in flight), up to `ms`. */
export async function waitForInflight(store: Store, scope: Scope, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while ((await store.deliveries.inflight(scope)) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

export class Subscriptions {
  constructor(
    private readonly store: Store,
    private readonly cfg: Pick<RelayConfig, 'targetHosts' | 'allowPrivateTargets' | 'maxHooksPerAccount' | 'leaseMs' | 'alertRepeatMs'>,
    /** This process's alert loop, when it runs one: a verdict may have queued an alert. */
    private readonly alerted: () => void = () => undefined,
  ) {}

  /** Subscribes a target that passes the target rule (its name resolved and checked now); `zap` says which Zap it is. */
  async subscribe(accountId: string, event: string, targetUrl: string, zap: ZapOf = {}): Promise<Subscribed> {
    const target = await resolveTarget(targetUrl, this.cfg);
    if (!target.ok) return target;
    try {
      return { ok: true, hook: await this.store.hooks.create(accountId, event, target.url.toString(), this.cfg.maxHooksPerAccount, zap) };
    } catch (err) {
      if (err instanceof HookLimit) return { ok: false, status: 422, error: err.message };
      throw err;
    }
  }

  /**
   * What the Zap's run made of a delivery of `eventId`: refused it (a reason code), or took it.
   * The subscription is `refusing` from the first refusal, with an alert (at most one in the
   * alert repeat window), and healthy again at the first delivery taken, with a recovered alert.
   * `not_found`: no delivery of that event to that subscription in this account; `stale`: a
   * verdict on a newer event was recorded already.
   */
  async judge(accountId: string, hookId: string, eventId: string, verdict: { refused: false } | { refused: true; code: RefusalReason }): Promise<'recorded' | 'stale' | 'not_found'> {
    const out = await this.judged(accountId, hookId, eventId, verdict);
    if (out === 'recorded') this.alerted();
    return out;
  }

  private judged(accountId: string, hookId: string, eventId: string, verdict: { refused: false } | { refused: true; code: RefusalReason }): Promise<'recorded' | 'stale' | 'not_found'> {
    return this.store.tx(async (q) => {
      const t = await this.store.hooks.verdictTarget(accountId, hookId, eventId, q);
      if (!t) return 'not_found';
      const now = Date.now();
      const kept: Verdict = verdict.refused ? { refused: true, reason: `${t.provider}:${verdict.code}` } : { refused: false };
      const r = await this.store.hooks.judge(t.id, kept, t.received_at, now, this.cfg.alertRepeatMs, q);
      if (!r.recorded) return 'stale';
      if (r.alert && t.alert_url) {
        const subscription = { id: t.id, event: t.event, target_url: t.target_url, zap_id: t.zap_id };
        if (verdict.refused) {
          await this.store.alerts.queue(q, t.account_id, t.id, 'subscription.refusing', {
            subscription,
            since: new Date(now).toISOString(),
            reason: refusalWords(verdict.code, t.provider),
            reason_code: verdict.code,
          });
        } else {
          await this.store.alerts.queue(q, t.account_id, t.id, 'subscription.recovered', { subscription, since: new Date(t.refusing_since ?? now).toISOString(), refusals: t.refusals });
        }
      }
      return 'recorded';
    });
  }

  /**
   * Deletes an account's subscription; false when it is not this account's. When this resolves
   * nothing more is sent to it: its queued deliveries are cancelled, and an attempt already in
   * flight (claimed before the delete) is waited for, up to the lease (after it the attempt is
   * over or its process gone). Claims and fan-outs lock the hooks they use, so on PostgreSQL
   * the delete waits for those that read the hook before it went, and then sees their
   * deliveries.
   */
  async unsubscribe(accountId: string, id: string, inflightWaitMs = this.cfg.leaseMs): Promise<boolean> {
    const scope = { hookId: id };
    const deleted = await this.store.tx(async (q) => {
      if (!(await this.store.hooks.delete(accountId, id, q))) return false;
      await this.store.deliveries.cancel(scope, 'subscription deleted', true, q);
      return true;
    });
    if (!deleted) return false;
    await waitForInflight(this.store, scope, inflightWaitMs);
    await this.store.deliveries.cancel(scope, 'subscription deleted', false);
    return true;
  }
}
