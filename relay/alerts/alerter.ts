/**
 * Alerts: the relay tells an account's operators when a subscription starts failing, when it
 * recovers, and when deliveries are given up (at most once a subscription an hour, with a
 * count). The recorder queues them as outcomes are recorded (store/deliveries/outcomes.ts);
 * this loop rolls up given-up counts and POSTs each alert to the account's alert URL: JSON with
 * a Slack-compatible `text`. Alerts are retried with backoff like deliveries, on their own
 * loop, so a dead alert URL never holds a delivery.
 */
import http from 'node:http';
import https from 'node:https';
import type { RelayConfig } from '../config.js';
import { hostOf } from '../delivery/recorder.js';
import { ALERT_URL, checkTarget, guardedLookup, guardedPost } from '../delivery/targets.js';
import { backoffMs } from '../domain/retry.js';
import type { Logger } from '../log.js';
import type { DueAlert } from '../store/alerts.js';
import type { Store } from '../store/index.js';
import { alertText, type Payload } from './texts.js';

const HOUR = 3_600_000;

export class Alerter {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private kicked = false;
  private readonly lookup;
  private readonly agents = { http: new http.Agent({ keepAlive: false }), https: new https.Agent({ keepAlive: false }) };

  constructor(
    private readonly store: Store,
    private readonly cfg: RelayConfig,
    private readonly log: Logger,
    /** The console's address for a subscription, as the relay serves it. */
    private readonly consoleUrl: (hookId: string) => string,
  ) {
    this.lookup = guardedLookup(cfg.allowPrivateTargets);
  }

  /**
   * Rounds run every five polls while anything is outstanding (an alert pending, a subscription
   * failing, given-up deliveries not yet reported) and at the idle look otherwise; an outcome
   * that may queue an alert kicks a round now.
   */
  start(): void {
    this.schedule(this.cfg.pollMs);
  }

  /** Something may have queued an alert (an outcome that was not a delivery, a Zap's refusal): a round runs now. */
  kick(): void {
    this.kicked = true;
    if (this.timer && !this.running && !this.stopped) {
      clearTimeout(this.timer);
      this.schedule(0);
    }
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.stopped) return;
      let busy = true;
      this.running = this.tick()
        .then((b) => void (busy = b))
        .catch((err) => this.log('error', 'alert loop failed', { error: (err as Error).message }))
        .finally(() => {
          this.running = null;
          if (!this.stopped) this.schedule(this.kicked ? 0 : busy ? this.cfg.pollMs * 5 : Math.max(this.cfg.idlePollMs, this.cfg.pollMs * 5));
        });
    }, ms);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  /**
   * One round: given-up deliveries become one alert a subscription an hour, with their count;
   * then what is due is sent. Unless kicked, first one read says whether anything is
   * outstanding at all; false: nothing was (the next round can wait for the idle look).
   */
  async tick(): Promise<boolean> {
    const kicked = this.kicked;
    this.kicked = false;
    if (!kicked && !(await this.store.alerts.outstanding())) return false;
    await this.store.outcomes.recoverSteady(this.cfg);
    for (const r of await this.store.alerts.givenUpDue()) await this.store.alerts.reportGivenUp(r);
    const due = await this.store.alerts.claimDue(this.cfg.leaseMs);
    await Promise.all(due.map((a) => this.send(a)));
    return true;
  }

  private async send(a: DueAlert): Promise<void> {
    const acct = await this.store.accounts.alertTarget(a.account_id);
    if (!acct?.alert_url) {
      await this.store.alerts.markCancelled(a.id, 'the account has no alert URL any more');
      return;
    }
    const payload = JSON.parse(a.payload) as Payload;
    const consoleUrl = this.consoleUrl(payload.subscription.id);
    const body = JSON.stringify({
      text: alertText(payload, acct.name, consoleUrl, Math.round(this.cfg.giveUpMs / HOUR)),
      ...payload,
      account: acct.name,
      console_url: consoleUrl,
    });
    const { status, error } = await this.post(acct.alert_url, body);
    if (status !== null && status >= 200 && status < 300) {
      await this.store.alerts.markSent(a.id);
      return;
    }
    const why = error ?? `HTTP ${status}`;
    const state = await this.store.alerts.markRetry(a.id, why, backoffMs(Number(a.attempts), this.cfg.retryBaseMs, this.cfg.retryMaxMs), this.cfg.giveUpMs);
    // The URL holds a secret path (a Slack webhook's): only its host is logged.
    this.log(state === 'failed' ? 'error' : 'warn', state === 'failed' ? 'alert given up' : 'alert will be retried', {
      alert_id: a.id,
      account_id: a.account_id,
      alert_host: hostOf(acct.alert_url),
      attempt: Number(a.attempts) + 1,
      last_reason: why,
    });
  }

  /** POSTs to the alert URL under the same rule as deliveries (checked again now, address checked at connect). */
  private post(raw: string, body: string): Promise<{ status: number | null; error: string | null }> {
    return new Promise((resolve) => {
      const rule = checkTarget(raw, { targetHosts: this.cfg.alertHosts, allowPrivateTargets: this.cfg.allowPrivateTargets }, ALERT_URL);
      if (!rule.ok) return resolve({ status: null, error: `alert URL refused by this relay's configuration: ${rule.error}` });
      const req = guardedPost(
        rule.url,
        {
          agents: this.agents,
          lookup: this.lookup,
          timeoutMs: this.cfg.deliveryTimeoutMs,
          headers: { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)), 'User-Agent': 'demohooks-relay/1' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? null, error: null }));
          res.on('error', () => resolve({ status: res.statusCode ?? null, error: null }));
        },
        (err) => resolve({ status: null, error: `${err.code ?? 'network error'}: ${err.message}`.slice(0, 300) }),
      );
      req.end(body);
    });
  }
}
