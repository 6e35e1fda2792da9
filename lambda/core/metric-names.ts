/**
 * The one definition of what the handlers emit and what alarms and dashboards read.
 * Imported by the Lambda code and by the CDK monitoring constructs, so they cannot drift apart.
 */
export const METRIC_NAMESPACE = 'ThroughLineTokenBroker';

export const MetricName = {
  /** A token was obtained from ThroughLine and cached. */
  TokenMinted: 'TokenMinted',
  /** mint-token found a fresh token of the current credential version and made no upstream call. */
  MintSkippedFresh: 'MintSkippedFresh',
  /** A mint failed; dimension `Reason` holds the FailureReason. */
  MintFailed: 'MintFailed',
  /** ThroughLine answered invalid_client: credentials revoked or wrong. */
  InvalidClient: 'InvalidClient',
  /** One HTTP request to the token endpoint (each attempt counts: the figure for the daily quota). */
  UpstreamTokenRequest: 'UpstreamTokenRequest',
  /** Milliseconds of one token endpoint request. */
  UpstreamLatency: 'UpstreamLatency',
  /** Lifetime in seconds of the token just minted (after defaulting and capping). */
  TokenLifetime: 'TokenLifetime',
  /** The response carried no usable expires_in and the configured default lifetime was used. */
  DefaultLifetimeUsed: 'DefaultLifetimeUsed',
  /** Seconds until the cached token expires, as seen by a mint or refresh. */
  CachedTokenSecondsToExpiry: 'CachedTokenSecondsToExpiry',
  /** Days since the AWSCURRENT credentials version was created (put in or rotated), as seen by a mint or refresh. */
  CredentialAgeDays: 'CredentialAgeDays',
  /** A credential rotation promoted new credentials to AWSCURRENT. */
  CredentialsRotated: 'CredentialsRotated',
  /** A rotation step failed; dimension `Step` holds the step (createSecret, setSecret, testSecret, finishSecret). */
  RotationStepFailed: 'RotationStepFailed',
} as const;

export type MetricName = (typeof MetricName)[keyof typeof MetricName];

/** Dimension carrying a bounded FailureReason on MintFailed. */
export const REASON_DIMENSION = 'Reason';

/** Dimension carrying the rotation step on RotationStepFailed (four values). */
export const STEP_DIMENSION = 'Step';
