import type { ProxyMethod, ProxyRoute } from '../../contract/proxy-api';
import { SettingsError } from '../runtime/settings';

/**
 * Where a proxied call may go. The caller names a path below `/throughline/` and some query
 * parameters; the proxy turns them into a ThroughLine URL — or refuses. The rules are an allow-list
 * (plain segments of letters, digits, `-` and `_`; lower-case snake_case parameter names; printable
 * ASCII values), not a list of known tricks, so a trick nobody listed is refused too. The reason
 * codes name the trick when there is one, for the audit line and the tests; they are a bounded set,
 * fit for a metric dimension. The URL is built with the WHATWG URL parser and checked again after
 * parsing: same origin as the configured base URL, the exact path and query that were validated.
 *
 * Facts this relies on (docs/throughline-api.md): ThroughLine's documented paths are plain ASCII
 * (`/v1/helplines`, `/v1/events/helpline_display`, underscore presumed), helpline ids are UUIDs, documented parameter
 * names are snake_case (`country_code`, `topic`, `priority_only`). API Gateway REST APIs hand the
 * function a path that may or may not be percent-decoded (REST keeps the encoding, HTTP APIs decode)
 * and query values already decoded; refusing every `%` makes the answer the same either way.
 */

export interface ProxyRequestConfig {
  /** An `https://` origin (no path, query, fragment or credentials). @default DEFAULT_UPSTREAM_BASE_URL */
  readonly upstreamBaseUrl: string;
  /** @default DEFAULT_PROXY_ROUTES */
  readonly routes: readonly ProxyRoute[];
}

/** A checked config: parse once at cold start, use for every request. */
export interface ProxyTarget {
  readonly origin: string;
  readonly routes: readonly ProxyRoute[];
}

// ---- Limits. Each is far above what ThroughLine's documented calls need and far below what
// API Gateway accepts (a Regional REST API's URL may be 10,240 characters): a long path or query is
// not a ThroughLine call, and bounding them bounds the work, the audit line and the cache key.

/** ThroughLine paths are about 40 characters; with a UUID segment, under 80. */
export const MAX_PATH_LENGTH = 256;
/** The deepest documented path has 3 segments (`/v1/events/helpline_click`). */
export const MAX_PATH_SEGMENTS = 8;
/** A UUID is 36 characters; the longest documented name (`helpline_display`) 16. */
export const MAX_SEGMENT_LENGTH = 64;
/** The helplines endpoint documents three parameters. */
export const MAX_QUERY_PARAMETERS = 16;
export const MAX_QUERY_NAME_LENGTH = 64;
/** Topic names are a few words ("Abuse & domestic violence"). */
export const MAX_QUERY_VALUE_LENGTH = 256;
/** The whole encoded query string, after sorting. */
export const MAX_QUERY_LENGTH = 2048;

export type ProxyRefusalReason =
  | 'missing_path'
  | 'path_too_long'
  | 'control_character'
  | 'non_ascii'
  | 'backslash'
  | 'percent_encoding'
  | 'absolute_url'
  | 'scheme_relative'
  | 'empty_segment'
  | 'dot_segment'
  | 'invalid_character'
  | 'too_many_segments'
  | 'segment_too_long'
  | 'path_not_allowed'
  | 'method_not_allowed'
  | 'too_many_query_parameters'
  | 'invalid_query_name'
  | 'duplicate_query_parameter'
  | 'query_value_too_long'
  | 'query_too_long'
  | 'url_check_failed';

export interface ProxyRefusal {
  readonly reason: ProxyRefusalReason;
  /** 400 for a malformed request, 404 for a path outside the routes, 405 for a method, 414 for length. */
  readonly status: 400 | 404 | 405 | 414;
  /** A fixed text per reason: never echoes the caller's path or values (they may identify an end user). */
  readonly message: string;
  /** For 405: the methods the route allows (the `Allow` header, RFC 9110 §10.2.1). */
  readonly allow?: readonly ProxyMethod[];
}

