import { setTimeout as delay } from 'node:timers/promises';
import { nextDelayMs } from './backoff';

/**
 * The one bounded retry loop, shared by the functions (lambda/upstream/retry.ts: the staged-credentials
 * test) and the consumer client (client/token-client.ts): a fixed number of attempts, jittered
 * backoff that honours the server's Retry-After, and a deadline no wait may cross. What is worth
 * retrying is the caller's to say (`classify`): each side has its own error classes.
 */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
  /** Epoch ms after which no new attempt starts. */
  readonly deadlineMs: number;
  /** Least time worth starting an attempt with (a wait that leaves less ends the loop). Default 0. */
  readonly minAttemptMs?: number;
}

/** How the caller sees a failure: `undefined` for one it does not know (a bug: it propagates at once). */
export type RetryVerdict =
  | { readonly retryable: boolean; readonly retryAfterSeconds?: number | undefined }
  | undefined;

export interface RetryHooks<E> {
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly onRetry?: (info: { attempt: number; delayMs: number; error: E }) => void;
}

/**
 * Runs `attempt` until it succeeds, fails with an error `classify` does not call retryable, runs out
 * of attempts, or the next wait would cross the deadline; then the last error is thrown as it was.
 * `attempt` receives its number and the time left before the deadline.
 */
export async function retryWithBackoff<T, E = unknown>(
  attempt: (attemptNumber: number, remainingMs: number) => Promise<T>,
  policy: RetryPolicy,
  classify: (error: unknown) => RetryVerdict,
  hooks: RetryHooks<E> = {},
): Promise<T> {
  const now = hooks.now ?? Date.now;
  const sleep = hooks.sleep ?? delay;
  for (let attemptNumber = 1; ; attemptNumber++) {
    try {
      return await attempt(attemptNumber, policy.deadlineMs - now());
    } catch (error) {
      const verdict = classify(error);
      if (!verdict?.retryable || attemptNumber >= policy.maxAttempts) throw error;
      const delayMs = nextDelayMs({
        retryIndex: attemptNumber - 1,
        baseMs: policy.backoffBaseMs,
        capMs: policy.backoffCapMs,
        retryAfterSeconds: verdict.retryAfterSeconds,
        ...(hooks.random ? { random: hooks.random } : {}),
      });
      if (now() + delayMs + (policy.minAttemptMs ?? 0) >= policy.deadlineMs) throw error;
      hooks.onRetry?.({ attempt: attemptNumber, delayMs, error: error as E });
      await sleep(delayMs);
    }
  }
}
