import { ROTATION_STEPS, type RotationStep } from '../../contract/rotation-progress';
import { RotationEventError } from './rotation-errors';

/** The event Secrets Manager sends the rotation function for each step. */
export interface RotationEvent {
  readonly SecretId: string;
  /** The version id of the new credentials: the key that makes every step idempotent. */
  readonly ClientRequestToken: string;
  readonly Step: RotationStep;
  /**
   * "Indicates the source of the request"; a rotation function passes it to PutSecretValue
   * (Secrets Manager user guide, "Rotation by Lambda function"; PutSecretValue API reference,
   * RotationToken). Added in 2025: older events lack it, so it is optional.
   */
  readonly RotationToken?: string;
}

/** Secrets Manager's version ids (ClientRequestToken) are 32–64 characters. */
const TOKEN = /^[A-Za-z0-9-]{32,64}$/;

export function parseRotationEvent(event: unknown): RotationEvent {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new RotationEventError(
      'The rotation function expects a Secrets Manager rotation event {"SecretId","ClientRequestToken","Step"}; start rotations with `npm run broker -- credentials rotate`',
    );
  }
  const e = event as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof e.SecretId !== 'string' || e.SecretId.length === 0) problems.push('"SecretId" is missing');
  if (typeof e.ClientRequestToken !== 'string' || !TOKEN.test(e.ClientRequestToken))
    problems.push('"ClientRequestToken" must be a version id of 32 to 64 letters, digits or hyphens');
  if (!ROTATION_STEPS.includes(e.Step as RotationStep))
    problems.push(`"Step" must be one of ${ROTATION_STEPS.join(', ')}`);
  if (
    e.RotationToken !== undefined &&
    (typeof e.RotationToken !== 'string' || e.RotationToken.length === 0 || e.RotationToken.length > 256)
  )
    problems.push('"RotationToken", when present, must be a non-empty string');
  if (problems.length > 0) throw new RotationEventError(`Invalid rotation event: ${problems.join('; ')}`);
  return {
    SecretId: e.SecretId as string,
    ClientRequestToken: e.ClientRequestToken as string,
    Step: e.Step as RotationStep,
    ...(typeof e.RotationToken === 'string' ? { RotationToken: e.RotationToken } : {}),
  };
}
