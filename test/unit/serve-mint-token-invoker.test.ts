import { LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  MintDeferredError,
  MintFailedError,
  MintThrottledError,
  MintTokenInvoker,
  PERMANENT_MINT_ERRORS,
} from '../../lambda/aws/mint-token-invoker';
import * as errors from '../../lambda/errors/broker-errors';
import { LambdaInvokeEmulator } from '../kit/emulators/lambda-invoke';
import { MOTO_CREDENTIALS } from '../kit/local-aws/moto';

/** MintTokenInvoker with the real LambdaClient against the local Lambda Invoke API stand-in. */
let standIn: LambdaInvokeEmulator;
let invoker: MintTokenInvoker;

beforeAll(async () => {
  standIn = await LambdaInvokeEmulator.start();
  invoker = new MintTokenInvoker(
    new LambdaClient({
      endpoint: standIn.url,
      region: 'us-east-1',
      credentials: MOTO_CREDENTIALS,
      maxAttempts: 1,
    }),
    'mint-token',
  );
});
afterAll(async () => {
  await standIn.stop();
});
beforeEach(() => standIn.reset());

describe('MintTokenInvoker', () => {
  it('sends {"action":"ensure","minTtlSeconds","requestedBy":"serve-token"} and returns the outcome', async () => {
    standIn.register('mint-token', {
      handler: async () => ({ ok: true, value: { outcome: 'minted', expiresAt: 1 } }),
    });

    const result = await invoker.ensure({ minTtlSeconds: 120 }, Date.now() + 5_000);

    expect(result).toEqual({ outcome: 'minted' });
    const payloads = standIn.invocations.map((i) => i.payload as Record<string, unknown>);
    expect(payloads).toEqual([
      { action: 'ensure', minTtlSeconds: 120, requestedBy: 'serve-token', waitBudgetMs: expect.any(Number) },
    ]);
    // mint-token is told how long the caller waits, minus the round trip.
    expect(payloads[0]?.waitBudgetMs).toBeLessThanOrEqual(4_500);
    expect(standIn.invocations[0]?.qualifier).toBeUndefined();
  });

  it("passes a rejected fingerprint and a cache check; a deferred answer carries the gate's Retry-After", async () => {
    standIn.register('mint-token', {
      handler: async () => ({
        ok: true,
        value: { outcome: 'deferred', reason: 'rate_limited', retryAfterSeconds: 599.2, attempted: false },
      }),
    });

    const result = await invoker.ensure(
      { minTtlSeconds: 60, rejectedFingerprint: '0123456789abcdef', verifyCache: true },
      Date.now() + 5_000,
    );

    expect(result).toEqual({ outcome: 'deferred', reason: 'rate_limited', retryAfterSeconds: 600 });
    expect(standIn.invocations[0]?.payload).toMatchObject({
      rejectedFingerprint: '0123456789abcdef',
      verifyCache: true,
    });
  });

  it('obtain() turns a deferred answer into MintDeferredError naming when to retry, and uses the qualifier', async () => {
    standIn.register('mint-token', {
      aliases: ['operator'],
      handler: async () => ({
        ok: true,
        value: {
          outcome: 'deferred',
          reason: 'backoff',
          retryAfterSeconds: 42,
          gate: { lastFailure: 'upstream_unavailable' },
        },
      }),
    });

    const error = await invoker.obtain({ action: 'refresh' }, 'operator').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(MintDeferredError);
    expect(error).toMatchObject({
      reason: 'backoff',
      retryAfterSeconds: 42,
      lastFailure: 'upstream_unavailable',
    });
    expect((error as Error).message).toMatch(/in 42 s/);
    expect(standIn.invocations[0]?.qualifier).toBe('operator');
  });

  it('an alias the function does not have is not found (Lambda: ResourceNotFoundException)', async () => {
    standIn.register('mint-token', { handler: async () => ({ ok: true, value: { outcome: 'fresh' } }) });

    const error = await invoker
      .invoke({ action: 'describe' }, undefined, 'operator')
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ errorType: 'ResourceNotFoundException', permanent: true });
  });

  it('a 429 TooManyRequestsException (reserved concurrency busy) → MintThrottledError, one request only', async () => {
    standIn.register('mint-token', { handler: async () => ({ ok: true, value: {} }) });
    standIn.throttleNext('mint-token', 1);

    await expect(invoker.ensure({ minTtlSeconds: 60 }, Date.now() + 5_000)).rejects.toBeInstanceOf(
      MintThrottledError,
    );
    expect(standIn.invocations).toHaveLength(1);
  });

  it.each([
    ['InvalidClientError', true],
    ['CredentialsNotSetError', true],
    ['UpstreamUnavailableError', false],
    ['TokenCacheError', false],
  ])('a function error %s → MintFailedError (permanent: %s)', async (errorType, permanent) => {
    standIn.register('mint-token', {
      handler: async () => ({ ok: false, error: { name: errorType, message: 'what mint-token said' } }),
    });

    const error = await invoker.ensure({ minTtlSeconds: 60 }, Date.now() + 5_000).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(MintFailedError);
    expect(error).toMatchObject({ errorType, permanent });
    expect((error as Error).message).toBe(`mint-token failed with ${errorType}: what mint-token said`);
  });

  it('a function that does not exist → permanent MintFailedError (a deployment problem)', async () => {
    const error = await invoker.ensure({ minTtlSeconds: 60 }, Date.now() + 5_000).catch((e: unknown) => e);

    expect(error).toMatchObject({
      name: 'MintFailedError',
      errorType: 'ResourceNotFoundException',
      permanent: true,
    });
  });

  it('no answer before the deadline → transient MintFailedError MintTimeout', async () => {
    standIn.register('mint-token', {
      handler: () => new Promise((resolve) => setTimeout(() => resolve({ ok: true, value: {} }), 2_000)),
    });

    const error = await invoker.ensure({ minTtlSeconds: 60 }, Date.now() + 200).catch((e: unknown) => e);

    expect(error).toMatchObject({ name: 'MintFailedError', errorType: 'MintTimeout', permanent: false });
  });

  it("PERMANENT_MINT_ERRORS lists exactly errors.ts's non-retryable classes (plus payload/settings errors)", () => {
    const classes = (Object.values(errors) as unknown[]).filter(
      (v) => typeof v === 'function' && (v as { prototype: unknown }).prototype instanceof errors.BrokerError,
    ) as (new (
      message: string,
    ) => errors.BrokerError)[];
    const instances = classes.map((C) => new C('x'));

    const nonRetryable = instances.filter((e) => !e.retryable).map((e) => e.name);
    const retryable = instances.filter((e) => e.retryable).map((e) => e.name);

    expect(instances.length).toBeGreaterThan(5);
    for (const name of nonRetryable) expect(PERMANENT_MINT_ERRORS.has(name), name).toBe(true);
    for (const name of retryable) expect(PERMANENT_MINT_ERRORS.has(name), name).toBe(false);
    expect([...PERMANENT_MINT_ERRORS].filter((n) => !nonRetryable.includes(n)).sort()).toEqual([
      'MintTokenRequestError',
      'SettingsError',
    ]);
  });
});
