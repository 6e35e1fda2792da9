import { randomBytes, timingSafeEqual } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * Stand-in for ThroughLine's OAuth token endpoint, behind a Lambda function URL (integration test
 * only). Like the real one: POST application/x-www-form-urlencoded, grant_type=client_credentials,
 * client_secret_post; 200 {access_token, token_type, expires_in} for the expected credentials,
 * 401 {"error":"invalid_client"} otherwise. The expected credentials are the AWSCURRENT value of the
 * stand-in's own secret ({"client_id","client_secret"}, generated at deploy), read on every request
 * so a rotation (which writes a new value there) makes the old credentials stop working at once.
 */

interface FunctionUrlEvent {
  readonly requestContext?: { readonly http?: { readonly method?: string } };
  readonly headers?: Record<string, string | undefined>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
}

interface FunctionUrlResult {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const secrets = new SecretsManagerClient({});
const TOKEN_LIFETIME_SECONDS = 3600;

function answer(statusCode: number, body: Record<string, unknown>): FunctionUrlResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache' },
    body: JSON.stringify(body),
  };
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

async function expectedCredentials(): Promise<{ client_id: string; client_secret: string }> {
  const { SecretString } = await secrets.send(
    new GetSecretValueCommand({ SecretId: process.env.STAND_IN_SECRET_ARN }),
  );
  return JSON.parse(SecretString ?? '{}') as { client_id: string; client_secret: string };
}

export async function handler(event: FunctionUrlEvent): Promise<FunctionUrlResult> {
  if (event.requestContext?.http?.method !== 'POST') {
    return answer(405, { error: 'invalid_request', error_description: 'POST only' });
  }
  const contentType = event.headers?.['content-type'] ?? '';
  if (!contentType.startsWith('application/x-www-form-urlencoded')) {
    return answer(400, { error: 'invalid_request', error_description: 'form-encoded body expected' });
  }
  const raw = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString() : (event.body ?? '');
  const form = new URLSearchParams(raw);
  if (form.get('grant_type') !== 'client_credentials') {
    return answer(400, { error: 'unsupported_grant_type' });
  }
  const expected = await expectedCredentials();
  const clientId = form.get('client_id') ?? '';
  const clientSecret = form.get('client_secret') ?? '';
  if (
    !expected.client_id ||
    !expected.client_secret ||
    !sameText(clientId, expected.client_id) ||
    !sameText(clientSecret, expected.client_secret)
  ) {
    return answer(401, { error: 'invalid_client' });
  }
  return answer(200, {
    access_token: randomBytes(32).toString('base64url'),
    token_type: 'Bearer',
    expires_in: TOKEN_LIFETIME_SECONDS,
  });
}
