/** What makes an inbound event itself: its identity, its bytes, and the key they hash to. */
import { createHash } from 'node:crypto';

/** The longest record identity the relay stores (the contract's 400 above it). */
export const MAX_IDENTITY_CHARS = 512;

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * What makes a stored event a duplicate: its identity *and* its exact bytes. A vendor's retry
 * resends the same bytes; a forged body that borrows a real event's identity is a different
 * event, stored and delivered on its own (the trigger refuses it), so it can never shadow the
 * genuine one. The account is hashed in too, so the key is unique on its own: 16 bytes (128 bits
 * of SHA-256) keep the unique index small whatever the identity's length.
 */
export const dedupKey = (accountId: string, identity: string, body: string): Buffer =>
  // Lengths first, so no two (account, identity, body) triples hash the same text.
  createHash('sha256').update(`${accountId.length}:${accountId}\n${identity.length}:${identity}\n`).update(body).digest().subarray(0, 16);
