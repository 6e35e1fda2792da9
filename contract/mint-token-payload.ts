/**
 * What crosses the mint-token boundary: the payload it accepts (from serve-token, the refresh
 * workflow, the rotation function and operators through the CLI) and the value it answers. mint-token
 * never returns a token: callers read it from the encrypted cache (contract/token-cache-schema.ts).
 */
import type { FailureReason } from './error-registry';
import type { TokenMetadata } from './token-cache-schema';

/**
 * The payload mint-token accepts. Callers: serve-token (ensure, with the caller's min_ttl, a
 * rejected token's fingerprint or a request to verify the cache), the refresh workflow (refresh),
 * the rotation function (ensure), operators through the `operator` alias (ensure with force or a
 * gate override, flush, describe, usage).
 */
export interface MintTokenRequest {
  /**
   * ensure (default) and refresh: make the cache hold a fresh token. flush: delete the cached token.
   * describe: return the cached token's metadata (never the token) and the gate's state, without minting.
   * usage (operator entry point only): proxy mode's quota ledger against the daily quota and shares,
   * without minting or calling ThroughLine.
   */
  readonly action: 'ensure' | 'refresh' | 'flush' | 'describe' | 'usage';
  /** Operator entry point only. */
  readonly force?: boolean;
  readonly minTtlSeconds?: number;
  /** Free-text caller label for the audit log (e.g. "serve-token", "schedule", an operator's name). */
  readonly requestedBy?: string;
  /** Operator entry point only: pass the gate's wait and daily budget, for this reason (logged, counted). */
  readonly overrideReason?: string;
  /** A token a consumer reports ThroughLine rejected, by fingerprint (contract/token-fingerprint.ts). */
  readonly rejectedFingerprint?: string;
  /** The caller could not decrypt the cached token: check it and replace it if it is unusable. */
  readonly verifyCache?: boolean;
  /** How long the caller will wait for an answer (ms): mint-token does not wait for the gate beyond it. */
  readonly waitBudgetMs?: number;
}

/**
 * Which way mint-token was invoked. `operator`: through its `operator` alias, which only operator
 * principals may invoke (IAM); everything else is the serving entry point (serve-token, schedule,
 * rotation), which may only ask for a token, never force one, flush the cache or override the gate.
 */
export type MintEntryPoint = 'serving' | 'operator';

/** The alias name of mint-token's operator entry point: shared by the stack, the handler and the CLI. */
export const OPERATOR_ALIAS = 'operator';

/** Why the gate's wait was set: shown to callers and operators. */
export type ClosedBy = 'backoff' | 'retry_after' | 'credentials_rejected';

/** Why the gate refused a request now. */
export type DeferReason =
  /** Another request to ThroughLine is in flight (the half-open probe, or a normal mint). */
  | 'request_in_flight'
  /** ThroughLine failed recently; the next probe waits (capped exponential backoff). */
  | 'backoff'
  /** ThroughLine asked for a pause (Retry-After); nobody calls it sooner. */
  | 'rate_limited'
  /** ThroughLine rejected these credentials (invalid_client); they are not tried again until the wait ends or they change. */
  | 'credentials_rejected'
  /** The rolling 24-hour budget of upstream requests is spent. */
  | 'budget_exhausted';

/** Why mint-token minted: the cache was empty, forced, no longer fresh, of old credentials, reported rejected, or unreadable. */
export type MintReason =
  | 'empty'
  | 'forced'
  | 'not_fresh'
  | 'credential_version_changed'
  | 'rejected_downstream'
  | 'cache_unreadable';

/** The gate's state as callers may see it: no secret, no token. */
export interface GateView {
  readonly open: boolean;
  readonly consecutiveFailures: number;
  /** Epoch seconds before which nothing calls ThroughLine (absent when open). */
  readonly closedUntil?: number;
  readonly lastFailure?: FailureReason;
  readonly requestsLast24Hours: number;
  readonly dailyRequestBudget: number;
  readonly issuedLifetimeSeconds?: number;
}

