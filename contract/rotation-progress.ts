/** The four steps of Secrets Manager's rotation protocol, in the order Secrets Manager runs them. */
export const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

/**
 * Rotation progress, written by the rotation function as a tag on the credentials secret. Secrets
 * Manager reports a failed rotation only to CloudTrail, so without this an operator waiting on
 * `credentials rotate` could only time out. A tag is visible to DescribeSecret (which reads no value),
 * costs nothing, and carries only a version id, a step, an outcome, an error class name and a time.
 */
export const ROTATION_PROGRESS_TAG = 'throughline-broker:rotation';

export interface RotationProgress {
  readonly token: string;
  readonly step: RotationStep;
  readonly status: 'done' | 'failed';
  /** Error class name when failed (e.g. StagedCredentialsTestFailedError). */
  readonly error?: string;
  /** The upstream broker error behind a failed credentials test (e.g. InvalidClientError). */
  readonly upstreamError?: string;
  /**
   * Whether Secrets Manager's whole-rotation retry can succeed with the same staged pair (the error's
   * own `retryable`; errors without one, e.g. AWS SDK errors, count as retryable). Only on failures.
   */
  readonly retryable?: boolean;
  /** ISO 8601 time the step ended. */
  readonly at: string;
}

/** Tag values allow letters, digits, spaces and _.:/=+-@ only: the format keeps to those. */
export function formatProgress(progress: RotationProgress): string {
  return [
    `token=${progress.token}`,
    `step=${progress.step}`,
    `status=${progress.status}`,
    ...(progress.error ? [`error=${progress.error}`] : []),
    ...(progress.upstreamError ? [`upstream=${progress.upstreamError}`] : []),
    ...(progress.retryable !== undefined ? [`retryable=${progress.retryable}`] : []),
    `at=${progress.at}`,
  ].join(' ');
}

export function parseProgress(value: string | undefined): RotationProgress | undefined {
  if (!value) return undefined;
  const fields = Object.fromEntries(
    value
      .split(' ')
      .map((part) => part.split('=', 2) as [string, string | undefined])
      .filter(([, v]) => v !== undefined),
  ) as Record<string, string>;
  const step = fields.step as RotationStep;
  const status = fields.status;
  if (!fields.token || !ROTATION_STEPS.includes(step) || (status !== 'done' && status !== 'failed'))
    return undefined;
  return {
    token: fields.token,
    step,
    status,
    ...(fields.error ? { error: fields.error } : {}),
    ...(fields.upstream ? { upstreamError: fields.upstream } : {}),
    ...(fields.retryable === 'true' || fields.retryable === 'false'
      ? { retryable: fields.retryable === 'true' }
      : {}),
    at: fields.at ?? '',
  };
}
