import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ServeTokenSettings } from '../../contract/broker-settings';
import { MetricName } from '../../contract/metric-names';
import type { TokenRecord } from '../../contract/token-cache-schema';
import {
  type EnsureRequest,
  MintFailedError,
  type MintInvocationResult,
  MintThrottledError,
} from '../../lambda/aws/mint-token-invoker';
import { PERMANENT_FAILURE_RETRY_AFTER_SECONDS, TokenServer } from '../../lambda/serving/token-server';

/**
 * TokenServer's decisions (L1 → L2 → mint, throttle backoff, stale-on-error, cool-down,
 * single-flight) with an in-memory cache and minter and a controlled clock. The bundled handler
 * is tested end to end against moto and the real mint-token in test/integration/serve-token.test.ts.
 */
const T0 = 1_800_000_000_000;
const SETTINGS: ServeTokenSettings = {
  defaultMinTtlSeconds: 60,
  maxMinTtlSeconds: 900,
  l1MaxAgeSeconds: 30,
  requestBudgetMs: 10_000,
  retryAfterSeconds: 5,
  mintThrottleBackoffBaseMs: 100,
  mintThrottleBackoffCapMs: 1_000,
};

let nowMs: number;
let tokenCounter: number;

/** A token minted `ageSeconds` ago living `lifetime` s, fresh for 75% of it. */
function token(ageSeconds = 0, lifetime = 3600): TokenRecord {
  tokenCounter += 1;
  const mintedAt = Math.floor(nowMs / 1000) - ageSeconds;
  return {
    accessToken: `token-${tokenCounter}`,
    tokenType: 'Bearer',
    mintedAt,
    expiresAt: mintedAt + lifetime,
    refreshAt: mintedAt + Math.floor(lifetime * 0.75),
    credentialVersionId: 'v1',
  };
}

class FakeCache {
  record: TokenRecord | undefined;
  reads = 0;
  failures = 0;
  async read(): Promise<TokenRecord | undefined> {
    this.reads += 1;
    await Promise.resolve();
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('DynamoDB unavailable');
    }
    return this.record;
  }
}

type MintStep =
  | 'mint'
  | 'throttle'
  | 'no-change'
  | MintFailedError
  | { readonly deferred: string; readonly retryAfterSeconds: number };

class FakeMinter {
  readonly calls: { minTtlSeconds: number; deadlineMs: number; request: EnsureRequest }[] = [];
  script: MintStep[] = [];
  constructor(
    private readonly cache: FakeCache,
    private readonly lifetime = 3600,
  ) {}
  async ensure(request: EnsureRequest, deadlineMs: number): Promise<MintInvocationResult> {
    this.calls.push({ minTtlSeconds: request.minTtlSeconds, deadlineMs, request });
    await Promise.resolve();
    const step = this.script.shift() ?? 'mint';
    if (step === 'throttle') throw new MintThrottledError('busy');
    if (step instanceof MintFailedError) throw step;
    if (typeof step === 'object') {
      return { outcome: 'deferred', reason: step.deferred, retryAfterSeconds: step.retryAfterSeconds };
    }
    if (step === 'mint') this.cache.record = token(0, this.lifetime);
    return { outcome: step === 'mint' ? 'minted' : 'fresh' };
  }
}

class CountingMetrics {
  readonly counts: Record<string, number> = {};
  addMetric(name: string) {
    this.counts[name] = (this.counts[name] ?? 0) + 1;
  }
}

let cache: FakeCache;
let minter: FakeMinter;
let metrics: CountingMetrics;
let sleeps: number[];

function server(settings: Partial<ServeTokenSettings> = {}, random = () => 0.5) {
  return new TokenServer({
    cache,
    minter,
    settings: { ...SETTINGS, ...settings },
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics: metrics as unknown as Metrics,
    now: () => nowMs,
    sleep: async (ms) => {
      sleeps.push(ms);
      nowMs += ms;
    },
    random,
  });
}

const deadline = () => nowMs + SETTINGS.requestBudgetMs;

beforeEach(() => {
  nowMs = T0;
  tokenCounter = 0;
  cache = new FakeCache();
  minter = new FakeMinter(cache);
  metrics = new CountingMetrics();
  sleeps = [];
});

