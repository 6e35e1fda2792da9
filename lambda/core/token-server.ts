import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { equalJitterDelayMs } from './backoff';
import { MetricName } from './metric-names';
import { MintFailedError, type MintInvocationResult, MintThrottledError } from './mint-token-invoker';
import type { ServeTokenSettings } from './serve-token-settings';
import { SingleFlight } from './single-flight';
import { errorFields } from './token-minter';
import type { TokenRecord } from './token-record';
import { isFresh, isServable } from './token-record';
import { L1TokenCache } from './token-server-cache';

/** Where a served token came from. `stale`: past its refresh point, served because no fresh one could be had. */
export type ServeSource = 'l1' | 'l2' | 'minted' | 'stale';

/** Why no token could be served (logged; never sent to the caller). */
export type UnavailableReason =
  /** mint-token failed (upstream down, credentials rejected…) and no cached token is servable. */
  | 'mint_failed'
  /** A recent mint failed: the instance does not invoke mint-token again until the cool-down ends. */
  | 'cooling_down'
  /** Another instance's mint did not finish within this request's budget. */
  | 'mint_busy'
  /** A mint succeeded but the token has less life than the caller's min_ttl (ThroughLine issues shorter ones). */
  | 'no_token_long_enough';

export type ServeOutcome =
  | { readonly ok: true; readonly record: TokenRecord; readonly source: ServeSource }
  | { readonly ok: false; readonly reason: UnavailableReason; readonly retryAfterSeconds: number };

/** Retry-After (and cool-down) after a failure that needs an operator, e.g. credentials rejected. */
export const PERMANENT_FAILURE_RETRY_AFTER_SECONDS = 60;

export interface TokenServerDeps {
  readonly cache: { read(): Promise<TokenRecord | undefined> };
  readonly minter: { ensure(minTtlSeconds: number, deadlineMs: number): Promise<MintInvocationResult> };
  readonly settings: ServeTokenSettings;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

/** A read of the shared cache: what it holds (maybe nothing), or that it could not be read. */
type L2Read =
  | { readonly readable: true; readonly record: TokenRecord | undefined }
  | { readonly readable: false };

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * serve-token's decision logic: L1 memory → L2 shared cache → mint-token, with stale-on-error.
 *
 * - L1 answers only with a fresh, servable token read from L2 within `l1MaxAgeSeconds`.
 * - L2 answers with a fresh, servable token. Anything else (missing, past its refresh point, too
 *   short for min_ttl) asks mint-token, which is idempotent and serialised (reserved concurrency 1).
 * - mint-token throttled = another mint in progress: serve a still-servable token at once, or back
 *   off (equal jitter) and re-read L2 until the request budget runs out.
 * - mint-token failed: serve a still-servable token (stale-on-error); otherwise unavailable, and
 *   the instance cools down before invoking mint-token again, so an outage does not queue every
 *   request behind a doomed mint.
 * Concurrent requests with the same min_ttl share one acquisition (single-flight).
 */
export class TokenServer {
  private readonly l1: L1TokenCache;
  private readonly acquisitions = new SingleFlight<ServeOutcome>();
  private readonly l2Reads = new SingleFlight<L2Read>();
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private coolDownUntilMs = 0;

  constructor(private readonly deps: TokenServerDeps) {
    this.l1 = new L1TokenCache(deps.settings.l1MaxAgeSeconds * 1000);
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? defaultSleep;
  }

  async getToken(minTtlSeconds: number, deadlineMs: number): Promise<ServeOutcome> {
    const { metrics } = this.deps;
    metrics.addMetric(MetricName.TokenRequest, MetricUnit.Count, 1);
    const fromL1 = this.l1.get(this.now());
    const outcome =
      fromL1 && this.canServeFresh(fromL1, minTtlSeconds)
        ? ({ ok: true, record: fromL1, source: 'l1' } as const)
        : await this.acquisitions.run(String(minTtlSeconds), () => this.acquire(minTtlSeconds, deadlineMs));

    if (outcome.ok) {
      const metric = {
        l1: MetricName.TokenServedFromL1,
        l2: MetricName.TokenServedFromL2,
        stale: MetricName.StaleTokenServed,
        minted: undefined,
      }[outcome.source];
      if (metric) metrics.addMetric(metric, MetricUnit.Count, 1);
      metrics.addMetric(
        MetricName.ServedTokenSecondsToExpiry,
        MetricUnit.Seconds,
        Math.max(0, outcome.record.expiresAt - this.nowSeconds()),
      );
    } else {
      metrics.addMetric(MetricName.TokenUnavailable, MetricUnit.Count, 1);
    }
    return outcome;
  }

