/** How a target's answer is treated (the contract's delivery rules), and when to try again. */

/**
 * What an attempt came to. `retry` carries a delay, not a time: the store adds it to the
 * database clock and gives up instead when the retry would fall past the give-up window.
 */
export type Outcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'gone'; status: number }
  | { kind: 'retry'; status: number | null; error: string; delayMs: number }
  /** The target said it is busy (429, 503): the whole target pauses for `delayMs`, then its deliveries resume in order. */
  | { kind: 'throttled'; status: number; error: string; delayMs: number }
  | { kind: 'failed'; status: number | null; error: string };

/** Exponential backoff with ±20 % jitter: about 1 s, 2 s, 4 s … capped (1 h by default). */
export function backoffMs(previousAttempts: number, baseMs: number, maxMs: number, rand = Math.random): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.min(previousAttempts, 40));
  return Math.round(raw * (0.8 + 0.4 * rand()));
}

/** The longest pause a target's Retry-After may ask for. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/**
 * A `Retry-After` header as a pause in ms (RFC 9110: delta-seconds or an HTTP date), capped at
 * an hour; null when absent or unreadable (the backoff applies then).
 */
export function retryAfterMs(header: string | string[] | undefined, nowMs: number): number | null {
  const v = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!v) return null;
  if (/^\d+$/.test(v)) return Math.min(MAX_RETRY_AFTER_MS, Number(v) * 1000);
  const at = /[a-z]/i.test(v) ? Date.parse(v) : NaN;
  if (Number.isNaN(at)) return null;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, at - nowMs));
}

/**
 * 2xx delivered; 410 gone (the REST hooks rule); 429 and 503 throttled (the target pauses for
 * its Retry-After, or the backoff); 408, other 5xx and no answer retried with backoff; any other
 * answer failed, kept for inspection.
 */
export function classify(
  status: number | null,
  error: string | null,
  previousAttempts: number,
  cfg: { retryBaseMs: number; retryMaxMs: number },
  retryAfter: number | null = null,
): Outcome {
  if (status !== null && status >= 200 && status < 300) return { kind: 'delivered', status };
  if (status === 410) return { kind: 'gone', status };
  if (status === 429 || status === 503) {
    const delayMs = retryAfter ?? backoffMs(previousAttempts, cfg.retryBaseMs, cfg.retryMaxMs);
    return { kind: 'throttled', status, error: `HTTP ${status}: the target asked to slow down (paused ${Math.round(delayMs / 100) / 10} s)`, delayMs };
  }
  const retryable = status === null || status === 408 || status === 429 || status >= 500;
  const why = error ?? `HTTP ${status}`;
  if (!retryable) {
    const rule = status !== null && status >= 300 && status < 400 ? 'a redirect is not followed' : status !== null && status < 200 ? 'not a final answer' : '4xx other than 408/429';
    return { kind: 'failed', status, error: `${why}: not retried (${rule})` };
  }
  return { kind: 'retry', status, error: why, delayMs: backoffMs(previousAttempts, cfg.retryBaseMs, cfg.retryMaxMs) };
}
