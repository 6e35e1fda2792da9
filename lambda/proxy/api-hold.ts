/**
 * The fleet-wide hold on ThroughLine's API, pure: what the proxy does when ThroughLine's API is down,
 * slow or throttling. Without it every caller's call would still go out — at the per-second limit,
 * the organisation's whole day of quota in minutes, spent on failures. With it the first failure
 * closes the API for the whole fleet (equal-jitter backoff doubling per consecutive failure, or
 * ThroughLine's Retry-After if longer); while closed, callers get 503 with the time left (or the
 * last good answer, with the cache on); when the time has passed, exactly one call — the probe, won
 * by a conditional write — goes out, and its result opens the API or closes it again. The token
 * endpoint has its own gate (lambda/upstream/); this is the same discipline for API calls.
 */
export interface ApiHold {
  /** Consecutive failed calls; 0: open. */
  readonly failures: number;
  /** Epoch ms before which no call is sent. */
  readonly untilMs: number;
  /** Epoch ms until which the current probe owns the right to call (a probe that never reports expires). */
  readonly probeUntilMs: number;
}

export const OPEN_HOLD: ApiHold = { failures: 0, untilMs: 0, probeUntilMs: 0 };

/** First wait after a failure; doubles per consecutive failure (equal jitter) up to the cap. */
export const HOLD_BASE_MS = 5_000;
export const HOLD_CAP_MS = 300_000;
/** ThroughLine's Retry-After is honoured up to a day (an absurd header must not stop the proxy for weeks). */
export const MAX_RETRY_AFTER_MS = 86_400_000;

export type HoldDecision =
  | { readonly send: 'freely' }
  /** Closed, or another instance's probe is out: the caller waits `retryAfterSeconds`. */
  | { readonly send: 'no'; readonly retryAfterSeconds: number }
  /** The wait is over: this call may be the probe, if it wins it. */
  | { readonly send: 'as_probe' };

export function holdDecision(hold: ApiHold, nowMs: number): HoldDecision {
  if (hold.failures === 0) return { send: 'freely' };
  if (nowMs < hold.untilMs) return { send: 'no', retryAfterSeconds: secondsUntil(hold.untilMs, nowMs) };
  if (nowMs < hold.probeUntilMs)
    return { send: 'no', retryAfterSeconds: secondsUntil(hold.probeUntilMs, nowMs) };
  return { send: 'as_probe' };
}

/** When the API opens again after `failures` consecutive failures (the latest included). */
export function heldUntilMs(
  failures: number,
  nowMs: number,
  retryAfterSeconds: number | undefined,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(HOLD_CAP_MS, HOLD_BASE_MS * 2 ** Math.max(0, failures - 1));
  const backoff = Math.floor(ceiling / 2 + random() * (ceiling / 2));
  const asked = retryAfterSeconds === undefined ? 0 : Math.min(MAX_RETRY_AFTER_MS, retryAfterSeconds * 1000);
  return nowMs + Math.max(backoff, asked);
}

function secondsUntil(atMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil((atMs - nowMs) / 1000));
}
