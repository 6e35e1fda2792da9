import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { TokenClient, TokenClientError } from '../../../client';
import { executeApiSigner, signedGet } from '../../../client/signed-request';

/**
 * Calls the broker's `GET /token` as a consumer service would, with this function's role (SigV4),
 * and reports what it got — never the token itself:
 * - one signed GET (the client's own signing code) for the status and cache headers;
 * - one `TokenClient.getToken()` (the consumer client end to end), its outcome or error class.
 */

export interface ProbeResult {
  readonly status: number;
  readonly cacheControl: string | null;
  readonly pragma: string | null;
  readonly tokenType: string | null;
  readonly expiresIn: number | null;
  readonly hasAccessToken: boolean;
  readonly client: {
    readonly ok: boolean;
    readonly tokenType?: string;
    readonly error?: string;
    readonly status?: number;
  };
}

export async function handler(): Promise<ProbeResult> {
  const apiUrl = process.env.TOKEN_API_URL;
  const region = process.env.AWS_REGION;
  if (!apiUrl || !region) throw new Error('TOKEN_API_URL and AWS_REGION must be set');
  const credentials = fromNodeProviderChain();

  const tokenUrl = new URL('token', apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`);
  const signed = await signedGet(tokenUrl, executeApiSigner(region, credentials));
  const response = await fetch(signed.url, { headers: signed.headers, redirect: 'error' });
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;

  let client: ProbeResult['client'];
  try {
    const token = await new TokenClient({ apiUrl, region, credentials, maxAttempts: 2 }).getToken();
    client = { ok: token.accessToken.length > 0, tokenType: token.tokenType };
  } catch (error) {
    if (!(error instanceof TokenClientError)) throw error;
    client = { ok: false, error: error.name, ...(error.status ? { status: error.status } : {}) };
  }

  return {
    status: response.status,
    cacheControl: response.headers.get('cache-control'),
    pragma: response.headers.get('pragma'),
    tokenType: typeof body.token_type === 'string' ? body.token_type : null,
    expiresIn: typeof body.expires_in === 'number' ? body.expires_in : null,
    hasAccessToken: typeof body.access_token === 'string' && body.access_token.length > 0,
    client,
  };
}
