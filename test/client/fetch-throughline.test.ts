import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AccessDeniedError,
  brokerCacheStatus,
  InvalidThroughLinePathError,
  ProxyApiError,
  ProxyRequestFailedError,
  ProxyRequestRejectedError,
  ProxyUnavailableError,
  QuotaShareExhaustedError,
  ThroughLineProxyError,
  ThroughLineUnreachableError,
  TokenClient,
  TokenClientConfigError,
  TokenClientError,
} from '../../client';
import { executeApiSigner, signedRequest } from '../../client/signed-request';
import { FakeTokenApi, type ProxyBehaviour } from '../kit/fakes/fake-token-api';
import { freePort } from '../kit/local-aws/moto';

/**
 * Proxy mode's client (`fetchThroughLine`) against the local API that verifies SigV4 like API Gateway
 * and answers the proxy route as the broker would (contract/proxy-api.ts). Waits go through an
 * injected sleep that advances an injected clock: the tests count requests and waits, never time.
 */
const CREDENTIALS = {
  accessKeyId: 'AKIDPROXYTEST',
  secretAccessKey: 'proxy-test-secret-key',
  sessionToken: 'proxy-test-session-token',
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

/** A client on a virtual clock: `waits` records every wait between attempts (ms). */
function harness(options: Partial<ConstructorParameters<typeof TokenClient>[0]> = {}) {
  let clock = Date.UTC(2026, 11, 1);
  const waits: number[] = [];
  const client = new TokenClient({
    apiUrl: api.url,
    region: REGION,
    credentials: CREDENTIALS,
    backoffBaseMs: 10,
    backoffCapMs: 20,
    now: () => clock,
    sleep: async (ms) => {
      waits.push(ms);
      clock += ms;
    },
    ...options,
  });
  return { client, waits };
}

const refusal = (
  status: number,
  code: Extract<ProxyBehaviour, { kind: 'refusal' }>['code'],
  retryAfterSeconds?: number,
  headers?: Record<string, string>,
): ProxyBehaviour => ({
  kind: 'refusal',
  status,
  code,
  message: `Fixed text for ${code}.`,
  ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
  ...(headers ? { headers } : {}),
});

describe('fetchThroughLine — signing and what reaches the API', () => {
  it('signs GET <TokenApiUrl>throughline/<path> for execute-api; the query passes; ThroughLine answer comes back', async () => {
    api.enqueueThroughLine({
      kind: 'upstream',
      status: 200,
      body: { helplines: [{ id: 'h-1', name: 'Youthline' }] },
      headers: { etag: '"v1"' },
    });
    const { client } = harness();

    const response = await client.fetchThroughLine('/v2/helplines?country_code=nz');

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ helplines: [{ id: 'h-1', name: 'Youthline' }] });
    expect(response.headers.get('etag')).toBe('"v1"');
    expect(brokerCacheStatus(response)).toBe('miss');
    expect(api.requests).toHaveLength(1);
    const request = api.requests[0];
    expect(request).toMatchObject({
      method: 'GET',
      path: '/v1/throughline/v2/helplines',
      throughLinePath: '/v2/helplines',
      rawQuery: 'country_code=nz',
      body: '',
      signatureValid: true,
    });
    expect(request?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDPROXYTEST\/\d{8}\/eu-west-2\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(request?.headers['x-amz-security-token']).toBe(CREDENTIALS.sessionToken);
    expect(request?.headers.accept).toBe('application/json');
  });

  it('path without a leading slash, query from the path and from init.query: encoded once, a space as %20, signature valid', async () => {
    const { client } = harness();

    await client.fetchThroughLine('v2/helplines?country_code=nz&topic=self+harm', {
      query: { priority_only: true, limit: 5, topic_two: 'Abuse & domestic violence' },
    });

    const request = api.requests[0];
    expect(request?.signatureValid).toBe(true);
    expect(request?.throughLinePath).toBe('/v2/helplines');
    expect(request?.rawQuery).toBe(
      'country_code=nz&topic=self%20harm&priority_only=true&limit=5&topic_two=Abuse%20%26%20domestic%20violence',
    );
    expect(request?.query).toEqual({
      country_code: 'nz',
      topic: 'self harm',
      priority_only: 'true',
      limit: '5',
      topic_two: 'Abuse & domestic violence',
    });
  });

  it('signs POST with the body (its SHA-256 in the canonical request); json sets Content-Type', async () => {
    api.enqueueThroughLine({ kind: 'upstream', status: 202, body: {} });
    const event = { helpline_id: 'h-1', session_id: 's-1', timestamp: '2026-12-01T00:00:00Z' };
    const { client } = harness();

    const response = await client.fetchThroughLine('/v2/events/helpline_display', { json: event });

    expect(response.status).toBe(202);
    const request = api.requests[0];
    expect(request).toMatchObject({ method: 'POST', throughLinePath: '/v2/events/helpline_display' });
    expect(request?.signatureValid).toBe(true);
    expect(JSON.parse(request?.body ?? '')).toEqual(event);
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers.authorization).toMatch(/SignedHeaders=[a-z0-9;-]*content-type/);
  });

  it('a raw body with its own Content-Type is sent and signed as is', async () => {
    const { client } = harness();

    await client.fetchThroughLine('/v2/events/helpline_click', {
      method: 'POST',
      body: new TextEncoder().encode('{"helpline_id":"h-1"}'),
      headers: { 'Content-Type': 'application/json; charset=utf-8', 'Accept-Language': 'mi-NZ' },
    });

    expect(api.requests[0]).toMatchObject({ signatureValid: true, body: '{"helpline_id":"h-1"}' });
    expect(api.requests[0]?.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(api.requests[0]?.headers['accept-language']).toBe('mi-NZ');
  });

  it('the fake’s check can fail: a body other than the signed one, another region or secret → refused', async () => {
    const signer = executeApiSigner(REGION, CREDENTIALS);
    const url = new URL('throughline/v2/events/helpline_display', api.url);
    const signed = await signedRequest('POST', url, signer, {
      headers: { 'content-type': 'application/json' },
      body: '{"helpline_id":"h-1"}',
    });
    await fetch(url, { method: 'POST', headers: signed.headers, body: '{"helpline_id":"h-2"}' });

    const wrongRegion = harness({ region: 'us-east-1' }).client;
    const wrongSecret = harness({ credentials: { ...CREDENTIALS, secretAccessKey: 'not-it' } }).client;
    await expect(wrongRegion.fetchThroughLine('/v2/topics')).rejects.toBeInstanceOf(AccessDeniedError);
    await expect(wrongSecret.fetchThroughLine('/v2/topics', { json: {} })).rejects.toBeInstanceOf(
      AccessDeniedError,
    );

    expect(api.requests.map((r) => r.signatureValid)).toEqual([false, false, false]);
  });

  it('the endpoint is <TokenApiUrl>throughline/, given the stage URL, the token endpoint or the proxy base URL', () => {
    const fromStage = new TokenClient({
      apiUrl: 'https://abc123defg.execute-api.eu-west-2.amazonaws.com/v1/',
      credentials: CREDENTIALS,
    });
    const fromEndpoint = new TokenClient({
      apiUrl: 'https://abc123defg.execute-api.eu-west-2.amazonaws.com/v1/token',
      credentials: CREDENTIALS,
    });
    const fromProxyBase = new TokenClient({
      apiUrl: 'https://abc123defg.execute-api.eu-west-2.amazonaws.com/v1/throughline/',
      credentials: CREDENTIALS,
    });

    expect(fromStage.throughLineEndpoint).toBe(
      'https://abc123defg.execute-api.eu-west-2.amazonaws.com/v1/throughline/',
    );
    expect(fromEndpoint.throughLineEndpoint).toBe(fromStage.throughLineEndpoint);
    expect(fromProxyBase.throughLineEndpoint).toBe(fromStage.throughLineEndpoint);
    expect(fromProxyBase.endpoint).toBe('https://abc123defg.execute-api.eu-west-2.amazonaws.com/v1/token');
  });
});

