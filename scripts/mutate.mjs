// `npm run mutate`: proof that the relay's and the app's tests guard what they claim to. Each mutation
// below re-creates a fault (or removes a guard) in a copy of the project; the named tests
// must then fail. Prints one row per mutation and exits 1 if any mutation survives.
// Not part of `npm test` (about three minutes); run it after changing the relay or its tests.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const RELAY = 'dist/relay/test/relay.test.js';
const FAULTS = 'dist/relay/test/faults.test.js';
const PUBLIC = 'dist/relay/test/public.test.js';
const SIGNALS = 'dist/relay/test/signals.test.js';
const SIGNALS_NX = 'dist/relay/test/signals-nx.test.js';
const SIGNALS_UNIT = 'dist/test/signals.test.js';
const HEALTH = 'dist/relay/test/health.test.js';
const CLI = 'dist/relay/test/cli.test.js';
const CONSOLE = 'dist/relay/test/console.test.js';
const DERIVE = 'dist/relay/test/derive.test.js';
const PACING = 'dist/relay/test/pacing.test.js';
const READY = 'dist/relay/test/ready-queue.test.js';
const SESSION = 'dist/test/engagement.test.js';
const HISTORY = 'dist/relay/test/session-history.test.js';
const PLAYS = 'dist/relay/test/account-plays.test.js';
const TRACING = 'dist/relay/test/tracing.test.js';
const HOSTILE = 'dist/relay/test/hostile.test.js';
const RUNS = 'dist/relay/test/zap-runs.test.js';
const IDLE = 'dist/relay/test/idle.test.js';
const WAL = 'dist/relay/test/wal-sync.test.js';
const BUNDLE = 'dist/test/bundle.test.js';
const PARAMS = 'dist/relay/test/sqlite-params.test.js';
const ACKS = 'dist/relay/test/acks-first.test.js';
const SCHEMA_CHECK = 'dist/test/schema-check.test.js';
const SCHEMES = 'dist/test/signature-schemes.test.js';

