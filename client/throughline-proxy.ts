import { setTimeout as delay } from 'node:timers/promises';
import type { SignatureV4 } from '@smithy/signature-v4';
import { parseRetryAfter } from '../contract/backoff';
import {
  CACHE_STATUS_HEADER,
  type CacheStatus,
  PROXY_METHODS,
  PROXY_PATH,
  ProxyErrorCode,
  type ProxyMethod,
  SHARE_HEADER,
} from '../contract/proxy-api';
import { retryWithBackoff } from '../contract/retry';
import {
  AccessDeniedError,
  CredentialsUnavailableError,
  InvalidThroughLinePathError,
  ProxyApiError,
  ProxyRequestFailedError,
  ProxyRequestRejectedError,
  ProxyUnavailableError,
  QuotaShareExhaustedError,
  ThroughLineUnreachableError,
  TokenClientConfigError,
} from './errors';
import { encodeQuery, signedRequest } from './signed-request';

/**
 * Proxy mode (contract/proxy-api.ts): `GET|POST <TokenApiUrl>throughline/<ThroughLine path>`,
 * SigV4-signed like the token route. The broker calls ThroughLine with its cached token; this
 * process never sees one. ThroughLine's answers come back as a `Response`, whatever their status;
 * the broker's own refusals and API Gateway's answers are thrown as typed errors (client/errors.ts).
 *
 * Retries (bounded attempts within a total budget, never a wait past it, never shorter than
 * Retry-After; contract/retry.ts):
 * - the broker's 429 `quota_share_exhausted` and 503 `quota_reserve_reached` / `rate_limited` /
 *   `token_unavailable`, for GET **and POST**: the broker refused before forwarding, so ThroughLine
 *   never saw the call;
 * - for GET only, ThroughLine's own 429/503 (passed through: X-Broker-Cache `miss`/`hit`/`stale`) and
 *   API Gateway's own 429/503 (no broker code): a GET can be repeated safely;
 * - nothing else: not a POST that ThroughLine answered 429 or 503 (it reached ThroughLine, counted
 *   against the quota, and ThroughLine does not say whether it was recorded: the caller decides, the
 *   answer comes back as a Response with ThroughLine's Retry-After), not 502/504 (the call may have
 *   reached ThroughLine and counted), not network errors or timeouts (same).
 */

export interface ThroughLineRequestInit {
  /** @default 'POST' when there is a body, else 'GET' */
  readonly method?: ProxyMethod;
  /**
   * Query parameters, after any in the path. Each value is encoded once, as SigV4 does (a space as
   * %20). The proxy passes only snake_case names, each once, without `%` in values.
   */
  readonly query?: Readonly<Record<string, string | number | boolean>>;
  /**
   * Request headers. The proxy forwards only Accept, Accept-Language, Content-Type (POST) and
   * If-None-Match / If-Modified-Since (GET); Authorization, Host, Content-Length and X-Amz-* are
   * the signature's and refused here.
   */
  readonly headers?: Readonly<Record<string, string>>;
  /** A POST body, sent as is; its Content-Type defaults to application/json. */
  readonly body?: string | Uint8Array;
  /** A POST body as JSON (serialised, Content-Type application/json). Not with `body`. */
  readonly json?: unknown;
  /** Aborts the call (and any wait between attempts); the signal's reason is thrown. */
  readonly signal?: AbortSignal;
  /** This call's attempts, total budget and per-attempt timeout, instead of the client's. */
  readonly maxAttempts?: number;
  readonly totalBudgetMs?: number;
  readonly attemptTimeoutMs?: number;
}

/** What the proxy needs of the client: where, how to sign, and how long to try. */
export interface ThroughLineProxySettings {
  /** The API stage's base URL, ending in `/` (`…/v1/`). */
  readonly apiBase: URL;
  readonly signer: SignatureV4;
  readonly maxAttempts: number;
  readonly totalBudgetMs: number;
  readonly attemptTimeoutMs: number;
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
  readonly userAgent: string;
  readonly now: () => number;
  readonly sleep: ((ms: number) => Promise<void>) | undefined;
}

/** Where the answer came from: the X-Broker-Cache header, or undefined when absent (API Gateway's own answer). */
export function brokerCacheStatus(response: { readonly headers: Headers }): CacheStatus | undefined {
  const value = response.headers.get(CACHE_STATUS_HEADER)?.trim().toLowerCase();
  return value === 'miss' || value === 'hit' || value === 'stale' || value === 'none' ? value : undefined;
}

