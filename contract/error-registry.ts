/**
 * Every error mint-token can end an invocation with, once: its bounded `reason` (the metric
 * dimension; null for errors that are not mint failures), whether the same request can succeed
 * later (`retryable`), whether the refresh workflow retries it (normally not: ThroughLine's own
 * transient failures come back as a "deferred" value and the upstream gate decides when to try
 * again), and what an operator does about it. The error classes (errors.ts), the invoker's
 * permanent list, the workflow's retry list and its on-call message are all derived from here.
 */
interface MintErrorEntry {
  readonly reason: string | null;
  readonly retryable: boolean;
  readonly workflowRetries: boolean;
  /** Told to on-call when a scheduled refresh ends with it (in a States.Format template: no quotes or braces). */
  readonly whatToDo?: string;
}

const SET_CREDENTIALS = 'put valid credentials in with: npm run -s broker -- credentials set';

export const MINT_ERRORS = {
  CredentialsNotSetError: {
    reason: 'credentials_not_set',
    retryable: false,
    workflowRetries: false,
    whatToDo: `the credentials secret lost its value after tokens were minted: ${SET_CREDENTIALS}, and find out who emptied it (CloudTrail)`,
  },
  CredentialsMalformedError: {
    reason: 'credentials_malformed',
    retryable: false,
    workflowRetries: false,
    whatToDo: SET_CREDENTIALS,
  },
  InvalidClientError: {
    reason: 'invalid_client',
    retryable: false,
    workflowRetries: false,
    whatToDo:
      'ThroughLine rejected the credentials (revoked or regenerated): follow docs/runbooks/credentials-rejected.md',
  },
  UpstreamRejectedError: {
    reason: 'upstream_rejected',
    retryable: false,
    workflowRetries: false,
    whatToDo:
      'ThroughLine refused the request itself (a 4xx other than invalid_client): check upstream.tokenUrl and clientAuthentication, see docs/runbooks/mint-failures.md',
  },
  UpstreamUnavailableError: { reason: 'upstream_unavailable', retryable: true, workflowRetries: false },
  UntrustedUpstreamError: {
    reason: 'untrusted_upstream',
    retryable: false,
    workflowRetries: false,
    whatToDo:
      'the TLS certificate of the token endpoint was not trusted (possible interception): see docs/runbooks/mint-failures.md',
  },
  BadTokenResponseError: {
    reason: 'bad_token_response',
    retryable: false,
    workflowRetries: false,
    whatToDo: 'ThroughLine answered 200 without a usable token: see docs/runbooks/mint-failures.md',
  },
  TokenCacheError: { reason: 'token_cache', retryable: true, workflowRetries: true },
  MintTokenRequestError: {
    reason: null,
    retryable: false,
    workflowRetries: false,
    whatToDo:
      'mint-token refused the payload of the workflow: the code and the definition of the stack disagree, redeploy',
  },
  SettingsError: {
    reason: null,
    retryable: false,
    workflowRetries: false,
    whatToDo: 'the settings of mint-token are invalid: redeploy the stack',
  },
} as const satisfies Record<string, MintErrorEntry>;

export type MintErrorName = keyof typeof MINT_ERRORS;

/** The bounded failure reasons (the `Reason` metric dimension). */
export type FailureReason = NonNullable<(typeof MINT_ERRORS)[MintErrorName]['reason']>;

const names = Object.keys(MINT_ERRORS) as MintErrorName[];

/** mint-token errors no retry fixes: on-call must act. */
export const PERMANENT_MINT_ERROR_NAMES: readonly MintErrorName[] = names.filter(
  (name) => !MINT_ERRORS[name].retryable,
);

/** mint-token errors the refresh workflow retries (with Step Functions' backoff and jitter). */
export const WORKFLOW_RETRIED_ERROR_NAMES: readonly MintErrorName[] = names.filter(
  (name) => MINT_ERRORS[name].workflowRetries,
);

/** "<ErrorName>: what to do" for every error that has advice, in registry order. */
export function operatorGuidance(): string[] {
  return names.flatMap((name) => {
    const entry: MintErrorEntry = MINT_ERRORS[name];
    return entry.whatToDo ? [`${name} - ${entry.whatToDo}`] : [];
  });
}
