import { nextDelayMs } from './backoff';
import { BrokerError, UpstreamUnavailableError } from './errors';

export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
  /** Epoch ms after which no new attempt starts. */
  readonly deadlineMs: number;
}

export interface RetryHooks {
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly onRetry?: (info: { attempt: number; delayMs: number; error: BrokerError }) => void;
}

/** Least time worth starting an attempt with: below it the request would surely time out. */
export const MIN_ATTEMPT_MS = 250;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `attempt` until it succeeds, fails with a non-retryable BrokerError, runs out of attempts,
 * or the next wait would cross the deadline. Only BrokerErrors with `retryable` are retried;
 * anything else is a bug and propagates at once. `attempt` receives the time it may take.
 */
export async function withRetries<T>(
  attempt: (attemptNumber: number, remainingMs: number) => Promise<T>,
  policy: RetryPolicy,
  hooks: RetryHooks = {},
): Promise<T> {
  const now = hooks.now ?? Date.now;
  const sleep = hooks.sleep ?? defaultSleep;
  for (let attemptNumber = 1; ; attemptNumber++) {
    try {
      return await attempt(attemptNumber, policy.deadlineMs - now());
    } catch (error) {
      if (!(error instanceof BrokerError) || !error.retryable) throw error;
      if (attemptNumber >= policy.maxAttempts) throw error;
      const retryAfterSeconds =
        error instanceof UpstreamUnavailableError ? error.retryAfterSeconds : undefined;
      const delayMs = nextDelayMs({
        retryIndex: attemptNumber - 1,
        baseMs: policy.backoffBaseMs,
        capMs: policy.backoffCapMs,
        retryAfterSeconds,
        ...(hooks.random ? { random: hooks.random } : {}),
      });
      if (now() + delayMs + MIN_ATTEMPT_MS > policy.deadlineMs) throw error;
      hooks.onRetry?.({ attempt: attemptNumber, delayMs, error });
      await sleep(delayMs);
    }
  }
}
