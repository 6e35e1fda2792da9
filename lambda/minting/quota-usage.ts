import type { QuotaSettings, QuotaShares } from '../../contract/broker-settings';
import type {
  AccountUsage,
  PrincipalUsage,
  QuotaUsageReport,
  ShareView,
} from '../../contract/mint-token-payload';
import type { QuotaLedger } from '../aws/quota-ledger-store';
import { callerPrincipal, principalKey } from '../proxy/caller-principal';
import { type CallerShare, customerCalls, shareOf } from '../proxy/quota-ledger';
import {
  belowLimitAtMs,
  countInWindow,
  HOUR_MS,
  type HourlyCounts,
  WINDOW_HOURS,
  windowBuckets,
} from '../upstream/hourly-window';

/**
 * mint-token's `usage` answer, a pure function of (the whole ledger, the quota rules, now): the
 * customer's calls to ThroughLine in the rolling 24 hours against the quota and its reserve, and per
 * principal and per account their calls, share and what is left of it. Shares follow the proxy's
 * own rules (lambda/proxy/quota-ledger.ts `shareOf`), and what is left is counted the way its
 * `decideQuota` counts: a principal whose share is its account's spends the account's calls.
 */
export function quotaUsageReport(ledger: QuotaLedger, quota: QuotaSettings, nowMs: number): QuotaUsageReport {
  const customer = customerCalls(ledger);
  const callsLast24Hours = countInWindow(customer, nowMs);
  const reserveReached = callsLast24Hours >= quota.reserveCalls;

  // Principals and accounts with calls in the window, and those with a share of their own (even unused).
  const ownShares = new Set(
    Object.keys(quota.shares.byPrincipalArn).flatMap((arn) => principalKey(arn) ?? []),
  );
  const principalArns = new Set([
    ...Object.keys(ledger.byPrincipal).filter(
      (arn) => countInWindow(ledger.byPrincipal[arn] ?? {}, nowMs) > 0,
    ),
    ...ownShares,
  ]);
  const accountIds = new Set([
    ...Object.keys(ledger.byAccount).filter((id) => countInWindow(ledger.byAccount[id] ?? {}, nowMs) > 0),
    ...Object.keys(quota.shares.byAccountId),
  ]);

  const principals = [...principalArns].map((arn): PrincipalUsage => {
    const caller = callerPrincipal(arn, null);
    const counts = ledger.byPrincipal[arn] ?? {};
    const share = shareOf(caller, quota.shares);
    const spent =
      share.scope === 'account' && caller.accountId !== undefined
        ? (ledger.byAccount[caller.accountId] ?? {})
        : counts;
    return {
      principalArn: arn,
      accountId: caller.accountId ?? null,
      calls: countInWindow(counts, nowMs),
      share: shareView(share, spent, nowMs),
      oldestHourLeavesAt: oldestHourLeavesAt(counts, nowMs),
    };
  });
  const accounts = [...accountIds].map((accountId): AccountUsage => {
    const counts = ledger.byAccount[accountId] ?? {};
    const share = accountShareOf(accountId, quota.shares);
    return {
      accountId,
      calls: countInWindow(counts, nowMs),
      share: share ? shareView(share, counts, nowMs) : null,
      oldestHourLeavesAt: oldestHourLeavesAt(counts, nowMs),
    };
  });

  return {
    outcome: 'usage',
    asOf: Math.floor(nowMs / 1000),
    windowHours: WINDOW_HOURS,
    dailyQuotaCalls: quota.dailyQuotaCalls,
    reserveCalls: quota.reserveCalls,
    callsLast24Hours,
    tokenRequestsLast24Hours: countInWindow(ledger.tokenRequests, nowMs),
    apiCallsLast24Hours: countInWindow(ledger.apiCalls, nowMs),
    remainingBeforeReserve: Math.max(0, quota.reserveCalls - callsLast24Hours),
    reserveReachedUntil: reserveReached
      ? epochSeconds(belowLimitAtMs(customer, nowMs, quota.reserveCalls))
      : null,
    oldestHourLeavesAt: oldestHourLeavesAt(customer, nowMs),
    defaultDailyCalls: quota.shares.defaultDailyCalls,
    principals: principals.sort((a, b) => b.calls - a.calls || a.principalArn.localeCompare(b.principalArn)),
    accounts: accounts.sort((a, b) => b.calls - a.calls || a.accountId.localeCompare(b.accountId)),
  };
}

/**
 * An account's own share, by `shareOf`'s rules for a caller of that account that has no share of
 * its own (no principal ARN matches the empty one); the default share is per principal, not the account's.
 */
function accountShareOf(accountId: string, shares: QuotaShares): CallerShare | undefined {
  const share = shareOf({ principalArn: '', accountId }, shares);
  return share.scope === 'account' ? share : undefined;
}

function shareView(share: CallerShare, spent: HourlyCounts, nowMs: number): ShareView {
  const used = countInWindow(spent, nowMs);
  const remaining = Math.max(0, share.dailyCalls - used);
  return {
    scope: share.scope,
    dailyCalls: share.dailyCalls,
    remaining,
    availableAt: remaining === 0 ? epochSeconds(belowLimitAtMs(spent, nowMs, share.dailyCalls)) : null,
  };
}

/** When the oldest hour holding calls leaves the rolling window (epoch seconds), or null without calls. */
function oldestHourLeavesAt(counts: HourlyCounts, nowMs: number): number | null {
  const oldest = windowBuckets(counts, nowMs)[0];
  return oldest ? epochSeconds((oldest[0] + WINDOW_HOURS) * HOUR_MS) : null;
}

function epochSeconds(ms: number): number {
  return Math.ceil(ms / 1000);
}
