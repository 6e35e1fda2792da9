import { randomBytes } from 'node:crypto';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { CredentialAdmin, RotationInProgressError } from '../../../cli/operations/credential-admin';
import { type ClientCredentials, STAGED_LABEL } from '../../../contract/credentials-secret';

/**
 * Integration-test setup, invoked by the IntegTest assertions (integ.assertions.invokeFunction):
 *
 * - `set`: copies the stand-in's expected credentials into the broker's credentials secret as
 *   AWSCURRENT, as `npm run broker -- credentials set --replace` would.
 * - `probe-refusal`: checks the documented RotateSecret refusal while AWSPENDING is on a non-current
 *   version, with a throw-away version, and cleans up.
 * - `rotate-rejected`: rotates to a pair the stand-in rejects: testSecret fails, AWSCURRENT stays, and
 *   nothing is left stuck (the next `rotate` starts).
 * - `rotate`: "creates a new ThroughLine application" (a fresh random secret becomes the stand-in's
 *   AWSCURRENT, so the old credentials are rejected from now on), stages it in the broker secret under
 *   THROUGHLINE_STAGED and runs the broker's rotation exactly as `credentials rotate` does, waiting for it.
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

/**
 * The operator flow of `credentials rotate`, as cli/commands/credentials.ts runs it: release a leftover
 * AWSPENDING if its rotation is over, stage under THROUGHLINE_STAGED, RotateSecret without a token of
 * ours, wait; a failure no retry fixes releases AWSPENDING from the rotation's version.
 */
async function rotateTo(admin: CredentialAdmin, credentials: ClientCredentials) {
  const before = await admin.currentVersionId();
  const leftover = await admin.releaseLeftoverPending();
  const staged = await admin.stage(credentials);
  const token = await admin.startRotation();
  const steps: string[] = [];
  const outcome = await admin.waitForRotation(token, ROTATION_TIMEOUT_MS, {
    onStep: (p) => steps.push(`${p.step} done`),
    onRetrying: (p) => steps.push(`${p.step} failed (retrying)`),
  });
  if (outcome.result === 'failed') await admin.releasePending(token);
  const status = await admin.status();
  const versionOf = (id: string) => status.versions.find((v) => v.versionId === id)?.stages ?? [];
  return {
    leftover: leftover.kind,
    result: outcome.result,
    steps,
    // The contract points this run settles in a real account (docs/integration-test.md):
    rotationVersionIsNew: token !== staged && token !== before,
    currentIsRotationVersion: status.currentVersionId === token,
    currentUnchanged: status.currentVersionId === before,
    stagedLabelLeft: versionOf(staged).includes(STAGED_LABEL),
    pendingOnNonCurrent: status.versions.some(
      (v) => v.stages.includes('AWSPENDING') && !v.stages.includes('AWSCURRENT'),
    ),
    ...(outcome.result === 'failed'
      ? {
          failedStep: outcome.failure.step,
          error: outcome.failure.error ?? null,
          upstreamError: outcome.failure.upstreamError ?? null,
        }
      : {}),
  };
}

export async function handler(event: SetupEvent): Promise<Record<string, unknown>> {
  const admin = new CredentialAdmin(secrets, env('BROKER_SECRET_ARN'), { pollIntervalMs: 2_000 });
  if (event.action === 'set') {
    const versionId = await admin.setInitial(await standInCredentials(), true);
    return { action: 'set', result: 'succeeded', versionIdLength: versionId.length };
  }
  if (event.action === 'probe-refusal') {
    // RotateSecret API reference: with AWSPENDING on a version other than AWSCURRENT, RotateSecret
    // "returns an error". A throw-away version (not credentials) takes AWSPENDING, RotateSecret must be
    // refused, then the label is removed again (the documented clean-up).
    const probe = await secrets.send(
      new PutSecretValueCommand({
        SecretId: env('BROKER_SECRET_ARN'),
        SecretString: JSON.stringify({ probe: 'not credentials' }),
        VersionStages: ['AWSPENDING'],
      }),
    );
    let refused = false;
    let errorName: string | null = null;
    let inProgressMessage = false;
    try {
      await admin.startRotation();
    } catch (error) {
      refused = true;
      errorName = (error as Error).name;
      inProgressMessage = error instanceof RotationInProgressError;
    }
    const released = await admin.releasePending(probe.VersionId as string);
    return { action: 'probe-refusal', refused, errorName, inProgressMessage, released };
  }
  if (event.action === 'rotate-rejected') {
    // A pair the stand-in endpoint does not accept: testSecret must fail, AWSCURRENT stay.
    const wrong = {
      clientId: `integ-wrong-${randomBytes(4).toString('hex')}`,
      clientSecret: randomBytes(32).toString('base64url'),
    };
    return { action: 'rotate-rejected', ...(await rotateTo(admin, wrong)) };
  }
  if (event.action === 'rotate') {
    return { action: 'rotate', ...(await rotateTo(admin, await newStandInCredentials())) };
  }
  throw new Error(
    `Unknown action ${JSON.stringify(event.action)}: use "set", "probe-refusal", "rotate-rejected" or "rotate"`,
  );
}
