import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AccessDeniedError,
  CredentialsUnavailableError,
  InvalidTokenRequestError,
  MalformedTokenResponseError,
  TokenApiError,
  TokenApiThrottledError,
  TokenClient,
  TokenClientConfigError,
  TokenRequestFailedError,
  TokenUnavailableError,
} from '../../client';
import { FakeTokenApi } from '../kit/fakes/fake-token-api';
import { freePort } from '../kit/local-aws/moto';

/** The consumer client against a local HTTP token API that verifies SigV4 like API Gateway does. */
const CREDENTIALS = {
  accessKeyId: 'AKIDCLIENTTEST',
  secretAccessKey: 'client-test-secret-key',
  sessionToken: 'client-test-session-token',
};
const REGION = 'eu-west-2';

let api: FakeTokenApi;
beforeAll(async () => {
  api = await FakeTokenApi.start(CREDENTIALS, REGION);
});
afterAll(async () => {
  await api.stop();
});
beforeEach(() => api.reset());

const client = (options: Partial<ConstructorParameters<typeof TokenClient>[0]> = {}) =>
  new TokenClient({
    apiUrl: api.url,
    region: REGION,
    credentials: CREDENTIALS,
    backoffBaseMs: 10,
    backoffCapMs: 20,
    ...options,
  });

describe('TokenClient — signing', () => {
  it('signs GET /v1/token with SigV4 for execute-api in the given region', async () => {
    const token = await client().getToken();

    expect(token.accessToken).toBe(api.issuedTokens[0]);
    expect(api.requests).toHaveLength(1);
    const request = api.requests[0];
    expect(request?.signatureValid).toBe(true);
    expect(request?.path).toBe('/v1/token');
    expect(request?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDCLIENTTEST\/\d{8}\/eu-west-2\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(request?.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(request?.headers['x-amz-security-token']).toBe(CREDENTIALS.sessionToken);
  });

  it('a signature for another region or secret does not verify (the check can fail)', async () => {
    const wrongRegion = client({ region: 'us-east-1' });
    const wrongSecret = client({ credentials: { ...CREDENTIALS, secretAccessKey: 'not-the-secret' } });

    await expect(wrongRegion.getToken()).rejects.toBeInstanceOf(AccessDeniedError);
    await expect(wrongSecret.getToken()).rejects.toBeInstanceOf(AccessDeniedError);
    expect(api.requests.map((r) => r.signatureValid)).toEqual([false, false]);
  });

  describe('with the default credential chain', () => {
    const saved = { ...process.env };
    afterEach(() => {
      process.env = { ...saved };
    });

    it('takes credentials from the environment when none are passed', async () => {
      process.env.AWS_ACCESS_KEY_ID = CREDENTIALS.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = CREDENTIALS.secretAccessKey;
      process.env.AWS_SESSION_TOKEN = CREDENTIALS.sessionToken;

      const token = await new TokenClient({ apiUrl: api.url, region: REGION }).getToken();

      expect(token.accessToken).toBe(api.issuedTokens[0]);
      expect(api.requests[0]?.signatureValid).toBe(true);
    });

    it('no credentials anywhere → CredentialsUnavailableError saying what to configure, no request', async () => {
      for (const key of Object.keys(process.env)) if (key.startsWith('AWS_')) delete process.env[key];
      process.env.AWS_CONFIG_FILE = '/nonexistent/config';
      process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/credentials';
      process.env.AWS_EC2_METADATA_DISABLED = 'true';

      const error = await new TokenClient({ apiUrl: api.url, region: REGION, maxAttempts: 1 })
        .getToken()
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(CredentialsUnavailableError);
      expect((error as Error).message).toMatch(/default credential chain/);
      expect(api.requests).toHaveLength(0);
    });
  });
});

describe('TokenClient — caching and single-flight', () => {
  it('reuses the cached token until expires_at minus the margin; asks for min_ttl = margin', async () => {
    const tokens = client({ refreshMarginSeconds: 120 });

    const first = await tokens.getToken();
    const second = await tokens.getToken();

    expect(second).toBe(first);
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]?.query).toEqual({ min_ttl: '120' });
    expect(first.expiresAt.getTime() - Date.now()).toBeGreaterThan(3500_000);
  });

  it('a token with no more than the margin left is not reused', async () => {
    api.fallback = { kind: 'token', expiresIn: 10 };
    const tokens = client({ refreshMarginSeconds: 10 });

    const first = await tokens.getToken();
    const second = await tokens.getToken();

    expect(second.accessToken).not.toBe(first.accessToken);
    expect(api.requests).toHaveLength(2);
  });

  it('a larger minTtlSeconds than the cached token has left fetches a new one; forceRefresh bypasses the cache', async () => {
    api.enqueue({ kind: 'token', expiresIn: 300 });
    const tokens = client();

    await tokens.getToken();
    await tokens.getToken({ minTtlSeconds: 600 });
    await tokens.getToken({ forceRefresh: true });

    expect(api.requests.map((r) => r.query.min_ttl)).toEqual(['60', '600', '60']);
  });

  it('10 concurrent getToken calls make one request (single-flight)', async () => {
    const tokens = client();

    const results = await Promise.all(Array.from({ length: 10 }, () => tokens.getToken()));

    expect(api.requests).toHaveLength(1);
    expect(new Set(results.map((r) => r.accessToken)).size).toBe(1);
  });
});

