/**
 * `npm run demo` as a newcomer runs it: every documented payload through a real relay into the
 * real triggers, the forged delivery refused and told to the relay, and the operator's part: a
 * Zap that is down, retried, alerted at a stand-in for Slack, sent now once fixed, recovered.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

it('npm run demo shows the records, a refusal told to the relay, and an outage alerted, sent now and recovered', () => {
  const r = spawnSync(process.execPath, [path.resolve(__dirname, '..', '..', 'scripts', 'demo.js')], { encoding: 'utf8', env: { ...process.env, NODE_ENV: 'test' }, timeout: 90_000 });
  expect([r.status, r.stderr]).toStrictEqual([0, '']);
  const out = r.stdout;
  expect(out).toMatch(/\d+ records into the Zap, 1 refused/);
  expect(out).toContain("the relay was told: the Walnut Zap is refusing: the Walnut signing secret in this Zap's connection is not the one Walnut signs with");
  expect(out).toContain('walnut_any_event: healthy (it took the genuine sessions after the forged one: healthy again)');
  expect(out).toMatch(/retrying after HTTP 500, next attempt /);
  expect(out).toMatch(/alert to Slack: :red_circle: .* is failing since /);
  expect(out).toContain('"Send retrying deliveries now": 1 sent without waiting for the backoff');
  expect(out).toMatch(/delivered; alert to Slack: :large_green_circle: .* is delivering again \(failing since .+, 1 failed attempt\)/);
}, 120_000);
