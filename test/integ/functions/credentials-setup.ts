import { randomBytes } from 'node:crypto';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { CredentialAdmin } from '../../../cli/operations/credential-admin';
import type { ClientCredentials } from '../../../lambda/core/oauth-client';

/**
 * Integration-test setup, invoked by the IntegTest assertions (integ.assertions.invokeFunction):
 *
 * - `set`: copies the stand-in's expected credentials into the broker's credentials secret as
 *   AWSCURRENT, as `npm run broker -- credentials set --replace` would.
 * - `rotate`: "creates a new ThroughLine application" (a fresh random secret becomes the stand-in's
 *   AWSCURRENT, so the old credentials are rejected from now on), stages it in the broker secret as
 *   AWSPENDING and runs the broker's rotation exactly as `credentials rotate` does, waiting for it.
 *
 * Values move from secret to secret inside this function only: the answer (which the assertion
 * provider logs and compares) carries version ids and outcomes, never a credential.
 */

interface SetupEvent {
  readonly action?: string;
}

const secrets = new SecretsManagerClient({});
const ROTATION_TIMEOUT_MS = 90_000;

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

async function standInCredentials(): Promise<ClientCredentials> {
  const { SecretString } = await secrets.send(
    new GetSecretValueCommand({ SecretId: env('STAND_IN_SECRET_ARN') }),
  );
  const value = JSON.parse(SecretString ?? '{}') as { client_id?: string; client_secret?: string };
  if (!value.client_id || !value.client_secret) {
    throw new Error('The stand-in secret has no {"client_id","client_secret"}');
  }
  return { clientId: value.client_id, clientSecret: value.client_secret };
}

async function newStandInCredentials(): Promise<ClientCredentials> {
  const credentials = {
    clientId: `integ-client-${randomBytes(4).toString('hex')}`,
    clientSecret: randomBytes(32).toString('base64url'),
  };
  await secrets.send(
    new PutSecretValueCommand({
      SecretId: env('STAND_IN_SECRET_ARN'),
      SecretString: JSON.stringify({
        client_id: credentials.clientId,
        client_secret: credentials.clientSecret,
      }),
    }),
  );
  return credentials;
}

export async function handler(event: SetupEvent): Promise<Record<string, unknown>> {
  const admin = new CredentialAdmin(secrets, env('BROKER_SECRET_ARN'));
  if (event.action === 'set') {
    const versionId = await admin.setInitial(await standInCredentials(), true);
    return { action: 'set', result: 'succeeded', versionIdLength: versionId.length };
  }
  if (event.action === 'rotate') {
    const credentials = await newStandInCredentials();
    const { token } = await admin.stage(credentials);
    await admin.startRotation(token);
    const outcome = await admin.waitForRotation(token, ROTATION_TIMEOUT_MS, () => {});
    const status = await admin.status();
    return {
      action: 'rotate',
      result: outcome.result,
      currentIsStagedVersion: status.currentVersionId === token,
      ...(outcome.result === 'failed'
        ? {
            failedStep: outcome.failure.step,
            error: outcome.failure.error ?? null,
            upstreamError: outcome.failure.upstreamError ?? null,
          }
        : {}),
    };
  }
  throw new Error(`Unknown action ${JSON.stringify(event.action)}: use "set" or "rotate"`);
}
