import { describe, expect, it } from 'vitest';
import { parseCredentials } from '../../lambda/core/credential-store';
import { CredentialsMalformedError, CredentialsNotSetError } from '../../lambda/core/errors';
import { MintTokenRequestError, parseMintTokenRequest } from '../../lambda/core/mint-token-request';
import { parseSettings, SettingsError } from '../../lambda/core/settings';
import { redactingReplacer } from '../../lambda/core/telemetry';

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
  it('defaults to ensure', () => {
    expect(parseMintTokenRequest(undefined)).toEqual({ action: 'ensure' });
    expect(parseMintTokenRequest({})).toEqual({ action: 'ensure' });
  });

  it('passes valid fields through', () => {
    expect(
      parseMintTokenRequest({ action: 'refresh', force: true, minTtlSeconds: 120, requestedBy: 'ops' }),
    ).toEqual({
      action: 'refresh',
      force: true,
      minTtlSeconds: 120,
      requestedBy: 'ops',
    });
  });

  it('reports every problem together', () => {
    expect(() => parseMintTokenRequest({ action: 'x', force: 'yes', minTtlSeconds: 1.5, extra: 1 })).toThrow(
      /unknown field\(s\) extra.*"action".*"force".*"minTtlSeconds"/,
    );
    expect(() => parseMintTokenRequest('flush')).toThrow(MintTokenRequestError);
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
