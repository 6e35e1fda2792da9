/** The token table's key and TTL attribute: shared by the table construct and the cache code. */
export const CACHE_KEY_ATTRIBUTE = 'pk';
/** One stack serves one upstream application, so the table holds one current token. */
export const CURRENT_TOKEN_KEY = 'access-token';
/** The fleet-wide upstream gate's item (lambda/core/gate/): backoff, lease, daily request count. */
export const UPSTREAM_GATE_KEY = 'upstream-gate';
/** DynamoDB TTL attribute: epoch seconds after which the item may be deleted (lazily; readers still check expiry). */
export const TTL_ATTRIBUTE = 'expiresAtTtl';
