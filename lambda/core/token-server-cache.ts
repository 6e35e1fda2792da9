import type { TokenRecord } from './token-record';

/**
 * serve-token's in-memory (L1) copy of the cached token, with bounded staleness: an entry answers
 * only for `maxAgeMs` after it was read from the shared cache (L2). After that the instance reads
 * L2 again, so a refresh, a rotation or a flush reaches every warm instance within `maxAgeMs`,
 * without a cache-invalidation channel between instances.
 */
export class L1TokenCache {
  private entry: { readonly record: TokenRecord; readonly loadedAtMs: number } | undefined;

  constructor(private readonly maxAgeMs: number) {}

  /** The record read from L2 less than `maxAgeMs` ago, if any. */
  get(nowMs: number): TokenRecord | undefined {
    if (!this.entry) return undefined;
    if (nowMs - this.entry.loadedAtMs >= this.maxAgeMs || nowMs >= this.entry.record.expiresAt * 1000) {
      this.entry = undefined;
      return undefined;
    }
    return this.entry.record;
  }

  /** Remembers what L2 holds now; `undefined` (an empty L2, e.g. after a flush) forgets the copy. */
  set(record: TokenRecord | undefined, nowMs: number): void {
    this.entry = record ? { record, loadedAtMs: nowMs } : undefined;
  }
}
