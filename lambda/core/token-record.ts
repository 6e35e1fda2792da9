/**
 * The cached token and the rules for when it may be served and when it must be replaced.
 * Pure functions of (record, now): no clock or I/O here, so every rule is unit-testable.
 */
export interface TokenRecord {
  readonly accessToken: string;
  /** Always "Bearer": the only type the broker accepts and serves. */
  readonly tokenType: 'Bearer';
  /** Epoch seconds. */
  readonly mintedAt: number;
  readonly expiresAt: number;
  /** Epoch seconds after which the token is no longer fresh and a refresh is due. */
  readonly refreshAt: number;
  /** Secrets Manager version id of the credentials the token was minted with. */
  readonly credentialVersionId: string;
}

/** Metadata of a record: everything but the token, safe to log and return. */
export type TokenMetadata = Omit<TokenRecord, 'accessToken'>;

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
      readonly why: 'empty' | 'forced' | 'not_fresh' | 'credential_version_changed' | 'below_min_ttl';
    };

/**
 * Whether mint-token must call ThroughLine. It mints only when the cached token is missing,
 * no longer fresh, too short-lived for the caller, or was minted with other credentials
 * (so a rotation takes effect at once) — or when an operator forces it.
 */
export function decideMint(
  record: TokenMetadata | undefined,
  currentCredentialVersionId: string,
  now: number,
  options: { readonly force?: boolean; readonly minTtlSeconds: number },
): MintDecision {
  if (options.force) return { mint: true, why: 'forced' };
  if (!record) return { mint: true, why: 'empty' };
  if (record.credentialVersionId !== currentCredentialVersionId)
    return { mint: true, why: 'credential_version_changed' };
  if (!isFresh(record, now)) return { mint: true, why: 'not_fresh' };
  if (!isServable(record, now, options.minTtlSeconds)) return { mint: true, why: 'below_min_ttl' };
  return { mint: false, why: 'fresh' };
}
