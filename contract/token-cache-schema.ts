/** The token table's key and TTL attribute: shared by the table construct and the cache code. */
export const CACHE_KEY_ATTRIBUTE = 'pk';
/** One stack serves one upstream application, so the table holds one current token. */
export const CURRENT_TOKEN_KEY = 'access-token';
/** The fleet-wide upstream gate's item (lambda/upstream/): backoff, lease, daily request count. */
export const UPSTREAM_GATE_KEY = 'upstream-gate';
/** DynamoDB TTL attribute: epoch seconds after which the item may be deleted (lazily; readers still check expiry). */
export const TTL_ATTRIBUTE = 'expiresAtTtl';

/** The cached token (decrypted): what the cache item holds, encrypted under the broker key. */
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
