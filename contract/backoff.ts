/**
 * Capped full-jitter exponential backoff (AWS Architecture Blog, "Exponential Backoff and Jitter"):
 * delay = random(0, min(cap, base × 2^retry)). Full jitter spreads retries of many callers apart,
 * which matters when the upstream's rate limit is the thing that failed.
 */
export function fullJitterDelayMs(
  retryIndex: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, retryIndex));
  return Math.floor(random() * ceiling);
}

/**
 * Parses an HTTP Retry-After header (RFC 9110 §10.2.3): delta-seconds or an HTTP-date.
 * Returns whole seconds ≥ 0, or undefined when absent or unparseable.
 */
export function parseRetryAfter(header: string | null | undefined, nowMs: number): number | undefined {
  if (header === null || header === undefined) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  // An HTTP-date always has a month name; this also stops Date.parse from reading "-1" as a year.
  if (!/[a-z]/i.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - nowMs) / 1000));
}

/** The wait before the next attempt: the jittered backoff, but never shorter than the server asked. */
export function nextDelayMs(options: {
  readonly retryIndex: number;
  readonly baseMs: number;
  readonly capMs: number;
  readonly retryAfterSeconds?: number | undefined;
  readonly random?: () => number;
}): number {
  const jitter = fullJitterDelayMs(options.retryIndex, options.baseMs, options.capMs, options.random);
  return Math.max(jitter, (options.retryAfterSeconds ?? 0) * 1000);
}

/**
 * Capped "equal jitter" backoff: delay = c/2 + random(0, c/2) with c = min(cap, base × 2^retry).
 * Used where waiting is the point (re-reading the cache while another instance mints): unlike full
 * jitter it never retries at once, when the answer would surely be the same.
 */
export function equalJitterDelayMs(
  retryIndex: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, retryIndex));
  return Math.floor(ceiling / 2 + random() * (ceiling / 2));
}
