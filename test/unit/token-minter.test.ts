import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { BrokerSettings } from '../../contract/broker-settings';
import { MetricName, REASON_DIMENSION } from '../../contract/metric-names';
import { tokenFingerprint } from '../../contract/token-fingerprint';
import type { StoredCredentials } from '../../lambda/aws/credential-store';
import {
  CredentialsNotSetError,
  InvalidClientError,
  NOT_CONFIGURED_MESSAGE,
  UpstreamUnavailableError,
} from '../../lambda/errors/broker-errors';
import { TokenMinter } from '../../lambda/minting/token-minter';
import { UpstreamGate } from '../../lambda/upstream/upstream-gate';
import {
  MemoryCredentialStore,
  MemoryGateStorage,
  MemoryTokenCache,
  minterDeps,
  RecordingLogger,
  RecordingMetrics,
  ScriptedUpstream,
  VirtualClock,
} from '../kit/fakes/in-memory-minter-deps';

/**
 * TokenMinter on its own, with in-memory credentials, cache, gate storage (the real UpstreamGate and
 * its policy on top), logger, metrics and a scripted ThroughLine in place of the HTTPS request. Time
 * is virtual: nothing here waits or measures. What is counted: upstream requests, mints, cache writes
 * and the metrics the alarms read. The bundled handler against moto is test/integration/mint-token.test.ts.
 */
const upstreamSeam = vi.hoisted(() => ({
  request: undefined as undefined | ((...args: never[]) => unknown),
}));
vi.mock('../../lambda/upstream/oauth-client', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../lambda/upstream/oauth-client')>()),
  requestClientCredentialsToken: (...args: never[]) => {
    if (!upstreamSeam.request) throw new Error('no ScriptedUpstream in this test');
    return upstreamSeam.request(...args);
  },
}));

const HOUR_MS = 3_600_000;
const T0 = 1_800_000_000_000 - (1_800_000_000_000 % HOUR_MS);

const SETTINGS: BrokerSettings = {
  upstream: {
    tokenUrl: 'https://auth.throughline.test/oauth/token',
    clientAuthentication: 'client_secret_post',
    requestTimeoutMs: 1_000,
    totalBudgetMs: 10_000,
    maxAttempts: 3,
    backoffBaseMs: 10,
    backoffCapMs: 50,
  },
  token: {
    defaultLifetimeSeconds: 3_600,
    maxLifetimeSeconds: 86_400,
    refreshAtFraction: 0.5,
    minTtlSeconds: 60,
    maxMinTtlSeconds: 1_800,
  },
  gate: {
    backoffBaseSeconds: 1,
    backoffCapSeconds: 4,
    credentialsRejectedWaitSeconds: 900,
    maxRetryAfterSeconds: 3_600,
    dailyRequestBudget: 1_000,
    leaseSeconds: 10,
  },
};

const credentialsOf = (versionId: string): StoredCredentials => ({
  clientId: `client-${versionId}`,
  clientSecret: `secret-${versionId}`,
  versionId,
  createdDate: new Date(T0 - 3 * 86_400_000),
});

function world(options: { readonly dailyRequestBudget?: number } = {}) {
  const settings: BrokerSettings = {
    ...SETTINGS,
    gate: {
      ...SETTINGS.gate,
      dailyRequestBudget: options.dailyRequestBudget ?? SETTINGS.gate.dailyRequestBudget,
    },
  };
  const clock = new VirtualClock(T0);
  const credentials = new MemoryCredentialStore(credentialsOf('v1'));
  const cache = new MemoryTokenCache();
  const gateStorage = new MemoryGateStorage();
  const logger = new RecordingLogger();
  const metrics = new RecordingMetrics();
  const upstream = new ScriptedUpstream();
  upstreamSeam.request = upstream.request as never;
  const gate = new UpstreamGate(gateStorage, settings.gate, { now: clock.now, random: () => 0.5 });
  const minter = new TokenMinter({
    settings,
    ...minterDeps({ credentials, cache, logger, metrics }),
    gate,
    now: clock.now,
    sleep: clock.sleep,
  });
  return { minter, clock, credentials, cache, gateStorage, logger, metrics, upstream };
}

