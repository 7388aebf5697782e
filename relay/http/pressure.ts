/**
 * Overload answers: 503 + Retry-After while the event loop lags past its mark or the heap is
 * past its own. The lag is read from one timer's lateness, a few times a second (at most a
 * quarter of the mark apart, so a lag is seen within a quarter of the mark), not from an
 * event-loop-delay histogram: `monitorEventLoopDelay` wakes the process a hundred times a second,
 * which alone costs an idle relay about 5 ms of CPU a second.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface PressureOptions {
  /** ms of event-loop lag past which requests are answered 503 (0: not checked). */
  maxEventLoopDelayMs: number;
  /** Heap bytes in use past which requests are answered 503 (0: not checked). */
  maxHeapUsedBytes: number;
  /** Answers one request while under pressure (`type`: what is over its mark, `value`: by how much). */
  onPressure: (request: FastifyRequest, reply: FastifyReply, type: 'eventLoopDelay' | 'heapUsedBytes', value: number) => unknown;
}

/** Samples the lag at most 4 times a second and the heap once; returns what is over its mark now, if anything. */
export function pressureGauge(o: Pick<PressureOptions, 'maxEventLoopDelayMs' | 'maxHeapUsedBytes'>): { over(): { type: 'eventLoopDelay' | 'heapUsedBytes'; value: number } | null; stop(): void } {
  const interval = Math.max(10, Math.min(250, (o.maxEventLoopDelayMs || 1000) / 4));
  let lag = 0;
  let heap = 0;
  let due = performance.now() + interval;
  let timer: NodeJS.Timeout | null = null;
  let heapAt = 0;
  const tick = () => {
    const now = performance.now();
    lag = Math.max(0, now - due);
    // The heap once a second: reading it costs more than reading the clock.
    if (o.maxHeapUsedBytes > 0 && now - heapAt >= 1000) {
      heap = process.memoryUsage().heapUsed;
      heapAt = now;
    }
    due = now + interval;
    timer = setTimeout(tick, interval);
    timer.unref();
  };
  if (o.maxEventLoopDelayMs > 0 || o.maxHeapUsedBytes > 0) {
    timer = setTimeout(tick, interval);
    timer.unref();
  }
  return {
    over() {
      if (o.maxEventLoopDelayMs > 0) {
        // A lag under way shows before the timer fires: it is already late.
        const current = Math.max(lag, performance.now() - due);
        if (current > o.maxEventLoopDelayMs) return { type: 'eventLoopDelay', value: Math.round(current) };
      }
      if (o.maxHeapUsedBytes > 0 && heap > o.maxHeapUsedBytes) return { type: 'heapUsedBytes', value: heap };
      return null;
    },
    stop() {
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}

/** Every request first asks the gauge; under pressure it is answered by `onPressure`. */
export function installPressure(app: FastifyInstance, o: PressureOptions): void {
  const gauge = pressureGauge(o);
  app.addHook('onRequest', async (request, reply) => {
    const over = gauge.over();
    if (over) return o.onPressure(request, reply, over.type, over.value);
  });
  app.addHook('onClose', async () => gauge.stop());
}
