import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

export type AwsCredentials = ConstructorParameters<typeof SignatureV4>[0]['credentials'];

/** The SigV4 signing name of API Gateway's invoke API (not "apigateway", which is its control plane). */
export const EXECUTE_API_SERVICE = 'execute-api';

export interface SignedRequest {
  readonly url: URL;
  /** The headers to send, signature included; without Host (fetch sets it from the URL). */
  readonly headers: Record<string, string>;
  /** The body to send: exactly the bytes whose SHA-256 was signed. */
  readonly body: string | Uint8Array | undefined;
}

/**
 * Signs `<method> <url>` with SigV4 for execute-api. The Host header is signed as fetch will send it
 * (host[:port]); fetch sets it from the URL, so it is not passed on. The query is signed from the
 * URL's own (decoded) parameters, repeated names included; send the URL with its query encoded as
 * SigV4 encodes it (RFC 3986, a space as %20, never "+": see `encodeQuery`), so both agree. A body
 * is signed by its SHA-256 (the canonical request's payload hash); `headers` (lower-case names) are
 * signed too, except those SigV4 never signs (User-Agent…).
 */
export async function signedRequest(
  method: string,
  url: URL,
  signer: SignatureV4,
  options: { readonly headers?: Readonly<Record<string, string>>; readonly body?: string | Uint8Array } = {},
): Promise<SignedRequest> {
  const query: Record<string, string | string[]> = {};
  url.searchParams.forEach((value, key) => {
    const previous = query[key];
    if (previous === undefined) query[key] = value;
    else query[key] = Array.isArray(previous) ? [...previous, value] : [previous, value];
  });
  const request = new HttpRequest({
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query,
    headers: { ...options.headers, host: url.host },
    ...(options.body !== undefined ? { body: options.body } : {}),
  });
  const signed = await signer.sign(request);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) {
    if (name.toLowerCase() !== 'host') headers[name] = value;
  }
  return { url, headers, body: options.body };
}

/** Signs `GET <url>` (the token route). */
export async function signedGet(
  url: URL,
  signer: SignatureV4,
): Promise<{ readonly url: URL; readonly headers: Record<string, string> }> {
  const { headers } = await signedRequest('GET', url, signer, { headers: { accept: 'application/json' } });
  return { url, headers };
}

/**
 * A query string as SigV4's canonical form encodes it (RFC 3986 unreserved characters kept, all else
 * %XX, a space as %20): what goes on the wire is then byte for byte what was signed, whichever way the
 * server canonicalises (`+` would be read as a space by some and as a plus by others).
 */
export function encodeQuery(pairs: Iterable<readonly [string, string]>): string {
  const parts: string[] = [];
  for (const [name, value] of pairs) parts.push(`${rfc3986(name)}=${rfc3986(value)}`);
  return parts.join('&');
}

function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export function executeApiSigner(region: string, credentials: AwsCredentials): SignatureV4 {
  return new SignatureV4({ service: EXECUTE_API_SERVICE, region, credentials, sha256: Sha256 });
}
