import type { ProxyErrorCode } from '../contract/proxy-api';

/**
 * The consumer client's errors. Callers branch on the class. Messages carry the HTTP status and
 * the API's own error message, never a token or a credential.
 */
export abstract class TokenClientError extends Error {
  /** Whether asking again later can succeed. */
  abstract readonly retryable: boolean;
  constructor(
    message: string,
    /** HTTP status of the last response, if there was one. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** 400: the request is wrong (e.g. min_ttl out of range). Fix the call. */
export class InvalidTokenRequestError extends TokenClientError {
  override readonly name = 'InvalidTokenRequestError';
  readonly retryable = false;
}

/** 401/403: not signed by an allowed principal, or the principal has no IAM grant for the API. */
export class AccessDeniedError extends TokenClientError {
  override readonly name = 'AccessDeniedError';
  readonly retryable = false;
}

/** 503 token_unavailable, still after the retries: no servable token can be had right now. */
export class TokenUnavailableError extends TokenClientError {
  override readonly name = 'TokenUnavailableError';
  readonly retryable = true;
  constructor(
    message: string,
    status: number | undefined,
    /** The API's last Retry-After, if any: when to try again. */
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(message, status);
  }
}

/** 429, still after the retries: the API's throttling limit. */
export class TokenApiThrottledError extends TokenClientError {
  override readonly name = 'TokenApiThrottledError';
  readonly retryable = true;
  constructor(
    message: string,
    status: number | undefined,
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(message, status);
  }
}

/** Any other unexpected HTTP status (after retries for 5xx). */
export class TokenApiError extends TokenClientError {
  override readonly name = 'TokenApiError';
  readonly retryable: boolean;
  constructor(
    message: string,
    status: number,
    readonly retryAfterSeconds?: number,
  ) {
    super(message, status);
    this.retryable = status >= 500;
  }
}

/** The API could not be reached, or did not answer in time. */
export class TokenRequestFailedError extends TokenClientError {
  override readonly name = 'TokenRequestFailedError';
  readonly retryable = true;
}

/** A 200 response that is not a token response. The body is not repeated: it may hold a token. */
export class MalformedTokenResponseError extends TokenClientError {
  override readonly name = 'MalformedTokenResponseError';
  readonly retryable = false;
}

/** No AWS credentials could be found or loaded to sign the request. */
export class CredentialsUnavailableError extends TokenClientError {
  override readonly name = 'CredentialsUnavailableError';
  readonly retryable = false;
}

/** The client was configured wrongly (URL, region, bounds). */
export class TokenClientConfigError extends TokenClientError {
  override readonly name = 'TokenClientConfigError';
  readonly retryable = false;
}

// ---- Proxy mode (fetchThroughLine). ThroughLine's own answers, whatever their status, are not
// errors: they come back as a Response. These are the broker's refusals (X-Broker-Cache: none, the
// body `{"error": <code>, "message"}` of contract/proxy-api.ts), API Gateway's own answers, and
// failures to reach the API at all.

/** Base of the proxy-mode errors: the broker's code, if it answered with one, and its Retry-After. */
export abstract class ThroughLineProxyError extends TokenClientError {
  constructor(
    message: string,
    status: number | undefined,
    /** The broker's error code (contract/proxy-api.ts), when the broker itself refused. */
    readonly code: ProxyErrorCode | undefined,
    /** Retry-After of the last answer, in seconds, if it had one. */
    readonly retryAfterSeconds: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, status, options);
  }
}

/**
 * The path is refused before any request: an absolute URL, a `..`, a fragment, a control character.
 * The proxy refuses these too; the client says so without signing anything.
 */
export class InvalidThroughLinePathError extends ThroughLineProxyError {
  override readonly name = 'InvalidThroughLinePathError';
  readonly retryable = false;
  constructor(message: string) {
    super(message, undefined, undefined, undefined);
  }
}

/**
 * The broker refused the request as such, before forwarding it: `invalid_request` (400/414),
 * `path_not_allowed` (404), `method_not_allowed` (405, `allow` lists the methods),
 * `request_too_large` (413), `unsupported_media_type` (415). Fix the call.
 */
export class ProxyRequestRejectedError extends ThroughLineProxyError {
  override readonly name = 'ProxyRequestRejectedError';
  readonly retryable = false;
  constructor(
    message: string,
    status: number,
    code: ProxyErrorCode,
    /** For 405: the methods the route accepts (the Allow header). */
    readonly allow: readonly string[] | undefined,
  ) {
    super(message, status, code, undefined);
  }
}

/**
 * 429 `quota_share_exhausted`: this caller has used its daily share of ThroughLine's quota. Not
 * forwarded. `retryAfterSeconds` says when a call frees up (often hours: longer than any retry budget).
 */
export class QuotaShareExhaustedError extends ThroughLineProxyError {
  override readonly name = 'QuotaShareExhaustedError';
  readonly retryable = true;
  constructor(
    message: string,
    status: number,
    retryAfterSeconds: number | undefined,
    /** The broker's X-Broker-Quota-Share header as sent (the caller's remaining and daily share). */
    readonly quotaShare: string | undefined,
  ) {
    super(message, status, 'quota_share_exhausted', retryAfterSeconds);
  }
}

/**
 * 503 `quota_reserve_reached` (the customer's whole daily quota is at its reserve and no cached
 * answer exists), `rate_limited` (the fleet-wide per-second limit is full) or `token_unavailable`
 * (no access token can be had), still after the retries. Not forwarded; `retryAfterSeconds` says when.
 */
export class ProxyUnavailableError extends ThroughLineProxyError {
  override readonly name = 'ProxyUnavailableError';
  readonly retryable = true;
}

/**
 * 502/504 `upstream_unavailable` (ThroughLine could not be reached or timed out: it may have received
 * the request) or `upstream_response_too_large` (ThroughLine answered more than the broker passes on).
 * Not retried by the client: the call may have counted against the quota.
 */
export class ThroughLineUnreachableError extends ThroughLineProxyError {
  override readonly name = 'ThroughLineUnreachableError';
  readonly retryable: boolean;
  constructor(message: string, status: number, code: ProxyErrorCode, retryAfterSeconds: number | undefined) {
    super(message, status, code, retryAfterSeconds);
    this.retryable = code === 'upstream_unavailable';
  }
}

/**
 * Any other answer that is not ThroughLine's: the broker's 500 `internal_error`, API Gateway's own
 * 429 (stage throttling), 502/504 (the proxy function failed or timed out), 413, or an unknown code.
 */
export class ProxyApiError extends ThroughLineProxyError {
  override readonly name = 'ProxyApiError';
  readonly retryable: boolean;
  constructor(
    message: string,
    status: number,
    code: ProxyErrorCode | undefined,
    retryAfterSeconds: number | undefined,
  ) {
    super(message, status, code, retryAfterSeconds);
    this.retryable = status >= 500 || status === 429;
  }
}

/**
 * The token API could not be reached, or did not answer in time. Not retried by the client: after a
 * timeout the broker may have forwarded the call (`mayHaveBeenForwarded`).
 */
export class ProxyRequestFailedError extends ThroughLineProxyError {
  override readonly name = 'ProxyRequestFailedError';
  readonly retryable = true;
  constructor(
    message: string,
    /** False only when the connection was never made (refused, DNS): then ThroughLine surely did not see it. */
    readonly mayHaveBeenForwarded: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, undefined, undefined, undefined, options);
  }
}
