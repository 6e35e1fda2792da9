/**
 * The broker's error taxonomy. Callers branch on the class (or `reason`), never on message text.
 * `retryable` says whether trying the same request again can succeed; `reason` is the bounded
 * value used as a metric dimension — both come from the registry (error-registry.ts). Messages never contain a credential or a token: they are
 * built here from facts (status codes, field names), never from upstream bodies or secret values.
 */
import { type FailureReason, MINT_ERRORS } from '../../contract/error-registry';

export type { FailureReason } from '../../contract/error-registry';

export abstract class BrokerError extends Error {
  abstract readonly reason: FailureReason;
  abstract readonly retryable: boolean;
}

/** The credentials secret holds no value yet, or still holds the deploy-time placeholder. */
export class CredentialsNotSetError extends BrokerError {
  override readonly name = 'CredentialsNotSetError';
  readonly reason = MINT_ERRORS.CredentialsNotSetError.reason;
  readonly retryable = MINT_ERRORS.CredentialsNotSetError.retryable;
}

/** What an operator reads when the broker has no credentials yet (also in the NotConfigured alarm's runbook). */
export const NOT_CONFIGURED_MESSAGE =
  'The broker has no ThroughLine credentials yet (the secret is as deployed). Put them in with: npm run -s broker -- --stage <stage> credentials set (README.md, "Putting the credentials in").';

/** The credentials secret holds a value that is not {"client_id","client_secret"} JSON. */
export class CredentialsMalformedError extends BrokerError {
  override readonly name = 'CredentialsMalformedError';
  readonly reason = MINT_ERRORS.CredentialsMalformedError.reason;
  readonly retryable = MINT_ERRORS.CredentialsMalformedError.retryable;
}

/** ThroughLine rejected the client credentials (revoked, regenerated or wrong). Pages on-call. */
export class InvalidClientError extends BrokerError {
  override readonly name = 'InvalidClientError';
  readonly reason = MINT_ERRORS.InvalidClientError.reason;
  readonly retryable = MINT_ERRORS.InvalidClientError.retryable;
  constructor(
    message: string,
    readonly status: number,
    readonly oauthError: string | undefined,
  ) {
    super(message);
  }
}

/** Any other 4xx (or a redirect): the request itself is wrong, so a retry gets the same answer. */
export class UpstreamRejectedError extends BrokerError {
  override readonly name = 'UpstreamRejectedError';
  readonly reason = MINT_ERRORS.UpstreamRejectedError.reason;
  readonly retryable = MINT_ERRORS.UpstreamRejectedError.retryable;
  constructor(
    message: string,
    readonly status: number,
    readonly oauthError: string | undefined,
  ) {
    super(message);
  }
}

/** Network error, timeout, 5xx or 429: may succeed later. `retryAfterSeconds` from the server, if any. */
export class UpstreamUnavailableError extends BrokerError {
  override readonly name = 'UpstreamUnavailableError';
  readonly reason = MINT_ERRORS.UpstreamUnavailableError.reason;
  readonly retryable = MINT_ERRORS.UpstreamUnavailableError.retryable;
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(message);
  }
}

/** The token endpoint's TLS certificate was not trusted. Never retried: it may be an interception. */
export class UntrustedUpstreamError extends BrokerError {
  override readonly name = 'UntrustedUpstreamError';
  readonly reason = MINT_ERRORS.UntrustedUpstreamError.reason;
  readonly retryable = MINT_ERRORS.UntrustedUpstreamError.retryable;
}

/** A 200 response that is not a usable token response (not JSON, no access_token, wrong token_type). */
export class BadTokenResponseError extends BrokerError {
  override readonly name = 'BadTokenResponseError';
  readonly reason = MINT_ERRORS.BadTokenResponseError.reason;
  readonly retryable = MINT_ERRORS.BadTokenResponseError.retryable;
}

/** The cached token record could not be read, decrypted or written. */
export class TokenCacheError extends BrokerError {
  override readonly name = 'TokenCacheError';
  readonly reason = MINT_ERRORS.TokenCacheError.reason;
  readonly retryable = MINT_ERRORS.TokenCacheError.retryable;
}
