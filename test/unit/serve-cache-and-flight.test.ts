import { describe, expect, it } from 'vitest';
import { equalJitterDelayMs } from '../../contract/backoff';
import { SingleFlight } from '../../contract/single-flight';
import type { TokenRecord } from '../../contract/token-cache-schema';
import { L1TokenCache } from '../../lambda/serving/token-server-cache';

const record = (expiresAt: number): TokenRecord => ({
  accessToken: 'x',
  tokenType: 'Bearer',
  mintedAt: expiresAt - 3600,
  expiresAt,
  refreshAt: expiresAt - 900,
  credentialVersionId: 'v1',
});

describe('L1TokenCache', () => {
  it('answers for maxAge after it was set, then forgets', () => {
    const l1 = new L1TokenCache(30_000);
    const r = record(10_000);
    l1.set(r, 1_000_000);

    expect(l1.get(1_000_000)).toBe(r);
    expect(l1.get(1_029_999)).toBe(r);
    expect(l1.get(1_030_000)).toBeUndefined();
    expect(l1.get(1_000_000)).toBeUndefined();
  });

  it('never returns an expired record, whatever its age', () => {
    const l1 = new L1TokenCache(300_000);
    l1.set(record(1_000), 999_000);

    expect(l1.get(1_000_000)).toBeUndefined();
  });

  it('set(undefined) forgets the copy (L2 was flushed)', () => {
    const l1 = new L1TokenCache(30_000);
    l1.set(record(10_000), 0);
    l1.set(undefined, 1);

    expect(l1.get(2)).toBeUndefined();
  });
});

describe('SingleFlight', () => {
  it('concurrent callers of one key share one run; other keys run separately', async () => {
    const flights = new SingleFlight<number>();
    let runs = 0;
    const work = async () => {
      runs += 1;
      await new Promise((r) => setTimeout(r, 5));
      return runs;
    };

    const results = await Promise.all([
      flights.run('a', work),
      flights.run('a', work),
      flights.run('b', work),
    ]);

    expect(runs).toBe(2);
    expect(results[0]).toBe(results[1]);
    expect(flights.size).toBe(0);
  });

  it('shares a rejection, then lets the next call run anew', async () => {
    const flights = new SingleFlight<string>();
    let runs = 0;
    const failing = async () => {
      runs += 1;
      throw new Error(`failure ${runs}`);
    };

    const [a, b] = await Promise.allSettled([flights.run('k', failing), flights.run('k', failing)]);
    const c = await flights.run('k', async () => 'ok');

    expect(a).toEqual(b);
    expect(runs).toBe(1);
    expect(c).toBe('ok');
  });
});

describe('equalJitterDelayMs', () => {
  it.each([
    [0, 100, 1_000, 50, 100],
    [1, 100, 1_000, 100, 200],
    [5, 100, 1_000, 500, 1_000],
  ])('retry %i, base %i, cap %i → between %i and %i ms', (retry, base, cap, low, high) => {
    expect(equalJitterDelayMs(retry, base, cap, () => 0)).toBe(low);
    expect(equalJitterDelayMs(retry, base, cap, () => 0.999999)).toBeLessThanOrEqual(high);
    expect(equalJitterDelayMs(retry, base, cap, () => 0.999999)).toBeGreaterThan(high - 2);
  });
});