const MUTATIONS = [
  {
    name: 'skip the cancel on unsubscribe [relay]',
    file: 'relay/services/subscriptions.ts',
    from: /await this\.store\.deliveries\.cancel\(scope, 'subscription deleted'[^;]*\);/g,
    to: '',
    tests: [RELAY],
  },
  {
    name: 'ack before commit [relay]',
    file: 'relay/ingest/intake.ts',
    from: 'stored = await this.batcher.add(item);',
    to: "stored = { id: 'evt_unconfirmed', duplicate: false };\n      void this.batcher.add(item);",
    tests: [RELAY, FAULTS],
  },
  {
    name: 'de-duplicate on identity only [faults]',
    file: 'relay/domain/identity.ts',
    from: '.update(body).digest().subarray(0, 16)',
    to: '.digest().subarray(0, 16)',
    tests: [FAULTS],
  },
  {
    name: 'fail a whole batch with its bad member [faults]',
    file: 'relay/loops/group-commit.ts',
    from: 'if (batch.length === 1) batch[0].reject(err);',
    to: 'if (batch.length > 0) batch.forEach((b) => b.reject(err));',
    tests: [FAULTS],
  },
  {
    // Ownership checked apart from the update, so a cancel in between (which releases the
    // lease) is overwritten. Either guard alone stops it; this removes both.
    name: 'record an outcome over a cancelled, released delivery [faults]',
    file: 'relay/store/deliveries/outcomes.ts',
    from: "WHERE id = $1 AND locked_by = $2 AND status = 'pending'",
    to: 'WHERE id = $1 AND (locked_by = $2 OR locked_by IS NULL)',
    tests: [FAULTS],
  },
  {
    name: 'a lease read from the process clock [faults]',
    file: 'relay/store/dialect.ts',
    from: "now: \"CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)\",",
    to: 'get now() { return String(Date.now()); },',
    tests: [FAULTS],
  },
  {
    name: 'SQLite statements outside the transaction queue [faults]',
    file: 'relay/store/db.ts',
    from: 'return enqueue(async (): Promise<[T[], boolean]> => {',
    to: 'return ((work: () => Promise<[T[], boolean]>) => work())(async (): Promise<[T[], boolean]> => {',
    tests: [FAULTS],
  },
  {
    name: 'no DNS check at subscribe [faults]',
    file: 'relay/delivery/targets.ts',
    from: 'const bad = addresses.find((a) => isPrivateAddress(a.address));',
    to: 'const bad = addresses.find(() => false);',
    tests: [FAULTS],
  },
  {
    name: '"newest first" by time and random id [faults]',
    file: 'relay/store/events.ts',
    from: /ORDER BY e\.seq DESC/g,
    to: 'ORDER BY e.received_at DESC, e.id DESC',
    tests: [FAULTS],
  },
  {
    name: 'a manual retry keeps the original give-up window [faults]',
    file: 'relay/store/deliveries/manage.ts',
    from: 'window_start = ${now}, locked_by = NULL',
    to: 'locked_by = NULL',
    tests: [FAULTS],
  },
  {
    name: 'an unsubscribe does not wait for an attempt in flight [public]',
    file: 'relay/services/subscriptions.ts',
    from: 'await waitForInflight(this.store, scope, inflightWaitMs);',
    to: '',
    tests: [PUBLIC],
  },
  {
    name: 'no target check at delivery [public]',
    file: 'relay/delivery/attempt.ts',
    from: 'const rule = checkTarget(d.target_url, this.cfg);',
    to: 'const rule = checkTarget(d.target_url, { ...this.cfg, allowPrivateTargets: true, targetHosts: [new URL(d.target_url).host] });',
    tests: [PUBLIC],
  },
  {
    name: "no cap on one account's share of the slots [public]",
    file: 'relay/domain/fairness.ts',
    from: 'return order.slice(0, Math.max(0, allowance(account)));',
    to: 'return order;',
    tests: [PUBLIC],
  },
  {
    name: 'inbound tokens in request logs [public]',
    file: 'relay/http/util.ts',
    from: 'if (i >= 0) return',
    to: 'if (i < 0) return',
    tests: [PUBLIC],
  },
  {
    name: 'a delivery from a vendor without a secret on the connection counts [signals]',
    file: 'lib/signal-trigger.ts',
    from: 'if (!provider || !counted.includes(provider)) return [];',
    to: 'if (!provider) return [];',
    tests: [SIGNALS],
  },
  {
    name: 'a signal claimed without set-if-absent [signals]',
    file: 'lib/signal-trigger.ts',
    from: "s.ttlSeconds, ['auth'], true);",
    to: "s.ttlSeconds, ['auth'], false);",
    tests: [SIGNALS_NX],
  },
  {
    name: 'the +tag kept in a person [signals]',
    file: 'lib/activity.ts',
    from: 'plus > 0 ? local.slice(0, plus) : local',
    to: 'local',
    tests: [SIGNALS, SIGNALS_UNIT],
  },
  {
    name: "retention purges a company's newest view too [signals]",
    file: 'relay/store/retention.ts',
    from: 'AND NOT ${spared} RETURNING id',
    to: 'RETURNING id',
    tests: [SIGNALS],
  },
  {
    name: 'judged at the delivered event only, not on state [signals]',
    file: 'lib/signal-trigger.ts',
    from: 'fromMs: trigger.at - windowMs,',
    to: 'fromMs: trigger.at,',
    tests: [SIGNALS],
  },
  {
    name: 'activity read one page only [signals]',
    file: 'lib/activity-reads.ts',
    from: 'if (page.length < ACTIVITY_PAGE) return;',
    to: 'return;',
    tests: [SIGNALS],
  },
  {
    name: 'health not moved by outcomes [health]',
    file: 'relay/store/deliveries/outcomes.ts',
    from: 'await this.moveHealth(q, items, out, rules);',
    to: '',
    tests: [HEALTH],
  },
  {
    name: 'given-up alerts not limited to one an hour [health]',
    file: 'relay/store/alerts.ts',
    from: ' AND (h.given_up_alert_at IS NULL OR h.given_up_alert_at <= ${this.now} - ${HOUR})',
    to: '',
    tests: [HEALTH],
  },
  {
    name: 'a list cut short without a Link header [health]',
    file: 'relay/http/operator.ts',
    from: "if (rows.length > limit) reply.header('Link', nextLink(url, out[out.length - 1].id));",
    to: '',
    tests: [HEALTH],
  },
  {
    name: 'the CLI prints URLs from its own environment [health]',
    file: 'relay/cli/operator.ts',
    from: "return (await store.settings.get('public_url')) ?? publicBase(cfg);",
    to: 'return publicBase(cfg);',
    tests: [CLI],
  },
  {
    name: 'muted text too faint to read [console]',
    file: 'relay/console/console.css',
    from: '--muted: #5b6475;',
    to: '--muted: #aab0ba;',
    tests: [CONSOLE],
  },
  {
    name: 'rotation without asking first [console]',
    file: 'relay/console/console.js',
    from: 'ask: `Make a new ${p} webhook URL? The current one stops working ${ends}.`,',
    to: '',
    tests: [CONSOLE],
  },
  {
    name: 'derive only what this process was handed, not the stored bytes [derive]',
    file: 'relay/store/derive.ts',
    from: 'for (const e of got) out.set(e.id, activityOfStored(e.provider, e.event, e.body));',
    to: 'for (const e of got) out.set(e.id, null);',
    tests: [DERIVE],
  },
  {
    name: 'no catch-up at start [derive]',
    file: 'relay/main.ts',
    from: /\n  deriver\.start\(\);/,
    to: '',
    tests: [DERIVE],
  },
  {
    name: 'a subscription made after the event arrived gets it [derive]',
    file: 'relay/store/deliveries/fanout.ts',
    from: 'if (item.receivedAt !== undefined && Number(h.created_at) > item.receivedAt) continue;',
    to: '',
    tests: [DERIVE],
  },
  {
    name: 'the cursor moved in its own transaction, after the fan-out [derive]',
    file: 'relay/store/derive.ts',
    from: "const moved = await q.query('UPDATE derive_cursor SET seq = $1 WHERE id = 1 AND seq = $2 RETURNING seq', [last, from]);",
    to: "const moved = [1]; setTimeout(() => void this.db.query('UPDATE derive_cursor SET seq = $1 WHERE id = 1 AND seq = $2', [last, from]), 50);",
    tests: [DERIVE],
  },
  {
    name: 'no hand-off: every fresh delivery waits for a claim [derive]',
    file: 'relay/store/deliveries/fanout.ts',
    from: 'const leased = lease !== null && Boolean(h.live) && spendRoom(lease.room, h.account_id);',
    to: "const leased = lease !== null && h.account_id === 'no account' && spendRoom(lease.room, h.account_id);",
    tests: [DERIVE],
  },
  {
    name: "a disabled account's fresh delivery handed over leased [derive]",
    file: 'relay/store/deliveries/fanout.ts',
    from: 'const leased = lease !== null && Boolean(h.live) && spendRoom(lease.room, h.account_id);',
    to: 'const leased = lease !== null && spendRoom(lease.room, h.account_id);',
    tests: [DERIVE],
  },
  {
    name: "the hand-off ignores the deliverer's room [derive]",
    file: 'relay/delivery/deliverer.ts',
    from: 'return emptyRoom(total, 2 * this.cfg.accountConcurrency, this.queue.held);',
    to: 'return emptyRoom(1_000_000, 1_000_000, this.queue.held);',
    tests: [DERIVE],
  },
  {
    name: "a backlog left for its account's share waits for the poll [derive]",
    file: 'relay/delivery/deliverer.ts',
    from: 'this.capped = r.capped;',
    to: '',
    tests: [DERIVE],
  },
  {
    name: 'ids in base64url order [derive]',
    file: 'relay/domain/ids.ts',
    from: 'out += SORTED_B64[B64_RANK[raw.charCodeAt(i)]];',
    to: 'out += raw[i];',
    tests: [DERIVE],
  },
  {
    name: 'a read that does not wait for the deriver [layers]',
    file: 'relay/services/caught-up.ts',
    from: 'if (last <= cursor) return;',
    to: 'return;',
    tests: [RELAY, PUBLIC],
  },
  {
    name: 'a deliverer that never waits, claiming at every turn of its loop [layers]',
    file: 'relay/delivery/deliverer.ts',
    from: "if (this.running) this.to(r.claimed.length > 0 ? 'looking' : 'waiting');",
    to: "if (this.running) this.to('looking');",
    tests: [READY],
  },
  {
    name: "a URL's window not kept: no pacing per target [pacing]",
    file: 'relay/domain/pacing.ts',
    from: 'if (rate > 0 && w.length >= rate) t = Math.max(t, w[w.length - rate] + URL_WINDOW_MS + TURN_MARGIN_MS);',
    to: '',
    tests: [PACING],
  },
  {
    name: "a Zapier user's window not counted [pacing]",
    file: 'relay/domain/pacing.ts',
    from: 'if (second * 1000 > at) at = second * 1000;',
    to: '',
    tests: [PACING],
  },
  {
    name: 'the claim takes no turns [pacing]',
    file: 'relay/store/deliveries/claim.ts',
    from: 'if (!r.pacing || !pacingOn(r.pacing)) return { ids: picked.map((c) => c.id), turns: null };',
    to: 'if (!r.pacing || !pacingOn(r.pacing) || picked.length > 0) return { ids: picked.map((c) => c.id), turns: null };',
    tests: [PACING],
  },
  {
    name: 'a 429 does not pause its target [pacing]',
    file: 'relay/store/deliveries/outcomes.ts',
    from: "for (const c of items) if (c.outcome.kind === 'throttled' && c.targetUrl) await pauseTarget(q, this.d, c.targetUrl, c.outcome.delayMs);",
    to: '',
    tests: [PACING],
  },
  {
    name: 'Retry-After ignored [pacing]',
    file: 'relay/delivery/attempt.ts',
    from: "retryAfter: retryAfterMs(res.headers['retry-after'], Date.now()) });",
    to: 'retryAfter: null });',
    tests: [PACING],
  },
  {
    name: 'a throttled target counted as failing [pacing]',
    file: 'relay/store/deliveries/outcomes.ts',
    from: "if (c.outcome.kind === 'throttled') {",
    to: "if (c.outcome.kind === 'throttled' && false) {",
    tests: [PACING],
  },
  {
    name: 'failing alerts not limited in 15 minutes [pacing]',
    file: 'relay/store/hooks.ts',
    from: "failing_alert_at = CASE WHEN failing_alert_at IS NULL OR failing_alert_at <= ${this.d.cast('$2', 'bigint')} - ${this.d.cast('$4', 'bigint')} THEN ${this.d.cast('$2', 'bigint')} ELSE failing_alert_at END",
    to: "failing_alert_at = ${this.d.cast('$2', 'bigint')}",
    tests: [PACING],
  },
  {
    name: 'recovered at the first success, not after a minute of them [pacing]',
    file: 'relay/store/hooks.ts',
    from: "AND ok_since IS NOT NULL AND ok_since <= ${this.d.cast('$2', 'bigint')} - ${this.d.cast('$3', 'bigint')} RETURNING",
    to: 'RETURNING',
    tests: [PACING],
  },
  {
    name: "a paced delivery holds its account's share [pacing]",
    file: 'relay/delivery/ready-queue.ts',
    from: 'const paced = d.waitMs > 0;',
    to: 'const paced = false;',
    tests: [READY, PACING],
  },
  {
    name: "a process that fell behind starts two turns' worth in a second [pacing]",
    file: 'relay/delivery/ready-queue.ts',
    from: 'if (!this.targetRate || !list || list.length < this.targetRate) return 0;',
    to: 'if (!this.targetRate || !list || list.length >= 0) return 0;',
    tests: [READY],
  },
  {
    name: "a throttled target's queued deliveries still start [pacing]",
    file: 'relay/delivery/ready-queue.ts',
    from: 'if (q.at < latestAt || (pausedUntil !== undefined && pausedUntil > now)) {',
    to: 'if (q.at < latestAt) {',
    tests: [READY],
  },
  {
    name: 'the engagement score falls as time spent grows [session]',
    file: 'lib/engagement.ts',
    from: 'const raw = 1 + 4 * completion + 3 * time + 2 * converted;',
    to: 'const raw = 1 + 4 * completion + 3 * (1 - time) + 2 * converted;',
    tests: [SESSION],
  },
  {
    name: 'a call-to-action click not counted in the engagement score [session]',
    file: 'lib/engagement.ts',
    from: 'const converted = finite(ctaClicks) && ctaClicks > 0 ? 1 : 0;',
    to: 'const converted = finite(ctaClicks) && ctaClicks > 10 ? 1 : 0;',
    tests: [SESSION],
  },
  {
    name: 'only_demos_matching lets every session through [session]',
    file: 'lib/engagement.ts',
    from: 'if (rules.only.length > 0 && onlyMatched.length === 0) return null;',
    to: '',
    tests: [SESSION],
  },
  {
    name: 'asset words looked for in names only, not the last section or guide [session]',
    file: 'lib/engagement.ts',
    from: "'items_visited_names', 'last_section_viewed', 'last_guide_shown'] as const;",
    to: "'items_visited_names'] as const;",
    tests: [SESSION],
  },
  {
    name: 'key accounts not checked [session]',
    file: 'lib/session-trigger.ts',
    from: 'if (!company || !only.has(company)) return null;',
    to: '',
    tests: [SESSION],
  },
  {
    name: "the relay's activity read ignores the person [session]",
    file: 'relay/store/activity.ts',
    from: "if (f.person !== undefined) (params.push(f.person), where.push(`a.person = $${params.length}`));",
    to: '',
    tests: [HISTORY],
  },
  {
    name: 'test sessions counted in the history without Include Test Events [session]',
    file: 'lib/viewer-history.ts',
    from: 'const a = countedActivity(ev, counted, bundle.authData, includeTest);',
    to: 'const a = countedActivity(ev, counted, bundle.authData, true);',
    tests: [HISTORY],
  },
  {
    name: 'a repeat visit called a first session [session]',
    file: 'lib/viewer-history.ts',
    from: 'is_first_session: personal[0].session === self.session,',
    to: 'is_first_session: personal.length >= 1,',
    tests: [HISTORY],
  },
  {
    name: 'the history counts sessions that happened after this one [session]',
    file: 'lib/viewer-history.ts',
    from: 'const until = self.at + 1;',
    to: 'const until = Date.now() + DAY;',
    tests: [HISTORY],
  },
  {
    // A string replaces its first match: the demo session's flattening.
    name: "Walnut's occurred_at is the send time again [session]",
    file: 'lib/providers/walnut.ts',
    from: 'occurred_at: started ?? isoFrom(p.timestamp),',
    to: 'occurred_at: isoFrom(p.timestamp),',
    tests: [SESSION],
  },
  {
    name: 'playlist lead score ignores the items visited [session]',
    file: 'lib/providers/walnut.ts',
    from: ' || (items > 0 && visited / items >= 0.25);',
    to: ';',
    tests: [SESSION],
  },
  {
    name: "an account's old sessions weigh as much as today's [plays]",
    file: 'lib/account-plays.ts',
    from: '(s.engagementScore ?? 1) * 0.5 ** (Math.max(0, atMs - s.at) / (HALF_LIFE_DAYS * DAY))',
    to: '(s.engagementScore ?? 1)',
    tests: [PLAYS],
  },
  {
    name: 'a quiet company listed without the sessions before [plays]',
    file: 'triggers/account_went_quiet.ts',
    from: 'if (sessions.length < minSessions || ',
    to: 'if (',
    tests: [PLAYS],
  },
  {
    name: "a test press moves a company's last session [plays]",
    file: 'relay/store/activity.ts',
    from: 'if (a.isTest) continue;',
    to: '',
    tests: [PLAYS],
  },
  {
    name: "a late session moves a company's last session back [plays]",
    file: 'relay/store/activity.ts',
    from: "${this.d.greatest('companies.last_at', 'excluded.last_at')}",
    to: 'excluded.last_at',
    tests: [PLAYS],
  },
  {
    name: 'the median time is a mean [plays]',
    file: 'lib/account-plays.ts',
    from: 'return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;',
    to: 'return s.reduce((a, b) => a + b, 0) / s.length;',
    tests: [PLAYS],
  },
  {
    name: 'key accounts ignored by the signals [plays]',
    file: 'lib/signal-trigger.ts',
    from: 'return only.size === 0 || only.has(company);',
    to: 'return only.size >= 0;',
    tests: [PLAYS],
  },
  {
    name: 'the trace context not stored with the event [tracing]',
    file: 'relay/ingest/intake.ts',
    from: 'trace: traceparentOf(span) }',
    to: 'trace: null }',
    tests: [TRACING],
  },
  {
    name: 'a retried delivery loses its trace [tracing]',
    file: 'relay/store/deliveries/claim.ts',
    from: '  trace: e.trace,',
    to: '  trace: null,',
    tests: [TRACING],
  },
  {
    name: 'no traceparent sent to the target [tracing]',
    file: 'relay/delivery/attempt.ts',
    from: '...(span ? { traceparent: traceparentOf(span) } : {}),',
    to: '',
    tests: [TRACING],
  },
  {
    name: "an attempt's span names the target's whole URL [tracing]",
    file: 'relay/delivery/attempt.ts',
    from: "{ 'server.address': u.hostname,",
    to: "{ 'server.address': u.href,",
    tests: [TRACING],
  },
  {
    name: "a delivery's log lines without its trace ids [tracing]",
    file: 'relay/delivery/recorder.ts',
    from: 'ms: record.durationMs, ...trace };',
    to: 'ms: record.durationMs };',
    tests: [TRACING],
  },
  {
    name: 'a delivery reached after its turn has passed is sent late [pacing]',
    file: 'relay/delivery/ready-queue.ts',
    from: 'export const turnMissed = (q: Queued, now: number): boolean => q.turned && now > q.at + TURN_MARGIN_MS;',
    to: 'export const turnMissed = (q: Queued, now: number): boolean => false;',
    tests: [READY],
  },
  {
    name: "the Zap's refusal not told to the relay [zap runs]",
    file: 'lib/hook-trigger.ts',
    from: "    await tellRelay(z, bundle, delivery.headers, { refused: true, code: err.code });\n",
    to: '',
    tests: [RUNS],
  },
  {
    name: 'a refusing subscription reads healthy [zap runs]',
    file: 'relay/store/hooks.ts',
    from: ": r.refusing_since !== null ? 'refusing' :",
    to: ': false ? \'refusing\' :',
    tests: [RUNS],
  },
  {
    name: 'a delivery the Zap takes does not end its refusing [zap runs]',
    file: 'lib/run-verdict.ts',
    from: 'if (told ? await cache.get(told, scope) : !(await cache.get(refusing, scope))) return;',
    to: 'if (told ? await cache.get(told, scope) : true) return;',
    tests: [RUNS],
  },
  {
    name: 'a late verdict on an older event moves the health back [zap runs]',
    file: 'relay/store/hooks.ts',
    from: 'AND (verdict_event_at IS NULL OR verdict_event_at <= ${at}) RETURNING refusing_alert_at AS a',
    to: 'RETURNING refusing_alert_at AS a',
    tests: [RUNS],
  },
  {
    name: 'no alert when a 410 removes a subscription [zap runs]',
    file: 'relay/store/deliveries/outcomes.ts',
    from: "if (gone?.alert_url) await this.alerts.queue(",
    to: "if (false) await this.alerts.queue(",
    tests: [RUNS],
  },
  {
    name: 'retry now leaves a retrying delivery to its backoff [zap runs]',
    file: 'relay/store/deliveries/manage.ts',
    from: "WHERE id = $1 AND (status IN ('failed', 'given_up') OR (${RETRYING('deliveries', this.now)}))",
    to: "WHERE id = $1 AND status IN ('failed', 'given_up')",
    tests: [RUNS],
  },
  {
    name: "the CLI checks alert URLs by its own environment, not the running relay's [zap runs]",
    file: 'relay/cli/operator.ts',
    from: "const rules = withServedRules(cfg, await store.settings.get('served_rules'));",
    to: 'const rules = withServedRules(cfg, null);',
    tests: [CLI],
  },
  {
    name: 'events heard by no subscription not counted [zap runs]',
    file: 'relay/store/stats.ts',
    from: 'for (const r of unheard) if (at(r.b)) at(r.b).no_subscription += num(r.n);',
    to: '',
    tests: [HEALTH],
  },
  {
    name: 'a signal names the company by its domain when the vendor sends no name [zap runs]',
    file: 'lib/signals.ts',
    from: 'company_name: companyName ?? nameOfDomain(domain),',
    to: 'company_name: companyName ?? domain,',
    tests: [SIGNALS],
  },
  {
    name: 'failed authentication counted per presented key [hostile]',
    file: 'relay/http/auth.ts',
    from: 'failed.fail(request.ip)',
    to: 'failed.fail(key)',
    tests: [HOSTILE],
  },
  {
    name: 'an address over the failure limit forgotten to make room [hostile]',
    file: 'relay/http/failed-auth.ts',
    from: 'if (now - e.since >= WINDOW_MS || e.count < this.perMinute) {',
    to: 'if (true) {',
    tests: [HOSTILE],
  },
  {
    name: 'unknown keys enter the per-key rate limiter [hostile]',
    file: 'relay/http/auth.ts',
    from: "    const account = key ? await deps.services.accounts.byApiKey(key) : null;\n    if (!account) {",
    to: "    if (limit && key && (await limit(request)).isExceeded) throw new HttpError(429, 'rate limit exceeded');\n    const account = key ? await deps.services.accounts.byApiKey(key) : null;\n    if (!account) {",
    tests: [HOSTILE],
  },
  {
    name: "a client's X-Forwarded-For believed without a trusted proxy [hostile]",
    file: 'relay/http/app.ts',
    from: ': cfg.trustProxy,',
    to: ': cfg.trustProxy || true,',
    tests: [HOSTILE],
  },
  {
    name: "a failing ROLLBACK replaces the full disk's error [hostile]",
    file: 'relay/store/db.ts',
    from: `          try {
            db.exec('ROLLBACK');
          } catch {
            // no transaction was open any more
          }`,
    to: "          db.exec('ROLLBACK');",
    tests: [HOSTILE],
  },
  {
    name: '/healthz answers 200 while the store cannot write [hostile]',
    file: 'relay/http/health.ts',
    from: 'problem = await deps.services.reads.cannotWrite();',
    to: 'await deps.services.reads.ping();\n        problem = null;',
    tests: [HOSTILE],
  },
  {
    name: 'a small write on a nearly full disk called room again [hostile]',
    file: 'relay/store/write-health.ts',
    from: 'if (!(await roomy().catch(() => false))) return reason;',
    to: '',
    tests: [HOSTILE],
  },
  {
    name: 'at the connection cap a new client is refused, no idle connection closed [hostile]',
    file: 'relay/http/connections.ts',
    from: '(this.tracked.size >= this.max && !this.evictOldest())',
    to: '(this.tracked.size >= this.max && true)',
    tests: [HOSTILE],
  },
  {
    name: 'one address may hold any number of connections [hostile]',
    file: 'relay/http/connections.ts',
    from: 'const full = this.perAddress > 0 &&',
    to: 'const full = this.perAddress < 0 &&',
    tests: [HOSTILE],
  },
  {
    name: 'a listing summarises every body, however wide [hostile]',
    file: 'relay/services/reads.ts',
    from: 'const summary = r.body.length <= SUMMARY_MAX_CHARS ? describeEvent(provider, r.body) : null;',
    to: 'const summary = describeEvent(provider, r.body);',
    tests: [HOSTILE],
  },
  {
    name: 'a page of whole bodies without a size bound [hostile]',
    file: 'relay/services/reads.ts',
    from: 'bodyBudget: f.preview === undefined ? LIST_BODY_BUDGET : undefined',
    to: 'bodyBudget: undefined',
    tests: [HOSTILE],
  },
  {
    name: 'the console asks again before the last answer came [console]',
    file: 'relay/console/console.js',
    from: '      await fn();',
    to: '      void fn();',
    tests: [CONSOLE],
  },
  {
    name: 'a request during shutdown answered without Retry-After [hostile]',
    file: 'relay/http/app.ts',
    from: "    return sendError(reply, 503, 'the relay is shutting down; retry shortly', 5);",
    to: '',
    tests: [HOSTILE],
  },
  {
    name: 'an idle deliverer sleeps to its idle look past a retry coming due [idle]',
    file: 'relay/delivery/deliverer.ts',
    from: 'wait > 0 ? now + wait :',
    to: 'wait > 0 ? idle :',
    tests: [IDLE],
  },
  {
    name: 'a deliverer never asks when the next delivery is due after a failure [idle]',
    file: 'relay/delivery/deliverer.ts',
    from: "if (result.outcome.kind !== 'delivered') {\n            this.dueUnknown = true;",
    to: "if (result.outcome.kind !== 'delivered') {",
    tests: [IDLE],
  },
  {
    name: 'a failure does not wake the alert loop [idle]',
    file: 'relay/delivery/deliverer.ts',
    from: 'this.onTrouble();',
    to: '',
    tests: [IDLE],
  },
  {
    name: 'a transaction that changed nothing answers before the syncs asked for [wal]',
    file: 'relay/store/db.ts',
    from: '(wrote ? wal.sync() : wal.settled())',
    to: '(wrote ? wal.sync() : Promise.resolve())',
    tests: [WAL],
  },
  {
    name: "an ack's transaction waits behind background work [wal]",
    file: 'relay/store/db.ts',
    from: '(first ? turns.first : turns.rest).push(',
    to: 'turns.rest.push(',
    tests: [WAL],
  },
  {
    name: 'the bundle computes its samples at load instead of carrying them [bundle]',
    file: 'lib/built-samples.ts',
    from: 'return found === undefined ? compute() : (found as T);',
    to: 'return compute();',
    tests: [BUNDLE],
  },
  {
    name: 'the bundle carries samples other than the compiled app computes [bundle]',
    file: 'scripts/bundle.mjs',
    from: 'const samples = samplesOf(require(compiled.pathname).default);',
    to: 'const samples = Object.fromEntries(Object.entries(samplesOf(require(compiled.pathname).default)).map(([id, s]) => [id, { ...s, id: `${id}-stale` }]));',
    tests: [BUNDLE],
  },
  {
    name: 'SQLite values passed as given, whatever order the statement names them in [sqlite]',
    file: 'relay/store/db.ts',
    from: 'order: order.every((n, i) => n === i) ? null : order',
    to: 'order: null',
    tests: [PARAMS],
  },
  {
    name: 'a derive round takes every event it read, whatever deliveries they come to [acks]',
    file: 'relay/store/deliveries/fanout.ts',
    from: 'if (rows.length >= maxDeliveries) break;',
    to: '',
    tests: [DERIVE],
  },
  {
    name: 'the cursor moved past every event read, not the ones the round took [acks]',
    file: 'relay/store/derive.ts',
    from: 'const rows = read.slice(0, covered);',
    to: 'const rows = read;',
    tests: [DERIVE],
  },
  {
    name: 'derive rounds do not wait for the acks [acks]',
    file: 'relay/ingest/deriver.ts',
    from: 'if (this.acks) await this.acks.turn();',
    to: '',
    tests: [ACKS],
  },
  {
    name: "the deliverer's claims do not wait for the acks [acks]",
    file: 'relay/delivery/deliverer.ts',
    from: 'if (this.acks) await this.acks.turn();',
    to: '',
    tests: [ACKS],
  },
  {
    name: 'a turn decided when asked, before the event loop reads what arrived [acks]',
    file: 'relay/loops/acks-first.ts',
    from: 'setImmediate(this.check);\n      }\n    });',
    to: 'this.check();\n      }\n    });',
    tests: [ACKS],
  },
  {
    name: 'no turn under a stream of acks with no pause [acks]',
    file: 'relay/loops/acks-first.ts',
    from: '|| now - this.lastTurnAt >= this.maxWaitMs;',
    to: ';',
    tests: [ACKS],
  },
  {
    name: 'an event refused at the store still counted as waiting [acks]',
    file: 'relay/ingest/intake.ts',
    from: '} finally {\n      this.acks?.leave();\n    }',
    to: '} catch (err) {\n      throw err;\n    }\n    this.acks?.leave();',
    tests: [ACKS],
  },
  {
    name: 'the heap in use never read against its mark [overload]',
    file: 'relay/http/pressure.ts',
    from: "if (o.maxHeapUsedBytes > 0 && heap > o.maxHeapUsedBytes) return { type: 'heapUsedBytes', value: heap };",
    to: '',
    tests: [PUBLIC],
  },
  {
    name: 'a minimum length not checked by the compiled validation [perform]',
    file: 'lib/schema-check.ts',
    from: 'return minLength > 0 ? `(typeof',
    to: 'return minLength < 0 ? `(typeof',
    tests: [SCHEMA_CHECK],
  },
  {
    name: 'a record with a "__proto__" key passed as it is, though zod leaves the key out [perform]',
    file: 'lib/schema-check.ts',
    from: "|| Object.prototype.hasOwnProperty.call(v, '__proto__')) return false;",
    to: ') return false;',
    tests: [SCHEMA_CHECK],
  },
  {
    name: 'an optional field taken to allow null, not absence: an event without it goes to zod [perform]',
    file: 'lib/schema-check.ts',
    from: 'return inner && `(${x} === undefined || ${inner})`;',
    to: 'return inner && `(${x} === null || ${inner})`;',
    tests: [SCHEMA_CHECK],
  },
  {
    name: 'a union passed only by a value that is every one of its options [perform]',
    file: 'lib/schema-check.ts',
    from: "`(${options.join(' || ')})`",
    to: "`(${options.join(' && ')})`",
    tests: [SCHEMA_CHECK],
  },
  {
    name: 'January and February counted in the year they end, not the next [perform]',
    file: 'lib/record.ts',
    from: '(month <= 2 ? 1 : 0)',
    to: '0',
    tests: [SCHEMA_CHECK],
  },
  {
    name: 'a Standard Webhooks signature compared as written, not as its bytes [perform]',
    file: 'lib/signature.ts',
    from: ".map((p) => Buffer.from(p.slice(3), 'base64').toString('base64'));",
    to: '.map((p) => p.slice(3));',
    tests: [SCHEMES],
  },
  {
    name: 'a hex signature compared in the case it came in [perform]',
    file: 'lib/signature.ts',
    from: 'given: [hex.toLowerCase()]',
    to: 'given: [hex]',
    tests: [SCHEMES],
  },
  {
    name: 'the settled sequence read without the ingest lock [derive]',
    file: 'relay/store/derive.ts',
    from: '`SELECT pg_advisory_xact_lock(${INGEST_LOCK}, hashtext(current_schema()))`,\n',
    to: '',
    tests: [DERIVE],
  },
  {
    name: 'a stall limit not sent with its BEGIN [derive]',
    file: 'relay/store/db.ts',
    from: "limit ? `BEGIN; SET LOCAL idle_in_transaction_session_timeout = '${Math.ceil(limit)}s'` : 'BEGIN'",
    to: "'BEGIN'",
    tests: [DERIVE],
  },
  {
    name: "a stall limit set for the connection, not the transaction [derive]",
    file: 'relay/store/db.ts',
    from: '`BEGIN; SET LOCAL idle_in_transaction_session_timeout',
    to: '`BEGIN; SET idle_in_transaction_session_timeout',
    tests: [DERIVE],
  },
  {
    name: 'statements at once on SQLite run one by one, not as one transaction [derive]',
    file: 'relay/store/db.ts',
    from: 'atOnce: <T>(statements: string[]) => oneByOneInTx<T>(self, statements),',
    to: 'atOnce: <T>(statements: string[]) => oneByOneInTx<T>({ tx: (fn) => fn(self) }, statements),',
    tests: [DERIVE],
  },
  {
    name: 'SQLite outcomes at once without the lease guard [faults]',
    file: 'relay/store/deliveries/outcomes.ts',
    from: "WHERE deliveries.id = i.id AND deliveries.locked_by = i.worker AND +deliveries.status = 'pending'",
    to: "WHERE deliveries.id = i.id AND +deliveries.status = 'pending'",
    tests: [FAULTS],
  },
  {
    name: 'SQLite outcomes at once reached through the due index [faults]',
    file: 'relay/store/deliveries/outcomes.ts',
    from: "AND +deliveries.status = 'pending'",
    to: "AND deliveries.status = 'pending'",
    tests: [FAULTS],
  },
  {
    name: "SQLite attempt rows at once with the error and the response's start swapped [faults]",
    file: 'relay/store/deliveries/outcomes.ts',
    from: 'value ->> 4, value ->> 5, value ->> 6\n',
    to: 'value ->> 4, value ->> 6, value ->> 5\n',
    tests: [FAULTS],
  },
];

