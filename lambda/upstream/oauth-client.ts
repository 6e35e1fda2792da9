import * as oauth from 'oauth4webapi';
import { parseRetryAfter } from '../../contract/backoff';
import type { UpstreamSettings } from '../../contract/broker-settings';
import type { ClientCredentials } from '../../contract/credentials-secret';
import {
  type BrokerError,
  InvalidClientError,
  UntrustedUpstreamError,
  UpstreamRejectedError,
  UpstreamUnavailableError,
} from '../errors/broker-errors';

/** Node's TLS verification failures: the certificate chain is not one we trust. */
const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REVOKED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

/** An OAuth `error` code is a short ASCII token (RFC 6749 §5.2); anything else is not repeated. */
const safeOAuthCode = (code: unknown): string | undefined =>
  typeof code === 'string' && /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}$/.test(code) ? code : undefined;

/**
 * One token request with oauth4webapi (request building, client authentication, HTTPS-only
 * enforcement, OAuth error parsing). The 200 body is returned as parsed JSON for the broker's own
 * validation, which is deliberately looser than oauth4webapi's: ThroughLine documents no
 * `token_type` and an unusable `expires_in` must fall back to a default rather than fail.
 * Every failure becomes a BrokerError whose message holds no body, credential or token.
 */
export async function requestClientCredentialsToken(
  credentials: ClientCredentials,
  upstream: UpstreamSettings,
  timeoutMs: number,
): Promise<unknown> {
  const tokenUrl = new URL(upstream.tokenUrl);
  const as: oauth.AuthorizationServer = { issuer: tokenUrl.origin, token_endpoint: tokenUrl.href };
  const client: oauth.Client = { client_id: credentials.clientId };
  const clientAuth =
    upstream.clientAuthentication === 'client_secret_basic'
      ? oauth.ClientSecretBasic(credentials.clientSecret)
      : oauth.ClientSecretPost(credentials.clientSecret);
  const parameters = new URLSearchParams();
  if (upstream.scope) parameters.set('scope', upstream.scope);

  let response: Response;
  try {
    response = await oauth.clientCredentialsGrantRequest(as, client, clientAuth, parameters, {
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw networkFailure(error, timeoutMs);
  }

  if (response.status === 200) {
    const text = await readBody(response, timeoutMs);
    try {
      return JSON.parse(text);
    } catch {
      // A 200 that is not JSON is what an intermediary's error page looks like (a proxy, a WAF, a
      // maintenance page): ThroughLine did not answer, so it is transient, not a bad token response.
      throw new UpstreamUnavailableError(
        `Token endpoint returned 200 with a body that is not JSON (content-type ${safeContentType(response)}); treated as unavailable`,
        200,
        undefined,
      );
    }
  }
  return rejectResponse(as, client, response);
}

/** The media type only (no parameters), and only if it looks like one: it is upstream-controlled text. */
function safeContentType(response: Response): string {
  const type = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
  return /^[\w.+-]{1,40}\/[\w.+-]{1,60}$/.test(type) ? type : 'unknown';
}

async function readBody(response: Response, timeoutMs: number): Promise<string> {
  try {
    return await response.text();
  } catch (error) {
    throw networkFailure(error, timeoutMs);
  }
}

function networkFailure(error: unknown, timeoutMs: number): BrokerError {
  const err = error as { name?: string; code?: string; cause?: { code?: string; name?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError' || err?.cause?.name === 'TimeoutError') {
    return new UpstreamUnavailableError(
      `Token endpoint did not answer within ${timeoutMs} ms`,
      undefined,
      undefined,
    );
  }
  const code = err?.cause?.code ?? err?.code;
  if (code && TLS_TRUST_CODES.has(code)) {
    return new UntrustedUpstreamError(
      `Token endpoint's TLS certificate is not trusted (${code}): refusing to send credentials — check the tokenUrl and the network path for interception`,
    );
  }
  if (err?.name === 'TypeError' && !code && /https/.test(String((error as Error).message))) {
    return new UntrustedUpstreamError('Token endpoint URL is not https: refusing to send credentials');
  }
  return new UpstreamUnavailableError(
    `Token endpoint could not be reached (${code ?? err?.name ?? 'network error'})`,
    undefined,
    undefined,
  );
}

async function rejectResponse(
  as: oauth.AuthorizationServer,
  client: oauth.Client,
  response: Response,
): Promise<never> {
  const status = response.status;
  // 408 Request Timeout (RFC 9110 §15.5.9): the server gave up waiting, a retry may succeed.
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'), Date.now());
    await response.body?.cancel();
    throw new UpstreamUnavailableError(
      status === 429
        ? `Token endpoint rate-limited the broker (429${retryAfter !== undefined ? `, Retry-After ${retryAfter} s` : ''})`
        : `Token endpoint failed with HTTP ${status}${retryAfter !== undefined ? ` (Retry-After ${retryAfter} s)` : ''}`,
      status,
      retryAfter,
    );
  }
  if (status >= 300 && status < 400) {
    await response.body?.cancel();
    throw new UpstreamRejectedError(
      `Token endpoint answered with a redirect (HTTP ${status}); redirects are not followed — check upstream.tokenUrl`,
      status,
      undefined,
    );
  }

  let oauthError: string | undefined;
  try {
    await oauth.processClientCredentialsResponse(as, client, response);
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError) oauthError = safeOAuthCode(error.error);
    else if (error instanceof oauth.WWWAuthenticateChallengeError)
      oauthError = safeOAuthCode(error.cause[0]?.parameters.error);
  }
  if (
    oauthError === 'invalid_client' ||
    oauthError === 'unauthorized_client' ||
    (status === 401 && !oauthError)
  ) {
    throw new InvalidClientError(
      `ThroughLine rejected the client credentials (HTTP ${status}${oauthError ? `, ${oauthError}` : ''}): they are wrong, revoked or regenerated — see docs/runbooks/credentials-rejected.md`,
      status,
      oauthError,
    );
  }
  throw new UpstreamRejectedError(
    `Token endpoint rejected the request (HTTP ${status}${oauthError ? `, ${oauthError}` : ''}); retrying would not help — check upstream settings (clientAuthentication, scope)`,
    status,
    oauthError,
  );
}
