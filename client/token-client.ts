import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import type { SignatureV4 } from '@smithy/signature-v4';
import { parseRetryAfter } from '../contract/backoff';
import { PROXY_PATH } from '../contract/proxy-api';
import { retryWithBackoff } from '../contract/retry';
import { SingleFlight } from '../contract/single-flight';
import { tokenFingerprint } from '../contract/token-fingerprint';
import {
  AccessDeniedError,
  CredentialsUnavailableError,
  InvalidTokenRequestError,
  MalformedTokenResponseError,
  TokenApiError,
  TokenApiThrottledError,
  TokenClientConfigError,
  TokenClientError,
  TokenRequestFailedError,
  TokenUnavailableError,
} from './errors';
import { type AwsCredentials, executeApiSigner, signedGet } from './signed-request';
import { ThroughLineProxy, type ThroughLineRequestInit } from './throughline-proxy';

export interface TokenClientOptions {
  /**
   * The token API: its base URL (stack output TokenApiUrl, e.g.
   * https://abc123.execute-api.eu-west-2.amazonaws.com/v1/), the token endpoint itself (TokenEndpoint),
   * or proxy mode's base URL (ThroughLineProxyBaseUrl, `<TokenApiUrl>throughline/`).
   */
  readonly apiUrl: string;
  /** Region of the API. @default parsed from an execute-api host name, else AWS_REGION */
  readonly region?: string;
  /** Credentials to sign with. @default the AWS SDK's default credential chain (env, SSO, profile, IMDS, ECS…) */
  readonly credentials?: AwsCredentials;
  /**
   * A cached token is reused until this many seconds before it expires; the API is asked for a token
   * with at least this much life left (min_ttl). @default 60
   */
  readonly refreshMarginSeconds?: number;
  /** Attempts per getToken, the first included. @default 4 */
  readonly maxAttempts?: number;
  /**
   * Timeout of one HTTP attempt. @default 10000 (the API answers within its request budget, 4 s by
   * default, and API Gateway gives up on the function after 7 s)
   */
  readonly attemptTimeoutMs?: number;
  /** Total time one getToken may take, waits included. @default 45000 */
  readonly totalBudgetMs?: number;
  /** Full-jitter backoff between attempts when the API gives no Retry-After. @default 200 / 5000 */
  readonly backoffBaseMs?: number;
  readonly backoffCapMs?: number;
  /** Sent as User-Agent, so the API's access logs tell services apart. @default "throughline-token-client" */
  readonly userAgent?: string;
  /**
   * Timeout of one proxied call (fetchThroughLine): the broker asks ThroughLine within it.
   * @default 30000 (above API Gateway's default 29-s integration timeout, so the API answers first)
   */
  readonly proxyAttemptTimeoutMs?: number;
  /** The clock retries and deadlines use (and the token cache's). For tests. @default Date.now */
  readonly now?: () => number;
  /** How retries wait. For tests: a recorder makes waits instant and countable. @default a timer */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface AccessToken {
  readonly accessToken: string;
  readonly tokenType: 'Bearer';
  /** When the token expires, by this process's clock (receipt time + expires_in). */
  readonly expiresAt: Date;
  /** expires_at as the API reported it (epoch seconds, the broker's clock). */
  readonly serverExpiresAt: number;
}

export interface GetTokenOptions {
  /** Ask for a token with at least this much life left, bypassing a cached one that has less. */
  readonly minTtlSeconds?: number;
  /**
   * Ignore the in-process cache and ask the API again (the API still answers from its own cache).
   * After ThroughLine rejected a token, use `reportRejected` instead: it makes the broker replace it.
   */
  readonly forceRefresh?: boolean;
}

const EXECUTE_API_HOST =
  /^[a-z0-9]+(?:-vpce-[a-z0-9]+)?\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

/**
 * Gets ThroughLine access tokens from the broker's token API for this service: SigV4-signed
 * `GET /token` with the default AWS credential chain, an in-process cache until `expiresAt` minus
 * a margin, one request for any number of concurrent callers (single-flight), and retries of
 * 429/5xx/network failures honouring Retry-After. Use one client per process.
 *
 * Proxy mode: `fetchThroughLine(path, init)` calls ThroughLine through the broker instead, and no
 * token ever reaches this process (client/throughline-proxy.ts).
 */
export class TokenClient {
  private readonly tokenUrl: URL;
  private readonly signer: SignatureV4;
  private readonly margin: number;
  private readonly maxAttempts: number;
  private readonly attemptTimeoutMs: number;
  private readonly totalBudgetMs: number;
  private readonly backoffBaseMs: number;
  private readonly backoffCapMs: number;
  private readonly userAgent: string;
  private readonly now: () => number;
  private readonly sleep: ((ms: number) => Promise<void>) | undefined;
  private readonly proxy: ThroughLineProxy;
  private cached: AccessToken | undefined;
  /** Requests in flight by min_ttl and reported fingerprint: concurrent callers share one. */
  private readonly inFlight = new SingleFlight<AccessToken>();

