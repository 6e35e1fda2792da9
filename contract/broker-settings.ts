/**
 * The runtime settings of the broker's functions: what the CDK app writes (from the validated stage
 * config, lib/config/schema.ts) into environment variables and the handlers read back
 * (lambda/runtime/settings.ts, lambda/serving/serve-token-settings.ts). The CDK side builds them
 * with `satisfies` from the config's output types, so a field renamed on either side fails tsc.
 */

export type ClientAuthentication = 'client_secret_post' | 'client_secret_basic';

export interface UpstreamSettings {
  readonly tokenUrl: string;
  readonly clientAuthentication: ClientAuthentication;
  readonly scope?: string;
  readonly requestTimeoutMs: number;
  readonly totalBudgetMs: number;
  readonly maxAttempts: number;
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
}

export interface TokenSettings {
  readonly defaultLifetimeSeconds: number;
  readonly maxLifetimeSeconds: number;
  readonly refreshAtFraction: number;
  readonly minTtlSeconds: number;
  readonly maxMinTtlSeconds: number;
}

export interface BrokerSettings {
  readonly upstream: UpstreamSettings;
  readonly token: TokenSettings;
  readonly gate: GateSettings;
}

export interface GateSettings {
  /** First wait after a transient failure; doubles per consecutive failure (equal jitter). */
  readonly backoffBaseSeconds: number;
  /** Longest wait between probes while ThroughLine keeps failing. */
  readonly backoffCapSeconds: number;
  /** Wait after invalid_client before the same credentials are tried again (new credentials skip it). */
  readonly credentialsRejectedWaitSeconds: number;
  /** A Retry-After longer than this is honoured only this long (an absurd header must not stop the broker for weeks). */
  readonly maxRetryAfterSeconds: number;
  /** Hard limit on upstream token requests in any rolling 24 hours. At the limit nothing calls ThroughLine. */
  readonly dailyRequestBudget: number;
  /** How long one admitted request holds the gate; the longest a request may take, plus margin. */
  readonly leaseSeconds: number;
}

/**
 * Runtime settings of serve-token, written by the stack from the validated `api` and `token`
 * config. Its own module (not BrokerSettings): serve-token has no business with upstream settings.
 */
export interface ServeTokenSettings {
  /** min_ttl when the caller gives none. */
  readonly defaultMinTtlSeconds: number;
  /** The most a caller may ask for with min_ttl. */
  readonly maxMinTtlSeconds: number;
  /** Bound on how long the in-memory (L1) copy answers before the shared cache is read again. */
  readonly l1MaxAgeSeconds: number;
  /** Time one request may spend reading caches and waiting for a mint. */
  readonly requestBudgetMs: number;
  /** Retry-After of a 503 after a transient failure. */
  readonly retryAfterSeconds: number;
  /** Equal-jitter backoff between cache re-reads while another instance mints. */
  readonly mintThrottleBackoffBaseMs: number;
  readonly mintThrottleBackoffCapMs: number;
}
