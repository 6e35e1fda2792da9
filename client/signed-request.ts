import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

export type AwsCredentials = ConstructorParameters<typeof SignatureV4>[0]['credentials'];

/** The SigV4 signing name of API Gateway's invoke API (not "apigateway", which is its control plane). */
export const EXECUTE_API_SERVICE = 'execute-api';

/**
 * Signs `GET <url>` with SigV4 for execute-api in `region`. The Host header is signed as fetch will
 * send it (host[:port]); fetch sets it from the URL, so it is not passed on.
 */
export async function signedGet(
  url: URL,
  signer: SignatureV4,
): Promise<{ readonly url: URL; readonly headers: Record<string, string> }> {
  const query: Record<string, string> = {};
  url.searchParams.forEach((value, key) => {
    query[key] = value;
  });
  const request = new HttpRequest({
    method: 'GET',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query,
    headers: { host: url.host, accept: 'application/json' },
  });
  const signed = await signer.sign(request);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) {
    if (name.toLowerCase() !== 'host') headers[name] = value;
  }
  return { url, headers };
}

export function executeApiSigner(region: string, credentials: AwsCredentials): SignatureV4 {
  return new SignatureV4({ service: EXECUTE_API_SERVICE, region, credentials, sha256: Sha256 });
}