  constructor(options: TokenClientOptions) {
    this.tokenUrl = tokenUrlOf(options.apiUrl);
    const region = options.region ?? regionOf(this.tokenUrl) ?? process.env.AWS_REGION;
    if (!region) {
      throw new TokenClientConfigError(
        `No region for ${this.tokenUrl.host}: pass the region option (the API's region, e.g. eu-west-2)`,
      );
    }
    this.margin = nonNegative('refreshMarginSeconds', options.refreshMarginSeconds ?? 60);
    this.maxAttempts = Math.max(1, Math.floor(options.maxAttempts ?? 4));
    this.attemptTimeoutMs = nonNegative('attemptTimeoutMs', options.attemptTimeoutMs ?? 10_000);
    this.totalBudgetMs = nonNegative('totalBudgetMs', options.totalBudgetMs ?? 45_000);
    this.backoffBaseMs = nonNegative('backoffBaseMs', options.backoffBaseMs ?? 200);
    this.backoffCapMs = nonNegative('backoffCapMs', options.backoffCapMs ?? 5_000);
    this.userAgent = options.userAgent ?? 'throughline-token-client';
    this.signer = executeApiSigner(region, options.credentials ?? fromNodeProviderChain());
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep;
    this.proxy = new ThroughLineProxy({
      apiBase: new URL('./', this.tokenUrl),
      signer: this.signer,
      maxAttempts: this.maxAttempts,
      totalBudgetMs: this.totalBudgetMs,
      attemptTimeoutMs: nonNegative('proxyAttemptTimeoutMs', options.proxyAttemptTimeoutMs ?? 30_000),
      backoffBaseMs: this.backoffBaseMs,
      backoffCapMs: this.backoffCapMs,
      userAgent: this.userAgent,
      now: this.now,
      sleep: this.sleep,
    });
  }

  /** The endpoint this client calls. */
  get endpoint(): string {
    return this.tokenUrl.href;
  }

  /** Where proxied calls go: `<TokenApiUrl>throughline/`. */
  get throughLineEndpoint(): string {
    return this.proxy.endpoint;
  }

  /**
   * Proxy mode: calls ThroughLine's API through the broker, which adds its own token — this process
   * never holds one. `path` is ThroughLine's (`/v2/helplines?country_code=nz`); the request is
   * `GET|POST <TokenApiUrl>throughline/<path>`, SigV4-signed (a POST body by its SHA-256).
   * ThroughLine's answer comes back as a `Response` whatever its status (its 404 is yours to read);
   * the broker's refusals and API Gateway's own answers throw typed errors (ThroughLineProxyError and
   * AccessDeniedError, client/errors.ts). `X-Broker-Cache` (brokerCacheStatus) says where the answer
   * came from. Retried: the broker's 429/503 refusals (not forwarded) for GET and POST; ThroughLine's
   * or API Gateway's 429/503 for GET only — never a POST ThroughLine has seen. Waits honour
   * Retry-After; a Retry-After beyond the budget ends the call at once.
   */
  fetchThroughLine(path: string, init?: ThroughLineRequestInit): Promise<Response> {
    return this.proxy.fetch(path, init);
  }

