/**
 * What crosses the proxy besides the URL: which request headers go to ThroughLine, which response
 * headers come back, and how big a body may be. Both header lists are allow-lists — a header nobody
 * thought of is dropped — and a deny-list sits under them that no configuration can lift: the
 * caller's SigV4 `Authorization` (the proxy sets its own, with the cached token), every `X-Amz-*`
 * (SigV4's date, security token and content hash — a session token must never leave AWS), `Host`,
 * `Cookie`, forwarding metadata, and the hop-by-hop headers of RFC 9110 §7.6.1 (`Connection` and
 * every header it names, `Keep-Alive`, `Proxy-*`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`),
 * which describe one connection and are never forwarded by a proxy.
 */

/**
 * Request headers forwarded to ThroughLine, and why. Everything else is dropped, notably
 * `Accept-Encoding` (the function's own HTTP client negotiates and decodes; the caller's
 * compression is API Gateway's business), `User-Agent` and tracing headers (they describe internal
 * services to a third party), `Cache-Control`/`Pragma` (the broker's cache decides, not the
 * caller), `Content-Length` (recomputed from the body actually sent).
 */
export const FORWARDED_REQUEST_HEADERS: Readonly<Record<string, string>> = {
  accept: 'content negotiation; harmless, and ThroughLine may serve more than JSON one day',
  'accept-language': 'helpline names and descriptions may be localised; a caller may ask for a language',
  'content-type': 'POST bodies (event reports) must say what they are; only allowed media types pass',
  'if-none-match': 'conditional GET: a caller holding an ETag can get 304 instead of the whole list',
  'if-modified-since': 'conditional GET by date, for the same reason',
};

/**
 * Response headers passed back to the caller, and why. Everything else is dropped, notably
 * `Set-Cookie` (ThroughLine's session state is not the caller's), `Content-Length` and
 * `Content-Encoding` (API Gateway and the function's body decide them), `WWW-Authenticate` (the caller
 * authenticates with SigV4: a Bearer challenge would mislead), `Vary` (the broker does not forward
 * what it would vary on), `Access-Control-*` (not a browser API), `Strict-Transport-Security`
 * (API Gateway's own), `Server` and other fingerprints, and rate-limit headers (they count the
 * customer's whole quota, not the caller's share: the proxy reads them, consumers get their share).
 */
export const FORWARDED_RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'the caller must know how to read the body',
  'content-language': 'which language the descriptions are in',
  'cache-control': "ThroughLine's own freshness rules, if it sends any (not documented)",
  etag: 'validator for conditional requests',
  'last-modified': 'validator for conditional requests',
  expires: 'older freshness rule some servers still send',
  'retry-after': 'a 429 or 503 must tell the caller when to come back (RFC 9110 §10.2.3)',
  sunset: 'RFC 8594: the date an endpoint goes away (v1 is to be retired)',
  deprecation: 'RFC 9745: the endpoint is deprecated',
};

/** Hop-by-hop headers (RFC 9110 §7.6.1), plus `Proxy-Connection`, which old clients still send. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Never forwarded in either direction, whatever the allow-lists say. */
const NEVER = new Set([
  'authorization',
  'cookie',
  'set-cookie',
  'host',
  'forwarded',
  'via',
  'content-length',
  'www-authenticate',
]);

/** True for a header no configuration may forward: see the module comment. */
export function isNeverForwarded(name: string): boolean {
  const lower = name.toLowerCase();
  return (
    NEVER.has(lower) ||
    HOP_BY_HOP.has(lower) ||
    lower.startsWith('proxy-') ||
    // X-Amz-Date, X-Amz-Security-Token, X-Amz-Content-Sha256, X-Amzn-Trace-Id, X-Amzn-Vpce-Id …
    lower.startsWith('x-amz-') ||
    lower.startsWith('x-amzn-') ||
    // X-Forwarded-For carries internal addresses; CloudFront-* describes the viewer.
    lower.startsWith('x-forwarded-') ||
    lower.startsWith('cloudfront-')
  );
}

/** Longest header value forwarded: Accept-Language and ETags are short; a long value is not ThroughLine's. */
export const MAX_FORWARDED_HEADER_VALUE_LENGTH = 1024;