  private async acquire(minTtlSeconds: number, deadlineMs: number): Promise<ServeOutcome> {
    const read = await this.readL2();
    let record = read.readable ? read.record : this.l1.get(this.now());
    if (read.readable && record && this.canServeFresh(record, minTtlSeconds)) {
      return { ok: true, record, source: 'l2' };
    }

    if (this.now() < this.coolDownUntilMs) {
      return this.servableOr(record, minTtlSeconds, {
        reason: 'cooling_down',
        retryAfterSeconds: Math.max(1, Math.ceil((this.coolDownUntilMs - this.now()) / 1000)),
      });
    }

    const { settings, logger, metrics } = this.deps;
    for (let retry = 0; ; retry++) {
      metrics.addMetric(MetricName.MintRequested, MetricUnit.Count, 1);
      try {
        const minted = await this.deps.minter.ensure(minTtlSeconds, deadlineMs);
        const after = await this.readL2();
        if (after.readable) record = after.record;
        if (record && isServable(record, this.nowSeconds(), minTtlSeconds)) {
          return { ok: true, record, source: after.readable ? 'minted' : 'stale' };
        }
        logger.warn('mint-token succeeded but the cache holds no token with min_ttl left', {
          mintOutcome: minted.outcome,
          minTtlSeconds,
          cacheReadable: after.readable,
          secondsToExpiry: record ? record.expiresAt - this.nowSeconds() : undefined,
        });
        return {
          ok: false,
          reason: 'no_token_long_enough',
          retryAfterSeconds: settings.retryAfterSeconds,
        };
      } catch (error) {
        if (error instanceof MintThrottledError) {
          metrics.addMetric(MetricName.MintThrottled, MetricUnit.Count, 1);
          // Someone else is minting; a token that is still servable is good enough meanwhile.
          if (record && isServable(record, this.nowSeconds(), minTtlSeconds)) {
            return { ok: true, record, source: 'stale' };
          }
          const delayMs = equalJitterDelayMs(
            retry,
            settings.mintThrottleBackoffBaseMs,
            settings.mintThrottleBackoffCapMs,
            this.deps.random,
          );
          if (this.now() + delayMs >= deadlineMs) {
            logger.warn('mint-token stayed busy for the whole request budget', { retries: retry + 1 });
            return { ok: false, reason: 'mint_busy', retryAfterSeconds: settings.retryAfterSeconds };
          }
          await this.sleep(delayMs);
          const reread = await this.readL2();
          if (reread.readable) record = reread.record;
          if (record && isServable(record, this.nowSeconds(), minTtlSeconds)) {
            return { ok: true, record, source: isFresh(record, this.nowSeconds()) ? 'l2' : 'stale' };
          }
          continue;
        }
        if (!(error instanceof MintFailedError)) throw error;

        const retryAfterSeconds = error.permanent
          ? PERMANENT_FAILURE_RETRY_AFTER_SECONDS
          : settings.retryAfterSeconds;
        this.coolDownUntilMs = this.now() + retryAfterSeconds * 1000;
        logger.error('mint-token failed; serving a cached token if one is still servable', {
          error: errorFields(error),
          errorType: error.errorType,
          permanent: error.permanent,
          coolDownSeconds: retryAfterSeconds,
        });
        // Another instance may have minted meanwhile, or an operator flushed the cache: re-read.
        const reread = await this.readL2();
        if (reread.readable) record = reread.record;
        if (record && this.canServeFresh(record, minTtlSeconds)) return { ok: true, record, source: 'l2' };
        return this.servableOr(record, minTtlSeconds, { reason: 'mint_failed', retryAfterSeconds });
      }
    }
  }

  private servableOr(
    record: TokenRecord | undefined,
    minTtlSeconds: number,
    unavailable: { readonly reason: UnavailableReason; readonly retryAfterSeconds: number },
  ): ServeOutcome {
    if (record && isServable(record, this.nowSeconds(), minTtlSeconds)) {
      return { ok: true, record, source: 'stale' };
    }
    return { ok: false, ...unavailable };
  }

  /** Reads L2 (shared by concurrent callers) and refreshes L1 with what it holds. */
  private readL2(): Promise<L2Read> {
    return this.l2Reads.run('l2', async () => {
      try {
        const record = await this.deps.cache.read();
        this.l1.set(record, this.now());
        return { readable: true, record };
      } catch (error) {
        this.deps.logger.error('Token cache could not be read', { error: errorFields(error) });
        return { readable: false };
      }
    });
  }

  private canServeFresh(record: TokenRecord, minTtlSeconds: number): boolean {
    const now = this.nowSeconds();
    return isFresh(record, now) && isServable(record, now, minTtlSeconds);
  }

  private nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }
}