describe("fetchThroughLine — ThroughLine's answers pass unchanged", () => {
  it.each([
    ['GET', 404, '{"error":"not_found","detail":"no such helpline"}'],
    ['GET', 400, '{"message":"country_code must be ISO 3166-1 alpha-2"}'],
    ['POST', 400, '{"errors":[{"field":"timestamp"}]}'],
    ['GET', 500, 'upstream says no'],
    ['GET', 304, ''],
  ] as const)(
    '%s answered %i: status and body as ThroughLine sent them, one request, no wait',
    async (method, status, body) => {
      api.enqueueThroughLine({ kind: 'upstream', status, body, headers: { 'x-extra': 'kept' } });
      const { client, waits } = harness();

      const response = await client.fetchThroughLine(
        method === 'GET' ? '/v2/helplines/h-404' : '/v2/events/helpline_display',
        method === 'POST' ? { json: { helpline_id: 'h-1' } } : {},
      );

      expect(response.status).toBe(status);
      expect(await response.text()).toBe(body);
      expect(response.headers.get('x-extra')).toBe('kept');
      expect(api.requests).toHaveLength(1);
      expect(waits).toEqual([]);
    },
  );

  it('a stale answer (ThroughLine down, the last good one) comes back with X-Broker-Cache: stale', async () => {
    api.enqueueThroughLine({ kind: 'upstream', status: 200, body: { topics: [] }, cache: 'stale' });

    const response = await harness().client.fetchThroughLine('/v2/topics');

    expect(response.status).toBe(200);
    expect(brokerCacheStatus(response)).toBe('stale');
  });
});

