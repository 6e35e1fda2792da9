import { describe, expect, it } from 'vitest';
import { DEFAULT_PROXY_ROUTES, DEFAULT_UPSTREAM_BASE_URL } from '../../contract/proxy-api';
import {
  MAX_PATH_LENGTH,
  MAX_QUERY_PARAMETERS,
  MAX_QUERY_VALUE_LENGTH,
  type ProxyRefusalReason,
  type ProxyRequestDecision,
  type ProxyRequestInput,
  parseProxyTarget,
  resolveProxyRequest,
} from '../../lambda/proxy/proxy-request';
import { SettingsError } from '../../lambda/runtime/settings';

const TARGET = parseProxyTarget({ upstreamBaseUrl: DEFAULT_UPSTREAM_BASE_URL, routes: DEFAULT_PROXY_ROUTES });
const ORIGIN = 'https://api.throughlinecare.com';
const UUID = '5b0c2a52-4a0e-4d8c-9d0e-6a1f2b3c4d01';

function resolve(proxyPath: string | null | undefined, more: Partial<ProxyRequestInput> = {}) {
  return resolveProxyRequest({ method: 'GET', proxyPath, ...more }, TARGET);
}

function reasonOf(decision: ProxyRequestDecision): ProxyRefusalReason | 'allowed' {
  return decision.ok ? 'allowed' : decision.refusal.reason;
}