/**
 * A value safe to put on the wire: printable ASCII and HTAB only. CR/LF would split headers
 * (response splitting), NUL ends strings early, and non-ASCII is read differently by different
 * parsers (fetch refuses it outright).
 */
const SAFE_VALUE = /^[\t\x20-\x7e]*$/;

export interface HeaderSelection {
  /** Lower-case names and their values, ready to forward. */
  readonly headers: Readonly<Record<string, string>>;
  /** Lower-case names that were present and not forwarded, sorted: for debugging, never with values. */
  readonly dropped: readonly string[];
}

type HeaderSource =
  | Iterable<readonly [string, string]>
  | Readonly<Record<string, string | readonly string[] | undefined>>
  | null
  | undefined;

/** Every header as lower-case name and value; repeated fields joined with ", " (RFC 9110 §5.3). */
function collect(source: HeaderSource): Map<string, string> {
  const out = new Map<string, string>();
  if (!source) return out;
  const add = (name: string, value: string) => {
    const lower = name.toLowerCase();
    const previous = out.get(lower);
    out.set(lower, previous === undefined ? value : `${previous}, ${value}`);
  };
  const entries: Iterable<readonly [string, unknown]> =
    Symbol.iterator in source
      ? (source as Iterable<readonly [string, string]>)
      : Object.entries(source as Record<string, unknown>);
  for (const [name, value] of entries) {
    if (typeof value === 'string') add(name, value);
    else if (Array.isArray(value)) for (const v of value) if (typeof v === 'string') add(name, v);
  }
  return out;
}

/** Names listed in `Connection` are hop-by-hop for this message too (RFC 9110 §7.6.1). */
function connectionListed(headers: Map<string, string>): Set<string> {
  const value = headers.get('connection') ?? headers.get('proxy-connection') ?? '';
  return new Set(
    value
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter((token) => token !== ''),
  );
}

function select(
  source: HeaderSource,
  allowed: ReadonlySet<string>,
  keep: (name: string, value: string) => boolean = () => true,
): HeaderSelection {
  const all = collect(source);
  const listed = connectionListed(all);
  const headers: Record<string, string> = {};
  const dropped: string[] = [];
  for (const [name, value] of all) {
    const forward =
      allowed.has(name) &&
      !isNeverForwarded(name) &&
      !listed.has(name) &&
      value.length <= MAX_FORWARDED_HEADER_VALUE_LENGTH &&
      SAFE_VALUE.test(value) &&
      keep(name, value);
    if (forward) headers[name] = value.trim();
    else dropped.push(name);
  }
  return { headers, dropped: dropped.sort() };
}

/** Media types a POST body may have. ThroughLine's event bodies are presumably JSON (schemas not stored). */
export const DEFAULT_REQUEST_MEDIA_TYPES: readonly string[] = ['application/json'];

/** The media type of a Content-Type value, without parameters, lower-case: `application/json`. */
export function mediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

/**
 * The request headers to send to ThroughLine for the caller's request. `Content-Type` goes with a
 * POST only, and only for an allowed media type; the conditional headers with a GET only. With the
 * shared response cache on, the proxy should not forward the caller's conditionals to the upstream
 * (a 304 there is not a body the cache can keep): pass `conditional: false`.
 */
export function selectRequestHeaders(
  source: HeaderSource,
  options: {
    readonly method: string;
    readonly conditional?: boolean;
    readonly mediaTypes?: readonly string[];
  },
): HeaderSelection {
  const mediaTypes = options.mediaTypes ?? DEFAULT_REQUEST_MEDIA_TYPES;
  return select(source, new Set(Object.keys(FORWARDED_REQUEST_HEADERS)), (name, value) => {
    if (name === 'content-type') return options.method === 'POST' && mediaTypes.includes(mediaType(value));
    if (name === 'if-none-match' || name === 'if-modified-since') {
      return options.method === 'GET' && options.conditional !== false;
    }
    return true;
  });
}

/** The response headers to give the caller from ThroughLine's answer (a fetch `Headers` works). */
export function selectResponseHeaders(source: HeaderSource): HeaderSelection {
  return select(source, new Set(Object.keys(FORWARDED_RESPONSE_HEADERS)));
}

