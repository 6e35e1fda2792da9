import type { APIGatewayProxyResult } from 'aws-lambda';
import type { TokenRecord } from '../../contract/token-cache-schema';

/**
 * What serve-token answers. Success follows RFC 6749 §5.1 (no-store, no-cache). Error bodies are
 * fixed texts plus the caller's own mistake: never an internal reason, error class or upstream detail.
 */
export interface TokenResponseBody {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  /** Seconds of life left when served. */
  readonly expires_in: number;
  /** Expiry as epoch seconds (UTC). */
  readonly expires_at: number;
}

export type TokenErrorCode = 'invalid_request' | 'token_unavailable' | 'internal_error';

export interface TokenErrorBody {
  readonly error: TokenErrorCode;
  readonly message: string;
}

/** The direct-invocation result: the same bodies, with the Retry-After as a field. */
export type DirectTokenResult = TokenResponseBody | (TokenErrorBody & { readonly retry_after?: number });

/** On every response: tokens must not be stored by any cache between the broker and the caller. */
export const RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'application/json',
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
  'X-Content-Type-Options': 'nosniff',
};

export const UNAVAILABLE_MESSAGE =
  'No access token can be issued right now. Retry after the number of seconds in Retry-After; if this persists, tell the token broker operators.';
export const INTERNAL_ERROR_MESSAGE =
  'The token broker failed unexpectedly. Retry later; if this persists, tell the token broker operators.';

/** A min_ttl above ThroughLine's token lifetime: what the caller can ask for instead. */
export function minTtlUnattainableMessage(facts: {
  readonly issuedLifetimeSeconds: number;
  readonly alwaysServableMinTtlSeconds: number;
}): string {
  return `min_ttl is more than the lifetime ThroughLine gives its tokens (${facts.issuedLifetimeSeconds} s), so no token can ever have that much left. Ask for at most ${facts.alwaysServableMinTtlSeconds} s to be served at any time (or up to ${facts.issuedLifetimeSeconds} s right after a refresh).`;
}

/** A min_ttl above what the fresh cached token has left: the broker mints at most once per refresh window. */
export function noTokenLongEnoughMessage(retryAfterSeconds: number): string {
  return `The cached token has less life left than min_ttl, and the broker replaces a fresh token at most once per refresh window: retry after ${retryAfterSeconds} s (Retry-After), or ask for a smaller min_ttl.`;
}

export function tokenBody(record: TokenRecord, nowSeconds: number): TokenResponseBody {
  return {
    access_token: record.accessToken,
    token_type: 'Bearer',
    expires_in: Math.max(0, record.expiresAt - nowSeconds),
    expires_at: record.expiresAt,
  };
}

export function errorBody(error: TokenErrorCode, message: string): TokenErrorBody {
  return { error, message };
}

export function apiResponse(
  statusCode: number,
  body: TokenResponseBody | TokenErrorBody,
  retryAfterSeconds?: number,
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: {
      ...RESPONSE_HEADERS,
      ...(retryAfterSeconds !== undefined ? { 'Retry-After': String(retryAfterSeconds) } : {}),
    },
    body: JSON.stringify(body),
  };
}
