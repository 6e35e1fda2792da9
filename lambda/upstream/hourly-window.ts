/**
 * The rolling 24-hour window in hour buckets: ThroughLine's quota is "1,000 calls per rolling 24
 * hours, … advanced hourly" (docs/throughline-api.md, "Limits"), and the broker counts the same way:
 * the upstream gate its token requests, the proxy's quota ledger its API calls. A bucket is keyed by
 * its hour number since the epoch (floor(ms / 3.6e6)); the window is the current hour and the 23 before.
 */
export const HOUR_MS = 3_600_000;
export const WINDOW_HOURS = 24;

/** Counts per hour number (as a string key, the way they are stored). */
export type HourlyCounts = Readonly<Record<string, number>>;

export function hourOf(ms: number): number {
  return Math.floor(ms / HOUR_MS);
}

/** The non-empty buckets inside the window ending now, oldest first. */
export function windowBuckets(hourly: HourlyCounts, nowMs: number): Array<[number, number]> {
  const currentHour = hourOf(nowMs);
  return Object.entries(hourly)
    .map(([hour, count]) => [Number(hour), count] as [number, number])
    .filter(([hour, count]) => hour > currentHour - WINDOW_HOURS && hour <= currentHour && count > 0)
    .sort((a, b) => a[0] - b[0]);
}

/** What the window holds now. */
export function countInWindow(hourly: HourlyCounts, nowMs: number): number {
  return windowBuckets(hourly, nowMs).reduce((sum, [, count]) => sum + count, 0);
}

/** When the window will hold fewer than `limit` again (oldest hours leave first); `nowMs` if it does now. */
export function belowLimitAtMs(hourly: HourlyCounts, nowMs: number, limit: number): number {
  let count = countInWindow(hourly, nowMs);
  for (const [hour, bucket] of windowBuckets(hourly, nowMs)) {
    if (count < limit) break;
    count -= bucket;
    if (count < limit) return (hour + WINDOW_HOURS) * HOUR_MS;
  }
  return nowMs;
}

/** The hours of the window ending now, oldest first (the keys a reader fetches). */
export function windowHours(nowMs: number): number[] {
  const current = hourOf(nowMs);
  return Array.from({ length: WINDOW_HOURS }, (_, i) => current - WINDOW_HOURS + 1 + i);
}
