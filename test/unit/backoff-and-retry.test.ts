import { describe, expect, it } from 'vitest';
import { fullJitterDelayMs, nextDelayMs, parseRetryAfter } from '../../contract/backoff';
import {
  BadTokenResponseError,
  CredentialsMalformedError,
  CredentialsNotSetError,
  InvalidClientError,
  TokenCacheError,
  UntrustedUpstreamError,
  UpstreamRejectedError,
  UpstreamUnavailableError,
} from '../../lambda/errors/broker-errors';
import { MIN_ATTEMPT_MS, withRetries } from '../../lambda/upstream/retry';

describe('full-jitter backoff', () => {
  it('stays within [0, min(cap, base·2^n))', () => {
    for (let n = 0; n < 12; n++) {
      const ceiling = Math.min(5_000, 200 * 2 ** n);
      expect(fullJitterDelayMs(n, 200, 5_000, () => 0)).toBe(0);
      expect(fullJitterDelayMs(n, 200, 5_000, () => 0.999_999)).toBe(ceiling - 1);
    }
  });

  it('is capped', () => {
    expect(fullJitterDelayMs(30, 200, 5_000, () => 0.5)).toBe(2_500);
  });

  it('never waits less than Retry-After asks', () => {
    expect(
      nextDelayMs({ retryIndex: 0, baseMs: 200, capMs: 5_000, retryAfterSeconds: 3, random: () => 0.5 }),
    ).toBe(3_000);
    expect(
      nextDelayMs({ retryIndex: 5, baseMs: 200, capMs: 5_000, retryAfterSeconds: 1, random: () => 0.9 }),
    ).toBe(4_500);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-30T12:00:00Z');
  it.each([
    [null, undefined],
    ['', undefined],
    ['soon', undefined],
    ['-1', undefined],
    ['7', 7],
    [' 12 ', 12],
    ['Mon, 30 Nov 2026 12:00:30 GMT', 30],
    ['Mon, 30 Nov 2026 11:59:00 GMT', 0],
  ])('%s → %s', (header, seconds) => {
    expect(parseRetryAfter(header, now)).toBe(seconds);
  });
});

describe('error taxonomy', () => {
  it.each([
    [new UpstreamUnavailableError('x', 503, undefined), true, 'upstream_unavailable'],
    [new TokenCacheError('x'), true, 'token_cache'],
    [new InvalidClientError('x', 401, 'invalid_client'), false, 'invalid_client'],
    [new UpstreamRejectedError('x', 400, 'invalid_grant'), false, 'upstream_rejected'],
    [new UntrustedUpstreamError('x'), false, 'untrusted_upstream'],
    [new BadTokenResponseError('x'), false, 'bad_token_response'],
    [new CredentialsNotSetError('x'), false, 'credentials_not_set'],
    [new CredentialsMalformedError('x'), false, 'credentials_malformed'],
  ])('%s: retryable=%s reason=%s', (error, retryable, reason) => {
    expect(error.retryable).toBe(retryable);
    expect(error.reason).toBe(reason);
    expect(error.name).toBe(error.constructor.name);
  });
});

describe('withRetries', () => {
  /** A fake clock: sleeping advances it, so no test waits. */
  const fakeClock = () => {
    let now = 0;
    const sleeps: number[] = [];
    return {
      sleeps,
      now: () => now,
      sleep: async (ms: number) => {
        sleeps.push(ms);
        now += ms;
      },
    };
  };
  const policy = { maxAttempts: 4, backoffBaseMs: 100, backoffCapMs: 1_000, deadlineMs: 60_000 };

  it('retries a retryable error until success', async () => {
    const clock = fakeClock();
    let calls = 0;
    const result = await withRetries(
      async () => {
        calls += 1;
        if (calls < 3) throw new UpstreamUnavailableError('down', 503, undefined);
        return 'ok';
      },
      policy,
      { ...clock, random: () => 0.5 },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(clock.sleeps).toEqual([50, 100]);
  });

  it('never retries invalid_client', async () => {
    const clock = fakeClock();
    let calls = 0;
    await expect(
      withRetries(
        async () => {
          calls += 1;
          throw new InvalidClientError('no', 401, 'invalid_client');
        },
        policy,
        clock,
      ),
    ).rejects.toBeInstanceOf(InvalidClientError);
    expect(calls).toBe(1);
  });

  it('does not retry unknown errors (bugs)', async () => {
    let calls = 0;
    await expect(
      withRetries(async () => {
        calls += 1;
        throw new TypeError('bug');
      }, policy),
    ).rejects.toBeInstanceOf(TypeError);
    expect(calls).toBe(1);
  });

  it('stops after maxAttempts with the last error', async () => {
    const clock = fakeClock();
    let calls = 0;
    await expect(
      withRetries(
        async () => {
          calls += 1;
          throw new UpstreamUnavailableError(`down ${calls}`, 500, undefined);
        },
        policy,
        clock,
      ),
    ).rejects.toThrow('down 4');
    expect(calls).toBe(4);
  });

  it('does not start a wait that would cross the deadline, e.g. a long Retry-After', async () => {
    const clock = fakeClock();
    let calls = 0;
    await expect(
      withRetries(
        async () => {
          calls += 1;
          throw new UpstreamUnavailableError('slow down', 429, 120);
        },
        { ...policy, deadlineMs: 10_000 },
        clock,
      ),
    ).rejects.toMatchObject({ retryAfterSeconds: 120 });
    expect(calls).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('tells each attempt how much time remains', async () => {
    const clock = fakeClock();
    const remaining: number[] = [];
    let calls = 0;
    await withRetries(
      async (_n, remainingMs) => {
        remaining.push(remainingMs);
        calls += 1;
        if (calls === 1) throw new UpstreamUnavailableError('x', 503, 2);
        return 1;
      },
      { ...policy, deadlineMs: 5_000 },
      clock,
    );
    expect(remaining).toEqual([5_000, 3_000]);
    expect(MIN_ATTEMPT_MS).toBeGreaterThan(0);
  });
});
