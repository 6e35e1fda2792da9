/**
 * The runbooks on-call is sent to, one file each under docs/runbooks/. Alarms and event rules name
 * them by these keys; a test fails if a named runbook file is missing.
 */
export const RUNBOOK_DIRECTORY = 'docs/runbooks';

export const Runbook = {
  CredentialsRejected: 'credentials-rejected',
  MintFailures: 'mint-failures',
  RefreshWorkflowFailed: 'refresh-workflow-failed',
  TokenNearExpiry: 'token-near-expiry',
  NotConfigured: 'not-configured',
  UpstreamRequestBudget: 'upstream-request-budget',
  UpstreamGateClosed: 'upstream-gate-closed',
  UpstreamGateBudget: 'upstream-gate-budget',
  UpstreamGateOverridden: 'upstream-gate-overridden',
  RequestVolumeAnomaly: 'request-volume-anomaly',
  ForbiddenSpike: 'forbidden-spike',
  RefusedCallers: 'refused-callers',
  DominantCaller: 'dominant-caller',
  Api5xx: 'api-5xx',
  ApiLatency: 'api-latency',
  LambdaErrors: 'lambda-errors',
  LambdaThrottles: 'lambda-throttles',
  CredentialAge: 'credential-age',
  NotificationDeliveryFailed: 'notification-delivery-failed',
  UnexpectedSecretRead: 'unexpected-secret-read',
  CredentialReaderChanged: 'credential-reader-changed',
  RotationFailed: 'rotation-failed',
  QuotaReserveReached: 'quota-reserve-reached',
  QuotaShareExhausted: 'quota-share-exhausted',
  ThroughLineApiFailures: 'throughline-api-failures',
  ThroughLineApiThrottled: 'throughline-api-throttled',
  /** Written with the rotation work: the breach response (rotate, flush, report). */
  CredentialsCompromised: 'credentials-compromised',
} as const;

export type RunbookName = (typeof Runbook)[keyof typeof Runbook];

/** Where on-call reads a runbook: the configured browsable base URL, else the path in the repository. */
export function runbookLink(name: RunbookName, baseUrl?: string): string {
  return baseUrl ? `${baseUrl}${name}.md` : `${RUNBOOK_DIRECTORY}/${name}.md`;
}
