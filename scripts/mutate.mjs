// `npm run mutate`: proof that the relay's tests guard what they claim to. Each mutation
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

const MUTATIONS = [
  {
    name: 'skip the cancel on unsubscribe',
    file: 'relay/store.ts',
    from: /await cancelPending\([^;]*'subscription deleted'[^;]*\);/g,
    to: '',
    tests: [RELAY],
  },
  {
    name: 'ack before commit',
    file: 'relay/http/inbound.ts',
    from: 'stored = await batcher.add({',
    to: "stored = { id: 'evt_unconfirmed', duplicate: false };\n        void batcher.add({",
    tests: [RELAY, FAULTS],
  },
  {
    name: 'de-duplicate on identity only (fault 1)',
    file: 'relay/store.ts',
    from: '.update(body).digest().subarray(0, 16)',
    to: '.digest().subarray(0, 16)',
    tests: [FAULTS],
  },
  {
    name: 'fail a whole batch with its bad member (fault 2)',
    file: 'relay/group-commit.ts',
    from: 'if (batch.length === 1) batch[0].reject(err);',
    to: 'if (batch.length > 0) batch.forEach((b) => b.reject(err));',
    tests: [FAULTS],
  },
  {
    // The old fault: ownership checked apart from the update, so a cancel in between (which
    // releases the lease) is overwritten. Either guard alone stops it; this removes both.
    name: 'record an outcome over a cancelled, released delivery (fault 3)',
    file: 'relay/store.ts',
    from: "WHERE id = $1 AND locked_by = $2 AND status = 'pending'",
    to: 'WHERE id = $1 AND (locked_by = $2 OR locked_by IS NULL)',
    tests: [FAULTS],
  },
  {
    name: 'a lease read from the process clock (fault 3)',
    file: 'relay/store.ts',
    from: /this\.db\.nowSql/g,
    to: 'String(Date.now())',
    tests: [FAULTS],
  },
  {
    name: 'SQLite statements outside the transaction queue (fault 4)',
    file: 'relay/db.ts',
    from: 'const rows = enqueue(() => q.query<T>(sql, params));',
    to: 'const rows = q.query<T>(sql, params);',
    tests: [FAULTS],
  },
  {
    name: 'no DNS check at subscribe (fault 6)',
    file: 'relay/targets.ts',
    from: 'const bad = addresses.find((a) => isPrivateAddress(a.address));',
    to: 'const bad = addresses.find(() => false);',
    tests: [FAULTS],
  },
  {
    name: '"newest first" by time and random id (fault 7)',
    file: 'relay/operator.ts',
    from: /ORDER BY e\.seq DESC/g,
    to: 'ORDER BY e.received_at DESC, e.id DESC',
    tests: [FAULTS],
  },
  {
    name: 'a manual retry keeps the original give-up window (fault 8)',
    file: 'relay/operator.ts',
    from: 'window_start = ${now}, locked_by = NULL',
    to: 'locked_by = NULL',
    tests: [FAULTS],
  },
  {
    name: 'an unsubscribe does not wait for an attempt in flight (issue 16)',
    file: 'relay/store.ts',
    from: "await this.waitForInflight('hook_id = $1', [id], inflightWaitMs);",
    to: '',
    tests: [PUBLIC],
  },
  {
    name: 'no target check at delivery (issue 16)',
    file: 'relay/deliver.ts',
    from: 'const rule = checkTarget(d.target_url, this.cfg);',
    to: 'const rule = checkTarget(d.target_url, { ...this.cfg, allowPrivateTargets: true, targetHosts: [new URL(d.target_url).host] });',
    tests: [PUBLIC],
  },
  {
    name: "no cap on one account's share of the slots (issue 16)",
    file: 'relay/store.ts',
    from: 'return order.slice(0, Math.max(0, allowance(account)));',
    to: 'return order;',
    tests: [PUBLIC],
  },
  {
    name: 'inbound tokens in request logs (issue 16)',
    file: 'relay/http/util.ts',
    from: 'if (i >= 0) return',
    to: 'if (i < 0) return',
    tests: [PUBLIC],
  },
  {
    name: "a delivery from a vendor without a secret on the connection counts (issue 15)",
    file: 'lib/signal-trigger.ts',
    from: 'if (!provider || !counted.includes(provider)) return [];',
    to: 'if (!provider) return [];',
    tests: [SIGNALS],
  },
  {
    name: 'a signal claimed without set-if-absent (issue 15)',
    file: 'lib/signal-trigger.ts',
    from: "s.ttlSeconds, ['auth'], true);",
    to: "s.ttlSeconds, ['auth'], false);",
    tests: [SIGNALS_NX],
  },
  {
    name: 'the +tag kept in a person (issue 15)',
    file: 'lib/activity.ts',
    from: 'plus > 0 ? local.slice(0, plus) : local',
    to: 'local',
    tests: [SIGNALS, SIGNALS_UNIT],
  },
  {
    name: "retention purges a company's newest view too (issue 15)",
    file: 'relay/store.ts',
    from: 'AND NOT ${spared} RETURNING id',
    to: 'RETURNING id',
    tests: [SIGNALS],
  },
  {
    name: 'judged at the delivered event only, not on state (issue 15)',
    file: 'lib/signal-trigger.ts',
    from: 'fromMs: trigger.at - windowMs,',
    to: 'fromMs: trigger.at,',
    tests: [SIGNALS],
  },
  {
    name: 'activity read one page only (issue 15)',
    file: 'lib/signal-trigger.ts',
    from: 'if (page.length < ACTIVITY_PAGE) return out;',
    to: 'return out;',
    tests: [SIGNALS],
  },
  {
    name: 'health not moved by outcomes (issue 17)',
    file: 'relay/store.ts',
    from: /await this\.recordHealth\([^)]*\);/g,
    to: '',
    tests: [HEALTH],
  },
  {
    name: 'given-up alerts not limited to one an hour (issue 17)',
    file: 'relay/alerts.ts',
    from: ' AND (h.given_up_alert_at IS NULL OR h.given_up_alert_at <= ${db.nowSql} - ${HOUR})',
    to: '',
    tests: [HEALTH],
  },
  {
    name: 'a list cut short without a Link header (issue 17)',
    file: 'relay/http/operator.ts',
    from: "if (rows.length > limit) reply.header('Link', nextLink(url, out[out.length - 1].id));",
    to: '',
    tests: [HEALTH],
  },
  {
    name: 'the CLI prints URLs from its own environment (issue 17)',
    file: 'relay/cli.ts',
    from: "return (await store.setting('public_url')) ?? publicBase(cfg);",
    to: 'return publicBase(cfg);',
    tests: [CLI],
  },
  {
    name: 'muted text too faint to read (issue 17: axe-core)',
    file: 'relay/console/console.css',
    from: '--muted: #5b6475;',
    to: '--muted: #aab0ba;',
    tests: [CONSOLE],
  },
  {
    name: 'rotation without asking first (issue 17)',
    file: 'relay/console/console.js',
    from: 'ask: `Make a new ${p} webhook URL? The current one stops working ${ends}.`,',
    to: '',
    tests: [CONSOLE],
  },
  {
    name: 'derive only what this process was handed, not the stored bytes (issue 19)',
    file: 'relay/store.ts',
    from: ': (derived.get(r.id) ?? null);',
    to: ': null;',
    tests: [DERIVE],
  },
  {
    name: 'no catch-up at start (issue 19)',
    file: 'relay/server.ts',
    from: /\n  deriver\.start\(\);/,
    to: '',
    tests: [DERIVE],
  },
  {
    name: 'a subscription made after the event arrived gets it (issue 19)',
    file: 'relay/store.ts',
    from: 'if (receivedAt !== undefined && Number(h.created_at) > receivedAt) continue;',
    to: '',
    tests: [DERIVE],
  },
  {
    name: 'the cursor moved in its own transaction, after the fan-out (issue 19)',
    file: 'relay/store.ts',
    from: "const moved = await q.query('UPDATE derive_cursor SET seq = $1 WHERE id = 1 AND seq = $2 RETURNING seq', [last, from]);",
    to: "const moved = [1]; setTimeout(() => void this.db.query('UPDATE derive_cursor SET seq = $1 WHERE id = 1 AND seq = $2', [last, from]), 50);",
    tests: [DERIVE],
  },
  {
    name: 'no hand-off: every fresh delivery waits for a claim (issue 19)',
    file: 'relay/store.ts',
    from: 'const leased = lease !== null && Boolean(h.live) && lease.offer.take(h.account_id);',
    to: "const leased = lease !== null && h.account_id === 'no account' && lease.offer.take(h.account_id);",
    tests: [DERIVE],
  },
  {
    name: "a disabled account's fresh delivery handed over leased (issue 19)",
    file: 'relay/store.ts',
    from: 'const leased = lease !== null && Boolean(h.live) && lease.offer.take(h.account_id);',
    to: 'const leased = lease !== null && lease.offer.take(h.account_id);',
    tests: [DERIVE],
  },
  {
    name: 'the hand-off ignores the deliverer\'s room (issue 19)',
    file: 'relay/deliver.ts',
    from: /if \(this\.inflight\.size \+ this\.ready\.length \+ this\.taken >= [^\n]*\n[^\n]*return false;/,
    to: '',
    tests: [DERIVE],
  },
  {
    name: 'a backlog left for its account\'s share waits for the poll (issue 19)',
    file: 'relay/deliver.ts',
    from: 'this.capped = capped;',
    to: '',
    tests: [DERIVE],
  },
  {
    name: 'ids in base64url order (issue 19)',
    file: 'relay/store.ts',
    from: 'out += SORTED_B64[B64_RANK[raw.charCodeAt(i)]];',
    to: 'out += raw[i];',
    tests: [DERIVE],
  },
];

// `npm run mutate -- --only=17` runs the mutations whose name mentions that issue.
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
if (only) MUTATIONS.splice(0, MUTATIONS.length, ...MUTATIONS.filter((m) => m.name.includes(`(issue ${only}`)));

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
