/**
 * One delivery attempt, in three steps: prepare (the target rule checked again against the
 * configuration in force, the headers a delivery carries), post (the stored bytes, to the
 * address that check approved, within the time limits), classify (what the answer means: the
 * contract's delivery rules).
 */
import http from 'node:http';
import { SpanKind, type Span } from '@opentelemetry/api';
import https from 'node:https';
import type { RelayConfig } from '../config.js';
import { classify, retryAfterMs, type Outcome } from '../domain/retry.js';
import type { Claimed } from '../store/deliveries/claim.js';
import type { AttemptRecord } from '../store/deliveries/outcomes.js';
import { ATTR, Tracing, traceFields, traceparentOf } from '../tracing.js';
import { checkTarget, guardedLookup, guardedPost } from './targets.js';

const SNIPPET_BYTES = 1024;

/** The kept start of a response, as text (a cut multi-byte character is dropped). */
const snippetOf = (parts: Buffer[]): string | null => {
  if (parts.length === 0) return null;
  return Buffer.concat(parts).toString('utf8').replace(/\uFFFD$/, '');
};

/** What the target answered, or why there was no answer (`permanent`: refused by the rule, not worth a retry). */
interface Answer {
  status: number | null;
  /** The pause a 429 or 503 asked for (its Retry-After), in ms. */
  retryAfter?: number | null;
  error: string | null;
  permanent?: boolean;
  snippet: string | null;
}

/** What an attempt came to, and the row that keeps it. */
export interface AttemptResult {
  outcome: Outcome;
  record: AttemptRecord & { n: number };
  /** The attempt's span ids, for its log lines (tracing on). */
  trace?: { trace_id?: string; span_id?: string };
}

type Prepared = { ok: true; url: URL; headers: Record<string, string>; body: Buffer } | { ok: false; answer: Answer };

export class Attempts {
  private readonly agents: { http: http.Agent; https: https.Agent };
  private readonly lookup;

  constructor(
    private readonly cfg: RelayConfig,
    private readonly tracing: Tracing | null = null,
  ) {
    // As many sockets to one host (every Zap is on hooks.zapier.com) as there are delivery slots.
    const maxSockets = cfg.deliveryConcurrency;
    this.agents = { http: new http.Agent({ keepAlive: true, maxSockets }), https: new https.Agent({ keepAlive: true, maxSockets }) };
    this.lookup = guardedLookup(cfg.allowPrivateTargets);
  }

  /** Prepares, posts and classifies one attempt of `d`. */
  async run(d: Claimed): Promise<AttemptResult> {
    const startedAt = Date.now();
    const span = this.tracing?.ofStored(d.trace, 'delivery.attempt', SpanKind.CLIENT, this.attributes(d)) ?? null;
    const prepared = this.prepare(d, span);
    const answer = prepared.ok ? await this.post(prepared) : prepared.answer;
    const durationMs = Date.now() - startedAt;
    const outcome = this.classify(answer, d.attempts);
    if (span) this.endSpan(span, answer, outcome);
    return {
      outcome,
      record: { n: d.attempts + 1, startedAt, durationMs, statusCode: answer.status, error: answer.error, responseSnippet: answer.snippet },
      trace: span ? traceFields(span) : undefined,
    };
  }

  /** What an attempt's span says of it: ids, the target's host (its path may be a secret), the attempt's number. */
  private attributes(d: Claimed) {
    let host: { 'server.address'?: string; 'server.port'?: number } = {};
    try {
      const u = new URL(d.target_url);
      host = { 'server.address': u.hostname, 'server.port': Number(u.port) || (u.protocol === 'https:' ? 443 : 80) };
    } catch {
      // An unreadable URL is refused by prepare; the span says so.
    }
    return { 'http.request.method': 'POST', ...host, [ATTR.event]: d.event_id, [ATTR.account]: d.account_id, [ATTR.subscription]: d.hook_id, [ATTR.delivery]: d.id, [ATTR.attempt]: d.attempts + 1 };
  }

  private endSpan(span: Span, answer: Answer, outcome: Outcome): void {
    span.setAttribute(ATTR.outcome, outcome.kind);
    if (answer.status !== null) span.setAttribute('http.response.status_code', answer.status);
    if (outcome.kind !== 'delivered') {
      // The status or the error's class only: an error text may carry the target's address.
      const reason = answer.status !== null ? `HTTP ${answer.status}` : answer.permanent ? 'target refused by the relay' : (answer.error ?? 'no answer').split(':')[0];
      span.setAttribute('error.type', answer.status !== null ? String(answer.status) : reason);
      Tracing.fail(span, reason);
    }
    span.end();
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  /**
   * The whole target rule (scheme, credentials, allowlist, port, literal addresses) checked again
   * against the configuration in force, and the headers: the provider's signature header under
   * its original name, the relay's own, and when the relay received the event.
   */
  private prepare(d: Claimed, span: Span | null): Prepared {
    const rule = checkTarget(d.target_url, this.cfg);
    if (!rule.ok) return { ok: false, answer: { status: null, error: `target refused by this relay's configuration: ${rule.error}`, permanent: true, snippet: null } };
    const body = Buffer.from(d.body, 'utf8');
    const headers = {
      ...d.headers,
      'Content-Type': 'application/json',
      'Content-Length': String(body.length),
      'User-Agent': 'demohooks-relay/1',
      'X-Relay-Event-Id': d.event_id,
      'X-Relay-Attempt': String(d.attempts + 1),
      // A timestamped vendor signature is judged against this, not the time of this attempt.
      'X-Relay-Received-At': new Date(d.received_at).toISOString(),
      // The target joins the event's trace as this attempt's child (W3C Trace Context).
      ...(span ? { traceparent: traceparentOf(span) } : {}),
    };
    return { ok: true, url: rule.url, headers, body };
  }

  /**
   * POSTs the stored bytes. A name is resolved and checked at connect time, and the socket goes
   * to the address that check approved. Redirects are not followed (a 3xx is an answer, not an
   * invitation to go elsewhere); the first 1 KiB of the answer is kept, the rest drained unread.
   */
  private post(p: { url: URL; headers: Record<string, string>; body: Buffer }): Promise<Answer> {
    return new Promise((resolve) => {
      const req = guardedPost(
        p.url,
        { agents: this.agents, lookup: this.lookup, timeoutMs: this.cfg.deliveryTimeoutMs, headers: p.headers },
        (res) => {
          const parts: Buffer[] = [];
          let kept = 0;
          res.on('data', (c: Buffer) => {
            if (kept < SNIPPET_BYTES) {
              parts.push(c.subarray(0, SNIPPET_BYTES - kept));
              kept += Math.min(c.length, SNIPPET_BYTES - kept);
            }
          });
          const done = () => resolve({ status: res.statusCode ?? null, error: null, snippet: snippetOf(parts), retryAfter: retryAfterMs(res.headers['retry-after'], Date.now()) });
          res.on('end', done);
          res.on('error', done);
        },
        (err) => {
          if (err.code === 'ETARGETPRIVATE') resolve({ status: null, error: err.message, permanent: true, snippet: null });
          else resolve({ status: null, error: `${err.code ?? 'network error'}: ${err.message}`.slice(0, 300), snippet: null });
        },
      );
      req.end(p.body);
    });
  }

  /** A refusal by the target rule is final; anything else by the contract's rules. */
  private classify(a: Answer, previousAttempts: number): Outcome {
    return a.permanent ? { kind: 'failed', status: a.status, error: a.error ?? 'refused' } : classify(a.status, a.error, previousAttempts, this.cfg, a.retryAfter ?? null);
  }
}
