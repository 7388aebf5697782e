/** How a target's answer is treated (the contract's delivery rules), and when to try again. */

/**
 * What an attempt came to. `retry` carries a delay, not a time: the store adds it to the
 * database clock and gives up instead when the retry would fall past the give-up window.
 */
export type Outcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'gone'; status: number }
  | { kind: 'retry'; status: number | null; error: string; delayMs: number }
  | { kind: 'failed'; status: number | null; error: string };

/** Exponential backoff with ±20 % jitter: about 1 s, 2 s, 4 s … capped (1 h by default). */
export function backoffMs(previousAttempts: number, baseMs: number, maxMs: number, rand = Math.random): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.min(previousAttempts, 40));
  return Math.round(raw * (0.8 + 0.4 * rand()));
}

/**
 * 2xx delivered; 410 gone (the REST hooks rule); 408, 429, 5xx and no answer retried with
 * backoff; any other answer failed, kept for inspection.
 */
export function classify(status: number | null, error: string | null, previousAttempts: number, cfg: { retryBaseMs: number; retryMaxMs: number }): Outcome {
  if (status !== null && status >= 200 && status < 300) return { kind: 'delivered', status };
  if (status === 410) return { kind: 'gone', status };
  const retryable = status === null || status === 408 || status === 429 || status >= 500;
  const why = error ?? `HTTP ${status}`;
  if (!retryable) {
    const rule = status !== null && status >= 300 && status < 400 ? 'a redirect is not followed' : status !== null && status < 200 ? 'not a final answer' : '4xx other than 408/429';
    return { kind: 'failed', status, error: `${why}: not retried (${rule})` };
  }
  return { kind: 'retry', status, error: why, delayMs: backoffMs(previousAttempts, cfg.retryBaseMs, cfg.retryMaxMs) };
}
