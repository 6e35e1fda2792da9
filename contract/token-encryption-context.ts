/**
 * The KMS encryption context `purpose` of cached tokens. IAM policies condition kms:Decrypt on it,
 * so the broker's key grants for tokens do not extend to anything else encrypted with the key.
 */
export const TOKEN_ENCRYPTION_PURPOSE = 'throughline-token-cache';