describe('TokenServer — L1 and L2', () => {
  it('serves from L2, then from L1 without reading L2 again', async () => {
    cache.record = token();
    const s = server();

    const first = await s.getToken(60, deadline());
    const second = await s.getToken(60, deadline());

    expect(first).toMatchObject({ ok: true, source: 'l2' });
    expect(second).toMatchObject({ ok: true, source: 'l1' });
    expect(cache.reads).toBe(1);
    expect(minter.calls).toHaveLength(0);
    expect(metrics.counts).toMatchObject({
      [MetricName.TokenRequest]: 2,
      [MetricName.TokenServedFromL2]: 1,
      [MetricName.TokenServedFromL1]: 1,
    });
  });

  it('re-reads L2 once the L1 copy is l1MaxAgeSeconds old, and picks up a newer token', async () => {
    cache.record = token();
    const s = server({ l1MaxAgeSeconds: 30 });
    await s.getToken(60, deadline());
    const refreshed = token();
    cache.record = refreshed;

    nowMs += 29_999;
    const stillOld = await s.getToken(60, deadline());
    nowMs += 1;
    const updated = await s.getToken(60, deadline());

    expect(stillOld).toMatchObject({ source: 'l1', record: { accessToken: 'token-1' } });
    expect(updated).toMatchObject({ source: 'l2', record: refreshed });
    expect(cache.reads).toBe(2);
  });

  it('an L1 copy past its refresh point is not served from memory: L2 is read', async () => {
    cache.record = token(2_800); // past refreshAt (2700 s), 800 s left
    minter.script = ['no-change'];
    const s = server({ l1MaxAgeSeconds: 300 });

    await s.getToken(60, deadline());
    const second = await s.getToken(60, deadline());

    // Each request: read, mint (no change here), re-read. Memory never answered.
    expect(cache.reads).toBe(4);
    expect(second).toMatchObject({ ok: true, source: 'minted' });
    expect(metrics.counts[MetricName.TokenServedFromL1]).toBeUndefined();
  });

  it('a flushed L2 (empty) replaces the L1 copy: the old token is never served again', async () => {
    cache.record = token();
    const s = server({ l1MaxAgeSeconds: 1 });
    await s.getToken(60, deadline());
    cache.record = undefined;
    minter.script = [new MintFailedError('mint-token failed', 'UpstreamUnavailableError', false)];

    nowMs += 1_000;
    const outcome = await s.getToken(60, deadline());

    expect(outcome).toMatchObject({ ok: false, reason: 'mint_failed' });
  });
});

describe('TokenServer — minting', () => {
  it('empty L2: asks mint-token with the caller min_ttl and the deadline, re-reads, serves it', async () => {
    const s = server();
    const requestDeadline = deadline();

    const outcome = await s.getToken(120, requestDeadline);

    expect(outcome).toMatchObject({ ok: true, source: 'minted', record: { accessToken: 'token-1' } });
    expect(minter.calls).toEqual([
      { minTtlSeconds: 120, deadlineMs: requestDeadline, request: { minTtlSeconds: 120 } },
    ]);
    expect(cache.reads).toBe(2);
    expect(metrics.counts[MetricName.MintRequested]).toBe(1);
  });

  it('an L2 token with less than min_ttl left is replaced', async () => {
    cache.record = token(3_560); // 40 s left
    const s = server();

    const outcome = await s.getToken(60, deadline());

    expect(outcome).toMatchObject({ ok: true, source: 'minted', record: { accessToken: 'token-2' } });
  });

  it('never serves an expired token', async () => {
    cache.record = token(4_000);
    minter.script = [new MintFailedError('down', 'UpstreamUnavailableError', false)];

    const outcome = await server().getToken(0, deadline());

    expect(outcome).toMatchObject({ ok: false, reason: 'mint_failed' });
  });

  it('a mint that succeeds with a token shorter than min_ttl → min_ttl_unattainable (400), no loop', async () => {
    minter = new FakeMinter(cache, 100); // ThroughLine issues 100 s tokens
    const outcome = await server().getToken(600, deadline());

    expect(outcome).toEqual({
      ok: false,
      reason: 'min_ttl_unattainable',
      issuedLifetimeSeconds: 100,
      alwaysServableMinTtlSeconds: 25,
    });
    expect(minter.calls).toHaveLength(1);
  });

  it('an unreadable L2 is treated as a miss: mint, then serve what the re-read finds', async () => {
    cache.failures = 1;

    const outcome = await server().getToken(60, deadline());

    expect(outcome).toMatchObject({ ok: true, source: 'minted' });
  });
});

