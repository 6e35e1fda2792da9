import { createHash } from 'node:crypto';

/**
 * A token's fingerprint: the first 16 hex digits (64 bits) of its SHA-256. Consumers send it to say
 * "ThroughLine rejected this token" without sending the token; the broker compares it with the
 * cached token's. A prefix of a hash of a high-entropy token reveals nothing usable about it.
 */
export const FINGERPRINT_PATTERN = /^[0-9a-f]{16}$/;

export function tokenFingerprint(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'utf8').digest('hex').slice(0, 16);
}
