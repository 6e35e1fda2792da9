/**
 * The runtime settings of the broker's functions: what the CDK app writes (from the validated stage
 * config, lib/config/schema.ts) into environment variables and the handlers read back
 * (lambda/runtime/settings.ts, lambda/serving/serve-token-settings.ts). The CDK side builds them
 * with `satisfies` from the config's output types, so a field renamed on either side fails tsc.
 */
import type { ProxyRoute } from './proxy-api';

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
  /**
   * Proxy mode's daily quota and shares, present only when proxy mode is on: mint-token reports the
   * quota ledger against them (the `usage` action). The same values the proxy function decides by.
   */
  readonly quota?: QuotaSettings;
}

/** The quota rules of proxy mode, as the proxy function reads them (ProxySettings) and mint-token reports them. */
export type QuotaSettings = Pick<ProxySettings, 'dailyQuotaCalls' | 'reserveCalls' | 'shares'>;

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

/**
 * Runtime settings of the proxy function (proxy mode, contract/proxy-api.ts), written by the stack
 * from the validated `proxy` config. Besides these it reads ServeTokenSettings: it gets its token
 * the way serve-token does.
 */
export interface ProxySettings {
  /** ThroughLine's API origin, `https://` only. */
  readonly upstreamBaseUrl: string;
  /** The ThroughLine paths (and methods) the proxy forwards. */
  readonly routes: readonly ProxyRoute[];
  /** Time one proxied call may take in all: token, ledger, rate slot, ThroughLine, one retry after a 401. */
  readonly requestBudgetMs: number;
  /** Timeout of one request to ThroughLine's API. */
  readonly upstreamTimeoutMs: number;
  /**
   * Fleet-wide ceiling on calls to ThroughLine's API per one-second bucket (by the second a call is
   * sent in). A one-second window at ThroughLine spans at most two buckets of sending, three if
   * arrival lags by up to a second: at most three times this.
   */
  readonly maxRequestsPerSecond: number;
  /** ThroughLine's daily quota for the whole customer (all its applications): calls in a rolling 24 hours. */
  readonly dailyQuotaCalls: number;
  /** At this many calls in the rolling 24 hours (token requests included) only cached answers are served. */
  readonly reserveCalls: number;
  /** Daily shares of the quota: per caller principal (role ARN), per account, and the default per principal. */
  readonly shares: QuotaShares;
  /** The shared response cache of GET answers (off unless a route prefix has a TTL). */
  readonly cache: ResponseCacheSettings;
}

export interface ResponseCacheSettings {
  /**
   * Seconds a 200 answer to a GET below each route prefix is served from the shared cache without
   * asking ThroughLine. A prefix not listed is never cached. Empty: the cache is off (the default:
   * ThroughLine's terms on caching are not public).
   */
  readonly ttlSecondsByPrefix: Readonly<Record<string, number>>;
  /**
   * How long past its TTL the last good answer may still be served, marked stale, when ThroughLine
   * fails or the quota reserve is reached (stale-if-error, RFC 5861 §4).
   */
  readonly staleIfErrorSeconds: number;
}

export interface QuotaShares {
  /** Calls in a rolling 24 hours for a principal with no share of its own or of its account. */
  readonly defaultDailyCalls: number;
  /** By IAM role or user ARN (the caller's session normalised to its role). */
  readonly byPrincipalArn: Readonly<Record<string, number>>;
  /** By AWS account id: all the account's principals together. */
  readonly byAccountId: Readonly<Record<string, number>>;
}