describe('fetchThroughLine — retries', () => {
  it.each(['rate_limited', 'quota_reserve_reached', 'token_unavailable'] as const)(
    'GET: broker 503 %s with Retry-After is retried after that wait, then succeeds',
    async (code) => {
      api.enqueueThroughLine(refusal(503, code, 2));
      const { client, waits } = harness();

      const response = await client.fetchThroughLine('/v2/countries');

      expect(response.status).toBe(200);
      expect(api.throughLineRequests).toHaveLength(2);
      expect(waits).toHaveLength(1);
      expect(waits[0]).toBeGreaterThanOrEqual(2000);
    },
  );

  it('POST: the broker’s 503 means not forwarded, so it is retried, with the same body and a fresh signature', async () => {
    api.enqueueThroughLine(refusal(503, 'rate_limited', 1), { kind: 'upstream', status: 202, body: {} });
    const { client, waits } = harness();

    const response = await client.fetchThroughLine('/v2/events/helpline_display', {
      json: { helpline_id: 'h-1', session_id: 's-1' },
    });

    expect(response.status).toBe(202);
    const posts = api.throughLineRequests;
    expect(posts).toHaveLength(2);
    expect(posts.map((r) => r.signatureValid)).toEqual([true, true]);
    expect(posts[1]?.body).toBe(posts[0]?.body);
    expect(waits[0]).toBeGreaterThanOrEqual(1000);
  });

  it('429 quota_share_exhausted with a Retry-After beyond the budget → QuotaShareExhaustedError at once, one request', async () => {
    api.enqueueThroughLine(
      refusal(429, 'quota_share_exhausted', 7200, { 'x-broker-quota-share': 'remaining=0; daily=150' }),
    );
    const { client, waits } = harness({ totalBudgetMs: 45_000 });

    const error = await client.fetchThroughLine('/v2/helplines?country_code=nz').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(QuotaShareExhaustedError);
    expect(error).toBeInstanceOf(ThroughLineProxyError);
    expect(error).toMatchObject({
      status: 429,
      code: 'quota_share_exhausted',
      retryAfterSeconds: 7200,
      quotaShare: 'remaining=0; daily=150',
      retryable: true,
    });
    expect((error as Error).message).toMatch(/daily share of ThroughLine's quota is used up/);
    expect((error as Error).message).toMatch(/Retry after 7200 s/);
    expect(api.throughLineRequests).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it('POST: ThroughLine’s own 429 is not retried; its answer and Retry-After come back', async () => {
    api.enqueueThroughLine({
      kind: 'upstream',
      status: 429,
      body: { message: 'Too Many Requests' },
      headers: { 'retry-after': '1' },
    });
    const { client, waits } = harness();

    const response = await client.fetchThroughLine('/v2/events/helpline_click', {
      json: { helpline_id: 'h-1', contact_method: 'phone' },
    });

    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toEqual({ message: 'Too Many Requests' });
    expect(api.throughLineRequests).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it('POST: ThroughLine’s own 503 is not retried either', async () => {
    api.enqueueThroughLine({ kind: 'upstream', status: 503, body: {}, headers: { 'retry-after': '1' } });

    const response = await harness().client.fetchThroughLine('/v2/events/helpline_click', { json: {} });

    expect(response.status).toBe(503);
    expect(api.throughLineRequests).toHaveLength(1);
  });

  it('GET: ThroughLine’s own 429 with Retry-After is retried after that wait', async () => {
    api.enqueueThroughLine({ kind: 'upstream', status: 429, body: {}, headers: { 'retry-after': '3' } });
    const { client, waits } = harness();

    const response = await client.fetchThroughLine('/v2/topics');

    expect(response.status).toBe(200);
    expect(api.throughLineRequests).toHaveLength(2);
    expect(waits[0]).toBeGreaterThanOrEqual(3000);
  });

  it('GET: still ThroughLine’s 429 after maxAttempts → the last answer is returned, not thrown', async () => {
    api.throughLineFallback = {
      kind: 'upstream',
      status: 429,
      body: { attempt: 'last' },
      headers: { 'retry-after': '0' },
    };
    const { client } = harness({ maxAttempts: 3 });

    const response = await client.fetchThroughLine('/v2/topics');

    expect(response.status).toBe(429);
    expect(await response.json()).toEqual({ attempt: 'last' });
    expect(api.throughLineRequests).toHaveLength(3);
  });

  it('never waits past the total budget: Retry-After 4 s with a 7-s budget → two requests, one wait, then the error', async () => {
    api.throughLineFallback = refusal(503, 'rate_limited', 4);
    const { client, waits } = harness({ totalBudgetMs: 7_000, maxAttempts: 10 });

    const error = await client.fetchThroughLine('/v2/countries').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ProxyUnavailableError);
    expect(error).toMatchObject({ status: 503, code: 'rate_limited', retryAfterSeconds: 4 });
    expect(api.throughLineRequests).toHaveLength(2);
    expect(waits).toEqual([4000]);
  });

  it('a per-call budget and attempt count override the client’s', async () => {
    api.throughLineFallback = refusal(503, 'token_unavailable', 0);
    const { client } = harness({ maxAttempts: 10 });

    await expect(client.fetchThroughLine('/v2/countries', { maxAttempts: 2 })).rejects.toBeInstanceOf(
      ProxyUnavailableError,
    );
    expect(api.throughLineRequests).toHaveLength(2);
  });

  it('API Gateway’s own 429 (no broker code, no X-Broker-Cache): retried for GET, not for POST', async () => {
    const throttled: ProxyBehaviour = {
      kind: 'gateway',
      status: 429,
      body: { message: 'Too Many Requests' },
    };
    api.enqueueThroughLine(throttled);
    const { client } = harness();

    const get = await client.fetchThroughLine('/v2/countries');
    expect(get.status).toBe(200);
    expect(api.throughLineRequests).toHaveLength(2);

    api.reset();
    api.enqueueThroughLine(throttled);
    const error = await client.fetchThroughLine('/v2/events/helpline_display', { json: {} }).catch((e) => e);
    expect(error).toBeInstanceOf(ProxyApiError);
    expect(error).toMatchObject({ status: 429, code: undefined, retryable: true });
    expect(api.throughLineRequests).toHaveLength(1);
  });
});

describe('fetchThroughLine — the broker’s other refusals: typed, not retried', () => {
  it.each([
    [refusal(400, 'invalid_request'), ProxyRequestRejectedError, 'invalid_request'],
    [refusal(404, 'path_not_allowed'), ProxyRequestRejectedError, 'path_not_allowed'],
    [refusal(413, 'request_too_large'), ProxyRequestRejectedError, 'request_too_large'],
    [refusal(415, 'unsupported_media_type'), ProxyRequestRejectedError, 'unsupported_media_type'],
    [refusal(502, 'upstream_unavailable'), ThroughLineUnreachableError, 'upstream_unavailable'],
    [refusal(504, 'upstream_unavailable'), ThroughLineUnreachableError, 'upstream_unavailable'],
    [refusal(502, 'upstream_response_too_large'), ThroughLineUnreachableError, 'upstream_response_too_large'],
    [refusal(500, 'internal_error'), ProxyApiError, 'internal_error'],
  ] as const)('%o → %o', async (behaviour, errorClass, code) => {
    api.enqueueThroughLine(behaviour);
    const { client, waits } = harness();

    const error = await client.fetchThroughLine('/v2/helplines').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(errorClass);
    expect(error).toMatchObject({ status: behaviour.status, code });
    expect((error as Error).message).toContain(`Fixed text for ${code}.`);
    expect((error as Error).message).toContain('GET /v2/helplines');
    expect(api.throughLineRequests).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it('405 method_not_allowed carries the Allow header', async () => {
    api.enqueueThroughLine(refusal(405, 'method_not_allowed', undefined, { allow: 'GET' }));

    const error = await harness()
      .client.fetchThroughLine('/v2/helplines', { json: {} })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ProxyRequestRejectedError);
    expect(error).toMatchObject({
      status: 405,
      code: 'method_not_allowed',
      allow: ['GET'],
      retryable: false,
    });
  });

  it('a broker-shaped body on an answer marked as ThroughLine’s is ThroughLine’s (returned, not thrown)', async () => {
    api.enqueueThroughLine({
      kind: 'upstream',
      status: 400,
      body: { error: 'invalid_request', message: 'ThroughLine’s own words' },
    });

    const response = await harness().client.fetchThroughLine('/v2/helplines');

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'invalid_request', message: 'ThroughLine’s own words' });
  });

  it('API Gateway’s 403 → AccessDeniedError saying what to grant', async () => {
    api.enqueueThroughLine({
      kind: 'gateway',
      status: 403,
      body: {
        Message: 'User: arn:aws:sts::1:assumed-role/x/y is not authorized to perform: execute-api:Invoke',
      },
    });

    const error = await harness()
      .client.fetchThroughLine('/v2/helplines')
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AccessDeniedError);
    expect((error as Error).message).toMatch(/execute-api:Invoke on the proxy route/);
    expect(api.requests).toHaveLength(1);
  });
});

describe('fetchThroughLine — refused before any request', () => {
  it.each([
    ['an absolute URL', 'https://evil.example/v2/helplines', /absolute URL/],
    ['another scheme', 'javascript:alert(1)', /absolute URL/],
    ['a scheme-relative URL', '//evil.example/v2/helplines', /absolute URL/],
    ['a ".." segment', '/v2/../token', /"\." or "\.\." segment/],
    ['a ".." at the start', '../token', /"\." or "\.\." segment/],
    ['a percent-encoded ".."', '/v2/%2E%2e/token', /"\." or "\.\." segment/],
    ['a "." segment', '/v2/./helplines', /"\." or "\.\." segment/],
    ['a backslash', '/v2\\..\\token', /backslash/],
    ['a fragment', '/v2/helplines#top', /fragment/],
    ['white space', '/v2/helplines?topic=self harm', /white space/],
    ['a control character', '/v2/help\nlines', /control character/],
    ['nothing', '', /Name a ThroughLine API path/],
    ['only a slash', '/', /Name a ThroughLine API path/],
    ['a character that changes when encoded', '/v2/hélplines', /change it when sent/],
  ])('%s → InvalidThroughLinePathError', async (_label, path, message) => {
    const { client } = harness();

    const error = await client.fetchThroughLine(path).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidThroughLinePathError);
    expect(error).toMatchObject({ retryable: false, status: undefined });
    expect((error as Error).message).toMatch(message);
    expect(api.requests).toHaveLength(0);
  });

  it.each([
    ['an Authorization header', { headers: { Authorization: 'Bearer x' } }, /sets authorization itself/],
    ['an X-Amz-* header', { headers: { 'X-Amz-Date': '20260101T000000Z' } }, /sets x-amz-date itself/],
    ['a body on a GET', { method: 'GET', body: '{}' }, /A GET has no body/],
    ['body and json', { body: '{}', json: {} }, /body or json, not both/],
    ['another method', { method: 'DELETE' }, /GET or POST, not DELETE/],
  ] as const)('%s → TokenClientConfigError, no request', async (_label, init, message) => {
    const error = await harness()
      .client.fetchThroughLine('/v2/helplines', init as never)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TokenClientConfigError);
    expect((error as Error).message).toMatch(message);
    expect(api.requests).toHaveLength(0);
  });

  it('an aborted signal stops the call before it is sent', async () => {
    const controller = new AbortController();
    controller.abort(new Error('caller gave up'));

    await expect(
      harness().client.fetchThroughLine('/v2/helplines', { signal: controller.signal }),
    ).rejects.toThrow('caller gave up');
    expect(api.requests).toHaveLength(0);
  });

  it('an unreachable API → ProxyRequestFailedError, not retried, and says ThroughLine never saw it', async () => {
    const port = await freePort();
    const { client, waits } = harness({ apiUrl: `http://127.0.0.1:${port}/v1/` });

    const error = await client.fetchThroughLine('/v2/helplines').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ProxyRequestFailedError);
    expect(error).toMatchObject({ mayHaveBeenForwarded: false, retryable: true });
    expect((error as Error).message).toMatch(/could not be reached for GET \/v2\/helplines \(ECONNREFUSED\)/);
    expect(waits).toEqual([]);
  });
});

