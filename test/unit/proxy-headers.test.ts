import { describe, expect, it } from 'vitest';
import {
  checkRequestBody,
  FORWARDED_REQUEST_HEADERS,
  FORWARDED_RESPONSE_HEADERS,
  fitsLambdaResponse,
  isNeverForwarded,
  LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES,
  MAX_FORWARDED_HEADER_VALUE_LENGTH,
  MAX_REQUEST_BODY_BYTES,
  MAX_UPSTREAM_RESPONSE_BYTES,
  selectRequestHeaders,
  selectResponseHeaders,
} from '../../lambda/proxy/proxy-headers';

/** What API Gateway hands a proxy function for a SigV4-signed request, plus whatever a caller adds. */
const SIGNED_REQUEST_HEADERS = {
  Accept: 'application/json',
  'Accept-Encoding': 'gzip, deflate, br',
  'Accept-Language': 'en-NZ,en;q=0.9',
  Authorization:
    'AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20260101/eu-west-2/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc',
  'Content-Type': 'application/json',
  Cookie: 'session=secret',
  Host: 'abc123.execute-api.eu-west-2.amazonaws.com',
  'If-None-Match': '"abc"',
  'If-Modified-Since': 'Wed, 21 Oct 2026 07:28:00 GMT',
  'User-Agent': 'internal-service/1.2',
  'X-Amz-Date': '20260101T000000Z',
  'X-Amz-Security-Token': 'IQoJb3JpZ2luX2VjEXAMPLE',
  'X-Amz-Content-Sha256': 'e3b0c442',
  'X-Amzn-Trace-Id': 'Root=1-abc',
  'X-Forwarded-For': '10.0.0.12',
  'X-Forwarded-Proto': 'https',
  'CloudFront-Viewer-Country': 'NZ',
  Via: '1.1 abc.cloudfront.net',
  Forwarded: 'for=10.0.0.12',
  Connection: 'keep-alive, X-Custom-Hop',
  'Keep-Alive': 'timeout=5',
  'Proxy-Authorization': 'Basic abc',
  TE: 'trailers',
  Trailer: 'Expires',
  'Transfer-Encoding': 'chunked',
  Upgrade: 'h2c',
  'X-Custom-Hop': 'x',
  'Cache-Control': 'no-cache',
  'Content-Length': '42',
} as const;

