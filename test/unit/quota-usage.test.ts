import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { describeUsage } from '../../cli/operations/usage-report';
import type { QuotaSettings } from '../../contract/broker-settings';
import { aggregateLedgerItems, type QuotaLedger } from '../../lambda/aws/quota-ledger-store';
import { quotaUsageReport } from '../../lambda/minting/quota-usage';

/**
 * The operators' `usage` report as pure functions: the ledger's items aggregated per principal and
 * account (lambda/aws/quota-ledger-store.ts), the report against the quota and shares
 * (lambda/minting/quota-usage.ts, by the proxy's `shareOf`), and the CLI's rendering of it.
 */
const HOUR = 3_600_000;
const T0 = 1_800_000_000_000 - (1_800_000_000_000 % HOUR); // on an hour boundary
const H = T0 / HOUR; // the current hour's number at T0
const NOW = T0 + 30 * 60_000; // half past

const WEB = 'arn:aws:iam::111111111111:role/helpline-web';
const BATCH = 'arn:aws:iam::222222222222:role/batch';
const REPORTS = 'arn:aws:iam::222222222222:role/reports';
const QUIET = 'arn:aws:iam::333333333333:role/quiet';

const QUOTA: QuotaSettings = {
  dailyQuotaCalls: 100,
  reserveCalls: 95,
  shares: {
    defaultDailyCalls: 20,
    // Configured with a path: the proxy counts roles without it (lambda/proxy/caller-principal.ts).
    byPrincipalArn: { 'arn:aws:iam::111111111111:role/web/helpline-web': 12, [QUIET]: 5 },
    byAccountId: { '222222222222': 30 },
  },
};

function usageItem(hour: number, counts: Record<string, number>): Record<string, AttributeValue> {
  return {
    pk: { S: `usage#${hour}` },
    expiresAtTtl: { N: String((hour + 48) * 3600) },
    ...Object.fromEntries(Object.entries(counts).map(([name, n]) => [name, { N: String(n) }])),
  };
}

function gateItem(hourlyRequests: Record<string, number>): Record<string, AttributeValue> {
  return {
    pk: { S: 'upstream-gate' },
    version: { N: '3' },
    state: {
      S: JSON.stringify({
        consecutiveFailures: 0,
        closedUntilMs: 0,
        failingSinceMs: 0,
        hourlyRequests,
        overrides: 0,
      }),
    },
  };
}

/** Items as the proxy writes them: one ADD of total, principal and account per call. */
const ITEMS = [
  usageItem(H - 23, { total: 4, [`principal:${WEB}`]: 4, 'account:111111111111': 4 }),
  usageItem(H - 2, {
    total: 9,
    [`principal:${WEB}`]: 3,
    [`principal:${BATCH}`]: 6,
    'account:111111111111': 3,
    'account:222222222222': 6,
  }),
  usageItem(H, {
    total: 16,
    [`principal:${BATCH}`]: 10,
    [`principal:${REPORTS}`]: 4,
    'principal:unknown': 2,
    'account:222222222222': 14,
  }),
  gateItem({ [String(H - 30)]: 7, [String(H - 5)]: 1, [String(H)]: 2 }),
  { pk: { S: 'access-token' }, ciphertext: { B: new Uint8Array([1]) } },
  usageItem(12, { total: 999, 'principal:arn:aws:iam::999999999999:role/old': 999 }),
  { pk: { S: 'usage#not-an-hour' }, total: { N: '5' } },
];

