/**
 * The deliverer's ready queue and its modes, alone: a delivery waiting for its turn holds neither
 * a slot nor its account's share, starts at its turn and not before; a throttled target's queued
 * deliveries go back; a process that fell behind cannot start two turns' worth in one second;
 * the deliverer's mode is named and moves only by its table.
 */
import { ReadyQueue } from '../delivery/ready-queue.js';
import { TURN_MARGIN_MS } from '../domain/pacing.js';
import type { Claimed } from '../store/deliveries/claim.js';
import { silentLogger } from '../log.js';
import { startTestRelay, freshSqliteUrl, until } from './harness.js';

const delivery = (id: string, waitMs = 0, target = 'https://hooks.zapier.com/hooks/catch/1/a/', account = 'acc_1'): Claimed => ({
  id,
  account_id: account,
  event_id: `evt_${id}`,
  hook_id: 'hook_1',
  target_url: target,
  attempts: 0,
  waitMs,
  headers: {},
  body: '{}',
  received_at: 0,
  trace: null,
});

describe('ready queue', () => {
  const never = () => {
    throw new Error('nothing expires here');
  };

  it('a delivery waiting for its turn holds neither a slot nor its account share, and starts at its turn, not before', () => {
    const q = new ReadyQueue(4, 2);
    const now = performance.now();
    q.push([delivery('now-1'), delivery('later', 500)], now);
    // Positive control: the ready one counts for its account and in the queue's room.
    expect(q.held.get('acc_1')).toBe(1);
    expect(q.holds()).toBe(1);
    expect(q.paced).toBe(1);
    expect(q.next(now, now - 10_000, never)?.id).toBe('now-1');
    // The paced one does not start before its turn, however free the slots are.
    expect(q.next(now + 100, now - 10_000, never)).toBeNull();
    expect(q.nextTurn(now)).toBeGreaterThanOrEqual(now + 500);
    const started = q.next(now + 520, now - 10_000, never);
    expect(started?.id).toBe('later');
    expect(q.held.get('acc_1')).toBe(2);
    expect(q.paced).toBe(0);
  });

  it('a delivery reached after its turn has passed by more than the margin goes back, never sent late', () => {
    const q = new ReadyQueue(4, 4);
    const now = performance.now();
    q.push([delivery('on-time', 500), delivery('late', 500, 'https://hooks.zapier.com/hooks/catch/1/b/')], now);
    const back: string[] = [];
    // Positive control: within the margin it starts.
    expect(q.next(now + 500 + TURN_MARGIN_MS - 1, now - 10_000, (x) => back.push(x.d.id))?.id).toBe('on-time');
    expect(back).toStrictEqual([]);
    // Past it (this process was held up), it is handed back, not started.
    expect(q.next(now + 500 + TURN_MARGIN_MS + 200, now - 10_000, (x) => back.push(x.d.id))).toBeNull();
    expect(back).toStrictEqual(['late']);
    expect(q.length).toBe(0);
    expect(q.paced).toBe(0);
  });

  it('the queued deliveries of a throttled target go back, others stay', () => {
    const q = new ReadyQueue(4, 4);
    const now = performance.now();
    q.push([delivery('a-1'), delivery('b-1', 0, 'https://hooks.zapier.com/hooks/catch/1/b/'), delivery('a-2')], now);
    q.pause('https://hooks.zapier.com/hooks/catch/1/a/', now + 5000);
    const back: string[] = [];
    const first = q.next(now, now - 10_000, (x) => back.push(x.d.id));
    expect(first?.id).toBe('b-1');
    expect(q.next(now, now - 10_000, (x) => back.push(x.d.id))).toBeNull();
    expect(back).toStrictEqual(['a-1', 'a-2']);
    expect(q.length).toBe(0);
  });

  it("a process that fell behind does not start more than the rate to one target within its own second", () => {
    const q = new ReadyQueue(8, 8, 2);
    const now = performance.now();
    q.push([delivery('x-1'), delivery('x-2'), delivery('x-3'), delivery('y-1', 0, 'https://hooks.zapier.com/hooks/catch/1/b/')], now);
    const ids: string[] = [];
    for (let d = q.next(now, now - 10_000, never); d; d = q.next(now, now - 10_000, never)) ids.push(d.id);
    // Two to the one target, the third waits its second; the other target goes on.
    expect(ids).toStrictEqual(['x-1', 'x-2', 'y-1']);
    expect(q.next(now + 1000, now - 10_000, never)).toBeNull();
    expect(q.next(now + 1000 + TURN_MARGIN_MS + 1, now - 10_000, never)?.id).toBe('x-3');
  });
});

describe("the deliverer's modes", () => {
  it('looking at start, waiting once a claim finds nothing more, looking again when work is stored, stopped at the end', async () => {
    const relay = await startTestRelay(freshSqliteUrl(), { pollMs: 60_000, idlePollMs: 60_000 }, silentLogger);
    try {
      expect(['looking', 'waiting']).toContain(relay.deliverer.mode);
      await until('waiting: nothing to find', async () => relay.deliverer.mode === 'waiting');
      relay.deliverer.kick();
      await until('looking once kicked, then waiting again', async () => relay.deliverer.mode === 'waiting');
    } finally {
      await relay.close();
    }
    expect(relay.deliverer.mode).toBe('stopped');
  });
});
