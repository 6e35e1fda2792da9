import { describe, expect, it } from 'vitest';
import type { ServeTokenSettings } from '../../contract/broker-settings';
import { SettingsError } from '../../lambda/runtime/settings';
import {
  ApiShapedDirectInvocationError,
  InvalidTokenRequestError,
  isApiGatewayEvent,
  parseServeTokenRequest,
} from '../../lambda/serving/serve-token-request';
import { parseServeTokenSettings } from '../../lambda/serving/serve-token-settings';
import { TEST_API, tokenRequestEvent } from '../kit/builders/api-gateway-event';

const SETTINGS: ServeTokenSettings = {
  defaultMinTtlSeconds: 60,
  maxMinTtlSeconds: 900,
  l1MaxAgeSeconds: 30,
  requestBudgetMs: 15_000,
  retryAfterSeconds: 5,
  mintThrottleBackoffBaseMs: 100,
  mintThrottleBackoffCapMs: 1_000,
};
const RANGE = 'min_ttl must be a whole number of seconds from 0 to 900; omit it for the default of 60';

describe('parseServeTokenRequest — API Gateway events', () => {
  it('no query string → the default min_ttl; the caller identity comes from the verified request context', () => {
    const request = parseServeTokenRequest(
      tokenRequestEvent({
        callerArn: 'arn:aws:sts::111122223333:assumed-role/svc/s',
        accountId: '111122223333',
      }),
      SETTINGS,
      TEST_API,
    );

    expect(request.minTtlSeconds).toBe(60);
    expect(request.caller).toMatchObject({
      channel: 'api',
      arn: 'arn:aws:sts::111122223333:assumed-role/svc/s',
      accountId: '111122223333',
      sourceIp: '10.0.0.12',
    });
  });

  it.each([
    ['0', 0],
    ['1', 1],
    ['900', 900],
    ['0120', 120],
  ])('min_ttl=%s → %i', (value, expected) => {
    expect(
      parseServeTokenRequest(tokenRequestEvent({ query: { min_ttl: value } }), SETTINGS, TEST_API)
        .minTtlSeconds,
    ).toBe(expected);
  });

  it.each(['901', '-1', '1.5', '1e2', ' 60', '', 'abc', '99999999'])(
    'min_ttl=%j → InvalidTokenRequestError',
    (value) => {
      expect(() =>
        parseServeTokenRequest(tokenRequestEvent({ query: { min_ttl: value } }), SETTINGS, TEST_API),
      ).toThrow(new InvalidTokenRequestError(RANGE));
    },
  );

  it('a repeated min_ttl is rejected even though the single-value map shows only one', () => {
    expect(() =>
      parseServeTokenRequest(tokenRequestEvent({ query: { min_ttl: ['1', '2'] } }), SETTINGS, TEST_API),
    ).toThrow('min_ttl is given more than once; give it once');
  });

  it('unknown parameters are rejected without echoing them', () => {
    const act = () =>
      parseServeTokenRequest(tokenRequestEvent({ query: { '<b>x</b>': '1' } }), SETTINGS, TEST_API);

    expect(act).toThrow(
      'GET /token accepts only the query parameters min_ttl and rejected; remove the others',
    );
  });

  it('the maximum comes from the settings', () => {
    const act = () =>
      parseServeTokenRequest(
        tokenRequestEvent({ query: { min_ttl: '200' } }),
        {
          ...SETTINGS,
          maxMinTtlSeconds: 100,
        },
        TEST_API,
      );

    expect(act).toThrow('from 0 to 100');
  });
});

describe('parseServeTokenRequest — direct invocations', () => {
  it.each([
    [undefined, 60],
    [null, 60],
    [{}, 60],
    [{ min_ttl: 300 }, 300],
  ])('%j → min_ttl %i, channel lambda-invoke', (payload, expected) => {
    const request = parseServeTokenRequest(payload, SETTINGS);

    expect(request).toEqual({ minTtlSeconds: expected, caller: { channel: 'lambda-invoke' } });
  });

  it.each([
    ['a string', 'token please', /must be a JSON object/],
    ['an array', [1], /must be a JSON object/],
    ['an unknown key', { minTtlSeconds: 10 }, /accepts only "min_ttl"/],
    ['a string min_ttl', { min_ttl: '10' }, /whole number of seconds/],
    ['a fractional min_ttl', { min_ttl: 1.5 }, /whole number of seconds/],
    ['a too large min_ttl', { min_ttl: 901 }, /from 0 to 900/],
  ])('%s → InvalidTokenRequestError', (_label, payload, message) => {
    expect(() => parseServeTokenRequest(payload, SETTINGS)).toThrow(message);
  });

  it('tells API Gateway events from direct payloads', () => {
    expect(isApiGatewayEvent(tokenRequestEvent())).toBe(true);
    expect(isApiGatewayEvent({ min_ttl: 1 })).toBe(false);
    expect(isApiGatewayEvent({ httpMethod: 'GET' })).toBe(false);
    expect(isApiGatewayEvent(null)).toBe(false);
  });
});

describe('parseServeTokenSettings', () => {
  it('reads what the stack writes', () => {
    expect(parseServeTokenSettings(JSON.stringify(SETTINGS))).toEqual(SETTINGS);
  });

  it.each([
    ['not JSON', '{', /is not JSON/],
    ['an array', '[]', /must be a JSON object/],
    ['a missing key', JSON.stringify({ ...SETTINGS, l1MaxAgeSeconds: undefined }), /l1MaxAgeSeconds must be/],
    [
      'a negative number',
      JSON.stringify({ ...SETTINGS, retryAfterSeconds: -1 }),
      /retryAfterSeconds must be/,
    ],
    ['max below default', JSON.stringify({ ...SETTINGS, maxMinTtlSeconds: 10 }), /maxMinTtlSeconds below/],
  ])('%s → SettingsError telling to redeploy', (_label, raw, message) => {
    expect(() => parseServeTokenSettings(raw)).toThrow(SettingsError);
    expect(() => parseServeTokenSettings(raw)).toThrow(message);
    expect(() => parseServeTokenSettings(raw)).toThrow(/redeploy the stack/);
  });
});

describe('parseServeTokenRequest — API-shaped direct invocations', () => {
  it.each([
    ['another API', { ...TEST_API, apiId: 'other1' }],
    ['another stage', { ...TEST_API, stage: 'v2' }],
    ['no deployed API configured', undefined],
  ])('an API event of %s is a direct invocation and is rejected', (_, deployed) => {
    const forged = tokenRequestEvent({ callerArn: 'arn:aws:iam::111122223333:role/Someone-Else' });

    const act = () => parseServeTokenRequest(forged, SETTINGS, deployed);

    expect(act).toThrow(ApiShapedDirectInvocationError);
    expect(act).toThrow(InvalidTokenRequestError);
  });
});
