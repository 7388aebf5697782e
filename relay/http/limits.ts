/**
 * The cap on request-body bytes held in memory at once, across every request (RELAY_MAX_BUFFERED_MB).
 * Each body reserves its declared length before a byte is read (a chunked body reserves as it
 * arrives) and gives it back when its response is done or its connection dies; a body that
 * does not fit is answered 503 + Retry-After at once and its connection closed. With the time
 * limits this bounds what thousands of stalled uploads can hold.
 */
import { Transform } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from './util.js';

export class ByteBudget {
  private used = 0;

  constructor(readonly capacity: number) {}

  get held(): number {
    return this.used;
  }

  tryReserve(n: number): boolean {
    if (this.used + n > this.capacity) return false;
    this.used += n;
    return true;
  }

  release(n: number): void {
    this.used = Math.max(0, this.used - n);
  }

  /** A Fastify `preParsing` hook that holds the request's body bytes against this budget. */
  hook() {
    const full = () => new HttpError(503, 'too many request bodies are being received at once; retry shortly', 2);
    return async (request: FastifyRequest, reply: FastifyReply, payload: NodeJS.ReadableStream & { receivedEncodedLength?: number }) => {
      const declared = Number(request.headers['content-length']);
      // Past the route's own limit the answer is 413, before a byte is read or held.
      if (declared > (request.routeOptions.bodyLimit ?? Infinity)) return payload;
      let held = 0;
      const release = () => {
        this.release(held);
        held = 0;
      };
      reply.raw.once('close', release);
      if (Number.isFinite(declared) && declared >= 0) {
        if (!this.tryReserve(declared)) {
          request.closeConnection = true;
          throw full();
        }
        held = declared;
        return payload;
      }
      // Chunked: reserve each chunk as it comes.
      const budget = this;
      const counted = new Transform({
        transform(chunk: Buffer, _enc, done) {
          if (!budget.tryReserve(chunk.length)) {
            request.closeConnection = true;
            done(full());
            return;
          }
          held += chunk.length;
          (counted as unknown as { receivedEncodedLength: number }).receivedEncodedLength += chunk.length;
          done(null, chunk);
        },
      });
      (counted as unknown as { receivedEncodedLength: number }).receivedEncodedLength = 0;
      payload.pipe(counted);
      return counted;
    };
  }
}
