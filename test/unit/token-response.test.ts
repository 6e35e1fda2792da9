import { describe, expect, it } from 'vitest';
import { BadTokenResponseError } from '../../lambda/errors/broker-errors';
import { lifetimeOf, validateTokenResponse } from '../../lambda/token/token-response';

const settings = {
  defaultLifetimeSeconds: 3600,
  maxLifetimeSeconds: 86_400,
  refreshAtFraction: 0.75,
  minTtlSeconds: 60,
  maxMinTtlSeconds: 900,
};
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.payload.signature';

describe('validateTokenResponse', () => {
  it("accepts ThroughLine's documented shape", () => {
    expect(validateTokenResponse({ access_token: TOKEN, expires_in: 1800 }, settings)).toEqual({
      accessToken: TOKEN,
      lifetimeSeconds: 1800,
      lifetimeSource: 'expires_in',
    });
  });

  it('accepts token_type Bearer in any case, and extra fields', () => {
    expect(
      validateTokenResponse(
        { access_token: TOKEN, token_type: 'bearer', expires_in: 60, scope: 'x', created_at: 1 },
        settings,
      ).accessToken,
    ).toBe(TOKEN);
  });

  it.each([
    ['null', null],
    ['an array', [TOKEN]],
    ['a string', TOKEN],
    ['no access_token', { token_type: 'Bearer' }],
    ['an empty access_token', { access_token: '' }],
    ['a numeric access_token', { access_token: 42 }],
    ['an access_token with spaces', { access_token: `${TOKEN} x` }],
    ['an access_token with a newline', { access_token: `${TOKEN}\n` }],
    ['a non-Bearer token_type', { access_token: TOKEN, token_type: 'DPoP' }],
    ['a non-string token_type', { access_token: TOKEN, token_type: 7 }],
  ])('rejects %s with BadTokenResponseError whose message has no token', (_label, body) => {
    let caught: unknown;
    try {
      validateTokenResponse(body, settings);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(BadTokenResponseError);
    expect((caught as Error).message).not.toContain(TOKEN);
    expect((caught as BadTokenResponseError).retryable).toBe(false);
  });

  it('rejects an absurdly long token', () => {
    expect(() => validateTokenResponse({ access_token: 'a'.repeat(20_000) }, settings)).toThrow(
      BadTokenResponseError,
    );
  });
});

describe('lifetimeOf', () => {
  it.each([
    [undefined, 3600, 'default'],
    [null, 3600, 'default'],
    [Number.NaN, 3600, 'default'],
    ['abc', 3600, 'default'],
    ['', 3600, 'default'],
    ['900', 900, 'expires_in'],
    [899.7, 899, 'expires_in'],
    [86_400, 86_400, 'expires_in'],
    [86_401, 86_400, 'capped'],
    [Number.POSITIVE_INFINITY, 3600, 'default'],
  ])('expires_in %s → %i s (%s)', (expiresIn, lifetimeSeconds, lifetimeSource) => {
    expect(lifetimeOf(expiresIn, settings)).toEqual({ lifetimeSeconds, lifetimeSource });
  });

  it.each([0, -5, 0.5, '0', '-5'])(
    'expires_in %s (below 1 s: already expired) is a bad response, not the default lifetime',
    (expiresIn) => {
      expect(() => lifetimeOf(expiresIn, settings)).toThrow(BadTokenResponseError);
      expect(() => validateTokenResponse({ access_token: 'abc', expires_in: expiresIn }, settings)).toThrow(
        /below 1 second/,
      );
    },
  );
});