export interface ProxiedRequest {
  /** The upstream URL: always on the configured origin. */
  readonly url: URL;
  /** The validated path, e.g. `/v2/helplines`. */
  readonly path: string;
  /**
   * Path plus the query sorted by name, each pair encoded once (`encodeURIComponent`): the same
   * request written with its parameters in any order has one key. Equal to `url.pathname + url.search`.
   */
  readonly cacheKey: string;
  /** The route's prefix, with `*` for each segment below it: a bounded value for audit lines and metrics. */
  readonly pathTemplate: string;
  readonly route: ProxyRoute;
}

export type ProxyRequestDecision =
  | ({ readonly ok: true } & ProxiedRequest)
  | { readonly ok: false; readonly refusal: ProxyRefusal };

/** What the proxy function takes from an API Gateway REST proxy event. */
export interface ProxyRequestInput {
  /** `event.httpMethod`. */
  readonly method: string;
  /** `event.pathParameters.proxy`: the `{path+}` value, without a leading slash (`v2/helplines`). */
  readonly proxyPath: string | null | undefined;
  /** `event.queryStringParameters` (API Gateway keeps only the last of repeated names here). */
  readonly queryStringParameters?: Readonly<Record<string, string | undefined>> | null;
  /**
   * `event.multiValueQueryStringParameters`; when present it is used instead, so a repeated name
   * is seen and refused.
   */
  readonly multiValueQueryStringParameters?: Readonly<Record<string, readonly string[] | undefined>> | null;
}

const MESSAGES: Record<ProxyRefusalReason, string> = {
  missing_path: 'Name a ThroughLine API path after /throughline/, e.g. /throughline/v2/helplines.',
  path_too_long: `The path is longer than ${MAX_PATH_LENGTH} characters: no ThroughLine endpoint is.`,
  control_character: 'The path or query contains a control character.',
  non_ascii: 'The path or query contains a non-ASCII character.',
  backslash: 'The path contains a backslash.',
  percent_encoding:
    'The path or query contains a percent sign: send plain segments, and query values encoded once.',
  absolute_url: 'The path is an absolute URL: name a path below /throughline/ instead.',
  scheme_relative: 'The path starts with a slash after /throughline/ (a scheme-relative URL).',
  empty_segment: 'The path has an empty segment (two slashes in a row, or a trailing slash).',
  dot_segment: 'The path has a "." or ".." segment.',
  invalid_character: 'Path segments may contain only letters, digits, "-" and "_".',
  too_many_segments: `The path has more than ${MAX_PATH_SEGMENTS} segments.`,
  segment_too_long: `A path segment is longer than ${MAX_SEGMENT_LENGTH} characters.`,
  path_not_allowed: 'This ThroughLine path is not forwarded by the broker.',
  method_not_allowed: 'This method is not forwarded for this path.',
  too_many_query_parameters: `More than ${MAX_QUERY_PARAMETERS} query parameters.`,
  invalid_query_name:
    'Query parameter names must be lower-case letters, digits and "_", starting with a letter.',
  duplicate_query_parameter: 'A query parameter is repeated.',
  query_value_too_long: `A query value is longer than ${MAX_QUERY_VALUE_LENGTH} characters.`,
  query_too_long: `The query string is longer than ${MAX_QUERY_LENGTH} characters.`,
  url_check_failed: 'The request could not be turned into a ThroughLine URL.',
};

const STATUS: Partial<Record<ProxyRefusalReason, ProxyRefusal['status']>> = {
  path_too_long: 414,
  query_too_long: 414,
  path_not_allowed: 404,
  method_not_allowed: 405,
};

function refuse(reason: ProxyRefusalReason, allow?: readonly ProxyMethod[]): ProxyRequestDecision {
  return {
    ok: false,
    refusal: {
      reason,
      status: STATUS[reason] ?? 400,
      message: MESSAGES[reason],
      ...(allow ? { allow } : {}),
    },
  };
}

/**
 * C0 controls (NUL included), DEL and C1 controls. A NUL can end a string early in native code; CR/LF split
 * headers and log lines; TAB and friends are stripped by the WHATWG parser, so what was validated
 * would not be what is sent.
 */
const CONTROL = /\p{Cc}/u;
/**
 * Anything outside ASCII: full-width "／" and "．", overlong or look-alike characters that some
 * parser, proxy or log viewer maps to "/" or "." — ThroughLine's paths and parameters are ASCII.
 */