describe('aggregateLedgerItems', () => {
  it('sums every principal: and account: attribute by hour, takes the token requests from the gate and ignores other items', () => {
    const ledger = aggregateLedgerItems(ITEMS);

    expect(ledger).toEqual({
      apiCalls: { [H - 23]: 4, [H - 2]: 9, [H]: 16, 12: 999 },
      tokenRequests: { [H - 30]: 7, [H - 5]: 1, [H]: 2 },
      byPrincipal: {
        [WEB]: { [H - 23]: 4, [H - 2]: 3 },
        [BATCH]: { [H - 2]: 6, [H]: 10 },
        [REPORTS]: { [H]: 4 },
        unknown: { [H]: 2 },
        'arn:aws:iam::999999999999:role/old': { 12: 999 },
      },
      byAccount: {
        '111111111111': { [H - 23]: 4, [H - 2]: 3 },
        '222222222222': { [H - 2]: 6, [H]: 14 },
      },
    } satisfies QuotaLedger);
  });

  it('reads no counts from malformed numbers or an unreadable gate item', () => {
    const ledger = aggregateLedgerItems([
      usageItem(H, { total: 0, [`principal:${WEB}`]: -3 }),
      { pk: { S: `usage#${H}` }, 'account:111111111111': { S: '5' } },
      { pk: { S: 'upstream-gate' }, state: { S: '{}' } },
    ]);

    expect(ledger).toEqual({ apiCalls: {}, tokenRequests: {}, byPrincipal: {}, byAccount: {} });
  });
});

describe('quotaUsageReport', () => {
  const report = quotaUsageReport(aggregateLedgerItems(ITEMS), QUOTA, NOW);

  it('totals token requests and API calls of the rolling window against the quota and the reserve', () => {
    expect(report).toMatchObject({
      outcome: 'usage',
      asOf: NOW / 1000,
      windowHours: 24,
      dailyQuotaCalls: 100,
      reserveCalls: 95,
      tokenRequestsLast24Hours: 3, // the hour H-30 has left the window
      apiCallsLast24Hours: 29, // so has hour 12
      callsLast24Hours: 32,
      remainingBeforeReserve: 63,
      reserveReachedUntil: null,
      oldestHourLeavesAt: (H + 1) * 3600, // hour H-23 leaves at the end of the current hour
      defaultDailyCalls: 20,
    });
  });

  it('gives each principal its share by the proxy rules: own (path dropped), its account, or the default; most calls first', () => {
    expect(report.principals).toEqual([
      {
        principalArn: BATCH,
        accountId: '222222222222',
        calls: 16,
        // The account's share: the account's 20 calls (both its principals) are counted against it.
        share: { scope: 'account', dailyCalls: 30, remaining: 10, availableAt: null },
        oldestHourLeavesAt: (H + 22) * 3600,
      },
      {
        principalArn: WEB,
        accountId: '111111111111',
        calls: 7,
        share: { scope: 'principal', dailyCalls: 12, remaining: 5, availableAt: null },
        oldestHourLeavesAt: (H + 1) * 3600,
      },
      {
        principalArn: REPORTS,
        accountId: '222222222222',
        calls: 4,
        share: { scope: 'account', dailyCalls: 30, remaining: 10, availableAt: null },
        oldestHourLeavesAt: (H + 24) * 3600,
      },
      {
        principalArn: 'unknown',
        accountId: null,
        calls: 2,
        share: { scope: 'default', dailyCalls: 20, remaining: 18, availableAt: null },
        oldestHourLeavesAt: (H + 24) * 3600,
      },
      {
        // A configured share with no calls yet is listed: its remaining share is the whole of it.
        principalArn: QUIET,
        accountId: '333333333333',
        calls: 0,
        share: { scope: 'principal', dailyCalls: 5, remaining: 5, availableAt: null },
        oldestHourLeavesAt: null,
      },
    ]);
    expect(report.principals.map((p) => p.principalArn)).not.toContain('arn:aws:iam::999999999999:role/old');
  });

  it('lists accounts with their own share, or none when each principal has one (the default is per principal)', () => {
    expect(report.accounts).toEqual([
      {
        accountId: '222222222222',
        calls: 20,
        share: { scope: 'account', dailyCalls: 30, remaining: 10, availableAt: null },
        oldestHourLeavesAt: (H + 22) * 3600,
      },
      { accountId: '111111111111', calls: 7, share: null, oldestHourLeavesAt: (H + 1) * 3600 },
    ]);
  });

  it('says when a spent share and a reached reserve free up: when enough of the oldest hours have left', () => {
    const spent = quotaUsageReport(
      aggregateLedgerItems([
        usageItem(H - 20, { total: 60, [`principal:${WEB}`]: 8, 'account:111111111111': 8 }),
        usageItem(H - 1, { total: 30, [`principal:${WEB}`]: 4, 'account:111111111111': 4 }),
        gateItem({ [String(H)]: 5 }),
      ]),
      QUOTA,
      NOW,
    );

    expect(spent.callsLast24Hours).toBe(95);
    expect(spent.remainingBeforeReserve).toBe(0);
    // 95 ≥ 95: below the reserve once hour H-20 (60 calls) has left the window.
    expect(spent.reserveReachedUntil).toBe((H + 4) * 3600);
    expect(spent.principals.find((p) => p.principalArn === WEB)?.share).toEqual({
      scope: 'principal',
      dailyCalls: 12,
      remaining: 0,
      availableAt: (H + 4) * 3600,
    });
  });

  it('reports an empty ledger as nothing counted, every configured share whole', () => {
    const empty = quotaUsageReport(aggregateLedgerItems([]), QUOTA, NOW);

    expect(empty).toMatchObject({
      callsLast24Hours: 0,
      remainingBeforeReserve: 95,
      oldestHourLeavesAt: null,
      reserveReachedUntil: null,
    });
    expect(empty.principals.map((p) => [p.principalArn, p.share.remaining])).toEqual([
      [WEB, 12],
      [QUIET, 5],
    ]);
    expect(empty.accounts.map((a) => [a.accountId, a.share?.remaining])).toEqual([['222222222222', 30]]);
  });
});