describe('TokenClient — a token ThroughLine rejected', () => {
  it('reportRejected sends only the fingerprint, drops the cached token and returns the replacement; concurrent reports share one request', async () => {
    const tokens = client();
    const first = await tokens.getToken();

    const replacements = await Promise.all(Array.from({ length: 5 }, () => tokens.reportRejected(first)));
    const next = await tokens.getToken();

    const fingerprint = createHash('sha256').update(first.accessToken).digest('hex').slice(0, 16);
    expect(api.requests.map((r) => r.query)).toEqual([
      { min_ttl: '60' },
      { min_ttl: '60', rejected: fingerprint },
    ]);
    expect(new Set(replacements.map((r) => r.accessToken)).size).toBe(1);
    expect(replacements[0]?.accessToken).not.toBe(first.accessToken);
    expect(next).toBe(replacements[0]);
    expect(JSON.stringify(api.requests)).not.toContain(first.accessToken);
  });

  it('reportRejected with nothing to report is a configuration error, without a request', async () => {
    const tokens = client();
    await expect(tokens.reportRejected('')).rejects.toBeInstanceOf(TokenClientConfigError);
    expect(api.requests).toHaveLength(0);
  });
});

describe('TokenClient — retries and errors', () => {
  it('503 with Retry-After: waits at least that long, then succeeds', async () => {
    api.enqueue({
      kind: 'status',
      status: 503,
      body: { error: 'token_unavailable', message: 'No access token can be issued right now.' },
      headers: { 'retry-after': '1' },
    });

    const token = await client().getToken();

    expect(token.accessToken).toBe(api.issuedTokens[0]);
    expect(api.requests).toHaveLength(2);
    const [a, b] = api.requests;
    // Backoff here is at most 20 ms, so only the header explains the wait.
    expect((b?.at ?? 0) - (a?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it.each([429, 500, 502, 504])('%i is retried', async (status) => {
    api.enqueue({ kind: 'status', status, body: { message: 'try again' } });

    await client().getToken();

    expect(api.requests).toHaveLength(2);
  });

  it('still 503 after maxAttempts → TokenUnavailableError with the API message and Retry-After', async () => {
    api.fallback = {
      kind: 'status',
      status: 503,
      body: { error: 'token_unavailable', message: 'No access token can be issued right now.' },
      headers: { 'retry-after': '0' },
    };

    const error = await client({ maxAttempts: 3 })
      .getToken()
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TokenUnavailableError);
    expect(error).toMatchObject({ status: 503, retryAfterSeconds: 0, retryable: true });
    expect((error as Error).message).toMatch(/No access token can be issued right now/);
    expect(api.requests).toHaveLength(3);
  });

  it('still 429 → TokenApiThrottledError', async () => {
    api.fallback = { kind: 'status', status: 429, body: { message: 'Too Many Requests' } };

    await expect(client({ maxAttempts: 2 }).getToken()).rejects.toBeInstanceOf(TokenApiThrottledError);
  });

  it('a Retry-After longer than the total budget is not waited for', async () => {
    api.fallback = { kind: 'status', status: 503, body: {}, headers: { 'retry-after': '60' } };

    const error = await client({ totalBudgetMs: 2_000 })
      .getToken()
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ name: 'TokenUnavailableError', retryAfterSeconds: 60 });
    expect(api.requests).toHaveLength(1);
  });

  it('403 → AccessDeniedError telling what to grant, not retried', async () => {
    api.fallback = {
      kind: 'status',
      status: 403,
      body: {
        Message: 'User: arn:aws:sts::1:assumed-role/x/y is not authorized to perform: execute-api:Invoke',
      },
    };

    const error = await client()
      .getToken()
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AccessDeniedError);
    expect((error as Error).message).toMatch(/execute-api:Invoke on the TokenInvokeArn/);
    expect(api.requests).toHaveLength(1);
  });

  it('400 → InvalidTokenRequestError with the API message, not retried', async () => {
    api.fallback = {
      kind: 'status',
      status: 400,
      body: { error: 'invalid_request', message: 'min_ttl must be a whole number of seconds from 0 to 900' },
    };

    const error = await client({ refreshMarginSeconds: 5000 })
      .getToken()
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidTokenRequestError);
    expect((error as Error).message).toMatch(/min_ttl must be a whole number/);
    expect(api.requests).toHaveLength(1);
  });

  it('another 4xx → TokenApiError, not retried', async () => {
    api.fallback = { kind: 'status', status: 404, body: {} };

    const error = await client()
      .getToken()
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TokenApiError);
    expect(error).toMatchObject({ status: 404, retryable: false });
    expect(api.requests).toHaveLength(1);
  });

  it.each([
    ['not JSON', { kind: 'raw', status: 200, body: 'tok-SECRET-looking-body' }],
    [
      'no expires_in',
      { kind: 'status', status: 200, body: { access_token: 'tok-SECRET-1', token_type: 'Bearer' } },
    ],
    [
      'already expired',
      {
        kind: 'status',
        status: 200,
        body: { access_token: 'tok-SECRET-2', token_type: 'Bearer', expires_in: 0, expires_at: 1 },
      },
    ],
  ] as const)(
    'a 200 that is %s → MalformedTokenResponseError without the body',
    async (_label, behaviour) => {
      api.fallback = behaviour;

      const error = await client()
        .getToken()
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(MalformedTokenResponseError);
      expect(String((error as Error).message)).not.toMatch(/SECRET/);
      expect(api.requests).toHaveLength(1);
    },
  );

  it('an unreachable API → TokenRequestFailedError after the retries', async () => {
    const port = await freePort();

    const error = await new TokenClient({
      apiUrl: `http://127.0.0.1:${port}/v1/`,
      region: REGION,
      credentials: CREDENTIALS,
      maxAttempts: 2,
      backoffBaseMs: 1,
      backoffCapMs: 2,
    })
      .getToken()
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TokenRequestFailedError);
    expect((error as Error).message).toMatch(/could not be reached \(ECONNREFUSED\)/);
  });
});