describe('TokenServer — mint-token throttled (another instance is minting)', () => {
  it('backs off with equal jitter and re-reads L2 until the other mint lands', async () => {
    minter.script = ['throttle', 'throttle'];
    const other = token();
    const s = server({}, () => 0);
    let reads = 0;
    const read = cache.read.bind(cache);
    cache.read = async () => {
      reads += 1;
      if (reads === 3) cache.record = other; // the other instance's mint lands before the 3rd read
      return read();
    };

    const outcome = await s.getToken(60, deadline());

    expect(outcome).toMatchObject({ ok: true, source: 'l2', record: other });
    // random() = 0: exactly half of 100·2^0 and 100·2^1.
    expect(sleeps).toEqual([50, 100]);
    expect(minter.calls).toHaveLength(2);
    expect(metrics.counts).toMatchObject({ [MetricName.MintThrottled]: 2, [MetricName.MintRequested]: 2 });
  });

  it('serves a still-servable (stale) token at once rather than waiting', async () => {
    cache.record = token(3_000); // past refresh, 600 s left
    minter.script = ['throttle'];

    const outcome = await server().getToken(60, deadline());

    expect(outcome).toMatchObject({ ok: true, source: 'stale' });
    expect(sleeps).toEqual([]);
    expect(metrics.counts[MetricName.StaleTokenServed]).toBe(1);
  });

  it('gives up when the next wait would pass the deadline → mint_busy', async () => {
    minter.script = Array.from({ length: 100 }, () => 'throttle' as const);

    const outcome = await server().getToken(60, nowMs + 1_000);

    expect(outcome).toMatchObject({ ok: false, reason: 'mint_busy', retryAfterSeconds: 5 });
    expect(nowMs).toBeLessThanOrEqual(T0 + 1_000);
    expect(metrics.counts[MetricName.TokenUnavailable]).toBe(1);
  });
});

describe('TokenServer — mint-token failed', () => {
  it('serves a still-servable token (stale-on-error) and cools down before invoking mint-token again', async () => {
    cache.record = token(3_000);
    minter.script = [new MintFailedError('down', 'UpstreamUnavailableError', false)];
    const s = server({ l1MaxAgeSeconds: 1 });

    const first = await s.getToken(60, deadline());
    nowMs += 4_000;
    const during = await s.getToken(60, deadline());
    nowMs += 1_000;
    const after = await s.getToken(60, deadline());

    expect(first).toMatchObject({ ok: true, source: 'stale' });
    expect(during).toMatchObject({ ok: true, source: 'stale' });
    expect(after).toMatchObject({ ok: true, source: 'minted' });
    expect(minter.calls).toHaveLength(2);
  });

  it('nothing servable: unavailable with the configured Retry-After; during the cool-down with what is left of it', async () => {
    minter.script = [new MintFailedError('down', 'UpstreamUnavailableError', false)];
    const s = server();

    const first = await s.getToken(60, deadline());
    nowMs += 2_500;
    const second = await s.getToken(60, deadline());

    expect(first).toEqual({ ok: false, reason: 'mint_failed', retryAfterSeconds: 5 });
    expect(second).toEqual({ ok: false, reason: 'cooling_down', retryAfterSeconds: 3 });
    expect(minter.calls).toHaveLength(1);
  });

  it('a permanent failure (credentials rejected) gets the long Retry-After', async () => {
    minter.script = [new MintFailedError('rejected', 'InvalidClientError', true)];

    const outcome = await server().getToken(60, deadline());

    expect(outcome).toEqual({
      ok: false,
      reason: 'mint_failed',
      retryAfterSeconds: PERMANENT_FAILURE_RETRY_AFTER_SECONDS,
    });
  });

  it('if another instance minted meanwhile, its fresh token is served', async () => {
    minter.script = [new MintFailedError('timeout', 'MintTimeout', false)];
    minter.ensure = async (request, deadlineMs) => {
      minter.calls.push({ minTtlSeconds: request.minTtlSeconds, deadlineMs, request });
      cache.record = token();
      throw new MintFailedError('timeout', 'MintTimeout', false);
    };

    const outcome = await server().getToken(60, deadline());

    expect(outcome).toMatchObject({ ok: true, source: 'l2' });
  });

  it('an unexpected error (a bug) propagates', async () => {
    minter.ensure = async () => {
      throw new TypeError('bug');
    };

    await expect(server().getToken(60, deadline())).rejects.toThrow(TypeError);
  });
});

describe('TokenServer — single-flight', () => {
  it('5 concurrent requests with the same min_ttl: one L2 read before the mint, one mint, one re-read', async () => {
    const s = server();

    const outcomes = await Promise.all(Array.from({ length: 5 }, () => s.getToken(60, deadline())));

    expect(outcomes.every((o) => o.ok && o.record.accessToken === 'token-1')).toBe(true);
    expect(cache.reads).toBe(2);
    expect(minter.calls).toHaveLength(1);
    expect(metrics.counts[MetricName.TokenRequest]).toBe(5);
  });

  it('a failure is shared too, and the next request starts a new flight', async () => {
    minter.script = [new MintFailedError('down', 'UpstreamUnavailableError', false)];
    const s = server();

    const outcomes = await Promise.all(Array.from({ length: 3 }, () => s.getToken(60, deadline())));
    nowMs += 5_000;
    const later = await s.getToken(60, deadline());

    expect(outcomes.every((o) => !o.ok && o.reason === 'mint_failed')).toBe(true);
    expect(later).toMatchObject({ ok: true, source: 'minted' });
    expect(minter.calls).toHaveLength(2);
  });
});
