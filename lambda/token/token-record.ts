import type { MintReason } from '../../contract/mint-token-payload';
import type { TokenMetadata, TokenRecord } from '../../contract/token-cache-schema';
/**
 * The cached token and the rules for when it may be served and when it must be replaced.
 * Pure functions of (record, now): no clock or I/O here, so every rule is unit-testable.
 */
export function metadataOf(record: TokenRecord): TokenMetadata {
  const { accessToken: _omitted, ...metadata } = record;
  return metadata;
}

export function refreshAtFor(mintedAt: number, lifetimeSeconds: number, refreshAtFraction: number): number {
  return mintedAt + Math.floor(lifetimeSeconds * refreshAtFraction);
}

export function secondsToExpiry(record: Pick<TokenRecord, 'expiresAt'>, now: number): number {
  return record.expiresAt - now;
}

/** Fresh: before its refresh point. A fresh token needs no mint. */
export function isFresh(record: Pick<TokenRecord, 'refreshAt' | 'expiresAt'>, now: number): boolean {
  return now < record.refreshAt && now < record.expiresAt;
}

/** Servable: at least `minTtlSeconds` of life left. An expired token is never servable. */
export function isServable(
  record: Pick<TokenRecord, 'expiresAt'>,
  now: number,
  minTtlSeconds: number,
): boolean {
  return record.expiresAt - now >= Math.max(1, minTtlSeconds);
}

export type MintDecision =
  | { readonly mint: false; readonly why: 'fresh' }
  | {
      readonly mint: true;
      readonly why: MintReason;
    };

/** The lifetime ThroughLine gave the token (what a fresh token of the same kind would have). */
export function issuedLifetimeSeconds(record: Pick<TokenRecord, 'mintedAt' | 'expiresAt'>): number {
  return record.expiresAt - record.mintedAt;
}

/**
 * Whether mint-token must call ThroughLine. It mints only when the cached token is missing or
 * unreadable, no longer fresh, was minted with other credentials (so a rotation takes effect at
 * once), was reported rejected by ThroughLine while it is still the cached one — or when an
 * operator forces it. A caller's min_ttl never causes a mint by itself: a fresh token is replaced
 * at most once per refresh window, so no request pattern can spend the quota faster than that.
 */
export function decideMint(
  record: TokenMetadata | undefined,
  currentCredentialVersionId: string,
  now: number,
  options: {
    readonly force?: boolean;
    /** The cached token is the one a consumer reported rejected (matched by fingerprint). */
    readonly rejectedDownstream?: boolean;
    /** The cached item exists but could not be parsed or decrypted. */
    readonly unreadable?: boolean;
  } = {},
): MintDecision {
  if (options.force) return { mint: true, why: 'forced' };
  if (options.unreadable) return { mint: true, why: 'cache_unreadable' };
  if (!record) return { mint: true, why: 'empty' };
  if (record.credentialVersionId !== currentCredentialVersionId)
    return { mint: true, why: 'credential_version_changed' };
  if (!isFresh(record, now)) return { mint: true, why: 'not_fresh' };
  if (options.rejectedDownstream) return { mint: true, why: 'rejected_downstream' };
  return { mint: false, why: 'fresh' };
}
