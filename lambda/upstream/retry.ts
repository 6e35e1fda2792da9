import { type RetryHooks, type RetryPolicy, retryWithBackoff } from '../../contract/retry';
import { BrokerError, UpstreamUnavailableError } from '../errors/broker-errors';

/** Least time worth starting an upstream attempt with: below it the request would surely time out. */
export const MIN_ATTEMPT_MS = 250;

/**
 * The bounded retry of upstream requests inside one invocation (contract/retry.ts): only BrokerErrors
 * marked `retryable` are retried, with ThroughLine's Retry-After honoured; anything else is a bug and
 * propagates at once. The fleet-wide bound over time is the upstream gate's (upstream-gate.ts).
 */
export function withRetries<T>(
  attempt: (attemptNumber: number, remainingMs: number) => Promise<T>,
  policy: Omit<RetryPolicy, 'minAttemptMs'>,
  hooks: RetryHooks<BrokerError> = {},
): Promise<T> {
  return retryWithBackoff(attempt, { ...policy, minAttemptMs: MIN_ATTEMPT_MS }, classifyBrokerError, hooks);
}

function classifyBrokerError(error: unknown) {
  if (!(error instanceof BrokerError)) return undefined;
  return {
    retryable: error.retryable,
    retryAfterSeconds: error instanceof UpstreamUnavailableError ? error.retryAfterSeconds : undefined,
  };
}
