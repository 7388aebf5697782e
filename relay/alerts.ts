/**
 * Alerts: the relay tells an account's operators when a subscription starts failing, when it
 * recovers, and when deliveries are given up (at most once a subscription an hour, with a
 * count). The store queues them as outcomes are recorded (store.ts `recordHealth`); this loop
 * rolls up given-up counts and POSTs each alert to the account's alert URL: JSON with a
 * Slack-compatible `text`, so a Slack incoming-webhook URL works as it is. Alerts are retried
 * with backoff like deliveries, on their own loop, so a dead alert URL never holds a delivery.
 */
import http from 'node:http';
import https from 'node:https';
import type { RelayConfig } from './config.js';
import type { Logger } from './log.js';
import { backoffMs, hostOf } from './deliver.js';
import { queueAlert, type AlertType, type Store } from './store.js';
import { checkTarget, guardedLookup, guardedPost, type TargetNames } from './targets.js';

export const ALERT_URL: TargetNames = { field: 'url', hostsVar: 'RELAY_ALERT_HOSTS' };
const HOUR = 3_600_000;

/** Slack mrkdwn: `&`, `<` and `>` are control characters in message text. */
const esc = (s: unknown) => String(s ?? '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

interface Payload {
  type: AlertType;
  subscription: { id: string; event: string; target_url: string };
  since?: string;
  last_error?: string | null;
  failed_attempts?: number;
  count?: number;
}

/** The alert's Slack-compatible text: what happened, to which subscription, and where to look. */
export function alertText(p: Payload, account: string, consoleUrl: string, giveUpHours: number): string {
  const sub = `*${esc(p.subscription.event)}* → ${esc(p.subscription.target_url)}`;
  const link = `<${consoleUrl}|Open in the relay console>`;
  if (p.type === 'subscription.failing') {
    return `:red_circle: demohooks relay (${esc(account)}): the subscription ${sub} is failing since ${esc(p.since)}. Last error: ${esc(p.last_error ?? 'unknown')}. Deliveries are retried for ${giveUpHours} h, then given up. ${link}`;
  }
  if (p.type === 'subscription.recovered') {
    return `:large_green_circle: demohooks relay (${esc(account)}): the subscription ${sub} is delivering again (failing since ${esc(p.since)}, ${p.failed_attempts ?? 0} failed attempts). ${link}`;
  }
  const n = p.count ?? 1;
  return `:warning: demohooks relay (${esc(account)}): ${n} ${n === 1 ? 'delivery' : 'deliveries'} to ${sub} given up after ${giveUpHours} h of retries. Retry them from the console once the target answers: ${link}`;
}

export class Alerter {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
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

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.tick()
        .catch((err) => this.log('error', 'alert loop failed', { error: (err as Error).message }))
        .finally(() => {
          this.running = null;
          if (!this.stopped) this.timer = setTimeout(tick, this.cfg.pollMs * 5);
        });
    };
    this.timer = setTimeout(tick, this.cfg.pollMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  /** One round: roll up given-up deliveries, then send what is due. */
  async tick(): Promise<void> {
    await this.rollUpGivenUp();
    await this.sendDue();
  }

  /** Given-up deliveries become one alert a subscription an hour, with their count. */
  private async rollUpGivenUp(): Promise<void> {
    const db = this.store.db;
    const rows = await db.query<{ id: string; account_id: string; event: string; target_url: string; n: number; alert_url: string | null }>(
      `SELECT h.id, h.account_id, h.event, h.target_url, h.given_up_unreported AS n, a.alert_url FROM hooks h JOIN accounts a ON a.id = h.account_id
       WHERE h.given_up_unreported > 0 AND (h.given_up_alert_at IS NULL OR h.given_up_alert_at <= ${db.nowSql} - ${HOUR})`,
    );
    for (const r of rows) {
      await db.tx(async (q) => {
        const n = Number(r.n);
        const taken = await q.query(
          `UPDATE hooks SET given_up_unreported = given_up_unreported - $2, given_up_alert_at = ${db.nowSql} WHERE id = $1 AND given_up_unreported >= $2 RETURNING id`,
          [r.id, n],
        );
        if (taken.length && r.alert_url) {
          await queueAlert(q, db.nowSql, r.account_id, r.id, 'delivery.given_up', { subscription: { id: r.id, event: r.event, target_url: r.target_url }, count: n });
        }
      });
    }
  }

  private async sendDue(): Promise<void> {
    const db = this.store.db;
    const now = db.nowSql;
    const claimed = await db.query<{ id: string; account_id: string; hook_id: string | null; payload: string; attempts: number }>(
      `UPDATE alerts SET locked_until = ${now} + $1, updated_at = ${now}
       WHERE id IN (SELECT id FROM alerts WHERE status = 'pending' AND next_at <= ${now} AND (locked_until IS NULL OR locked_until < ${now})
                    ORDER BY next_at LIMIT 20${db.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : ''})
       RETURNING id, account_id, hook_id, payload, attempts`,
      [this.cfg.leaseMs],
    );
    await Promise.all(claimed.map((a) => this.send(a)));
  }

  private async send(a: { id: string; account_id: string; hook_id: string | null; payload: string; attempts: number }): Promise<void> {
    const db = this.store.db;
    const now = db.nowSql;
    const [acct] = await db.query<{ name: string; alert_url: string | null }>('SELECT name, alert_url FROM accounts WHERE id = $1', [a.account_id]);
    if (!acct?.alert_url) {
      await db.query(`UPDATE alerts SET status = 'cancelled', last_error = $2, locked_until = NULL, updated_at = ${now} WHERE id = $1`, [a.id, 'the account has no alert URL any more']);
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
      await db.query(`UPDATE alerts SET status = 'sent', attempts = attempts + 1, locked_until = NULL, last_error = NULL, updated_at = ${now} WHERE id = $1`, [a.id]);
      return;
    }
    const why = error ?? `HTTP ${status}`;
    const delay = backoffMs(Number(a.attempts), this.cfg.retryBaseMs, this.cfg.retryMaxMs);
    const [r] = await db.query<{ status: string }>(
      `UPDATE alerts SET attempts = attempts + 1, last_error = $2, locked_until = NULL, next_at = ${now} + $3, updated_at = ${now},
         status = CASE WHEN ${now} + $3 - created_at > $4 THEN 'failed' ELSE 'pending' END
       WHERE id = $1 RETURNING status`,
      [a.id, why, delay, this.cfg.giveUpMs],
    );
    // The URL holds a secret path (a Slack webhook's): only its host is logged.
    this.log(r?.status === 'failed' ? 'error' : 'warn', r?.status === 'failed' ? 'alert given up' : 'alert will be retried', {
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