// ---- Body limits

/**
 * The largest request body forwarded. ThroughLine's only documented bodies are event reports:
 * a helpline id, an opaque session id, a timestamp and a contact method — a few hundred bytes. A
 * bigger body is not a ThroughLine call; API Gateway would accept 10 MB and Lambda a 6 MB event.
 */
export const MAX_REQUEST_BODY_BYTES = 64 * 1024;

/**
 * The most the proxy reads from ThroughLine (after decompression: a small gzip body can inflate
 * without bound). Sized for the largest answer conceivable — the whole directory of ~1,300 helplines
 * at ~1.5 KB each is ~2 MB (docs/throughline-api.md) — and so that a base64-encoded copy
 * (4/3 × 4 MiB = 5.59 MB) still fits Lambda's response limit with room for the envelope. An answer
 * above it is refused (502), never truncated: a cut list could split a helpline pair.
 */
export const MAX_UPSTREAM_RESPONSE_BYTES = 4 * 1024 * 1024;

/**
 * "For synchronous invocations, the maximum payload size is 6 MB" (Lambda Invoke API reference): the
 * serialised handler result — status, headers and the body as a JSON string — must fit, and this is
 * the binding limit (API Gateway REST accepts 10 MB). Read as decimal megabytes, the smaller reading.
 */
export const LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES = 6_000_000;
/** "The payload size limit is 10 MB" (API Gateway, REST APIs): not binding while Lambda's 6 MB is. */
export const API_GATEWAY_REST_PAYLOAD_LIMIT_BYTES = 10_000_000;

/**
 * Whether a handler result fits Lambda's synchronous response limit. Measures what Lambda will
 * measure — the JSON of the whole result — because a JSON body inside a JSON string grows by an
 * escape for every quote and backslash, and a base64 body by a third.
 */
export function fitsLambdaResponse(result: unknown): boolean {
  return Buffer.byteLength(JSON.stringify(result), 'utf8') <= LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES;
}

export type BodyRefusalReason = 'body_not_allowed' | 'body_too_large' | 'unsupported_media_type';

export interface BodyRefusal {
  readonly reason: BodyRefusalReason;
  readonly status: 400 | 413 | 415;
  readonly message: string;
}

export type BodyDecision =
  | { readonly ok: true; readonly body: Buffer | undefined }
  | { readonly ok: false; readonly refusal: BodyRefusal };

/**
 * The body to forward, from an API Gateway proxy event's `body` and `isBase64Encoded`. A GET carries
 * none (RFC 9110 §9.3.1: a body on GET has no defined meaning, and some servers read it anyway); a POST
 * body must have an allowed media type and at most MAX_REQUEST_BODY_BYTES, measured decoded.
 */
export function checkRequestBody(input: {
  readonly method: string;
  readonly body: string | null | undefined;
  readonly isBase64Encoded: boolean;
  readonly contentType: string | undefined;
  readonly mediaTypes?: readonly string[];
}): BodyDecision {
  const present = input.body !== null && input.body !== undefined && input.body !== '';
  if (!present) return { ok: true, body: undefined };
  if (input.method !== 'POST') {
    return {
      ok: false,
      refusal: { reason: 'body_not_allowed', status: 400, message: 'Only POST requests may carry a body.' },
    };
  }
  const body = Buffer.from(input.body as string, input.isBase64Encoded ? 'base64' : 'utf8');
  if (body.length > MAX_REQUEST_BODY_BYTES) {
    return {
      ok: false,
      refusal: {
        reason: 'body_too_large',
        status: 413,
        message: `The request body is larger than ${MAX_REQUEST_BODY_BYTES} bytes.`,
      },
    };
  }
  const mediaTypes = input.mediaTypes ?? DEFAULT_REQUEST_MEDIA_TYPES;
  if (input.contentType === undefined || !mediaTypes.includes(mediaType(input.contentType))) {
    return {
      ok: false,
      refusal: {
        reason: 'unsupported_media_type',
        status: 415,
        message: `A request body must be sent as ${mediaTypes.join(' or ')}.`,
      },
    };
  }
  return { ok: true, body };
}
