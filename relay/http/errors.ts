/**
 * How the HTTP layer answers what goes wrong: `{error}` with a status that says what was
 * wrong and what to do, a 404 (and a closed connection) for an unknown inbound URL, and the
 * connections that must end after their answer.
 */
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../log.js';
import type { App } from './deps.js';
import { HttpError, notJson, safeUrlForLog } from './util.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set on a response that must end its connection (413, unknown inbound URL): the rest of the body is never read. */
    closeConnection?: boolean;
  }
}

export const JSON_API_BODY_BYTES = 64 * 1024;
const CLOSE_LINGER_MS = 500;

/** `{error}` with the status, and `Retry-After` when the client should come back. */
export function sendError(reply: FastifyReply, status: number, message: string, retryAfterS?: number) {
  if (retryAfterS !== undefined) reply.header('Retry-After', String(retryAfterS));
  return reply.code(status).type('application/json').send(JSON.stringify({ error: message }));
}

/**
 * 404 for a path this relay does not serve (or cannot parse). Anything under an inbound path is
 * an unknown inbound URL: answered, and the connection closed without reading the rest of what
 * a scanner sends.
 */
export function notFound(request: FastifyRequest, reply: FastifyReply) {
  if (!request.url.toLowerCase().includes('inbound')) return sendError(reply, 404, 'not found');
  request.closeConnection = true;
  return sendError(reply, 404, 'unknown inbound URL');
}

/** A request as logs name it: its route's pattern, or the path with any token cut out. */
export const routeForLog = (request: FastifyRequest) => request.routeOptions.url ?? safeUrlForLog(request.url);

/** The message of a failed schema check: the schemas' own messages name their field; others get it prefixed. */
function validationMessage(err: FastifyError): string {
  const first = err.validation![0];
  const field = first.instancePath.replace(/^\//, '').replace(/\//g, '.') || 'body';
  const message = first.message ?? 'is invalid';
  return message.startsWith(field.split('.')[0]) || message.startsWith('body') ? message : `${field}: ${message}`;
}

/** The error handler, the 404s, and the hooks that close a connection after its answer and log each request. */
export function installErrorHandling(app: App, log: Logger): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof HttpError) return sendError(reply, err.status, err.message, err.retryAfterS);
    if (hasZodFastifySchemaValidationErrors(err)) {
      if (err.validationContext === 'params') return sendError(reply, 404, 'not found');
      return sendError(reply, 400, validationMessage(err));
    }
    switch (err.code) {
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
        const e = notJson(request.headers['content-type']);
        return sendError(reply, e.status, e.message);
      }
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        request.closeConnection = true;
        return sendError(reply, 413, `body larger than ${request.routeOptions.bodyLimit ?? JSON_API_BODY_BYTES} bytes`);
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        request.closeConnection = true;
        return sendError(reply, 400, 'the body does not match its Content-Length');
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return sendError(reply, 400, 'body is not valid JSON');
    }
    if (err instanceof SyntaxError || err.statusCode === 400) return sendError(reply, 400, 'body is not valid JSON');
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) return sendError(reply, err.statusCode, err.message);
    log('error', 'request failed', { method: request.method, route: routeForLog(request), error: err.message });
    return sendError(reply, 503, 'temporarily unavailable; retry', 5);
  });

  app.setNotFoundHandler(notFound);

  // A response that must end its connection (413, unknown inbound URL, no room for its body)
  // says `Connection: close` and ends it: the answer, a FIN so the client stops sending, and
  // the socket destroyed after a short linger. Node would destroy it as soon as the answer is
  // written (`destroySoon`), resetting a connection the client is still sending on, and the
  // client might never read the answer that says what was wrong; the linger lets it.
  app.addHook('onSend', async (request, reply) => {
    const socket = request.raw.socket as (typeof request.raw.socket & { destroySoon?: () => void }) | null;
    if (!request.closeConnection || !socket) return;
    reply.header('Connection', 'close');
    socket.destroySoon = () => {
      socket.end();
      setTimeout(() => socket.destroy(), CLOSE_LINGER_MS).unref();
    };
  });
  app.addHook('onResponse', async (request, reply) => {
    if (log.pino.isLevelEnabled('debug')) {
      log('debug', 'request', { method: request.method, route: routeForLog(request), status: reply.statusCode, ms: Math.round(reply.elapsedTime) });
    }
  });
}