const NON_ASCII = /[^\p{ASCII}]/u;
/** A scheme (`https:`, `javascript:`): the value is an absolute URL, not a path. */
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
/** One path segment: what ThroughLine's paths and ids consist of, and nothing a parser reinterprets. */
const SEGMENT = /^[A-Za-z0-9_-]+$/;
/** snake_case, as ThroughLine's documented parameters are; one spelling per name, so one cache key. */
const QUERY_NAME = /^[a-z][a-z0-9_]*$/;

/**
 * Checks a path the proxy may forward: the caller's `{path+}` value with its slash put back, or a
 * route prefix from config. Returns the refusal reason, or undefined for a good path.
 */
function pathProblem(path: string): ProxyRefusalReason | undefined {
  // Length first: everything after this is linear in a bounded input.
  if (path.length > MAX_PATH_LENGTH) return 'path_too_long';
  // NUL and controls before anything else: the most dangerous, and they hide other tricks.
  if (CONTROL.test(path)) return 'control_character';
  if (NON_ASCII.test(path)) return 'non_ascii';
  // WHATWG URL treats "\" as "/" in special schemes (https): "\\evil.com" would be a host.
  if (path.includes('\\')) return 'backslash';
  // %2e%2e is "..", %2f is "/", %5c is "\", %252e decodes to %2e then "."; %00 is NUL. Nothing in
  // ThroughLine's paths needs encoding, so any "%" is refused — decoded once, twice or never.
  if (path.includes('%')) return 'percent_encoding';
  // "https://evil.com" or "https:/evil.com" given as the {path+} value.
  if (SCHEME.test(path.slice(1))) return 'absolute_url';
  // "//evil.com/x" is scheme-relative: resolved against the base URL, it names another host.
  if (path.startsWith('//')) return 'scheme_relative';
  const segments = path.slice(1).split('/');
  if (segments.length > MAX_PATH_SEGMENTS) return 'too_many_segments';
  for (const segment of segments) {
    // "a//b" or "a/": servers disagree on whether they collapse, so two spellings, two meanings.
    if (segment === '') return 'empty_segment';
    // "." and ".." are removed by URL parsing: what was validated would not be what is sent.
    if (segment === '.' || segment === '..') return 'dot_segment';
    if (segment.length > MAX_SEGMENT_LENGTH) return 'segment_too_long';
    // Everything else outside the segment alphabet: "?" and "#" (would start a query or fragment),
    // ";" (path parameters, "..;/" on some servers), ":" and "@" (authority syntax), spaces, dots.
    if (!SEGMENT.test(segment)) return 'invalid_character';
  }
  return undefined;
}

/** Checks the proxy config once: every problem reported together (SettingsError: redeploy). */
export function parseProxyTarget(config: ProxyRequestConfig): ProxyTarget {
  const problems: string[] = [];
  let origin = '';
  let base: URL | undefined;
  try {
    base = new URL(config.upstreamBaseUrl);
  } catch {
    problems.push('upstreamBaseUrl is not a URL');
  }
  if (base) {
    if (base.protocol !== 'https:') problems.push('upstreamBaseUrl must be https://');
    if (base.username !== '' || base.password !== '')
      problems.push('upstreamBaseUrl must not contain credentials');
    if (base.pathname !== '/' || base.search !== '' || base.hash !== '') {
      problems.push('upstreamBaseUrl must be an origin only (no path, query or fragment)');
    }
    origin = base.origin;
  }
  if (config.routes.length === 0) problems.push('routes must name at least one path');
  const seen = new Set<string>();
  config.routes.forEach((route, i) => {
    const problem = route.prefix.startsWith('/') ? pathProblem(route.prefix) : 'missing_path';
    if (problem) problems.push(`routes[${i}].prefix is not a plain absolute path (${problem})`);
    if (seen.has(route.prefix)) problems.push(`routes[${i}].prefix is listed twice`);
    seen.add(route.prefix);
    if (route.methods.length === 0 || route.methods.some((m) => m !== 'GET' && m !== 'POST')) {
      problems.push(`routes[${i}].methods must be GET and/or POST`);
    }
  });
  if (problems.length > 0) {
    throw new SettingsError(`The proxy config is invalid (${problems.join('; ')}): fix it and redeploy`);
  }
  return { origin, routes: config.routes };
}

