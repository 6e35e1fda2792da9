/**
 * Why a rotation step stopped. Each class names one situation and its message says what the
 * operator does next; none carries a credential or a token (messages are built from facts: version
 * ids, error class names, HTTP statuses). Every failure before finishSecret's stage move leaves
 * AWSCURRENT untouched, and the messages say so.
 */
export abstract class RotationError extends Error {
  /** Whether running the rotation again with the same staged credentials can succeed. */
  abstract readonly retryable: boolean;
}

/** The function was invoked with something other than a Secrets Manager rotation event. */
export class RotationEventError extends RotationError {
  override readonly name = 'RotationEventError';
  readonly retryable = false;
}

/** The event names a secret other than the broker's credentials secret. */
export class WrongSecretError extends RotationError {
  override readonly name = 'WrongSecretError';
  readonly retryable = false;
}

/**
 * Nothing to rotate to: no version carries the staged-credentials label (or the event names a version
 * Secrets Manager never created). ThroughLine issues credentials only in its dashboard, so the
 * rotation cannot make them up: an operator stages them first.
 */
export class RotationNotStagedError extends RotationError {
  override readonly name = 'RotationNotStagedError';
  readonly retryable = false;
}

/**
 * The rotation's version lost its AWSPENDING label before it became AWSCURRENT: Secrets Manager
 * abandoned the rotation because a new version was written meanwhile (CloudTrail `RotationAbandoned`),
 * or an operator released it. Nothing is promoted; a new rotation starts from a fresh version.
 */
export class RotationAbandonedError extends RotationError {
  override readonly name = 'RotationAbandonedError';
  readonly retryable = false;
}

/** The staged value is not usable {"client_id","client_secret"} JSON (or is the deploy placeholder). */
export class StagedCredentialsInvalidError extends RotationError {
  override readonly name = 'StagedCredentialsInvalidError';
  readonly retryable = false;
}

/** The staged credentials are the ones already in use: rotating to them changes nothing. */
export class StagedCredentialsUnchangedError extends RotationError {
  override readonly name = 'StagedCredentialsUnchangedError';
  readonly retryable = false;
}

/** ThroughLine did not issue a token for the staged credentials. `upstreamError` is the broker error class. */
export class StagedCredentialsTestFailedError extends RotationError {
  override readonly name = 'StagedCredentialsTestFailedError';
  constructor(
    message: string,
    readonly upstreamError: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** The new credentials are AWSCURRENT, but the token cache could not be refreshed with them. */
export class CacheRefreshAfterRotationError extends RotationError {
  override readonly name = 'CacheRefreshAfterRotationError';
  readonly retryable = true;
}
