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