  /** A token with at least `refreshMarginSeconds` (or `minTtlSeconds`) left: cached if it has, else fetched. */
  async getToken(options: GetTokenOptions = {}): Promise<AccessToken> {
    const minTtl = Math.max(this.margin, nonNegative('minTtlSeconds', options.minTtlSeconds ?? 0));
    const cached = this.cached;
    if (!options.forceRefresh && cached && cached.expiresAt.getTime() - this.now() > minTtl * 1000) {
      return cached;
    }
    return this.shared(minTtl, undefined);
  }

  /**
   * Says that ThroughLine rejected this token (it answered 401 to a call made with it) and returns a
   * replacement. Only the token's fingerprint is sent (`rejected=<first 16 hex digits of its
   * SHA-256>`), never the token. The broker replaces its cached token at most once per rejected
   * token, through its upstream gate; if it already holds another token, that one comes back
   * without a mint. Any number of concurrent reports of one token share one request. If the
   * broker cannot replace it yet, this throws TokenUnavailableError with Retry-After, as getToken.
   */
  async reportRejected(token: AccessToken | string, options: Omit<GetTokenOptions, 'forceRefresh'> = {}) {
    const accessToken = typeof token === 'string' ? token : token.accessToken;
    if (typeof accessToken !== 'string' || accessToken.length === 0) {
      throw new TokenClientConfigError(
        'reportRejected needs the rejected token (an AccessToken or its string)',
      );
    }
    if (this.cached?.accessToken === accessToken) this.cached = undefined;
    const minTtl = Math.max(this.margin, nonNegative('minTtlSeconds', options.minTtlSeconds ?? 0));
    return this.shared(minTtl, tokenFingerprint(accessToken));
  }

  private shared(minTtl: number, rejected: string | undefined): Promise<AccessToken> {
    return this.inFlight.run(`${minTtl}/${rejected ?? ''}`, () => this.fetchToken(minTtl, rejected));
  }

  /** Forgets the cached token. */
  clearCache(): void {
    this.cached = undefined;
  }

  private async fetchToken(minTtl: number, rejected: string | undefined): Promise<AccessToken> {
    const url = new URL(this.tokenUrl);
    url.searchParams.set('min_ttl', String(minTtl));
    if (rejected) url.searchParams.set('rejected', rejected);
    const token = await retryWithBackoff(
      () => this.attempt(url),
      {
        maxAttempts: this.maxAttempts,
        backoffBaseMs: this.backoffBaseMs,
        backoffCapMs: this.backoffCapMs,
        deadlineMs: this.now() + this.totalBudgetMs,
      },
      (error) =>
        error instanceof TokenClientError
          ? {
              retryable: error.retryable,
              // Unavailable and throttled answers carry the broker's Retry-After (errors.ts).
              retryAfterSeconds: (error as { retryAfterSeconds?: number }).retryAfterSeconds,
            }
          : undefined,
      { now: this.now, ...(this.sleep ? { sleep: this.sleep } : {}) },
    );
    this.cached = token;
    return token;
  }

