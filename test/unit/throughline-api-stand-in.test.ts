import { request } from 'node:https';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { syntheticHelplines, ThroughLineApi, tooManyRequests } from '../kit/fakes/throughline-api';
import { makeAccessToken } from '../kit/fakes/token-server';

/**
 * The ThroughLine API stand-in itself: it must behave as docs/throughline-api.md says, refusals
 * included, before the proxy's integration tests can lean on it.
 */

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

const tls = inject('trustedTls');

function call(
  api: ThroughLineApi,
  path: string,
  options: { method?: string; token?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${api.url}${path}`,
      {
        method: options.method ?? 'GET',
        ca: tls.cert,
        headers: {
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const json = (answer: Answer): unknown => JSON.parse(answer.body.toString('utf8'));

describe('ThroughLine API stand-in', () => {
  let api: ThroughLineApi;
  const token = makeAccessToken();

  beforeAll(async () => {
    api = await ThroughLineApi.start(tls);
  });
  afterAll(async () => {
    await api.stop();
  });
  beforeEach(() => {
    api.reset();
    api.acceptToken(token);
  });

  it('serves the directory with an accepted token; filters by country_code and topic', async () => {
    const all = await call(api, '/v2/helplines', { token });
    const nz = await call(api, '/v2/helplines?country_code=nz', { token });
    const topic = await call(api, '/v2/helplines?country_code=US&topic=Suicidal%20thoughts', { token });
    const countries = await call(api, '/v2/countries', { token });

    expect(all.status).toBe(200);
    expect((json(all) as { helplines: unknown[] }).helplines).toHaveLength(3);
    expect(
      (json(nz) as { helplines: { country: { code: string } }[] }).helplines.map((h) => h.country.code),
    ).toEqual(['NZ']);
    expect((json(topic) as { helplines: { name: string }[] }).helplines.map((h) => h.name)).toEqual([
      'Example Crisis Line',
    ]);
    expect(json(countries)).toMatchObject({ countries: [{ code: 'NZ' }, { code: 'US' }] });
    expect(all.headers['cache-control']).toBeUndefined();
    expect(all.headers.etag).toBeUndefined();
  });

  it('401 without a token, with an unknown token and with a revoked one; nothing scripted is consumed', async () => {
    api.enqueue(tooManyRequests(5));

    const missing = await call(api, '/v2/topics');
    const unknown = await call(api, '/v2/topics', { token: makeAccessToken() });
    api.revokeToken(token);
    const revoked = await call(api, '/v2/topics', { token });
    api.acceptToken(token);
    const scripted = await call(api, '/v2/topics', { token });

    expect([missing.status, unknown.status, revoked.status]).toEqual([401, 401, 401]);
    expect(missing.headers['www-authenticate']).toBe('Bearer');
    expect(revoked.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(api.requests.map((r) => r.authorization)).toEqual(['missing', 'refused', 'refused', 'accepted']);
    expect(scripted.status).toBe(429);
  });

  it('accepts whatever a token source issues, until revoked', async () => {
    const issuer = { issuedTokens: [] as string[] };
    api.acceptTokensIssuedBy(issuer);
    const issued = makeAccessToken();

    const before = await call(api, '/v2/topics', { token: issued });
    issuer.issuedTokens.push(issued);
    const after = await call(api, '/v2/topics', { token: issued });
    api.revokeToken(issued);
    const revoked = await call(api, '/v2/topics', { token: issued });

    expect([before.status, after.status, revoked.status]).toEqual([401, 200, 401]);
  });

  it('a scripted 429 carries its Retry-After; scripts can target a path and then the documented answer resumes', async () => {
    api.enqueueWhen({ path: '/v2/helplines' }, tooManyRequests(120), { kind: 'json', status: 503, body: {} });

    const topics = await call(api, '/v2/topics', { token });
    const first = await call(api, '/v2/helplines', { token });
    const second = await call(api, '/v2/helplines', { token });
    const third = await call(api, '/v2/helplines', { token });

    expect(topics.status).toBe(200);
    expect(first.status).toBe(429);
    expect(first.headers['retry-after']).toBe('120');
    expect(second.status).toBe(503);
    expect(third.status).toBe(200);
    expect(api.requests.map((r) => r.answeredBy)).toEqual(['documented', 'script', 'script', 'documented']);
  });

  it('records method, path, query and header names with arrival times — never the token value', async () => {
    await call(api, '/v2/helplines?country_code=US&topic=Anxiety', {
      token,
      headers: { 'accept-language': 'en', 'x-request-id': 'r1' },
    });
    await call(api, '/v2/events/helpline_display', {
      method: 'POST',
      token,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ helpline_id: 'h', session_id: 's', timestamp: '2026-01-01T00:00:00Z' }),
    });

    const [get, post] = api.requests;
    expect(get).toMatchObject({
      method: 'GET',
      path: '/v2/helplines',
      query: { country_code: ['US'], topic: ['Anxiety'] },
      authorization: 'accepted',
      status: 200,
    });
    expect(get?.headerNames).toEqual(
      expect.arrayContaining(['accept-language', 'authorization', 'x-request-id']),
    );
    expect(get?.headers.authorization).toBe('[redacted]');
    expect(typeof get?.at).toBe('number');
    expect(post).toMatchObject({ method: 'POST', path: '/v2/events/helpline_display', status: 202 });
    expect(api.events).toEqual([
      {
        type: 'helpline_display',
        body: { helpline_id: 'h', session_id: 's', timestamp: '2026-01-01T00:00:00Z' },
      },
    ]);
    expect(JSON.stringify(api.requests)).not.toContain(token);
    expect(api.summary().join('\n')).not.toContain(token);
    expect(api.summary()[0]).toBe(
      'GET /v2/helplines?country_code=US&topic=Anxiety → 200 (accepted) [accept-language, authorization, connection, host, x-request-id]',
    );
    expect(get && api.tokenOf(get)).toBe(token);
  });

  it('an event report without a documented required field is 400', async () => {
    const answer = await call(api, '/v2/events/helpline_click', {
      method: 'POST',
      token,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ helpline_id: 'h', session_id: 's', timestamp: 'not a date' }),
    });

    expect(answer.status).toBe(400);
    expect(json(answer)).toEqual({ error: 'invalid_request', missing: ['timestamp', 'contact_method'] });
    expect(api.events).toEqual([]);
  });

  it('peakRequestsPerSecond is the most arrivals in any sliding second', async () => {
    await call(api, '/v2/topics', { token });
    const [real] = api.requests;
    if (!real) throw new Error('no request recorded');
    // Arrival times are what the stand-in measures; set them here so the count does not depend on timing.
    api.requests.length = 0;
    for (const [i, arrivedMs] of [0, 100, 999, 1000, 1500, 1999.5, 2000, 5000].entries()) {
      api.requests.push({ ...real, arrivedMs, path: i % 2 === 0 ? '/v2/topics' : '/v2/countries' });
    }

    expect(api.peakRequestsPerSecond()).toBe(3); // e.g. 0, 100, 999; a window is [t, t + 1000)
    expect(api.peakRequestsPerSecond((r) => r.path === '/v2/topics')).toBe(2);
    expect(api.peakRequestsPerSecond((r) => r.path === '/v2/helplines')).toBe(0);
  });
});

describe('ThroughLine API stand-in — options', () => {
  it('a large directory, gzipped when asked; ETag and 304 when cache headers are on', async () => {
    const helplines = syntheticHelplines(300);
    const api = await ThroughLineApi.start(tls, {
      directory: { helplines, countries: [], topics: [] },
      gzip: true,
      cacheControl: 'max-age=300',
    });
    const token = makeAccessToken();
    api.acceptToken(token);
    try {
      const plain = await call(api, '/v2/helplines?country_code=US', { token });
      const zipped = await call(api, '/v2/helplines?country_code=US', {
        token,
        headers: { 'accept-encoding': 'gzip' },
      });
      const again = await call(api, '/v2/helplines?country_code=US', {
        token,
        headers: { 'if-none-match': String(plain.headers.etag) },
      });

      expect(plain.body.length).toBeGreaterThan(400_000);
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(zipped.body.length).toBeLessThan(plain.body.length / 10);
      expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
      expect(plain.headers['cache-control']).toBe('max-age=300');
      expect(again.status).toBe(304);
      expect(again.body.length).toBe(0);
    } finally {
      await api.stop();
    }
  });

  it('its daily quota answers 429 once used up, with Retry-After only when configured; v1 paths on request', async () => {
    const api = await ThroughLineApi.start(tls, { dailyQuota: 2, version: 'v1' });
    const limited = await ThroughLineApi.start(tls, { dailyQuota: 0, retryAfterSeconds: 3600 });
    const token = makeAccessToken();
    api.acceptToken(token);
    limited.acceptToken(token);
    try {
      const answers = [];
      for (let i = 0; i < 3; i += 1) answers.push(await call(api, '/v1/topics', { token }));
      const withRetryAfter = await call(limited, '/v2/topics', { token });

      expect(answers.map((a) => a.status)).toEqual([200, 200, 429]);
      expect(answers[2]?.headers['retry-after']).toBeUndefined();
      expect(api.requests[2]?.answeredBy).toBe('daily-quota');
      expect(withRetryAfter.status).toBe(429);
      expect(withRetryAfter.headers['retry-after']).toBe('3600');
    } finally {
      await api.stop();
      await limited.stop();
    }
  });
});