const unavailable = () => ({
  kind: 'error' as const,
  error: new UpstreamUnavailableError('Token endpoint answered HTTP 503', 503, undefined),
});
const invalidClient = () => ({
  kind: 'error' as const,
  error: new InvalidClientError(
    'Token endpoint rejected the client credentials (HTTP 401)',
    401,
    'invalid_client',
  ),
});

beforeEach(() => {
  upstreamSeam.request = undefined;
});

describe('TokenMinter — when it calls ThroughLine', () => {
  it('an empty cache: one upstream request, one mint, the token cached under the current credentials', async () => {
    const w = world();

    const result = await w.minter.ensureToken();

    expect(result).toMatchObject({ outcome: 'minted', why: 'empty', attempts: 1, written: true });
    expect(w.upstream.requests).toEqual([{ clientId: 'client-v1', timeoutMs: 1_000 }]);
    expect(w.cache.writes).toBe(1);
    expect(w.cache.stored).toMatchObject({
      credentialVersionId: 'v1',
      mintedAt: T0 / 1000,
      expiresAt: T0 / 1000 + 3_600,
    });
    expect(w.metrics.sum(MetricName.UpstreamTokenRequest)).toBe(1);
    expect(w.metrics.sum(MetricName.TokenMinted)).toBe(1);
  });

  it('a fresh cached token: no upstream request, answered "fresh" with its metadata', async () => {
    const w = world();
    await w.minter.ensureToken();

    const again = await w.minter.ensureToken();

    expect(again).toMatchObject({ outcome: 'fresh', credentialVersionId: 'v1' });
    expect(again).not.toHaveProperty('accessToken');
    expect(w.upstream.requests).toHaveLength(1);
    expect(w.cache.writes).toBe(1);
    expect(w.metrics.sum(MetricName.MintSkippedFresh)).toBe(1);
  });

  it('ten concurrent callers on an empty cache: one upstream request; the others find its token after the lease', async () => {
    const w = world();

    const results = await Promise.all(Array.from({ length: 10 }, () => w.minter.ensureToken()));

    expect(w.upstream.requests).toHaveLength(1);
    expect(w.cache.writes).toBe(1);
    expect(results.filter((r) => r.outcome === 'minted')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'fresh')).toHaveLength(9);
  });

  it('the token is in the cache before the lease is released, so the next lease holder finds it', async () => {
    const w = world();
    const cachedWhenLeaseReleased: boolean[] = [];
    const write = w.gateStorage.write.bind(w.gateStorage);
    w.gateStorage.write = async (next) => {
      if (w.gateStorage.stored.lease !== undefined && next.lease === undefined)
        cachedWhenLeaseReleased.push(w.cache.stored !== undefined);
      return write(next);
    };

    await w.minter.ensureToken();

    expect(w.upstream.requests).toHaveLength(1);
    expect(cachedWhenLeaseReleased).toEqual([true]);
  });

  it('rotated credentials: the old version’s token is replaced once, then served fresh', async () => {
    const w = world();
    await w.minter.ensureToken();
    w.credentials.current = credentialsOf('v2');

    const rotated = await w.minter.ensureToken();
    const after = await w.minter.ensureToken();

    expect(rotated).toMatchObject({
      outcome: 'minted',
      why: 'credential_version_changed',
      credentialVersionId: 'v2',
    });
    expect(after.outcome).toBe('fresh');
    expect(w.upstream.requests.map((r) => r.clientId)).toEqual(['client-v1', 'client-v2']);
  });

  it('a token past its refresh point is replaced; force replaces even a fresh one', async () => {
    const w = world();
    await w.minter.ensureToken();
    w.clock.advance(1_801_000); // refreshAt = mintedAt + 0.5 × 3600 s

    expect(await w.minter.ensureToken()).toMatchObject({ outcome: 'minted', why: 'not_fresh' });
    expect(await w.minter.ensureToken({ force: true })).toMatchObject({ outcome: 'minted', why: 'forced' });
    expect(w.upstream.requests).toHaveLength(3);
    expect(w.metrics.sum(MetricName.TokenMinted)).toBe(3);
  });

  it('a token a consumer reports rejected is replaced only while it is still the cached one', async () => {
    const w = world();
    await w.minter.ensureToken();
    const rejected = tokenFingerprint(w.cache.stored?.accessToken ?? '');

    const replaced = await w.minter.ensureToken({ rejectedFingerprint: rejected });
    // A second report of the same (now replaced) token asks ThroughLine nothing.
    const late = await w.minter.ensureToken({ rejectedFingerprint: rejected });

    expect(replaced).toMatchObject({ outcome: 'minted', why: 'rejected_downstream' });
    expect(late.outcome).toBe('fresh');
    expect(w.upstream.requests).toHaveLength(2);
  });

  it('a cached token that cannot be decrypted is replaced when the caller asks to verify it', async () => {
    const w = world();
    await w.minter.ensureToken();
    w.cache.undecryptable = true;

    expect((await w.minter.ensureToken()).outcome).toBe('fresh'); // metadata only: no decryption
    expect(await w.minter.ensureToken({ verifyCache: true })).toMatchObject({
      outcome: 'minted',
      why: 'cache_unreadable',
    });
    expect(w.upstream.requests).toHaveLength(2);
  });

  it('a newer token stored meanwhile wins: not overwritten, and reported instead of ours', async () => {
    const w = world();
    w.upstream.script({
      kind: 'custom',
      answer: async () => {
        // Another writer stores a token minted later while this request is on the wire.
        w.cache.stored = {
          accessToken: 'tok-newer-xxxxxxxxxxxxxxxxxxxxxxxx',
          tokenType: 'Bearer',
          mintedAt: T0 / 1000 + 5,
          expiresAt: T0 / 1000 + 3_605,
          refreshAt: T0 / 1000 + 1_805,
          credentialVersionId: 'v1',
        };
        return { access_token: 'tok-ours-xxxxxxxxxxxxxxxxxxxxxxxx', token_type: 'Bearer', expires_in: 3600 };
      },
    });

    const result = await w.minter.ensureToken();

    expect(result).toMatchObject({ outcome: 'minted', written: false, mintedAt: T0 / 1000 + 5 });
    expect(w.cache.stored?.accessToken).toBe('tok-newer-xxxxxxxxxxxxxxxxxxxxxxxx');
    expect(w.upstream.requests).toHaveLength(1);
  });
});