export type EnsureTokenResult =
  | ({ readonly outcome: 'fresh' } & TokenMetadata)
  | ({
      readonly outcome: 'minted';
      readonly why: MintReason;
      readonly attempts: number;
      /** False when a newer token won the conditional write: the metadata is the stored token's. */
      readonly written: boolean;
    } & TokenMetadata)
  | {
      /** ThroughLine was not asked (or failed and is backing off): a typed answer, never a slow failure. */
      readonly outcome: 'deferred';
      readonly reason: DeferReason | 'upstream_unavailable';
      /** Seconds until the gate lets the next request through: the caller's Retry-After. */
      readonly retryAfterSeconds: number;
      /** Whether this invocation made an upstream request (that failed). */
      readonly attempted: boolean;
      readonly gate: GateView;
      /** The cached token's metadata, if any: callers may still serve it while it is servable. */
      readonly cached: TokenMetadata | null;
    }
  | {
      /**
       * The broker has never had credentials: the secret is still as deployed (no value, or the
       * placeholder) and nothing was ever minted. A known first-deploy state, answered as a value so
       * the schedule neither fails nor pages every run; one TICKET alarm (NotConfigured) says so.
       */
      readonly outcome: 'not_configured';
      readonly reason: 'credentials_not_set';
      /** What to do, in the operator's words (the command to run). */
      readonly message: string;
    };

/** A daily share of the quota as it stands (contract/broker-settings.ts QuotaShares). */
export interface ShareView {
  /** The principal's own share, its account's (all the account's principals together), or the default per principal. */
  readonly scope: 'principal' | 'account' | 'default';
  readonly dailyCalls: number;
  /** Calls the share has left now: the share less the calls counted against it (0 when spent). */
  readonly remaining: number;
  /** Epoch seconds when a spent share admits a call again (the proxy's Retry-After); null while calls remain. */
  readonly availableAt: number | null;
}

/** One caller principal (a role or user ARN; sessions count as their role) in the rolling 24 hours. */
export interface PrincipalUsage {
  readonly principalArn: string;
  /** The principal's account, from its ARN (null when the proxy saw no principal: `unknown`). */
  readonly accountId: string | null;
  /** The principal's calls to ThroughLine's API through the proxy. */
  readonly calls: number;
  /** Its share; with scope `account`, `remaining` is the account's (the proxy counts the account then). */
  readonly share: ShareView;
  /** Epoch seconds when the oldest hour holding its calls leaves the window; null without calls. */
  readonly oldestHourLeavesAt: number | null;
}

/** One account (all its principals) in the rolling 24 hours. */
export interface AccountUsage {
  readonly accountId: string;
  readonly calls: number;
  /** The account's own share; null when it has none (each of its principals has a share then). */
  readonly share: ShareView | null;
  readonly oldestHourLeavesAt: number | null;
}

/**
 * Proxy mode's quota ledger as it stands (the `usage` action): every call the broker sent to
 * ThroughLine in the rolling 24 hours — token requests (the upstream gate's count) and proxied API
 * calls — against the daily quota and its reserve, per principal and per account. Counts and ARNs only.
 */
export interface QuotaUsageReport {
  readonly outcome: 'usage';
  /** Epoch seconds the ledger was read at. */
  readonly asOf: number;
  readonly windowHours: number;
  readonly dailyQuotaCalls: number;
  /** At this many calls only cached answers are served and on-call is paged. */
  readonly reserveCalls: number;
  /** Token requests plus proxied API calls: what ThroughLine counts against the quota. */
  readonly callsLast24Hours: number;
  readonly tokenRequestsLast24Hours: number;
  readonly apiCallsLast24Hours: number;
  /** Calls left before the reserve (0 when it is reached). */
  readonly remainingBeforeReserve: number;
  /** Epoch seconds when the total falls below the reserve again; null while below it. */
  readonly reserveReachedUntil: number | null;
  /** Epoch seconds when the oldest counted hour leaves the window; null when nothing is counted. */
  readonly oldestHourLeavesAt: number | null;
  /** The share of each principal without one of its own or of its account. */
  readonly defaultDailyCalls: number;
  /** Principals with calls in the window or a share of their own, most calls first. */
  readonly principals: readonly PrincipalUsage[];
  /** Accounts with calls in the window or a share of their own, most calls first. */
  readonly accounts: readonly AccountUsage[];
}

/** mint-token's answer to every action. */
export type MintTokenResponse =
  | EnsureTokenResult
  | { readonly outcome: 'flushed'; readonly removed: boolean }
  | { readonly outcome: 'described'; readonly cached: TokenMetadata | null; readonly gate: GateView }
  | QuotaUsageReport
  /** `usage` on a stack without proxy mode: nothing meters calls per consumer (the settings have no quota). */
  | { readonly outcome: 'usage_unavailable'; readonly reason: 'proxy_mode_off' };

/** A token mint-token made sure of: its metadata (minted now, or the fresh one it found). */
export type ObtainedToken = Extract<EnsureTokenResult, { outcome: 'minted' | 'fresh' }>;