/** The route for a path: exact prefix, or a prefix followed by more segments when it allows subpaths. */
function matchRoute(path: string, routes: readonly ProxyRoute[]): ProxyRoute | undefined {
  return routes.find(
    (route) => path === route.prefix || (route.subpaths === true && path.startsWith(`${route.prefix}/`)),
  );
}

/** The query's pairs, from the multi-value map when there is one. */
function queryPairs(input: ProxyRequestInput): [string, string][] {
  const multi = input.multiValueQueryStringParameters;
  if (multi) {
    return Object.entries(multi).flatMap(([name, values]) =>
      (values ?? []).map((value): [string, string] => [name, value]),
    );
  }
  return Object.entries(input.queryStringParameters ?? {}).flatMap(([name, value]): [string, string][] =>
    value === undefined ? [] : [[name, value]],
  );
}

type QueryResult = { readonly search: string } | { readonly problem: ProxyRefusalReason };

/**
 * The query as the upstream will get it: names checked, values checked, sorted by name, each value
 * encoded once with encodeURIComponent (a space becomes %20, as in ThroughLine's own example).
 */
function normaliseQuery(pairs: readonly [string, string][]): QueryResult {
  if (pairs.length > MAX_QUERY_PARAMETERS) return { problem: 'too_many_query_parameters' };
  const names = new Set<string>();
  for (const [name, value] of pairs) {
    for (const text of [name, value]) {
      if (CONTROL.test(text)) return { problem: 'control_character' };
      if (NON_ASCII.test(text)) return { problem: 'non_ascii' };
      // API Gateway has already decoded the query once: a "%" left over means the caller encoded
      // twice (%252e). ThroughLine's parameters never contain one; refusing keeps one spelling per value.
      if (text.includes('%')) return { problem: 'percent_encoding' };
    }
    if (name.length > MAX_QUERY_NAME_LENGTH || !QUERY_NAME.test(name))
      return { problem: 'invalid_query_name' };
    // Repeated names (HTTP parameter pollution): servers disagree on first, last or both.
    if (names.has(name)) return { problem: 'duplicate_query_parameter' };
    names.add(name);
    if (value.length > MAX_QUERY_VALUE_LENGTH) return { problem: 'query_value_too_long' };
  }
  const sorted = [...pairs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const query = sorted.map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('&');
  if (query.length > MAX_QUERY_LENGTH) return { problem: 'query_too_long' };
  return { search: query === '' ? '' : `?${query}` };
}

/**
 * Decides where a proxied request goes. Pure: no I/O, no clock. The same input always gives the
 * same URL and cache key, or the same refusal.
 */
export function resolveProxyRequest(input: ProxyRequestInput, target: ProxyTarget): ProxyRequestDecision {
  const raw = input.proxyPath;
  if (raw === null || raw === undefined || raw === '') return refuse('missing_path');
  // The {path+} value has no leading slash; one there means the caller wrote /throughline//…
  const path = `/${raw}`;
  const problem = pathProblem(path);
  if (problem) return refuse(problem);

  const route = matchRoute(path, target.routes);
  if (!route) return refuse('path_not_allowed');
  if (!route.methods.includes(input.method as ProxyMethod))
    return refuse('method_not_allowed', route.methods);

  const query = normaliseQuery(queryPairs(input));
  if ('problem' in query) return refuse(query.problem);

  // Last line of defence: whatever the checks above missed, the WHATWG parser's own reading must
  // agree — same origin as configured, exactly the validated path and query, nothing else.
  let url: URL;
  try {
    url = new URL(`${path}${query.search}`, target.origin);
  } catch {
    return refuse('url_check_failed');
  }
  if (
    url.origin !== target.origin ||
    url.pathname !== path ||
    url.search !== query.search ||
    url.hash !== '' ||
    url.username !== '' ||
    url.password !== ''
  ) {
    return refuse('url_check_failed');
  }

  const below = path.slice(route.prefix.length).split('/').filter(Boolean).length;
  return {
    ok: true,
    url,
    path,
    cacheKey: `${url.pathname}${url.search}`,
    pathTemplate: route.prefix + '/*'.repeat(below),
    route,
  };
}
