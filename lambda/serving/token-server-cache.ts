import type { TokenRecord } from '../../contract/token-cache-schema';

/** What L2 held when this instance last read it: a token, or nothing (empty cache). */
export interface L1Entry {
  readonly record: TokenRecord | undefined;
  readonly loadedAtMs: number;
}

/**
 * serve-token's in-memory (L1) copy of the cached token, with bounded staleness: an entry answers
 * only for `maxAgeMs` after it was read from the shared cache (L2). After that the instance reads
 * L2 again, so a refresh, a rotation or a flush reaches every warm instance within `maxAgeMs`,
 * without a cache-invalidation channel between instances. It also remembers an empty read, so an
 * instance that knows the upstream gate is closed answers 503 without reading L2 on every request.
 */
export class L1TokenCache {
  private entry: L1Entry | undefined;

  constructor(private readonly maxAgeMs: number) {}

  /** The record read from L2 less than `maxAgeMs` ago, if any. */
  get(nowMs: number): TokenRecord | undefined {
    return this.lookup(nowMs)?.record;
  }

  /** The last L2 read, if it is less than `maxAgeMs` old (its record dropped once expired). */
  lookup(nowMs: number): L1Entry | undefined {
    if (!this.entry) return undefined;
    if (nowMs - this.entry.loadedAtMs >= this.maxAgeMs) {
      this.entry = undefined;
      return undefined;
    }
    if (this.entry.record && nowMs >= this.entry.record.expiresAt * 1000) {
      this.entry = { record: undefined, loadedAtMs: this.entry.loadedAtMs };
    }
    return this.entry;
  }

  /** Remembers what L2 holds now; `undefined` (an empty L2, e.g. after a flush) forgets the copy. */
  set(record: TokenRecord | undefined, nowMs: number): void {
    this.entry = { record, loadedAtMs: nowMs };
  }

  /** Forgets everything (an unreadable L2: the copy can no longer be trusted to be current). */
  clear(): void {
    this.entry = undefined;
  }
}