const KNOWN_CODES = new Set<string>(Object.values(ProxyErrorCode));
const REJECTED: ReadonlySet<string> = new Set([
  ProxyErrorCode.InvalidRequest,
  ProxyErrorCode.PathNotAllowed,
  ProxyErrorCode.MethodNotAllowed,
  ProxyErrorCode.RequestTooLarge,
  ProxyErrorCode.UnsupportedMediaType,
]);
/** The broker's 503 codes: refused before forwarding, worth retrying after Retry-After. */
const UNAVAILABLE: ReadonlySet<string> = new Set([
  ProxyErrorCode.QuotaReserveReached,
  ProxyErrorCode.RateLimited,
  ProxyErrorCode.TokenUnavailable,
]);
const UNREACHABLE: ReadonlySet<string> = new Set([
  ProxyErrorCode.UpstreamUnavailable,
  ProxyErrorCode.UpstreamResponseTooLarge,
]);

/** Headers only the signature may set. */
const RESERVED_HEADER = /^(?:authorization|host|content-length|x-amz-.*)$/i;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL_OR_SPACE = /[\u0000-\u0020\u007f-\u009f]/;

/**
 * The proxy URL for a ThroughLine path (`/v2/helplines`, `v2/helplines?country_code=nz`): refused
 * here, before anything is signed, when it is an absolute or scheme-relative URL, has a `.` or `..`
 * segment (also percent-encoded), a backslash, a fragment, white space or a control character, or
 * would leave `<apiBase>throughline/`. Everything else is the proxy's to judge (its allow-list).
 */