describe('TokenClient — configuration', () => {
  it('accepts the stage URL or the token endpoint; derives the region from an execute-api host', () => {
    const fromStage = new TokenClient({
      apiUrl: 'https://abc123defg.execute-api.eu-west-2.amazonaws.com/v1/',
      credentials: CREDENTIALS,
    });
    const fromEndpoint = new TokenClient({
      apiUrl: 'https://abc123defg.execute-api.eu-west-2.amazonaws.com/v1/token',
      credentials: CREDENTIALS,
    });

    expect(fromStage.endpoint).toBe('https://abc123defg.execute-api.eu-west-2.amazonaws.com/v1/token');
    expect(fromEndpoint.endpoint).toBe(fromStage.endpoint);
  });

  it.each([
    ['a non-URL', { apiUrl: 'not a url' }, /not a URL/],
    ['plain http to another host', { apiUrl: 'http://example.com/v1/' }, /must be https/],
    ['a query string', { apiUrl: 'https://h.example.com/v1/?min_ttl=1', region: REGION }, /query string/],
    ['no region', { apiUrl: 'https://h.example.com/v1/' }, /pass the region option/],
    [
      'a negative margin',
      { apiUrl: 'https://h.example.com/v1/', region: REGION, refreshMarginSeconds: -1 },
      /refreshMarginSeconds/,
    ],
  ])('rejects %s with a TokenClientConfigError', (_label, options, message) => {
    const saved = process.env.AWS_REGION;
    delete process.env.AWS_REGION;
    try {
      expect(() => new TokenClient({ credentials: CREDENTIALS, ...options })).toThrow(TokenClientConfigError);
      expect(() => new TokenClient({ credentials: CREDENTIALS, ...options })).toThrow(message);
    } finally {
      if (saved !== undefined) process.env.AWS_REGION = saved;
    }
  });
});
