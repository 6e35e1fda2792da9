import { equalJitterDelayMs } from '../../contract/backoff';
import type { GateSettings } from '../../contract/broker-settings';
import type { ClosedBy, DeferReason } from '../../contract/mint-token-payload';
import type { FailureReason } from '../errors/broker-errors';
import { belowLimitAtMs, countInWindow, hourOf, windowBuckets } from './hourly-window';

/**
 * The fleet-wide upstream gate: the one place that decides when ThroughLine may be asked next, for
 * every caller (serve-token's mints, the schedule, rotation, operators). Pure functions of
 * (state, now, settings): the DynamoDB item that carries the state is in gate-store.ts.
 *
 * Why one shared gate and not per-instance backoff: ThroughLine's quota (~1,000 calls a day, 30/s)
 * is per customer. Per-instance or per-invocation backoff multiplies with the number of warm
 * instances and with time; one gate makes the number of upstream requests during an outage grow
 * with the logarithm of its length (until the cap), whoever asks and however many ask.
 */

export interface GateFailure {
  readonly reason: FailureReason;
  readonly status?: number;
  readonly atMs: number;
  readonly credentialVersionId: string;
}

export interface GateState {
  /** Optimistic-concurrency version of the stored item; 0 when there is none yet. */
  readonly version: number;
  readonly consecutiveFailures: number;
  /** Epoch ms before which no request may be made (0: open). */
  readonly closedUntilMs: number;
  readonly closedBy?: ClosedBy;
  /** Epoch ms of the first failure of the current streak (0: no streak). */
  readonly failingSinceMs: number;
  readonly lastFailure?: GateFailure;
  /** The request in flight, if any: who holds the gate, and until when at most. */
  readonly lease?: { readonly owner: string; readonly untilMs: number };
  /** Upstream requests per hour, keyed by hour number since the epoch (floor(ms / 3.6e6)). */
  readonly hourlyRequests: Readonly<Record<string, number>>;
  /** Lifetime in seconds of the last token ThroughLine issued. */
  readonly issuedLifetimeSeconds?: number;
  /** Times an operator overrode the gate (all time). */
  readonly overrides: number;
}

export const EMPTY_GATE: GateState = {
  version: 0,
  consecutiveFailures: 0,
  closedUntilMs: 0,
  failingSinceMs: 0,
  hourlyRequests: {},
  overrides: 0,
};

/** What a caller is told to wait while another request is in flight: it will have finished or failed soon. */
const IN_FLIGHT_RETRY_MS = 1_000;

export type Admission =
  | { readonly admitted: true; readonly probe: boolean; readonly next: GateState }
  | { readonly admitted: false; readonly reason: DeferReason; readonly retryAtMs: number };

export interface AdmitRequest {
  /** Identifies this request's lease (e.g. the Lambda request id plus an attempt number). */
  readonly owner: string;
  /** Credentials the request would use: a rejection of other credentials does not hold these back. */
  readonly credentialVersionId: string;
  /** An operator's override: skips waits and the budget, never the in-flight lease. */
  readonly override?: boolean;
}

/** Upstream requests counted in the rolling 24 hours (the current hour and the 23 before it). */
export function requestsInWindow(state: GateState, nowMs: number): number {
  return countInWindow(state.hourlyRequests, nowMs);
}

/** When the window will hold fewer than `budget` requests again: oldest hours leave first. */
export function budgetFreesAtMs(state: GateState, nowMs: number, budget: number): number {
  return belowLimitAtMs(state.hourlyRequests, nowMs, budget);
}

function leaseHeldByOther(state: GateState, owner: string, nowMs: number): boolean {
  return state.lease !== undefined && state.lease.owner !== owner && state.lease.untilMs > nowMs;
}

/** Whether the recorded wait applies to a request with these credentials. */
function waitApplies(state: GateState, credentialVersionId: string, nowMs: number): boolean {
  if (state.closedUntilMs <= nowMs) return false;
  // New credentials (rotation, `credentials set`) are not held back by the rejection of the old ones.
  if (state.closedBy === 'credentials_rejected')
    return state.lastFailure?.credentialVersionId === credentialVersionId;
  return true;
}

/**
 * May a request to ThroughLine start now? If so, the next state holds the lease (one request in
 * flight fleet-wide: this is also the single-flight of mints) and counts the request in the
 * budget. The first request after a failure is the half-open probe: its outcome decides.
 */
