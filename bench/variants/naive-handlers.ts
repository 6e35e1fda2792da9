// Benchmark-only baselines, bundled and run through the same harness as serve-token:
//  - mint per request: every request asks ThroughLine for a new token;
//  - per-instance cache: each instance keeps its own token until its refresh point (or until it has
//    less than the caller's min_ttl left), no shared cache, no memory of upstream failures.
// Both read the real credentials secret and use the broker's real OAuth client.
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { EnvVar } from '../../contract/env-vars';
import { CredentialStore } from '../../lambda/aws/credential-store';
import { parseSettings, requireEnv } from '../../lambda/runtime/settings';
import { refreshAtFor } from '../../lambda/token/token-record';
import { validateTokenResponse } from '../../lambda/token/token-response';
import { requestClientCredentialsToken } from '../../lambda/upstream/oauth-client';

const settings = parseSettings(requireEnv(process.env, EnvVar.Settings));
const credentials = new CredentialStore(
  new SecretsManagerClient({}),
  requireEnv(process.env, EnvVar.CredentialsSecretArn),
);
const perInstanceCache = process.env.NAIVE_MODE === 'instance-cache';
let cached: { accessToken: string; refreshAt: number; expiresAt: number } | undefined;

async function mint() {
  const creds = await credentials.read();
  const mintedAt = Math.floor(Date.now() / 1000);
  const body = await requestClientCredentialsToken(
    creds,
    settings.upstream,
    settings.upstream.requestTimeoutMs,
  );
  const token = validateTokenResponse(body, settings.token);
  return {
    accessToken: token.accessToken,
    expiresAt: mintedAt + token.lifetimeSeconds,
    refreshAt: refreshAtFor(mintedAt, token.lifetimeSeconds, settings.token.refreshAtFraction),
  };
}

export async function handler(event?: { queryStringParameters?: Record<string, string> | null }) {
  const now = Math.floor(Date.now() / 1000);
  const minTtl = Number(event?.queryStringParameters?.min_ttl ?? 0) || 0;
  if (!perInstanceCache || !cached || now >= cached.refreshAt || cached.expiresAt - now < minTtl) {
    try {
      cached = await mint();
    } catch {
      return { statusCode: 503, headers: { 'Retry-After': '5' }, body: '{"error":"token_unavailable"}' };
    }
  }
  return {
    statusCode: 200,
    headers: { 'Cache-Control': 'no-store' },
    body: JSON.stringify({
      access_token: cached.accessToken,
      token_type: 'Bearer',
      expires_in: cached.expiresAt - now,
    }),
  };
}
