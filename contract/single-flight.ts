/**
 * In-process single-flight: concurrent callers asking for the same key share one in-flight promise,
 * so N concurrent requests in one instance make one cache read or one mint call, not N. The entry is
 * dropped when the promise settles: this coalesces concurrent work, it does not cache results.
 */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  run(key: string, work: () => Promise<T>): Promise<T> {
    const existing = this.inFlight.get(key);
    if (existing) return existing;
    const promise = work().finally(() => {
      this.inFlight.delete(key);
    });
    this.inFlight.set(key, promise);
    return promise;
  }

  /** Calls in flight now (for tests and diagnostics). */
  get size(): number {
    return this.inFlight.size;
  }
}
