/** What a store call refuses, in words an operator can act on. */

/** An account holds the most subscriptions it may. */
export class HookLimit extends Error {
  constructor(readonly max: number) {
    super(`this account already has ${max} subscriptions, the most a relay account may hold (RELAY_MAX_HOOKS_PER_ACCOUNT); turn off Zaps you no longer use`);
  }
}

/** A cursor that names no row of this account (a stale or forged `before`). */
export class UnknownCursor extends Error {}

/** A filter that names no subscription of this account (another account's id, or none): 404, not an empty list. */
export class UnknownFilter extends Error {}

/**
 * A request refused: an HTTP status and one sentence that says what was wrong and what to do
 * (`retryAfterS` for a `Retry-After` header on 429 and 503). Intake refuses with it; the HTTP
 * layer answers with it.
 */
export class Refused extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterS?: number,
  ) {
    super(message);
  }
}