// `npm run mutate -- --only=derive` runs the mutations tagged [derive]; a comma-separated list of
// tags or of words from their names (`--only=pacing,"newest first"`) runs those.
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
if (only) MUTATIONS.splice(0, MUTATIONS.length, ...MUTATIONS.filter((m) => only.split(',').some((t) => m.name.endsWith(`[${t}]`) || m.name.includes(t))));

// `npm run mutate -- --check`: only whether each mutation still applies to the code (seconds, no
// tests run): after moving code, before the long run.
if (process.argv.includes('--check')) {
  const stale = MUTATIONS.filter((m) => {
    const original = readFileSync(path.join(ROOT, m.file), 'utf8');
    return original.replace(m.from, m.to) === original;
  });
  for (const m of stale) process.stdout.write(`DOES NOT APPLY: ${m.name} (${m.file})\n`);
  process.stdout.write(`${MUTATIONS.length - stale.length} of ${MUTATIONS.length} mutations apply\n`);
  process.exit(stale.length === 0 ? 0 : 1);
}

const work = mkdtempSync(path.join(tmpdir(), 'demohooks-mutate-'));
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
for (const f of files) {
  mkdirSync(path.dirname(path.join(work, f)), { recursive: true });
  cpSync(path.join(ROOT, f), path.join(work, f));
}
symlinkSync(path.join(ROOT, 'node_modules'), path.join(work, 'node_modules'));