describe('resolveProxyRequest — path escapes are refused, whatever the trick', () => {
  // Each row: the raw {path+} value (as API Gateway would hand it over, possibly decoded) → reason.
  const ESCAPES: readonly [string, ProxyRefusalReason][] = [
    // Absolute and scheme-relative URLs: another host.
    ['https://evil.example/v2/helplines', 'absolute_url'],
    ['http://evil.example', 'absolute_url'],
    ['https:/evil.example', 'absolute_url'],
    ['HTTPS://evil.example', 'absolute_url'],
    ['javascript:alert(1)', 'absolute_url'],
    ['file:///etc/passwd', 'absolute_url'],
    ['v2:helplines', 'absolute_url'],
    ['/evil.example/v2/helplines', 'scheme_relative'],
    ['//evil.example', 'scheme_relative'],
    ['/', 'scheme_relative'],
    // Backslashes: WHATWG URL reads "\" as "/" for https.
    ['\\\\evil.example', 'backslash'],
    ['\\/evil.example', 'backslash'],
    ['v2\\..\\..\\admin', 'backslash'],
    ['v2/helplines\\', 'backslash'],
    // Dot segments, plain.
    ['..', 'dot_segment'],
    ['.', 'dot_segment'],
    ['v2/..', 'dot_segment'],
    ['v2/../v2/helplines', 'dot_segment'],
    ['v2/helplines/../../admin', 'dot_segment'],
    ['v2/./helplines', 'dot_segment'],
    ['v2/helplines/.', 'dot_segment'],
    // Percent-encoding tricks, once or twice encoded, any case.
    ['v2/helplines/%2e%2e/%2e%2e/admin', 'percent_encoding'],
    ['v2/helplines/%2E%2E/admin', 'percent_encoding'],
    ['v2/helplines/.%2e/admin', 'percent_encoding'],
    ['v2%2fhelplines', 'percent_encoding'],
    ['v2%2Fhelplines', 'percent_encoding'],
    ['v2/helplines%5c..%5cadmin', 'percent_encoding'],
    ['v2/helplines/%252e%252e/admin', 'percent_encoding'],
    ['v2/helplines/%25252e', 'percent_encoding'],
    ['%2f%2fevil.example', 'percent_encoding'],
    ['v2/helplines%00', 'percent_encoding'],
    ['v2/helplines/%c0%ae%c0%ae/admin', 'percent_encoding'],
    ['v2/helplines/%u002e%u002e', 'percent_encoding'],
    ['v2/helplines%3fcountry_code=US', 'percent_encoding'],
    ['v2/helplines%23fragment', 'percent_encoding'],
    ['v2/helplines/%', 'percent_encoding'],
    // Control characters and NUL: truncation, header and log splitting, stripped by the URL parser.
    ['v2/helplines\u0000', 'control_character'],
    ['v2/help\u0000lines', 'control_character'],
    ['v2/helplines\r\nX-Injected: 1', 'control_character'],
    ['v2/helplines\n', 'control_character'],
    ['v2/help\tlines', 'control_character'],
    ['v2/helplines\u007f', 'control_character'],
    ['v2/helplines\u0085', 'control_character'],
    // Non-ASCII look-alikes that some layer maps to "/", "." or "\".
    ['v2\uff0fhelplines', 'non_ascii'],
    ['v2/helplines/\uff0e\uff0e/admin', 'non_ascii'],
    ['v2/helplines/\u2215admin', 'non_ascii'],
    ['v2/helplines/\ufe68admin', 'non_ascii'],
    ['v2/helpl\u0131nes', 'non_ascii'],
    ['v2/helplines/\u{1F600}', 'non_ascii'],
    // Empty segments.
    ['v2//helplines', 'empty_segment'],
    ['v2/helplines/', 'empty_segment'],
    ['v2/helplines//', 'empty_segment'],
    // Characters with syntax: query, fragment, path parameters, authority, spaces, dots.
    ['v2/helplines?country_code=US', 'invalid_character'],
    ['v2/helplines#x', 'invalid_character'],
    ['v2/helplines;jsessionid=1', 'invalid_character'],
    ['v2/helplines/..;/admin', 'invalid_character'],
    ['v2/helplines/user@evil.example', 'invalid_character'],
    ['v2/help lines', 'invalid_character'],
    ['v2/helplines.json', 'invalid_character'],
    ['v2/helplines/...', 'invalid_character'],
    ['v2/helplines/~admin', 'invalid_character'],
    ['v2/helplines/a:b', 'invalid_character'],
    // Length and depth.
    [`v2/helplines/${'a'.repeat(MAX_PATH_LENGTH)}`, 'path_too_long'],
    [`v2/helplines/${'a'.repeat(65)}`, 'segment_too_long'],
    ['v2/helplines/a/b/c/d/e/f/g', 'too_many_segments'],
    // Well-formed, but not a forwarded route.
    ['v2', 'path_not_allowed'],
    ['v2/admin', 'path_not_allowed'],
    ['v1/helplines', 'path_not_allowed'],
    ['V2/helplines', 'path_not_allowed'],
    ['v2/helplinesX', 'path_not_allowed'],
    ['v2/helplines-admin', 'path_not_allowed'],
    ['v2/countries/US', 'path_not_allowed'],
    ['v2/topics/x', 'path_not_allowed'],
    ['v2/events', 'path_not_allowed'],
    ['v2/events/helpline_display/x', 'path_not_allowed'],
    ['oauth/token', 'path_not_allowed'],
  ];

  it.each(ESCAPES)('%j → %s', (proxyPath, reason) => {
    const method = proxyPath.includes('events/') ? 'POST' : 'GET';
    const decision = resolve(proxyPath, { method });

    expect(reasonOf(decision)).toBe(reason);
  });

  it('no refusal ever yields a URL, and every refusal message is a fixed text (never the input)', () => {
    for (const [proxyPath] of ESCAPES) {
      const decision = resolve(proxyPath);
      expect(decision.ok).toBe(false);
      if (!decision.ok) {
        expect(decision.refusal.message).not.toContain('evil');
        if (proxyPath.length > 3) expect(decision.refusal.message).not.toContain(proxyPath);
      }
    }
  });

  it.each([
    [undefined, 'missing_path'],
    [null, 'missing_path'],
    ['', 'missing_path'],
  ] as const)('{path+} %j → %s', (proxyPath, reason) => {
    expect(reasonOf(resolve(proxyPath))).toBe(reason);
  });

  it('status codes: 400 malformed, 404 outside the routes, 405 wrong method (with Allow), 414 too long', () => {
    const status = (d: ProxyRequestDecision) => (d.ok ? 200 : d.refusal.status);

    expect(status(resolve('v2/../admin'))).toBe(400);
    expect(status(resolve('v2/admin'))).toBe(404);
    expect(status(resolve(`v2/${'a'.repeat(MAX_PATH_LENGTH)}`))).toBe(414);
    const wrongMethod = resolve('v2/helplines', { method: 'POST' });
    expect(wrongMethod).toMatchObject({ ok: false, refusal: { reason: 'method_not_allowed', status: 405 } });
    expect(wrongMethod.ok ? undefined : wrongMethod.refusal.allow).toEqual(['GET']);
  });

  it.each([
    ['HEAD', 'v2/helplines'],
    ['OPTIONS', 'v2/helplines'],
    ['DELETE', 'v2/helplines'],
    ['get', 'v2/helplines'],
    ['GET', 'v2/events/helpline_click'],
    ['PUT', 'v2/events/helpline_display'],
  ])('%s %s → method_not_allowed', (method, proxyPath) => {
    expect(reasonOf(resolve(proxyPath, { method }))).toBe('method_not_allowed');
  });
});