export function throughLineUrl(apiBase: URL, path: string, query: ThroughLineRequestInit['query'] = {}): URL {
  if (typeof path !== 'string' || path.replace(/^\/+/, '') === '') {
    throw new InvalidThroughLinePathError(
      'Name a ThroughLine API path, e.g. fetchThroughLine("/v2/helplines?country_code=nz")',
    );
  }
  if (SCHEME.test(path) || path.startsWith('//')) {
    throw new InvalidThroughLinePathError(
      'The ThroughLine path is an absolute URL: pass the path alone, e.g. "/v2/helplines" (the broker chooses the host)',
    );
  }
  if (CONTROL_OR_SPACE.test(path)) {
    throw new InvalidThroughLinePathError(
      'The ThroughLine path contains white space or a control character: encode query values (or pass them as init.query)',
    );
  }
  if (path.includes('\\')) throw new InvalidThroughLinePathError('The ThroughLine path contains a backslash');
  if (path.includes('#'))
    throw new InvalidThroughLinePathError('The ThroughLine path contains a fragment (#)');
  const questionMark = path.indexOf('?');
  const rawPath = (questionMark === -1 ? path : path.slice(0, questionMark)).replace(/^\//, '');
  const rawQuery = questionMark === -1 ? '' : path.slice(questionMark + 1);
  const dotted = rawPath.replace(/%2e/gi, '.');
  if (dotted.includes('..') || dotted.split('/').includes('.')) {
    throw new InvalidThroughLinePathError(
      'The ThroughLine path contains a "." or ".." segment: name the path itself, e.g. "/v2/helplines"',
    );
  }
  const expectedPath = `${apiBase.pathname}${PROXY_PATH}/${rawPath}`;
  const url = new URL(`${PROXY_PATH}/${rawPath}`, apiBase);
  if (url.origin !== apiBase.origin || url.pathname !== expectedPath) {
    throw new InvalidThroughLinePathError(
      'The ThroughLine path has characters that would change it when sent: use plain segments (letters, digits, "-", "_")',
    );
  }
  const pairs: [string, string][] = [...new URLSearchParams(rawQuery)];
  for (const [name, value] of Object.entries(query)) pairs.push([name, String(value)]);
  url.search = pairs.length > 0 ? encodeQuery(pairs) : '';
  return url;
}

/** A ThroughLine answer worth another GET (429/503): kept so the last one can be returned as is. */
class RetryableAnswer {
  constructor(
    readonly response: Response,
    readonly retryAfterSeconds: number | undefined,
  ) {}
}

export class ThroughLineProxy {
  constructor(private readonly settings: ThroughLineProxySettings) {}

  /** `<TokenApiUrl>throughline/`: where proxied calls go. */
  get endpoint(): string {
    return new URL(`${PROXY_PATH}/`, this.settings.apiBase).href;
  }

  async fetch(path: string, init: ThroughLineRequestInit = {}): Promise<Response> {
    const s = this.settings;
    const request = prepare(s.apiBase, path, init);
    const maxAttempts = Math.max(1, Math.floor(init.maxAttempts ?? s.maxAttempts));
    const totalBudgetMs = positive('totalBudgetMs', init.totalBudgetMs ?? s.totalBudgetMs);
    const attemptTimeoutMs = positive('attemptTimeoutMs', init.attemptTimeoutMs ?? s.attemptTimeoutMs);
    const signal = init.signal;
    signal?.throwIfAborted();
    const sleep = s.sleep ?? ((ms: number) => delay(ms, undefined, signal ? { signal } : {}));
    try {
      return await retryWithBackoff(
        (_attempt, remainingMs) =>
          this.attempt(request, Math.max(1, Math.min(attemptTimeoutMs, remainingMs)), signal),
        {
          maxAttempts,
          backoffBaseMs: s.backoffBaseMs,
          backoffCapMs: s.backoffCapMs,
          deadlineMs: s.now() + totalBudgetMs,
        },
        (error) => verdict(error, request.method),
        {
          now: s.now,
          sleep: async (ms) => {
            await sleep(ms);
            signal?.throwIfAborted();
          },
          onRetry: ({ error }) => {
            // The answer is not returned: free its connection.
            if (error instanceof RetryableAnswer) error.response.body?.cancel().catch(() => {});
          },
        },
      );
    } catch (error) {
      // Out of attempts or budget on ThroughLine's own 429/503: that answer is the result.
      if (error instanceof RetryableAnswer) return error.response;
      throw error;
    }
  }

  private async attempt(
    request: PreparedRequest,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Response> {
    signal?.throwIfAborted();
    const s = this.settings;
    let signed: Awaited<ReturnType<typeof signedRequest>>;
    try {
      signed = await signedRequest(request.method, request.url, s.signer, {
        headers: request.headers,
        ...(request.body !== undefined ? { body: request.body } : {}),
      });
    } catch (error) {
      throw new CredentialsUnavailableError(
        `No AWS credentials to sign the ThroughLine proxy request (${(error as Error).name}): configure the default credential chain (role, profile, environment) or pass credentials`,
        undefined,
        { cause: error },
      );
    }
    const timeout = AbortSignal.timeout(timeoutMs);
    let response: Response;
    try {
      response = await fetch(signed.url, {
        method: request.method,
        headers: { 'user-agent': s.userAgent, ...request.unsignedHeaders, ...signed.headers },
        ...(signed.body !== undefined ? { body: signed.body as BodyInit } : {}),
        signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
        redirect: 'error',
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const err = error as { name?: string; cause?: { code?: string } };
      const code = err.cause?.code;
      const neverConnected = code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
      throw new ProxyRequestFailedError(
        timeout.aborted
          ? `The ThroughLine proxy did not answer ${request.label} within ${timeoutMs} ms (not retried: it may have reached ThroughLine)`
          : `The ThroughLine proxy could not be reached for ${request.label} (${code ?? err.name ?? 'network error'})`,
        !neverConnected,
        { cause: error },
      );
    }
    const cache = brokerCacheStatus(response);
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'), s.now());
    if (cache === 'miss' || cache === 'hit' || cache === 'stale' || response.status < 400) {
      // ThroughLine's answer, unchanged. Only a GET is asked again, and only on 429/503.
      if (request.method === 'GET' && (response.status === 429 || response.status === 503)) {
        throw new RetryableAnswer(response, retryAfter);
      }
      return response;
    }
    const text = await response.text().catch(() => '');
    throw refusal(response, text, retryAfter, request.label);
  }
}

interface PreparedRequest {
  readonly method: ProxyMethod;
  readonly url: URL;
  /** Signed: lower-case names. */
  readonly headers: Record<string, string>;
  /** Sent but not signed (SigV4 never signs User-Agent). */
  readonly unsignedHeaders: Record<string, string>;
  readonly body: string | Uint8Array | undefined;
  /** `GET /v2/helplines`: for messages; never the query (its values may describe an end user). */
  readonly label: string;
}

function prepare(apiBase: URL, path: string, init: ThroughLineRequestInit): PreparedRequest {
  if (init.body !== undefined && init.json !== undefined) {
    throw new TokenClientConfigError('fetchThroughLine takes body or json, not both');
  }
  const body = init.json !== undefined ? JSON.stringify(init.json) : init.body;
  const method = init.method ?? (body !== undefined ? 'POST' : 'GET');
  if (!(PROXY_METHODS as readonly string[]).includes(method)) {
    throw new TokenClientConfigError(`fetchThroughLine sends GET or POST, not ${String(method)}`);
  }
  if (method === 'GET' && body !== undefined) {
    throw new TokenClientConfigError('A GET has no body: use method POST (or leave method out)');
  }
  const url = throughLineUrl(apiBase, path, init.query);
  const headers: Record<string, string> = {};
  const unsignedHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(init.headers ?? {})) {
    const lower = name.toLowerCase();
    if (RESERVED_HEADER.test(lower)) {
      throw new TokenClientConfigError(
        `fetchThroughLine sets ${lower} itself (SigV4): the broker adds ThroughLine's Authorization, never pass one`,
      );
    }
    if (lower === 'user-agent') unsignedHeaders[lower] = value;
    else headers[lower] = value;
  }
  headers.accept ??= 'application/json';
  if (method === 'POST') headers['content-type'] ??= 'application/json';
  const shownPath = url.pathname.slice(`${apiBase.pathname}${PROXY_PATH}`.length);
  return { method, url, headers, unsignedHeaders, body, label: `${method} ${shownPath}` };
}

/** Whether the loop asks again: see the module comment. */
function verdict(error: unknown, method: ProxyMethod) {
  if (error instanceof RetryableAnswer)
    return { retryable: true, retryAfterSeconds: error.retryAfterSeconds };
  if (error instanceof QuotaShareExhaustedError || error instanceof ProxyUnavailableError) {
    return { retryable: true, retryAfterSeconds: error.retryAfterSeconds };
  }
  if (
    method === 'GET' &&
    error instanceof ProxyApiError &&
    error.code === undefined &&
    (error.status === 429 || error.status === 503)
  ) {
    return { retryable: true, retryAfterSeconds: error.retryAfterSeconds };
  }
  return { retryable: false };
}

/** The typed error for an answer that is not ThroughLine's (the broker's own, or API Gateway's). */
function refusal(response: Response, text: string, retryAfter: number | undefined, label: string): Error {
  const status = response.status;
  let code: ProxyErrorCode | undefined;
  let apiMessage: string | undefined;
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown; Message?: unknown };
    if (typeof body.error === 'string' && KNOWN_CODES.has(body.error)) code = body.error as ProxyErrorCode;
    const message = body.message ?? body.Message;
    // Short and printable only: a fixed text of the broker's or API Gateway's, never a token.
    if (typeof message === 'string' && /^[\x20-\x7e]{1,500}$/.test(message)) apiMessage = message;
  } catch {
    // not JSON: say nothing about it
  }
  const detail = apiMessage ? `: ${apiMessage}` : '';
  const after = retryAfter !== undefined ? ` Retry after ${retryAfter} s.` : '';
  if (code !== undefined && REJECTED.has(code)) {
    const allow = response.headers
      .get('allow')
      ?.split(',')
      .map((m) => m.trim())
      .filter(Boolean);
    return new ProxyRequestRejectedError(
      `The broker refused ${label} (${status} ${code})${detail}`,
      status,
      code,
      allow,
    );
  }
  if (code === ProxyErrorCode.QuotaShareExhausted) {
    return new QuotaShareExhaustedError(
      `The broker refused ${label}: this caller's daily share of ThroughLine's quota is used up (${status} ${code})${detail}.${after}`,
      status,
      retryAfter,
      response.headers.get(SHARE_HEADER) ?? undefined,
    );
  }
  if (code !== undefined && UNAVAILABLE.has(code)) {
    return new ProxyUnavailableError(
      `The broker did not forward ${label} (${status} ${code})${detail}.${after}`,
      status,
      code,
      retryAfter,
    );
  }
  if (code !== undefined && UNREACHABLE.has(code)) {
    return new ThroughLineUnreachableError(
      `The broker could not get ThroughLine's answer to ${label} (${status} ${code})${detail}`,
      status,
      code,
      retryAfter,
    );
  }
  if (code === undefined && (status === 401 || status === 403)) {
    return new AccessDeniedError(
      `The token API denied ${label} (${status})${detail}. The calling principal needs an IAM policy allowing execute-api:Invoke on the proxy route (arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/*/throughline/*), and must be allowed by the API's resource policy (api config)`,
      status,
    );
  }
  return new ProxyApiError(
    code !== undefined
      ? `The broker failed on ${label} (${status} ${code})${detail}`
      : `The token API answered ${label} with HTTP ${status} without a broker error code (API Gateway's own answer)${detail}`,
    status,
    code,
    retryAfter,
  );
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new TokenClientConfigError(`${name} must be more than 0`);
  return value;
}
