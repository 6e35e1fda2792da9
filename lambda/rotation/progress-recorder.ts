import { type SecretsManagerClient, TagResourceCommand } from '@aws-sdk/client-secrets-manager';
import {
  formatProgress,
  ROTATION_PROGRESS_TAG,
  type RotationProgress,
} from '../../contract/rotation-progress';

/**
 * Writes a rotation step's outcome as the progress tag on the credentials secret (the tag's format is
 * the contract the CLI reads: contract/rotation-progress.ts). TagResource: "Attaches tags to a secret"
 * (Secrets Manager API reference); a tag is visible to DescribeSecret, which reads no secret value.
 */
export async function recordProgress(
  secrets: SecretsManagerClient,
  secretId: string,
  progress: RotationProgress,
): Promise<void> {
  await secrets.send(
    new TagResourceCommand({
      SecretId: secretId,
      Tags: [{ Key: ROTATION_PROGRESS_TAG, Value: formatProgress(progress) }],
    }),
  );
}
