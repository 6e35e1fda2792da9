import { describe, expect, it } from 'vitest';
import type { TokenRecord } from '../../contract/token-cache-schema';
import { decideMint, isFresh, isServable, metadataOf, refreshAtFor } from '../../lambda/token/token-record';

const record = (overrides: Partial<TokenRecord> = {}): TokenRecord => ({
  accessToken: 'tok',
  tokenType: 'Bearer',
  mintedAt: 1_000,
  expiresAt: 4_600,
  refreshAt: refreshAtFor(1_000, 3_600, 0.75),
  credentialVersionId: 'v1',
  ...overrides,
});

describe('freshness and servability', () => {
  it('the refresh point is the configured fraction of the lifetime', () => {
    expect(refreshAtFor(1_000, 3_600, 0.75)).toBe(3_700);
    expect(refreshAtFor(0, 10, 0.5)).toBe(5);
  });

  it('a token is fresh strictly before its refresh point', () => {
    expect(isFresh(record(), 3_699)).toBe(true);
    expect(isFresh(record(), 3_700)).toBe(false);
  });

  it('a token is never fresh once expired, even with a refresh point beyond expiry', () => {
    expect(isFresh(record({ refreshAt: 9_999 }), 4_600)).toBe(false);
  });

  it('servable means at least min TTL left; an expired token never is, even with min TTL 0', () => {
    expect(isServable(record(), 4_540, 60)).toBe(true);
    expect(isServable(record(), 4_541, 60)).toBe(false);
    expect(isServable(record(), 4_600, 0)).toBe(false);
    expect(isServable(record(), 4_599, 0)).toBe(true);
  });

  it('metadata never carries the token', () => {
    expect(metadataOf(record())).not.toHaveProperty('accessToken');
  });
});

describe('decideMint', () => {
  const opts = {};

  it('mints when the cache is empty', () => {
    expect(decideMint(undefined, 'v1', 1_000, opts)).toEqual({ mint: true, why: 'empty' });
  });

  it('does not mint for a fresh token of the current credentials', () => {
    expect(decideMint(record(), 'v1', 2_000, opts)).toEqual({ mint: false, why: 'fresh' });
  });

  it('mints when the credentials changed, even if the token is fresh', () => {
    expect(decideMint(record(), 'v2', 2_000, opts)).toEqual({
      mint: true,
      why: 'credential_version_changed',
    });
  });

  it('mints past the refresh point', () => {
    expect(decideMint(record(), 'v1', 3_700, opts)).toEqual({ mint: true, why: 'not_fresh' });
  });

  it('never mints a fresh token again for a caller that needs more life (one mint per refresh window)', () => {
    // min_ttl is not an input at all: serve-token answers such callers without a mint.
    expect(decideMint(record(), 'v1', 2_000, {})).toEqual({ mint: false, why: 'fresh' });
  });

  it('replaces a fresh token reported rejected downstream, and an unreadable item', () => {
    expect(decideMint(record(), 'v1', 2_000, { rejectedDownstream: true })).toEqual({
      mint: true,
      why: 'rejected_downstream',
    });
    expect(decideMint(undefined, 'v1', 2_000, { unreadable: true })).toEqual({
      mint: true,
      why: 'cache_unreadable',
    });
  });

  it('mints when forced', () => {
    expect(decideMint(record(), 'v1', 2_000, { ...opts, force: true })).toEqual({
      mint: true,
      why: 'forced',
    });
  });
});
