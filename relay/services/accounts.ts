/**
 * What an account's operators do to it: see who they are and where to point each vendor,
 * rotate the key and the inbound URLs, set where alerts go, disable and enable it.
 */
import type { ProviderKey } from '../../lib/providers/index.js';
import type { RelayConfig } from '../config.js';
import { ALERT_URL, resolveTarget, type TargetCheck } from '../delivery/targets.js';
import type { Store } from '../store/index.js';
import { waitForInflight } from './subscriptions.js';

export class AccountService {
  constructor(
    private readonly store: Store,
    private readonly cfg: Pick<RelayConfig, 'alertHosts' | 'allowPrivateTargets' | 'leaseMs'>,
  ) {}

  /** The enabled account an API key belongs to (null: none, or disabled). */
  byApiKey(apiKey: string) {
    return this.store.accounts.byApiKey(apiKey);
  }

  /** The account's inbound tokens (one minted for a vendor added since it was made) and alert URL. */
  async me(accountId: string): Promise<{ tokens: Record<string, string>; alertUrl: string | null }> {
    return { tokens: await this.store.tokens.of(accountId), alertUrl: await this.store.accounts.alertUrl(accountId) };
  }

  /** Where alerts go: a URL that passes the target rule with the alert allowlist. */
  async setAlertUrl(accountId: string, url: string): Promise<TargetCheck> {
    const checked = await resolveTarget(url, { targetHosts: this.cfg.alertHosts, allowPrivateTargets: this.cfg.allowPrivateTargets }, undefined, ALERT_URL);
    if (checked.ok) await this.store.accounts.setAlertUrl(accountId, url);
    return checked;
  }

  removeAlertUrl(accountId: string): Promise<void> {
    return this.store.accounts.setAlertUrl(accountId, null);
  }

  rotateKey(accountId: string): Promise<string> {
    return this.store.accounts.rotateKey(accountId);
  }

  rotateInbound(accountId: string, provider: ProviderKey, overlapMs: number): Promise<{ tokens: Record<string, string>; oldValidUntil: string }> {
    return this.store.tokens.rotate(accountId, provider, overlapMs);
  }

  /**
   * Inbound URLs 404 and the API key 401s from now on, on every relay process; queued
   * deliveries pause (claims skip a disabled account's), and an attempt already in flight is
   * waited for (up to `inflightWaitMs`), so nothing is sent once this resolves.
   */
  async disable(accountId: string, inflightWaitMs = 0): Promise<boolean> {
    const changed = await this.store.tx(async (q) => {
      const marked = await this.store.accounts.markDisabled(accountId, q);
      await this.store.deliveries.pause(accountId, q);
      return marked;
    });
    await waitForInflight(this.store, { accountId }, inflightWaitMs);
    // Outcomes recorded while waiting (a retry is pending again) pause too.
    await this.store.deliveries.pause(accountId);
    return changed;
  }

  /**
   * Turns a disabled account back on: its key and inbound URLs work again and its paused
   * deliveries are due (each when it was due; the give-up window counts the pause too, so a
   * long-paused delivery may be given up at its next failure). False: no such disabled account.
   */
  async enable(accountId: string): Promise<boolean> {
    return this.store.tx(async (q) => {
      const changed = await this.store.accounts.markEnabled(accountId, q);
      await this.store.deliveries.resume(accountId, q);
      return changed;
    });
  }
}