describe('resolveProxyRequest — allowed paths', () => {
  it.each([
    ['GET', 'v2/helplines', '/v2/helplines', '/v2/helplines'],
    ['GET', 'v2/countries', '/v2/countries', '/v2/countries'],
    ['GET', 'v2/topics', '/v2/topics', '/v2/topics'],
    ['GET', `v2/helplines/${UUID}`, `/v2/helplines/${UUID}`, '/v2/helplines/*'],
    ['POST', 'v2/events/helpline_display', '/v2/events/helpline_display', '/v2/events/helpline_display'],
    ['POST', 'v2/events/helpline_click', '/v2/events/helpline_click', '/v2/events/helpline_click'],
  ])('%s %s → %s on ThroughLine', (method, proxyPath, path, template) => {
    const decision = resolve(proxyPath, { method });

    expect(decision.ok).toBe(true);
    if (!decision.ok) return;
    expect(decision.url.href).toBe(`${ORIGIN}${path}`);
    expect(decision.url.origin).toBe(ORIGIN);
    expect(decision.path).toBe(path);
    expect(decision.cacheKey).toBe(path);
    expect(decision.pathTemplate).toBe(template);
  });

  it('the query is sorted by name, encoded once (%20 for a space), and the cache key is the URL path + query', () => {
    const decision = resolve('v2/helplines', {
      queryStringParameters: { topic: 'Suicidal thoughts', priority_only: 'true', country_code: 'US' },
    });

    expect(decision.ok).toBe(true);
    if (!decision.ok) return;
    expect(decision.url.href).toBe(
      `${ORIGIN}/v2/helplines?country_code=US&priority_only=true&topic=Suicidal%20thoughts`,
    );
    expect(decision.cacheKey).toBe(
      '/v2/helplines?country_code=US&priority_only=true&topic=Suicidal%20thoughts',
    );
    expect(decision.cacheKey).toBe(`${decision.url.pathname}${decision.url.search}`);
    expect(decision.url.searchParams.get('topic')).toBe('Suicidal thoughts');
  });

  it('the same query in any order, or from the multi-value map, gives one cache key', () => {
    const keys = [
      resolve('v2/helplines', { queryStringParameters: { country_code: 'US', topic: 'Anxiety' } }),
      resolve('v2/helplines', { queryStringParameters: { topic: 'Anxiety', country_code: 'US' } }),
      resolve('v2/helplines', {
        queryStringParameters: { topic: 'Anxiety', country_code: 'US' },
        multiValueQueryStringParameters: { topic: ['Anxiety'], country_code: ['US'] },
      }),
    ].map((d) => (d.ok ? d.cacheKey : d.refusal.reason));

    expect(new Set(keys)).toEqual(new Set(['/v2/helplines?country_code=US&topic=Anxiety']));
  });

  it('values with query syntax ("&", "=", "+", "#", "?", "/") stay values: encoded, never new parameters', () => {
    const decision = resolve('v2/helplines', {
      queryStringParameters: { topic: 'Abuse & domestic violence', x: 'a=b+c#d?e/f' },
    });

    expect(decision.ok).toBe(true);
    if (!decision.ok) return;
    expect([...decision.url.searchParams.keys()]).toEqual(['topic', 'x']);
    expect(decision.url.searchParams.get('topic')).toBe('Abuse & domestic violence');
    expect(decision.url.searchParams.get('x')).toBe('a=b+c#d?e/f');
    expect(decision.url.hash).toBe('');
    expect(decision.url.pathname).toBe('/v2/helplines');
  });

  it('an empty value and no query at all are fine', () => {
    const withEmpty = resolve('v2/helplines', { queryStringParameters: { country_code: '' } });
    const none = resolve('v2/helplines', {
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
    });

    expect(withEmpty.ok && withEmpty.cacheKey).toBe('/v2/helplines?country_code=');
    expect(none.ok && none.url.search).toBe('');
    expect(none.ok && none.cacheKey).toBe('/v2/helplines');
  });
});

