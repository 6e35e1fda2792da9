import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { MetricName } from '../../contract/metric-names';
import { FakeTokenServer } from '../kit/fakes/token-server';
import { type InvokeOutcome, invokeBundled } from '../kit/runners/invoke-bundled';
import { BrokerFixture, makeCredentials } from '../kit/vitest/broker-fixture';
import { expectNoSecretIn } from '../kit/vitest/leaks';
import { bundled, localUpstream } from '../kit/vitest/rotation-fixture';

/**
 * What the scheduled refresh records through mint-token (seconds to expiry of the cached token and the
 * age of the credentials), and the read-only `describe` action the operator CLI uses for status.
 */
let server: FakeTokenServer;

beforeAll(async () => {
  server = await FakeTokenServer.start(inject('trustedTls'));
});
afterAll(async () => {
  await server.stop();
});
beforeEach(() => server.reset());

function invoke(fixture: BrokerFixture, events: unknown[]): Promise<InvokeOutcome<Record<string, unknown>>> {
  return invokeBundled({
    bundle: bundled('MintToken').bundle,
    env: fixture.functionEnv(bundled('MintToken').environment, localUpstream(server.url)),
    events,
  });
}

/** Values of one EMF metric across the invocations' log records. */
function metricValues(outcome: InvokeOutcome, name: string): number[] {
  return outcome.logRecords.flatMap((record) => {
    const aws = record._aws as
      | { CloudWatchMetrics?: { Metrics: { Name: string; Unit?: string }[] }[] }
      | undefined;
    const declared = aws?.CloudWatchMetrics?.some((m) => m.Metrics.some((x) => x.Name === name));
    if (!declared) return [];
    return [record[name]].flat().map(Number);
  });
}

describe('mint-token refresh metrics', () => {
  it('a refresh of a fresh token records its seconds to expiry and the credentials age in days', async () => {
    const creds = makeCredentials();
    const fixture = await BrokerFixture.create(creds);

    const outcome = await invoke(fixture, [
      { action: 'refresh', requestedBy: 'schedule' },
      { action: 'refresh', requestedBy: 'schedule' },
    ]);

    expect(outcome.results.map((r) => r.ok && r.value.outcome)).toEqual(['minted', 'fresh']);
    // First run: nothing cached before, so it reports the token it minted; second: the same token
    // (3600 s). Every run that ends with a token reports it (RefreshSilent counts the reports).
    const secondsToExpiry = metricValues(outcome, MetricName.CachedTokenSecondsToExpiry);
    expect(secondsToExpiry).toHaveLength(2);
    for (const seconds of secondsToExpiry) {
      expect(seconds).toBeGreaterThan(3500);
      expect(seconds).toBeLessThanOrEqual(3600);
    }
    // The secret was created moments ago: 0 days, recorded on every run.
    expect(metricValues(outcome, MetricName.CredentialAgeDays)).toEqual([0, 0]);
    expectNoSecretIn(outcome.logLines, [creds.client_secret, ...server.issuedTokens]);
  });
});

describe('mint-token describe', () => {
  it('returns the cached token metadata without the token, minting nothing', async () => {
    const creds = makeCredentials();
    const fixture = await BrokerFixture.create(creds);

    const outcome = await invoke(fixture, [
      { action: 'describe' },
      { action: 'ensure' },
      { action: 'describe' },
    ]);

    const [empty, minted, described] = outcome.results;
    expect(empty).toMatchObject({ ok: true, value: { outcome: 'described', cached: null } });
    expect(server.requests).toHaveLength(1);
    expect(described?.ok && described.value).toEqual({
      outcome: 'described',
      cached: {
        tokenType: 'Bearer',
        mintedAt: minted?.ok && minted.value.mintedAt,
        expiresAt: minted?.ok && minted.value.expiresAt,
        refreshAt: minted?.ok && minted.value.refreshAt,
        credentialVersionId: minted?.ok && minted.value.credentialVersionId,
      },
      // The upstream gate after one successful mint: open, one request counted against the budget.
      gate: {
        open: true,
        consecutiveFailures: 0,
        requestsLast24Hours: 1,
        dailyRequestBudget: 200,
        issuedLifetimeSeconds: 3600,
      },
    });
    expectNoSecretIn(
      [...outcome.logLines, JSON.stringify(outcome.results)],
      [creds.client_secret, ...server.issuedTokens],
    );
  });
});
