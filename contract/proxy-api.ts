/**
 * Proxy mode's API (issue 13): internal services call ThroughLine through the broker and never hold a
 * token. `GET|POST <TokenApiUrl>throughline/<ThroughLine path>` on the same IAM-authenticated API as
 * `GET /token`; ThroughLine's status and body come back unchanged. What the broker adds, and its own
 * refusals, are defined here for the CDK app, the proxy function and the clients (TypeScript, Python).
 */

/** The API resource under which ThroughLine's paths are proxied: `/throughline/{path+}`. */
export const PROXY_PATH = 'throughline';

/** Methods the proxy route accepts (each configured ThroughLine route narrows them further). */
export const PROXY_METHODS = ['GET', 'POST'] as const;
export type ProxyMethod = (typeof PROXY_METHODS)[number];

/** An upstream path the proxy forwards, and with which methods. */
export interface ProxyRoute {
  /** An absolute path of plain segments, e.g. `/v2/helplines`. */
  readonly prefix: string;
  readonly methods: readonly ProxyMethod[];
  /**
   * Whether paths below the prefix match too (`/v2/helplines/{id}`). Matching is by whole segments:
   * `/v2/helplines` never matches `/v2/helplinesX`.
   * @default false
   */
  readonly subpaths?: boolean;
}

export const DEFAULT_UPSTREAM_BASE_URL = 'https://api.throughlinecare.com';

/**
 * ThroughLine's v2 endpoints as far as they can be known: no stored ThroughLine page documents a v2
 * path, so these are the documented v1 paths with `v1` replaced by `v2` (docs/throughline-api.md,
 * "v1, v2 and the sunset"). Check them against ThroughLine's API reference before release.
 */
export const THROUGHLINE_API_VERSION = 'v2';
export const DEFAULT_PROXY_ROUTES: readonly ProxyRoute[] = [
  { prefix: `/${THROUGHLINE_API_VERSION}/helplines`, methods: ['GET'], subpaths: true },
  { prefix: `/${THROUGHLINE_API_VERSION}/countries`, methods: ['GET'] },
  { prefix: `/${THROUGHLINE_API_VERSION}/topics`, methods: ['GET'] },
  { prefix: `/${THROUGHLINE_API_VERSION}/events/helpline_display`, methods: ['POST'] },
  { prefix: `/${THROUGHLINE_API_VERSION}/events/helpline_click`, methods: ['POST'] },
];

/**
 * The broker's own error codes on the proxy route, in the token API's error shape
 * `{"error": <code>, "message": <fixed text>}`. Any other body is ThroughLine's, unchanged.
 */
export const ProxyErrorCode = {
  /** 400: the path or query breaks the proxy's rules (lambda/proxy/proxy-request.ts). */
  InvalidRequest: 'invalid_request',
  /** 404: a path outside the configured ThroughLine routes. */
  PathNotAllowed: 'path_not_allowed',
  /** 405: a method the route does not accept (`Allow` says which do). */
  MethodNotAllowed: 'method_not_allowed',
  /** 413 / 415: a body too large, or of a media type the route does not take. */
  RequestTooLarge: 'request_too_large',
  UnsupportedMediaType: 'unsupported_media_type',
  /** 429: the caller has used its daily share of ThroughLine's quota; Retry-After says when a call frees up. */
  QuotaShareExhausted: 'quota_share_exhausted',
  /** 503: the customer's whole daily quota is at its reserve: only cached answers are served. */
  QuotaReserveReached: 'quota_reserve_reached',
  /** 503: the broker's fleet-wide per-second limit is full for longer than the call may wait. */
  RateLimited: 'rate_limited',
  /** 503: no access token can be had right now (the token route's code). */
  TokenUnavailable: 'token_unavailable',
  /** 502 / 504: ThroughLine could not be reached, timed out, or answered more than the broker passes on. */
  UpstreamUnavailable: 'upstream_unavailable',
  UpstreamResponseTooLarge: 'upstream_response_too_large',
  /** 500. */
  InternalError: 'internal_error',
} as const;
export type ProxyErrorCode = (typeof ProxyErrorCode)[keyof typeof ProxyErrorCode];

/** The error body of the broker's own refusals (the token API's shape). */
export interface ProxyErrorBody {
  readonly error: ProxyErrorCode;
  readonly message: string;
}

/**
 * Response header the broker adds to every proxied answer: where it came from. `miss`: ThroughLine
 * answered this call; `hit`: the shared response cache (off by default); `stale`: ThroughLine failed
 * or the quota reserve is reached, and this is the last good answer; `none`: the broker answered
 * itself (a refusal).
 */
export const CACHE_STATUS_HEADER = 'X-Broker-Cache';
export type CacheStatus = 'miss' | 'hit' | 'stale' | 'none';

/** Response header on a 429 quota_share_exhausted, `remaining=<calls>; daily=<calls>`: the caller's remaining share (0) and its daily share. */
export const SHARE_HEADER = 'X-Broker-Quota-Share';