describe('fetchThroughLine — nothing secret in errors', () => {
  it('no error message names the secret key, the session token, a signature or the query values', async () => {
    const scenarios: ProxyBehaviour[] = [
      refusal(429, 'quota_share_exhausted', 9999),
      refusal(503, 'rate_limited', 9999),
      refusal(404, 'path_not_allowed'),
      refusal(502, 'upstream_unavailable'),
      refusal(500, 'internal_error'),
      { kind: 'gateway', status: 403, body: { message: 'Forbidden' } },
      { kind: 'gateway', status: 504, body: { message: 'Endpoint request timed out' } },
      // A broker message that is not a short printable text is not repeated.
      {
        kind: 'refusal',
        status: 500,
        code: 'internal_error',
        message: `token tl-at-SECRET\n${'x'.repeat(600)}`,
      },
    ];
    const errors: unknown[] = [];
    for (const behaviour of scenarios) {
      api.enqueueThroughLine(behaviour);
      errors.push(
        await harness()
          .client.fetchThroughLine('/v2/helplines?country_code=nz&topic=private-topic-value', {
            maxAttempts: 1,
          })
          .catch((e: unknown) => e),
      );
    }

    const signatures = api.requests.map(
      (r) => /Signature=([0-9a-f]{64})/.exec(String(r.headers.authorization))?.[1],
    );
    expect(signatures.every(Boolean)).toBe(true);
    for (const error of errors) {
      expect(error).toBeInstanceOf(TokenClientError);
      const text = `${(error as Error).message} ${JSON.stringify(error)} ${String((error as Error).cause ?? '')}`;
      for (const secret of [
        CREDENTIALS.secretAccessKey,
        CREDENTIALS.sessionToken,
        'AWS4-HMAC-SHA256',
        'SECRET',
        'private-topic-value',
        ...(signatures as string[]),
      ]) {
        expect(text).not.toContain(secret);
      }
    }
  });
});

describe('the token route is unchanged beside the proxy route', () => {
  it('getToken and fetchThroughLine on one client, each served by its route', async () => {
    const { client } = harness();

    const token = await client.getToken();
    const response = await client.fetchThroughLine('/v2/topics');

    expect(token.accessToken).toBe(api.issuedTokens[0]);
    expect(response.status).toBe(200);
    expect(api.requests.map((r) => r.path)).toEqual(['/v1/token', '/v1/throughline/v2/topics']);
    expect(api.requests.every((r) => r.signatureValid)).toBe(true);
  });
});