describe('resolveProxyRequest — query refusals', () => {
  const many = Object.fromEntries(Array.from({ length: MAX_QUERY_PARAMETERS + 1 }, (_, i) => [`p${i}`, 'x']));
  const long = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`p${i}`, 'x'.repeat(200)]));

  it.each([
    [
      'a repeated name (parameter pollution)',
      'duplicate_query_parameter',
      { multiValueQueryStringParameters: { topic: ['a', 'b'] } },
    ],
    [
      'double encoding left after API Gateway decoded once',
      'percent_encoding',
      { queryStringParameters: { topic: '%2e%2e' } },
    ],
    ['a percent in a name', 'percent_encoding', { queryStringParameters: { 'topic%00': 'x' } }],
    ['NUL in a value', 'control_character', { queryStringParameters: { topic: 'a\u0000b' } }],
    ['CRLF in a value', 'control_character', { queryStringParameters: { topic: 'a\r\nb' } }],
    ['non-ASCII in a value', 'non_ascii', { queryStringParameters: { topic: 'Kōrero' } }],
    ['an upper-case name', 'invalid_query_name', { queryStringParameters: { Country_Code: 'US' } }],
    ['a name with a dash', 'invalid_query_name', { queryStringParameters: { 'country-code': 'US' } }],
    ['a name with brackets', 'invalid_query_name', { queryStringParameters: { 'topic[]': 'x' } }],
    ['an empty name', 'invalid_query_name', { queryStringParameters: { '': 'x' } }],
    ['a name starting with a digit', 'invalid_query_name', { queryStringParameters: { '1a': 'x' } }],
    ['too many parameters', 'too_many_query_parameters', { queryStringParameters: many }],
    [
      'an overlong value',
      'query_value_too_long',
      { queryStringParameters: { topic: 'x'.repeat(MAX_QUERY_VALUE_LENGTH + 1) } },
    ],
    ['an overlong query', 'query_too_long', { queryStringParameters: long }],
  ] as const)('%s → %s', (_label, reason, query) => {
    expect(reasonOf(resolve('v2/helplines', query as Partial<ProxyRequestInput>))).toBe(reason);
  });
});

describe('parseProxyTarget', () => {
  it('accepts the defaults: ThroughLine over https, the v2 endpoints', () => {
    expect(TARGET.origin).toBe(ORIGIN);
    expect(TARGET.routes.map((r) => r.prefix)).toEqual([
      '/v2/helplines',
      '/v2/countries',
      '/v2/topics',
      '/v2/events/helpline_display',
      '/v2/events/helpline_click',
    ]);
  });

  it('a local base URL with a port works, and the URL stays on it', () => {
    const local = parseProxyTarget({
      upstreamBaseUrl: 'https://127.0.0.1:8443',
      routes: DEFAULT_PROXY_ROUTES,
    });
    const decision = resolveProxyRequest({ method: 'GET', proxyPath: 'v2/topics' }, local);

    expect(decision.ok && decision.url.href).toBe('https://127.0.0.1:8443/v2/topics');
  });

  it('reports every problem at once', () => {
    const parse = () =>
      parseProxyTarget({
        upstreamBaseUrl: 'http://user:pw@api.throughlinecare.com/v2?x=1',
        routes: [
          { prefix: 'v2/helplines', methods: ['GET'] },
          { prefix: '/v2/../admin', methods: ['GET'] },
          { prefix: '/v2/topics', methods: [] },
          { prefix: '/v2/topics', methods: ['GET'] },
        ],
      });

    expect(parse).toThrow(SettingsError);
    expect(parse).toThrow(/must be https:\/\//);
    expect(parse).toThrow(/must not contain credentials/);
    expect(parse).toThrow(/origin only/);
    expect(parse).toThrow(/routes\[0\]\.prefix is not a plain absolute path/);
    expect(parse).toThrow(/routes\[1\]\.prefix is not a plain absolute path \(dot_segment\)/);
    expect(parse).toThrow(/routes\[2\]\.methods must be GET and\/or POST/);
    expect(parse).toThrow(/routes\[3\]\.prefix is listed twice/);
  });

  it.each(['not a url', 'ftp://api.throughlinecare.com', 'https://api.throughlinecare.com/#x'])(
    'refuses upstreamBaseUrl %j',
    (upstreamBaseUrl) => {
      expect(() => parseProxyTarget({ upstreamBaseUrl, routes: DEFAULT_PROXY_ROUTES })).toThrow(
        SettingsError,
      );
    },
  );

  it('refuses an empty route list', () => {
    expect(() => parseProxyTarget({ upstreamBaseUrl: ORIGIN, routes: [] })).toThrow(/at least one path/);
  });
});