describe('describeUsage (the CLI table)', () => {
  it('prints the totals with % of the quota and the reserve, then consumers by calls, then accounts', () => {
    const lines = describeUsage(quotaUsageReport(aggregateLedgerItems(ITEMS), QUOTA, NOW), NOW);

    expect(lines[0]).toBe(
      'Calls to ThroughLine in the last 24 h: 32 (3 token requests, 29 API calls) = 32 % of the daily quota of 100; reserve at 95 (95 %), 63 calls before it.',
    );
    expect(lines[1]).toMatch(/^The oldest counted hour leaves the window at \S+Z \(in 1800 s\)\.$/);
    const header = lines.findIndex((l) => l.startsWith('PRINCIPAL'));
    expect(lines[header]).toMatch(/^PRINCIPAL\s+ACCOUNT\s+CALLS\s+SHARE\s+REMAINING\s+OLDEST HOUR LEAVES$/);
    const rows = lines.slice(header + 1, header + 6).map((l) => l.split(/\s{2,}/));
    expect(rows.map((r) => r.slice(0, 5))).toEqual([
      [BATCH, '222222222222', '16', '30 (account)', '10'],
      [WEB, '111111111111', '7', '12 (own)', '5'],
      [REPORTS, '222222222222', '4', '30 (account)', '10'],
      ['unknown', '-', '2', '20 (default)', '18'],
      [QUIET, '333333333333', '0', '5 (own)', '5'],
    ]);
    const accounts = lines.findIndex((l) => l.startsWith('ACCOUNT'));
    expect(lines.slice(accounts + 1, accounts + 3).map((l) => l.split(/\s{2,}/).slice(0, 4))).toEqual([
      ['222222222222', '20', '30 (account)', '10'],
      ['111111111111', '7', 'none (per principal)', '-'],
    ]);
  });

  it('says when a share is spent until, and that the reserve is reached', () => {
    const lines = describeUsage(
      quotaUsageReport(
        aggregateLedgerItems([
          usageItem(H - 20, { total: 90, [`principal:${WEB}`]: 12, 'account:111111111111': 12 }),
          gateItem({ [String(H)]: 5 }),
        ]),
        QUOTA,
        NOW,
      ),
      NOW,
    );

    expect(lines).toContainEqual(
      expect.stringMatching(
        /^The reserve is reached: only cached answers are served \(503 quota_reserve_reached\) until \S+Z \(in 12600 s\)\.$/,
      ),
    );
    expect(lines.find((l) => l.startsWith(WEB))).toMatch(/12 \(own\)\s+0, spent until \S+Z \(in 12600 s\)/);
  });
});