describe('selectRequestHeaders — what goes to ThroughLine', () => {
  it('a GET forwards only accept, accept-language and the conditionals', () => {
    const { headers, dropped } = selectRequestHeaders(SIGNED_REQUEST_HEADERS, { method: 'GET' });

    expect(headers).toEqual({
      accept: 'application/json',
      'accept-language': 'en-NZ,en;q=0.9',
      'if-none-match': '"abc"',
      'if-modified-since': 'Wed, 21 Oct 2026 07:28:00 GMT',
    });
    expect(dropped).toContain('authorization');
    expect(dropped).toContain('content-type');
    expect(dropped).toEqual([...dropped].sort());
  });

  it('a POST forwards content-type (JSON) and no conditionals', () => {
    const { headers } = selectRequestHeaders(SIGNED_REQUEST_HEADERS, { method: 'POST' });

    expect(headers).toEqual({
      accept: 'application/json',
      'accept-language': 'en-NZ,en;q=0.9',
      'content-type': 'application/json',
    });
  });

  it.each(
    Object.keys(SIGNED_REQUEST_HEADERS).filter((n) => !/^(accept|accept-language|content-type|if-)/i.test(n)),
  )('never forwards %s', (name) => {
    for (const method of ['GET', 'POST']) {
      const { headers } = selectRequestHeaders(SIGNED_REQUEST_HEADERS, { method });
      expect(Object.keys(headers)).not.toContain(name.toLowerCase());
    }
  });

  it('drops the SigV4 Authorization and session token in any letter case', () => {
    const { headers } = selectRequestHeaders(
      { AUTHORIZATION: 'AWS4-HMAC-SHA256 x', 'x-AMZ-security-TOKEN': 't', accept: 'application/json' },
      { method: 'GET' },
    );

    expect(headers).toEqual({ accept: 'application/json' });
    expect(JSON.stringify(headers)).not.toMatch(/AWS4|security/i);
  });

  it('a header named in Connection is dropped even when it is on the allow-list (RFC 9110 §7.6.1)', () => {
    const { headers, dropped } = selectRequestHeaders(
      { Connection: 'Accept-Language', 'Accept-Language': 'en', Accept: 'application/json' },
      { method: 'GET' },
    );

    expect(headers).toEqual({ accept: 'application/json' });
    expect(dropped).toEqual(['accept-language', 'connection']);
  });

  it('the deny-list wins over the allow-list: no configuration can forward them', () => {
    for (const name of [
      'Authorization',
      'X-Amz-Date',
      'X-Amzn-Trace-Id',
      'Host',
      'Cookie',
      'Connection',
      'TE',
      'Proxy-Foo',
      'Keep-Alive',
      'Upgrade',
      'Transfer-Encoding',
      'Trailer',
    ]) {
      expect(isNeverForwarded(name)).toBe(true);
    }
    for (const name of Object.keys(FORWARDED_REQUEST_HEADERS)) expect(isNeverForwarded(name)).toBe(false);
    for (const name of Object.keys(FORWARDED_RESPONSE_HEADERS)) expect(isNeverForwarded(name)).toBe(false);
  });

  it.each([
    ['CRLF (header splitting)', 'en\r\nX-Injected: 1'],
    ['a bare LF', 'en\nX'],
    ['NUL', 'en\u0000'],
    ['non-ASCII', 'en-NZ,mi;q=0.8 ō'],
    ['an overlong value', 'e'.repeat(MAX_FORWARDED_HEADER_VALUE_LENGTH + 1)],
  ])('drops a value with %s', (_label, value) => {
    const { headers, dropped } = selectRequestHeaders({ 'Accept-Language': value }, { method: 'GET' });

    expect(headers).toEqual({});
    expect(dropped).toEqual(['accept-language']);
  });

  it('content-type of another media type is dropped; parameters are allowed', () => {
    const form = selectRequestHeaders(
      { 'Content-Type': 'application/x-www-form-urlencoded' },
      { method: 'POST' },
    );
    const withCharset = selectRequestHeaders(
      { 'Content-Type': 'application/json; charset=utf-8' },
      { method: 'POST' },
    );

    expect(form.headers).toEqual({});
    expect(withCharset.headers).toEqual({ 'content-type': 'application/json; charset=utf-8' });
  });

  it('conditional: false keeps the caller’s validators away from the upstream (shared cache on)', () => {
    const { headers } = selectRequestHeaders(SIGNED_REQUEST_HEADERS, { method: 'GET', conditional: false });

    expect(Object.keys(headers).sort()).toEqual(['accept', 'accept-language']);
  });

  it('multi-value headers are joined with ", "; null and undefined sources give nothing', () => {
    const { headers } = selectRequestHeaders(
      { Accept: ['application/json', 'text/plain'] },
      { method: 'GET' },
    );

    expect(headers).toEqual({ accept: 'application/json, text/plain' });
    expect(selectRequestHeaders(null, { method: 'GET' })).toEqual({ headers: {}, dropped: [] });
    expect(selectRequestHeaders(undefined, { method: 'GET' })).toEqual({ headers: {}, dropped: [] });
  });
});