export function admit(
  state: GateState,
  nowMs: number,
  request: AdmitRequest,
  settings: GateSettings,
): Admission {
  if (leaseHeldByOther(state, request.owner, nowMs)) {
    const untilMs = state.lease?.untilMs ?? nowMs;
    return {
      admitted: false,
      reason: 'request_in_flight',
      retryAtMs: Math.min(untilMs, nowMs + IN_FLIGHT_RETRY_MS),
    };
  }
  if (!request.override) {
    if (waitApplies(state, request.credentialVersionId, nowMs)) {
      const reason: DeferReason =
        state.closedBy === 'credentials_rejected'
          ? 'credentials_rejected'
          : state.closedBy === 'retry_after'
            ? 'rate_limited'
            : 'backoff';
      return { admitted: false, reason, retryAtMs: state.closedUntilMs };
    }
    if (requestsInWindow(state, nowMs) >= settings.dailyRequestBudget) {
      return {
        admitted: false,
        reason: 'budget_exhausted',
        retryAtMs: budgetFreesAtMs(state, nowMs, settings.dailyRequestBudget),
      };
    }
  }
  const currentHour = hourOf(nowMs);
  const hourlyRequests: Record<string, number> = {};
  for (const [hour, count] of windowBuckets(state.hourlyRequests, nowMs))
    hourlyRequests[String(hour)] = count;
  hourlyRequests[String(currentHour)] = (hourlyRequests[String(currentHour)] ?? 0) + 1;
  return {
    admitted: true,
    probe: state.consecutiveFailures > 0,
    next: {
      ...state,
      lease: { owner: request.owner, untilMs: nowMs + settings.leaseSeconds * 1000 },
      hourlyRequests,
      overrides: state.overrides + (request.override ? 1 : 0),
    },
  };
}

export type RequestOutcome =
  | { readonly ok: true; readonly issuedLifetimeSeconds: number }
  | {
      readonly ok: false;
      readonly reason: FailureReason;
      readonly status?: number | undefined;
      readonly retryAfterSeconds?: number | undefined;
      readonly credentialVersionId: string;
    };

/** The wait after the n-th consecutive failure (n ≥ 1): equal jitter, so never a hot retry. */
export function backoffMs(consecutiveFailures: number, settings: GateSettings, random: () => number): number {
  return equalJitterDelayMs(
    consecutiveFailures - 1,
    settings.backoffBaseSeconds * 1000,
    settings.backoffCapSeconds * 1000,
    random,
  );
}

/**
 * The state after an admitted request ended. Success opens the gate. Any failure closes it:
 * invalid_client for the configured wait (for those credentials only); everything else with
 * capped exponential backoff, never shorter than ThroughLine's Retry-After.
 */
export function recordOutcome(
  state: GateState,
  nowMs: number,
  owner: string,
  outcome: RequestOutcome,
  settings: GateSettings,
  random: () => number = Math.random,
): GateState {
  const lease = state.lease && state.lease.owner !== owner ? state.lease : undefined;
  const base = { ...state, lease };
  if (!lease) delete (base as { lease?: unknown }).lease;
  if (outcome.ok) {
    const { closedBy: _closedBy, ...rest } = base;
    return {
      ...rest,
      consecutiveFailures: 0,
      closedUntilMs: 0,
      failingSinceMs: 0,
      issuedLifetimeSeconds: outcome.issuedLifetimeSeconds,
    };
  }
  const consecutiveFailures = state.consecutiveFailures + 1;
  let waitMs: number;
  let closedBy: ClosedBy;
  if (outcome.reason === 'invalid_client') {
    waitMs = settings.credentialsRejectedWaitSeconds * 1000;
    closedBy = 'credentials_rejected';
  } else {
    const backoff = backoffMs(consecutiveFailures, settings, random);
    const retryAfterMs =
      outcome.retryAfterSeconds !== undefined
        ? Math.min(outcome.retryAfterSeconds, settings.maxRetryAfterSeconds) * 1000
        : 0;
    waitMs = Math.max(backoff, retryAfterMs);
    closedBy = retryAfterMs >= backoff && retryAfterMs > 0 ? 'retry_after' : 'backoff';
  }
  return {
    ...base,
    consecutiveFailures,
    closedUntilMs: nowMs + waitMs,
    closedBy,
    failingSinceMs: state.failingSinceMs || nowMs,
    lastFailure: {
      reason: outcome.reason,
      ...(outcome.status !== undefined ? { status: outcome.status } : {}),
      atMs: nowMs,
      credentialVersionId: outcome.credentialVersionId,
    },
  };
}

/** Releases a lease without recording an outcome (the request was never sent). */
export function releaseLease(state: GateState, owner: string): GateState {
  if (!state.lease || state.lease.owner !== owner) return state;
  const { lease: _lease, ...rest } = state;
  return rest;
}

/**
 * Seconds since the current streak of failures began (0 when the last request succeeded): how long
 * the gate has been holding ThroughLine back, the figure the gate alarm reads. A streak ends only
 * with a successful request, so a gate whose wait ran out without a probe still counts.
 */
export function closedForSeconds(state: GateState, nowMs: number): number {
  if (state.consecutiveFailures === 0 || state.failingSinceMs === 0) return 0;
  return Math.max(0, Math.floor((nowMs - state.failingSinceMs) / 1000));
}
