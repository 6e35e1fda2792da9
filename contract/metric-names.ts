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
  /**
   * A mint failed. Emitted twice per failure: with dimension `Reason` (the FailureReason, for
   * diagnosis) and without it (all reasons together, for the alarm: alarms cannot sum a SEARCH).
   */
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
  /**
   * The upstream gate refused a request (ThroughLine not asked) or a request failed and the gate is
   * backing off. Emitted with dimension `Reason` (the DeferReason, or upstream_unavailable).
   */
  UpstreamDeferred: 'UpstreamDeferred',
  /** The rolling 24-hour budget of upstream requests was spent: a request was refused for it. */
  UpstreamBudgetExhausted: 'UpstreamBudgetExhausted',
  /** Seconds since the current streak of upstream failures began (0 when the last request succeeded). Every mint-token invocation records it. */
  UpstreamGateClosedSeconds: 'UpstreamGateClosedSeconds',
  /** Upstream token requests in the rolling 24 hours, as the gate counts them. Every mint-token invocation records it. */
  UpstreamRequestsLast24Hours: 'UpstreamRequestsLast24Hours',
  /** UpstreamRequestsLast24Hours as a percentage of the gate's hard daily budget (the budget alarms read it). */
  UpstreamBudgetUsedPercent: 'UpstreamBudgetUsedPercent',
  /** An operator overrode the gate (CLI `token refresh --override-gate --reason …`). */
  UpstreamGateOverridden: 'UpstreamGateOverridden',
  /**
   * mint-token was asked for a token before any credentials were ever put in (the secret is as
   * deployed and nothing was ever minted): the first-deploy state. The NotConfigured TICKET alarm reads it.
   */
  BrokerNotConfigured: 'BrokerNotConfigured',
  /** A credential rotation promoted new credentials to AWSCURRENT. */
  CredentialsRotated: 'CredentialsRotated',
  /** A rotation step failed; dimension `Step` holds the step (createSecret, setSecret, testSecret, finishSecret). */
  RotationStepFailed: 'RotationStepFailed',

  // serve-token (consumer API and direct invocations)
  /** One token request to serve-token, whatever its outcome. */
  TokenRequest: 'TokenRequest',
  /** Answered from the instance's in-memory copy: no AWS call. */
  TokenServedFromL1: 'TokenServedFromL1',
  /** Answered from the shared (DynamoDB) cache. */
  TokenServedFromL2: 'TokenServedFromL2',
  /** serve-token invoked mint-token (each invocation counts, throttled ones too). */
  MintRequested: 'MintRequested',
  /** mint-token was busy (reserved concurrency 1): serve-token backed off and re-read the cache. */
  MintThrottled: 'MintThrottled',
  /** A token past its refresh point was served because no fresh one could be had (stale-on-error). */
  StaleTokenServed: 'StaleTokenServed',
  /** No servable token: the caller got 503 token_unavailable. */
  TokenUnavailable: 'TokenUnavailable',
  /** A consumer reported the served token rejected by ThroughLine (GET /token?rejected=<fingerprint>). */
  RejectedTokenReported: 'RejectedTokenReported',
  /** The request was rejected as invalid (400), e.g. a bad min_ttl. */
  InvalidTokenRequest: 'InvalidTokenRequest',
  /** Seconds left on the token served. */
  ServedTokenSecondsToExpiry: 'ServedTokenSecondsToExpiry',

  // proxy-throughline (proxy mode)
  /** One call to the proxy route, whatever its outcome. */
  ProxyRequest: 'ProxyRequest',
  /** One request to ThroughLine's API (not its token endpoint) sent by the proxy: the quota's unit. */
  UpstreamApiCall: 'UpstreamApiCall',
  /** Milliseconds of one request to ThroughLine's API. */
  UpstreamApiLatency: 'UpstreamApiLatency',
  /** ThroughLine's API answered 5xx, could not be reached or timed out. */
  UpstreamApiFailed: 'UpstreamApiFailed',
  /** A call not sent because ThroughLine's API failed or throttled recently (the fleet-wide hold). */
  UpstreamApiHeld: 'UpstreamApiHeld',
  /** ThroughLine's API answered 429 (its rate limit or daily quota). */
  UpstreamApiThrottled: 'UpstreamApiThrottled',
  /** ThroughLine's API answered 401 to the cached token: reported rejected, retried once with a replacement. */
  UpstreamApiTokenRejected: 'UpstreamApiTokenRejected',
  /** A caller was refused for its daily share of the quota (429 quota_share_exhausted). */
  QuotaShareExhausted: 'QuotaShareExhausted',
  /** A call was refused because the customer's rolling 24-hour total is at the reserve (PAGE). */
  QuotaReserveReached: 'QuotaReserveReached',
  /** Calls to ThroughLine (token requests and API calls) in the rolling 24 hours, as the proxy counts them. */
  QuotaCallsLast24Hours: 'QuotaCallsLast24Hours',
  /** QuotaCallsLast24Hours as a percentage of the daily quota. */
  QuotaUsedPercent: 'QuotaUsedPercent',
  /** The fleet-wide per-second limit was full for longer than the call could wait (503 rate_limited). */
  ProxyRateLimited: 'ProxyRateLimited',
  /** A call refused by the proxy's own rules (path, method, headers, body): ThroughLine not asked. */
  ProxyRequestRefused: 'ProxyRequestRefused',
  /** Answered from the shared response cache within its TTL: ThroughLine not asked, no quota spent. */
  ProxyCacheHit: 'ProxyCacheHit',
  /** The last good answer served past its TTL because ThroughLine failed or the reserve was reached. */
  ProxyCacheStaleServed: 'ProxyCacheStaleServed',
  /** A cacheable answer was too large for the cache item and was not stored (it was still served). */
  ProxyCacheStoreSkipped: 'ProxyCacheStoreSkipped',
} as const;

export type MetricName = (typeof MetricName)[keyof typeof MetricName];

/** Dimension carrying a bounded FailureReason on MintFailed. */
export const REASON_DIMENSION = 'Reason';

/**
 * Dimension Powertools Metrics adds to every metric: the value of POWERTOOLS_SERVICE_NAME, which
 * the stack sets to its own name, so two brokers in one account (e.g. sandbox and production)
 * never share a metric.
 */
export const SERVICE_DIMENSION = 'service';

/** Dimension carrying the rotation step on RotationStepFailed (four values). */
export const STEP_DIMENSION = 'Step';