describe('TokenMinter — when ThroughLine fails', () => {
  it('a transient failure then a token: two requests in one invocation, paced by the gate, one mint', async () => {
    const w = world();
    w.upstream.script(unavailable(), { kind: 'token' });

    const result = await w.minter.ensureToken();

    expect(result).toMatchObject({ outcome: 'minted', attempts: 2 });
    expect(w.upstream.requests).toHaveLength(2);
    expect(w.metrics.sum(MetricName.UpstreamTokenRequest)).toBe(2);
    expect(w.metrics.sum(MetricName.TokenMinted)).toBe(1);
    expect(w.metrics.sum(MetricName.MintFailed, { [REASON_DIMENSION]: 'upstream_unavailable' })).toBe(1);
    expect(w.gateStorage.stored).toMatchObject({ consecutiveFailures: 0, closedUntilMs: 0 });
  });

  it('ThroughLine down: at most maxAttempts requests, then "deferred"; a caller whose deadline ends within the backoff asks nobody', async () => {
    const w = world();
    w.upstream.script(unavailable());

    const first = await w.minter.ensureToken();
    const during = await w.minter.ensureToken({ deadlineMs: w.clock.now() + 1_000 });

    expect(first).toMatchObject({
      outcome: 'deferred',
      reason: 'upstream_unavailable',
      attempted: true,
      cached: null,
    });
    expect(during).toMatchObject({ outcome: 'deferred', reason: 'backoff', attempted: false });
    expect(w.upstream.requests).toHaveLength(SETTINGS.upstream.maxAttempts);
    expect(w.metrics.sum(MetricName.TokenMinted)).toBe(0);
    expect(w.cache.writes).toBe(0);
  });

  it('invalid_client: one request, thrown and counted; the same credentials are not tried again, new ones are', async () => {
    const w = world();
    w.upstream.script(invalidClient(), { kind: 'token' });

    await expect(w.minter.ensureToken()).rejects.toBeInstanceOf(InvalidClientError);
    const sameCredentials = await w.minter.ensureToken();
    w.credentials.current = credentialsOf('v2');
    const newCredentials = await w.minter.ensureToken();

    expect(sameCredentials).toMatchObject({
      outcome: 'deferred',
      reason: 'credentials_rejected',
      attempted: false,
    });
    expect(newCredentials).toMatchObject({ outcome: 'minted', credentialVersionId: 'v2' });
    expect(w.upstream.requests.map((r) => r.clientId)).toEqual(['client-v1', 'client-v2']);
    expect(w.metrics.sum(MetricName.InvalidClient)).toBe(1);
    // Counted once, with and without the Reason dimension.
    expect(w.metrics.sum(MetricName.MintFailed, { [REASON_DIMENSION]: 'invalid_client' })).toBe(1);
    expect(w.metrics.sumUndimensioned(MetricName.MintFailed)).toBe(1);
  });

  it('the daily budget spent: "deferred" without a request; an operator override makes exactly one', async () => {
    const w = world({ dailyRequestBudget: 2 });
    await w.minter.ensureToken({ force: true });
    await w.minter.ensureToken({ force: true });

    const refused = await w.minter.ensureToken({ force: true });
    const overridden = await w.minter.ensureToken({
      force: true,
      overrideReason: 'incident 42',
      requestedBy: 'op',
    });

    expect(refused).toMatchObject({ outcome: 'deferred', reason: 'budget_exhausted', attempted: false });
    expect(overridden).toMatchObject({ outcome: 'minted', why: 'forced' });
    expect(w.upstream.requests).toHaveLength(3);
    expect(w.metrics.sum(MetricName.UpstreamBudgetExhausted)).toBe(1);
    expect(w.metrics.sum(MetricName.UpstreamGateOverridden)).toBe(1);
  });
});

describe('TokenMinter — before the first credentials', () => {
  it('no credentials ever: "not_configured", ThroughLine not asked, one NotConfigured metric, no failure', async () => {
    const w = world();
    w.credentials.current = undefined;

    const result = await w.minter.ensureToken();

    expect(result).toEqual({
      outcome: 'not_configured',
      reason: 'credentials_not_set',
      message: NOT_CONFIGURED_MESSAGE,
    });
    expect(w.upstream.requests).toHaveLength(0);
    expect(w.metrics.sum(MetricName.BrokerNotConfigured)).toBe(1);
    expect(w.metrics.sum(MetricName.MintFailed)).toBe(0);
  });

  it('credentials gone after a token was minted: a failure that pages, not "not configured"', async () => {
    const w = world();
    await w.minter.ensureToken();
    w.credentials.current = undefined;

    await expect(w.minter.ensureToken()).rejects.toBeInstanceOf(CredentialsNotSetError);
    expect(w.upstream.requests).toHaveLength(1);
    expect(w.metrics.sum(MetricName.BrokerNotConfigured)).toBe(0);
    expect(w.metrics.sum(MetricName.MintFailed, { [REASON_DIMENSION]: 'credentials_not_set' })).toBe(1);
  });
});
