import type { QuotaUsageReport, ShareView } from '../../contract/mint-token-payload';
import { describeTime } from './token-admin';

/**
 * mint-token's `usage` answer as operators read it: the customer's total against the quota and the
 * reserve, then a table of consumers (principal, account, calls, share, remaining) with the most
 * calls first, then the accounts. Only the answer's facts: counts, ARNs, account ids and times.
 */
export function describeUsage(report: QuotaUsageReport, nowMs: number = Date.now()): string[] {
  const lines = [totalsLine(report)];
  if (report.reserveReachedUntil !== null) {
    lines.push(
      `The reserve is reached: only cached answers are served (503 quota_reserve_reached) until ${describeTime(report.reserveReachedUntil, nowMs)}.`,
    );
  }
  if (report.oldestHourLeavesAt !== null) {
    lines.push(
      `The oldest counted hour leaves the window at ${describeTime(report.oldestHourLeavesAt, nowMs)}.`,
    );
  }
  lines.push('');
  if (report.principals.length === 0) {
    lines.push(
      `No calls through the proxy in the last ${report.windowHours} h, and no principal has a share of its own.`,
    );
  } else {
    lines.push(
      ...table(
        ['PRINCIPAL', 'ACCOUNT', 'CALLS', 'SHARE', 'REMAINING', 'OLDEST HOUR LEAVES'],
        [false, false, true, false, false, false],
        report.principals.map((p) => [
          p.principalArn,
          p.accountId ?? '-',
          String(p.calls),
          shareCell(p.share),
          remainingCell(p.share, nowMs),
          p.oldestHourLeavesAt === null ? '-' : describeTime(p.oldestHourLeavesAt, nowMs),
        ]),
      ),
    );
  }
  if (report.accounts.length > 0) {
    lines.push(
      '',
      ...table(
        ['ACCOUNT', 'CALLS', 'SHARE', 'REMAINING', 'OLDEST HOUR LEAVES'],
        [false, true, false, false, false],
        report.accounts.map((a) => [
          a.accountId,
          String(a.calls),
          a.share ? shareCell(a.share) : 'none (per principal)',
          a.share ? remainingCell(a.share, nowMs) : '-',
          a.oldestHourLeavesAt === null ? '-' : describeTime(a.oldestHourLeavesAt, nowMs),
        ]),
      ),
    );
  }
  lines.push(
    '',
    `A principal without a share of its own or of its account has ${report.defaultDailyCalls} calls a day (the default share). A principal whose share is its account's spends the account's remaining calls. Whatever a share has left, at the reserve only cached answers are served.`,
  );
  return lines;
}

function totalsLine(r: QuotaUsageReport): string {
  return `Calls to ThroughLine in the last ${r.windowHours} h: ${r.callsLast24Hours} (${r.tokenRequestsLast24Hours} token request${r.tokenRequestsLast24Hours === 1 ? '' : 's'}, ${r.apiCallsLast24Hours} API call${r.apiCallsLast24Hours === 1 ? '' : 's'}) = ${percent(r.callsLast24Hours, r.dailyQuotaCalls)} of the daily quota of ${r.dailyQuotaCalls}; reserve at ${r.reserveCalls} (${percent(r.reserveCalls, r.dailyQuotaCalls)}), ${r.remainingBeforeReserve} call${r.remainingBeforeReserve === 1 ? '' : 's'} before it.`;
}

function percent(part: number, whole: number): string {
  return `${whole > 0 ? Math.round((part / whole) * 1000) / 10 : 0} %`;
}

function shareCell(share: ShareView): string {
  return `${share.dailyCalls} (${share.scope === 'principal' ? 'own' : share.scope})`;
}

function remainingCell(share: ShareView, nowMs: number): string {
  if (share.remaining > 0 || share.availableAt === null) return String(share.remaining);
  return `0, spent until ${describeTime(share.availableAt, nowMs)}`;
}

/** Columns padded to their widest cell; `right` aligns a column's cells to the right (numbers). */
function table(header: string[], right: boolean[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => {
        const width = widths[i] ?? 0;
        return right[i] ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}
