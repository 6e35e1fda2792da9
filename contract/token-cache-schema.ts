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

/**
 * Proxy mode's quota ledger, in the same table as the gate: one item per hour, `usage#<hour number>`,
 * holding the hour's proxied ThroughLine API calls in all (`total`) and per caller
 * (`principal:<role or user ARN>`, `account:<account id>`). Atomic counters (UpdateItem ADD).
 */
export const USAGE_KEY_PREFIX = 'usage#';
export const USAGE_TOTAL_ATTRIBUTE = 'total';
export const USAGE_PRINCIPAL_ATTRIBUTE_PREFIX = 'principal:';
export const USAGE_ACCOUNT_ATTRIBUTE_PREFIX = 'account:';
/**
 * Proxy mode's fleet-wide rate limit: one item per second, `rate#<epoch second>`, counting the calls
 * sent to ThroughLine's API in that second (conditional UpdateItem ADD below the limit).
 */
export const RATE_KEY_PREFIX = 'rate#';
/**
 * Proxy mode's shared response cache (off by default): one item per cached GET answer,
 * `response#<SHA-256 of the normalised path and query>`, holding the status, the passed headers and
 * the gzipped body. Helpline data is public; the table is still encrypted with the broker key.
 */
export const RESPONSE_KEY_PREFIX = 'response#';
export const RATE_COUNT_ATTRIBUTE = 'calls';
/**
 * Proxy mode's fleet-wide hold on ThroughLine's API: one item, `upstream-api-hold`, with the
 * consecutive failures (5xx, 429, unreachable), the time before which no call is sent, and the one
 * probe allowed when that time has passed. Read with the ledger (same BatchGetItem).
 */
export const UPSTREAM_API_HOLD_KEY = 'upstream-api-hold';