const rows = [];
let survived = 0;
try {
  for (const m of MUTATIONS) {
    const file = path.join(work, m.file);
    const original = readFileSync(file, 'utf8');
    const mutated = original.replace(m.from, m.to);
    if (mutated === original) {
      rows.push([m.name, '-', 'DOES NOT APPLY (update this script)']);
      survived++;
      continue;
    }
    writeFileSync(file, mutated);
    const tsc = spawnSync('tsc', ['-p', '.'], { cwd: work, encoding: 'utf8' });
    let verdict;
    let failed = '-';
    if (tsc.status !== 0) {
      verdict = 'does not compile (not a test result: make it compile)';
      survived++;
    } else {
      const report = path.join(work, 'jest.json');
      spawnSync('jest', ['--json', `--outputFile=${report}`, ...m.tests], { cwd: work, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'test' } });
      const r = JSON.parse(readFileSync(report, 'utf8'));
      failed = `${r.numFailedTests} of ${r.numTotalTests}`;
      const names = r.testResults.flatMap((t) => t.assertionResults.filter((a) => a.status === 'failed').map((a) => a.title));
      if (r.numFailedTests > 0) verdict = `caught: ${[...new Set(names)].slice(0, 2).join('; ').slice(0, 140)}`;
      else {
        verdict = 'SURVIVED';
        survived++;
      }
    }
    writeFileSync(file, original);
    rows.push([m.name, failed, verdict]);
    process.stdout.write(`${m.name}: ${verdict}\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.stdout.write('\n| mutation | tests failed | verdict |\n| --- | --- | --- |\n');
for (const r of rows) process.stdout.write(`| ${r.join(' | ')} |\n`);
process.stdout.write(`\n${MUTATIONS.length - survived} of ${MUTATIONS.length} mutations caught\n`);
process.exit(survived === 0 ? 0 : 1);
