import type { QuotaShares } from '../../contract/broker-settings';
import { belowLimitAtMs, countInWindow, type HourlyCounts } from '../upstream/hourly-window';
import type { ApiHold } from './api-hold';
import { type CallerPrincipal, principalKey } from './caller-principal';

/**
 * The quota decisions of proxy mode, pure functions of (what the ledger holds, now). ThroughLine's
 * quota is per customer: about 1,000 calls in a rolling 24 hours across all of its applications
 * (docs/throughline-api.md). The ledger counts every call the broker sends — token requests (the
 * upstream gate's count) and proxied API calls — and gives each caller a daily share, so one
 * service's loop cannot spend everybody's day; near the whole quota (the reserve) only cached
 * answers are served and on-call is paged.
 */

/** What the ledger holds for one call's decision, as hourly counts of the rolling window. */
export interface UsageSnapshot {
  /** Proxied API calls, all callers. */
  readonly apiCalls: HourlyCounts;
  /** Token requests (the upstream gate's own hourly count). */
  readonly tokenRequests: HourlyCounts;
  /** This caller's principal's calls. */
  readonly principalCalls: HourlyCounts;
  /** This caller's account's calls. */
  readonly accountCalls: HourlyCounts;
  /** The fleet-wide hold on ThroughLine's API (api-hold.ts), read in the same request. */
  readonly hold: ApiHold;
}

/** Whose count a caller's share is measured against, and how large it is. */
export interface CallerShare {
  readonly scope: 'principal' | 'account' | 'default';
  readonly dailyCalls: number;
}

export type QuotaDecision =
  | {
      readonly admit: true;
      readonly share: CallerShare;
      readonly usedByCaller: number;
      readonly callsLast24Hours: number;
    }
  | {
      readonly admit: false;
      readonly reason: 'quota_share_exhausted';
      readonly retryAfterSeconds: number;
      readonly share: CallerShare;
      readonly usedByCaller: number;
      readonly callsLast24Hours: number;
    }
  | {
      readonly admit: false;
      readonly reason: 'quota_reserve_reached';
      readonly retryAfterSeconds: number;
      readonly callsLast24Hours: number;
    };

/**
 * The caller's share: its own (by role or user ARN) if configured, else its account's (all the
 * account's principals together), else the default share for each principal.
 */
export function shareOf(caller: CallerPrincipal, shares: QuotaShares): CallerShare {
  for (const [arn, dailyCalls] of Object.entries(shares.byPrincipalArn)) {
    if (principalKey(arn) === caller.principalArn) return { scope: 'principal', dailyCalls };
  }
  const accountShare = caller.accountId !== undefined ? shares.byAccountId[caller.accountId] : undefined;
  if (accountShare !== undefined) return { scope: 'account', dailyCalls: accountShare };
  return { scope: 'default', dailyCalls: shares.defaultDailyCalls };
}

/** Both counts together: the customer's calls to ThroughLine. */
export function customerCalls(snapshot: Pick<UsageSnapshot, 'apiCalls' | 'tokenRequests'>): HourlyCounts {
  const merged: Record<string, number> = { ...snapshot.apiCalls };
  for (const [hour, count] of Object.entries(snapshot.tokenRequests))
    merged[hour] = (merged[hour] ?? 0) + count;
  return merged;
}

/**
 * Whether one more call may go to ThroughLine. The reserve is checked first: it protects every
 * caller, and paging on-call about it matters more than any one caller's share. A refusal says when
 * a call frees up: when the oldest counted hour leaves the window far enough (at least 1 s).
 */
export function decideQuota(
  snapshot: UsageSnapshot,
  share: CallerShare,
  limits: { readonly reserveCalls: number },
  nowMs: number,
): QuotaDecision {
  const customer = customerCalls(snapshot);
  const callsLast24Hours = countInWindow(customer, nowMs);
  if (callsLast24Hours >= limits.reserveCalls) {
    return {
      admit: false,
      reason: 'quota_reserve_reached',
      retryAfterSeconds: secondsUntil(belowLimitAtMs(customer, nowMs, limits.reserveCalls), nowMs),
      callsLast24Hours,
    };
  }
  const callerCounts = share.scope === 'account' ? snapshot.accountCalls : snapshot.principalCalls;
  const usedByCaller = countInWindow(callerCounts, nowMs);
  if (usedByCaller >= share.dailyCalls) {
    return {
      admit: false,
      reason: 'quota_share_exhausted',
      retryAfterSeconds: secondsUntil(belowLimitAtMs(callerCounts, nowMs, share.dailyCalls), nowMs),
      share,
      usedByCaller,
      callsLast24Hours,
    };
  }
  return { admit: true, share, usedByCaller, callsLast24Hours };
}

function secondsUntil(atMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil((atMs - nowMs) / 1000));
}
