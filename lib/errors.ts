/**
 * Why a webhook was refused. `signature` refusals mean "this may be a forgery": the
 * Zapier layer halts the run. `payload` refusals mean the bytes were authentic (or
 * unsigned) but cannot become a record: the Zapier layer raises a visible error.
 *
 * Messages name the provider, the header and the fix. They never contain a secret or the
 * signature values: the secret scrubber would catch a secret, but the rule is simpler when
 * nothing sensitive is ever put into a message.
 */
export type RefusalKind = 'signature' | 'payload';

export class WebhookRefused extends Error {
  readonly kind: RefusalKind;
  readonly code: string;

  constructor(kind: RefusalKind, code: string, message: string) {
    super(message);
    this.name = 'WebhookRefused';
    this.kind = kind;
    this.code = code;
  }
}

export const isWebhookRefused = (err: unknown): err is WebhookRefused =>
  err instanceof WebhookRefused;