describe('selectResponseHeaders — what comes back to the caller', () => {
  it('passes the allow-listed headers from a fetch Headers object and drops the rest', () => {
    const upstream = new Headers([
      ['Content-Type', 'application/json; charset=utf-8'],
      ['Content-Language', 'en'],
      ['Cache-Control', 'max-age=300'],
      ['ETag', '"abc"'],
      ['Last-Modified', 'Wed, 21 Oct 2026 07:28:00 GMT'],
      ['Expires', 'Wed, 21 Oct 2026 08:28:00 GMT'],
      ['Retry-After', '120'],
      ['Sunset', 'Wed, 11 Nov 2026 00:00:00 GMT'],
      ['Deprecation', '@1767225600'],
      ['Set-Cookie', 'tl_session=secret'],
      ['Content-Length', '1234'],
      ['Content-Encoding', 'gzip'],
      ['Transfer-Encoding', 'chunked'],
      ['Connection', 'close'],
      ['Keep-Alive', 'timeout=5'],
      ['WWW-Authenticate', 'Bearer error="invalid_token"'],
      ['Strict-Transport-Security', 'max-age=31536000'],
      ['Access-Control-Allow-Origin', '*'],
      ['Server', 'nginx'],
      ['Vary', 'Accept-Encoding'],
      ['X-RateLimit-Remaining', '12'],
      ['X-Amzn-RequestId', 'abc'],
    ]);

    const { headers, dropped } = selectResponseHeaders(upstream);

    expect(headers).toEqual({
      'content-type': 'application/json; charset=utf-8',
      'content-language': 'en',
      'cache-control': 'max-age=300',
      etag: '"abc"',
      'last-modified': 'Wed, 21 Oct 2026 07:28:00 GMT',
      expires: 'Wed, 21 Oct 2026 08:28:00 GMT',
      'retry-after': '120',
      sunset: 'Wed, 11 Nov 2026 00:00:00 GMT',
      deprecation: '@1767225600',
    });
    expect(dropped).toEqual(
      expect.arrayContaining(['set-cookie', 'content-length', 'www-authenticate', 'x-ratelimit-remaining']),
    );
  });

  it('a 429 keeps its Retry-After, a response splitting attempt is dropped', () => {
    const { headers } = selectResponseHeaders({ 'Retry-After': '30', ETag: '"a"\r\nSet-Cookie: x=1' });

    expect(headers).toEqual({ 'retry-after': '30' });
  });
});

describe('body limits', () => {
  it('the limits are ordered: request body ≪ upstream response, and 4/3 of it fits Lambda’s 6 MB', () => {
    expect(MAX_REQUEST_BODY_BYTES).toBeLessThan(MAX_UPSTREAM_RESPONSE_BYTES);
    expect(Math.ceil(MAX_UPSTREAM_RESPONSE_BYTES / 3) * 4).toBeLessThan(LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES);
  });

  it('fitsLambdaResponse measures the serialised result, escapes included', () => {
    const quotes = '"'.repeat(3_100_000); // 3.1 MB of text, 6.2 MB once escaped inside a JSON string
    expect(fitsLambdaResponse({ statusCode: 200, body: 'x'.repeat(3_100_000) })).toBe(true);
    expect(fitsLambdaResponse({ statusCode: 200, body: quotes })).toBe(false);
  });

  it('an event report passes: POST, JSON, small', () => {
    const body = JSON.stringify({ helpline_id: 'x', session_id: 'y', timestamp: '2026-01-01T00:00:00Z' });
    const decision = checkRequestBody({
      method: 'POST',
      body,
      isBase64Encoded: false,
      contentType: 'application/json',
    });

    expect(decision.ok && decision.body?.toString('utf8')).toBe(body);
  });

  it('a base64 body is measured decoded', () => {
    const raw = Buffer.alloc(MAX_REQUEST_BODY_BYTES, 0x20);
    const atLimit = checkRequestBody({
      method: 'POST',
      body: raw.toString('base64'),
      isBase64Encoded: true,
      contentType: 'application/json',
    });
    const over = checkRequestBody({
      method: 'POST',
      body: Buffer.concat([raw, Buffer.from(' ')]).toString('base64'),
      isBase64Encoded: true,
      contentType: 'application/json',
    });

    expect(atLimit.ok).toBe(true);
    expect(over).toMatchObject({ ok: false, refusal: { reason: 'body_too_large', status: 413 } });
  });

  it.each([
    ['a GET with a body', 'GET', '{}', 'application/json', 'body_not_allowed', 400],
    [
      'a POST body that is not JSON',
      'POST',
      'a=b',
      'application/x-www-form-urlencoded',
      'unsupported_media_type',
      415,
    ],
    ['a POST body without a Content-Type', 'POST', '{}', undefined, 'unsupported_media_type', 415],
    [
      'an oversized POST body',
      'POST',
      'x'.repeat(MAX_REQUEST_BODY_BYTES + 1),
      'application/json',
      'body_too_large',
      413,
    ],
  ] as const)('%s is refused', (_label, method, body, contentType, reason, status) => {
    expect(checkRequestBody({ method, body, isBase64Encoded: false, contentType })).toMatchObject({
      ok: false,
      refusal: { reason, status },
    });
  });

  it('no body is fine for either method', () => {
    for (const body of [null, undefined, '']) {
      expect(
        checkRequestBody({ method: 'GET', body, isBase64Encoded: false, contentType: undefined }),
      ).toEqual({
        ok: true,
        body: undefined,
      });
    }
  });
});
