import { describe, expect, it } from 'vitest';
import { parseCredentials } from '../../lambda/aws/credential-store';
import { CredentialsMalformedError, CredentialsNotSetError } from '../../lambda/errors/broker-errors';
import {
  entryPointOf,
  MintTokenRequestError,
  parseMintTokenRequest,
} from '../../lambda/minting/mint-token-request';
import { parseSettings, SettingsError } from '../../lambda/runtime/settings';
import { redactingReplacer } from '../../lambda/runtime/telemetry';

const SECRET = 'Sup3rS3cretValue';
const meta = {
  secretId: 'arn:aws:secretsmanager:eu-west-2:1:secret:tl',
  which: 'AWSCURRENT',
  versionId: 'v1',
  createdDate: undefined,
};

describe('parseCredentials', () => {
  it('returns the pair and the version', () => {
    expect(parseCredentials(JSON.stringify({ client_id: 'id', client_secret: SECRET }), meta)).toEqual({
      clientId: 'id',
      clientSecret: SECRET,
      versionId: 'v1',
      createdDate: undefined,
    });
  });

  it.each([
    ['binary secret', undefined, CredentialsMalformedError, /no SecretString/],
    ['not JSON', `client_secret=${SECRET}`, CredentialsMalformedError, /not valid JSON/],
    ['JSON string', JSON.stringify(SECRET), CredentialsMalformedError, /not an object/],
    [
      'placeholder',
      JSON.stringify({ throughline_broker_placeholder: 'x', nonce: SECRET }),
      CredentialsNotSetError,
      /placeholder/,
    ],
    [
      'both missing',
      JSON.stringify({ secret: SECRET }),
      CredentialsMalformedError,
      /"client_id" is missing, "client_secret" is missing/,
    ],
    [
      'blank id',
      JSON.stringify({ client_id: '  ', client_secret: SECRET }),
      CredentialsMalformedError,
      /"client_id" is empty/,
    ],
    [
      'numeric secret',
      JSON.stringify({ client_id: 'id', client_secret: 12345 }),
      CredentialsMalformedError,
      /"client_secret" is a number/,
    ],
    [
      'padded secret',
      JSON.stringify({ client_id: 'id', client_secret: ` ${SECRET}\n` }),
      CredentialsMalformedError,
      /whitespace/,
    ],
  ])('%s → %s, naming the problem and never the value', (_label, value, type, message) => {
    let caught: unknown;
    try {
      parseCredentials(value, meta);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(type);
    expect((caught as Error).message).toMatch(message);
    expect((caught as Error).message).toContain(meta.secretId);
    expect((caught as Error).message).not.toContain(SECRET);
  });
});

describe('parseMintTokenRequest', () => {
  const limits = { maxMinTtlSeconds: 900 };
  it('defaults to ensure', () => {
    expect(parseMintTokenRequest(undefined, 'serving', limits)).toEqual({ action: 'ensure' });
    expect(parseMintTokenRequest({}, 'serving', limits)).toEqual({ action: 'ensure' });
  });

  it('passes valid fields through at the operator entry point', () => {
    expect(
      parseMintTokenRequest(
        { action: 'refresh', force: true, minTtlSeconds: 120, requestedBy: 'ops' },
        'operator',
        limits,
      ),
    ).toEqual({
      action: 'refresh',
      force: true,
      minTtlSeconds: 120,
      requestedBy: 'ops',
    });
  });

  it('reports every problem together, without repeating unknown field names', () => {
    let message = '';
    try {
      parseMintTokenRequest({ action: 'x', force: 'yes', minTtlSeconds: 1.5, extra: 1 }, 'operator', limits);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/unknown field\(s\) 1.*"action".*"force".*"minTtlSeconds"/);
    expect(message).not.toContain('extra');
    expect(() => parseMintTokenRequest('flush', 'operator', limits)).toThrow(MintTokenRequestError);
  });

  it('refuses force, flush, gate overrides and the usage report at the serving entry point', () => {
    for (const payload of [
      { action: 'ensure', force: true },
      { action: 'flush' },
      { action: 'ensure', overrideReason: 'outage over' },
      { action: 'usage' },
    ]) {
      expect(() => parseMintTokenRequest(payload, 'serving', limits), JSON.stringify(payload)).toThrow(
        /for operators: invoke the operator alias/,
      );
      expect(() => parseMintTokenRequest(payload, 'operator', limits)).not.toThrow();
    }
  });

  it('bounds min_ttl at the serving entry point and checks fingerprints', () => {
    expect(() => parseMintTokenRequest({ minTtlSeconds: 901 }, 'serving', limits)).toThrow(
      /between 0 and 900/,
    );
    expect(parseMintTokenRequest({ minTtlSeconds: 901 }, 'operator', limits)).toMatchObject({
      minTtlSeconds: 901,
    });
    expect(() => parseMintTokenRequest({ rejectedFingerprint: 'not-hex' }, 'serving', limits)).toThrow(
      /16 lower-case hex/,
    );
    expect(
      parseMintTokenRequest({ rejectedFingerprint: '0123456789abcdef' }, 'serving', limits),
    ).toMatchObject({
      rejectedFingerprint: '0123456789abcdef',
    });
  });

  it('tells the entry points apart by the invoked ARN Lambda reports', () => {
    expect(entryPointOf('arn:aws:lambda:eu-west-2:123456789012:function:mint-token:operator')).toBe(
      'operator',
    );
    expect(entryPointOf('arn:aws:lambda:eu-west-2:123456789012:function:mint-token')).toBe('serving');
    expect(entryPointOf('arn:aws:lambda:eu-west-2:123456789012:function:mint-token:7')).toBe('serving');
    expect(entryPointOf('arn:aws:lambda:eu-west-2:123456789012:function:operator')).toBe('serving');
    expect(entryPointOf(undefined)).toBe('serving');
  });
});

describe('parseSettings', () => {
  const valid = {
    upstream: {
      tokenUrl: 'https://example.test/oauth/token',
      clientAuthentication: 'client_secret_post',
      requestTimeoutMs: 1,
      totalBudgetMs: 1,
      maxAttempts: 1,
      backoffBaseMs: 1,
      backoffCapMs: 1,
    },
    token: {
      defaultLifetimeSeconds: 1,
      maxLifetimeSeconds: 1,
      refreshAtFraction: 0.5,
      minTtlSeconds: 1,
      maxMinTtlSeconds: 1,
    },
    gate: {
      backoffBaseSeconds: 5,
      backoffCapSeconds: 300,
      credentialsRejectedWaitSeconds: 900,
      maxRetryAfterSeconds: 86_400,
      dailyRequestBudget: 200,
      leaseSeconds: 10,
    },
  };

  it('reads what the stack writes', () => {
    expect(parseSettings(JSON.stringify(valid)).upstream.tokenUrl).toBe('https://example.test/oauth/token');
  });

  it('refuses a non-https token URL even if a deployment wrote one', () => {
    const bad = { ...valid, upstream: { ...valid.upstream, tokenUrl: 'http://example.test/t' } };
    expect(() => parseSettings(JSON.stringify(bad))).toThrow(/tokenUrl must be an https/);
  });

  it('says what is wrong with malformed settings', () => {
    expect(() => parseSettings('{')).toThrow(SettingsError);
    expect(() => parseSettings(JSON.stringify({ upstream: {}, token: {} }))).toThrow(
      /upstream\.requestTimeoutMs must be a non-negative number/,
    );
  });

  const quota = {
    dailyQuotaCalls: 1_000,
    reserveCalls: 950,
    shares: {
      defaultDailyCalls: 250,
      byPrincipalArn: { 'arn:aws:iam::111111111111:role/web': 100 },
      byAccountId: { '222222222222': 300 },
    },
  };

  it("reads proxy mode's quota rules when present, and none without proxy mode", () => {
    expect(parseSettings(JSON.stringify({ ...valid, quota })).quota).toEqual(quota);
    expect(parseSettings(JSON.stringify(valid))).not.toHaveProperty('quota');
  });

  it('names every problem of the quota rules without echoing a key or a value', () => {
    let message = '';
    try {
      parseSettings(
        JSON.stringify({
          ...valid,
          quota: {
            dailyQuotaCalls: 1.5,
            reserveCalls: 0,
            shares: { defaultDailyCalls: 250, byPrincipalArn: { 'arn:aws:iam::333333333333:role/x': -7 } },
          },
        }),
      );
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/quota\.dailyQuotaCalls must be a positive whole number/);
    expect(message).toMatch(/quota\.reserveCalls must be a positive whole number/);
    expect(message).toMatch(/quota\.shares must hold defaultDailyCalls and byPrincipalArn\/byAccountId maps/);
    expect(message).not.toMatch(/333333333333|-7|1\.5/);
    expect(() =>
      parseSettings(JSON.stringify({ ...valid, quota: { ...quota, reserveCalls: 1_001 } })),
    ).toThrow(/quota\.reserveCalls must be at most quota\.dailyQuotaCalls/);
    expect(() => parseSettings(JSON.stringify({ ...valid, quota: [] }))).toThrow(/quota must be an object/);
  });
});

describe('log redaction', () => {
  it('replaces secret-bearing keys wherever they appear', () => {
    const line = JSON.stringify(
      {
        access_token: SECRET,
        nested: { client_secret: SECRET, Authorization: `Basic ${SECRET}` },
        tokenType: 'Bearer',
      },
      redactingReplacer,
    );
    expect(line).not.toContain(SECRET);
    expect(JSON.parse(line)).toEqual({
      access_token: '[REDACTED]',
      nested: { client_secret: '[REDACTED]', Authorization: '[REDACTED]' },
      tokenType: 'Bearer',
    });
  });
});
