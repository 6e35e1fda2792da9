import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { EnvVar } from '../../contract/env-vars';
import { MintTokenInvoker } from '../aws/mint-token-invoker';
import { toBoundaryError } from '../errors/boundary-errors';
import { errorFields } from '../errors/error-fields';
import { CredentialRotation } from '../rotation/credential-rotation';
import { RotationEventError } from '../rotation/rotation-errors';
import { parseRotationEvent } from '../rotation/rotation-event';
import { parseSettings, requireEnv } from '../runtime/settings';
import { createLogger, createMetrics } from '../runtime/telemetry';

/**
 * rotate-credentials: Secrets Manager's rotation function for the ThroughLine credentials secret.
 * It reads the operator's staged pair, writes it into the rotation's own AWSPENDING version (createSecret),
 * tests it with a real token request and moves staging labels; it cannot touch the token cache: it asks
 * mint-token to refresh the cache after promotion (`refresh`, never `force`).
 */
const logger = createLogger();
const metrics = createMetrics();
const mintToken = new MintTokenInvoker(
  // mint-token runs one invocation at a time: ride out a concurrent mint's throttle with jittered retries.
  new LambdaClient({ maxAttempts: 6 }),
  requireEnv(process.env, EnvVar.MintTokenFunctionName),
);
const rotation = new CredentialRotation({
  secrets: new SecretsManagerClient({}),
  secretArn: requireEnv(process.env, EnvVar.CredentialsSecretArn),
  settings: parseSettings(requireEnv(process.env, EnvVar.Settings)),
  refreshCache: async (request) => mintToken.obtain(request),
  logger,
  metrics,
});

/** Time kept back from the Lambda timeout to record progress and flush metrics after a step. */
const SAFETY_MARGIN_MS = 3_000;

export async function handler(event: unknown, context: Context): Promise<void> {
  logger.addContext(context);
  try {
    const rotationEvent = parseRotationEvent(event);
    await rotation.run(rotationEvent, Date.now() + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS);
  } catch (error) {
    if (error instanceof RotationEventError) {
      logger.error('Not a rotation event', { error: errorFields(error) });
    }
    throw toBoundaryError(error);
  } finally {
    metrics.publishStoredMetrics();
  }
}