  private async attempt(url: URL): Promise<AccessToken> {
    let signed: Awaited<ReturnType<typeof signedGet>>;
    try {
      signed = await signedGet(url, this.signer);
    } catch (error) {
      throw new CredentialsUnavailableError(
        `No AWS credentials to sign the token request (${(error as Error).name}): configure the default credential chain (role, profile, environment) or pass credentials`,
        undefined,
        { cause: error },
      );
    }
    let response: Response;
    try {
      response = await fetch(signed.url, {
        method: 'GET',
        headers: { ...signed.headers, 'user-agent': this.userAgent },
        signal: AbortSignal.timeout(this.attemptTimeoutMs),
        redirect: 'error',
      });
    } catch (error) {
      const err = error as { name?: string; cause?: { code?: string } };
      throw new TokenRequestFailedError(
        err.name === 'TimeoutError'
          ? `The token API did not answer within ${this.attemptTimeoutMs} ms`
          : `The token API could not be reached (${err.cause?.code ?? err.name ?? 'network error'})`,
        undefined,
        { cause: error },
      );
    }
    const receivedAt = this.now();
    const text = await response.text().catch(() => '');
    if (response.status === 200) return parseToken(text, receivedAt);
    throw statusError(response, text, receivedAt);
  }
}

function parseToken(text: string, receivedAt: number): AccessToken {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new MalformedTokenResponseError('The token API answered 200 with a body that is not JSON', 200);
  }
  const { access_token, token_type, expires_in, expires_at } = body ?? {};
  const problems: string[] = [];
  if (typeof access_token !== 'string' || access_token.length === 0) problems.push('no access_token');
  if (typeof token_type !== 'string' || token_type.toLowerCase() !== 'bearer')
    problems.push('token_type is not Bearer');
  if (typeof expires_in !== 'number' || !Number.isFinite(expires_in) || expires_in < 0)
    problems.push('no numeric expires_in');
  if (typeof expires_at !== 'number' || !Number.isFinite(expires_at)) problems.push('no numeric expires_at');
  if (problems.length > 0) {
    throw new MalformedTokenResponseError(`The token API answered 200 but ${problems.join(', ')}`, 200);
  }
  if ((expires_in as number) <= 0) {
    throw new MalformedTokenResponseError('The token API returned a token that has already expired', 200);
  }
  return {
    accessToken: access_token as string,
    tokenType: 'Bearer',
    expiresAt: new Date(receivedAt + (expires_in as number) * 1000),
    serverExpiresAt: expires_at as number,
  };
}

function statusError(response: Response, text: string, nowMs: number): TokenClientError {
  const status = response.status;
  const retryAfter = parseRetryAfter(response.headers.get('retry-after'), nowMs);
  const apiMessage = apiMessageOf(text);
  const detail = apiMessage ? `: ${apiMessage}` : '';
  if (status === 400)
    return new InvalidTokenRequestError(`The token API rejected the request (400)${detail}`, status);
  if (status === 401 || status === 403) {
    return new AccessDeniedError(
      `The token API denied access (${status})${detail}. The calling principal needs an IAM policy allowing execute-api:Invoke on the TokenInvokeArn stack output, and must be allowed by the API's resource policy (api config)`,
      status,
    );
  }
  if (status === 503) {
    return new TokenUnavailableError(`The token API has no token to give (503)${detail}`, status, retryAfter);
  }
  if (status === 429) {
    return new TokenApiThrottledError(
      `The token API throttled the request (429)${detail}`,
      status,
      retryAfter,
    );
  }
  return new TokenApiError(`The token API answered HTTP ${status}${detail}`, status, retryAfter);
}

/** The API's (or API Gateway's) error message: short, printable, and never a token. */
function apiMessageOf(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { message?: unknown; Message?: unknown };
    const message = body.message ?? body.Message;
    if (typeof message === 'string' && /^[\x20-\x7e]{1,500}$/.test(message)) return message;
  } catch {
    // not JSON: say nothing about it
  }
  return undefined;
}

function tokenUrlOf(apiUrl: string): URL {
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    throw new TokenClientConfigError(
      'apiUrl is not a URL: use the TokenApiUrl stack output, e.g. https://abc123.execute-api.eu-west-2.amazonaws.com/v1/',
    );
  }
  // Plain http only to this host (a local proxy or test server): the token never crosses a network.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
    throw new TokenClientConfigError('apiUrl must be https:// (tokens never travel in clear text)');
  }
  if (url.search || url.hash)
    throw new TokenClientConfigError('apiUrl must not have a query string or fragment');
  // The stage URL, the token endpoint, or proxy mode's base URL (ThroughLineProxyBaseUrl output).
  let path = url.pathname.replace(/\/+$/, '');
  if (path.endsWith(`/${PROXY_PATH}`)) path = path.slice(0, -(PROXY_PATH.length + 1));
  url.pathname = path.endsWith('/token') ? path : `${path}/token`;
  return url;
}

function isLoopback(hostname: string): boolean {
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
}

function regionOf(url: URL): string | undefined {
  return EXECUTE_API_HOST.exec(url.hostname)?.[1];
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new TokenClientConfigError(`${name} must be a number of at least 0`);
  }
  return value;
}
