import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { equalJitterDelayMs } from '../../contract/backoff';
import type { ServeTokenSettings } from '../../contract/broker-settings';
import { MetricName } from '../../contract/metric-names';
import { SingleFlight } from '../../contract/single-flight';
import type { TokenRecord } from '../../contract/token-cache-schema';
import { tokenFingerprint } from '../../contract/token-fingerprint';
import {
  type EnsureRequest,
  MintFailedError,
  type MintInvocationResult,
  MintThrottledError,
} from '../aws/mint-token-invoker';
import { errorFields } from '../errors/error-fields';
import { isFresh, isServable, issuedLifetimeSeconds } from '../token/token-record';
import { L1TokenCache } from './token-server-cache';

/** Where a served token came from. `stale`: past its refresh point, served because no fresh one could be had. */
export type ServeSource = 'l1' | 'l2' | 'minted' | 'stale';

/** Why no token could be served (logged; never sent to the caller). */
export type UnavailableReason =
  /** mint-token failed (credentials rejected, Lambda error…) and no cached token is servable. */
  | 'mint_failed'
  /** The upstream gate is closed (ThroughLine failing, Retry-After, budget): retry when it opens. */
  | 'upstream_deferred'
  /** A recent mint failed or was deferred: the instance does not invoke mint-token again until the cool-down ends. */
  | 'cooling_down'
  /** Another mint did not finish within this request's budget. */
  | 'mint_busy'
  /**
   * The cached token is fresh but has less life than the caller's min_ttl. The broker mints at most
   * once per refresh window, so the caller waits for the next refresh (Retry-After says when).
   */
  | 'no_token_long_enough';

export type ServeOutcome =
  | { readonly ok: true; readonly record: TokenRecord; readonly source: ServeSource }
  | { readonly ok: false; readonly reason: UnavailableReason; readonly retryAfterSeconds: number }
  | {
      /** The caller asks for more life than ThroughLine gives a token: no mint can help. A 400. */
      readonly ok: false;
      readonly reason: 'min_ttl_unattainable';
      readonly issuedLifetimeSeconds: number;
      /** The most min_ttl that a token is always served with (its life left at the refresh point). */
      readonly alwaysServableMinTtlSeconds: number;
    };

/** Retry-After (and cool-down) after a failure that needs an operator, e.g. credentials rejected. */
export const PERMANENT_FAILURE_RETRY_AFTER_SECONDS = 60;

export interface TokenRequestOptions {
  readonly minTtlSeconds: number;
  /** The caller says ThroughLine rejected the token with this fingerprint: do not serve it again. */
  readonly rejectedFingerprint?: string;
}

export interface TokenServerDeps {
  readonly cache: { read(): Promise<TokenRecord | undefined> };
  readonly minter: { ensure(request: EnsureRequest, deadlineMs: number): Promise<MintInvocationResult> };
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

/**
 * serve-token's decision logic: L1 memory → L2 shared cache → mint-token, with stale-on-error.
 *
 * - L1 answers with a fresh, servable token read from L2 within `l1MaxAgeSeconds` — and, while the
 *   instance knows the upstream gate is closed (cool-down), with a still-servable stale one, so an
 *   outage costs no DynamoDB read or KMS decrypt per request.
 * - L2 answers with a fresh, servable token. A missing, unreadable or past-refresh token asks
 *   mint-token, which is idempotent and passes the fleet-wide upstream gate.
 * - A min_ttl above ThroughLine's token lifetime is refused (400) and a min_ttl above a fresh token's
 *   life left waits for the next refresh (503): neither ever causes a mint.
 * - mint-token busy (a mint in flight elsewhere): serve a still-servable token at once, or back off
 *   (equal jitter) and re-read L2 until the request budget runs out.
 * - mint-token deferred (gate closed) or failed: serve a still-servable token (stale-on-error);
 *   otherwise 503 with the gate's own Retry-After, and the instance cools down until then.
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
    this.sleep = deps.sleep ?? delay;
  }

  async getToken(request: TokenRequestOptions | number, deadlineMs: number): Promise<ServeOutcome> {
    const options: TokenRequestOptions = typeof request === 'number' ? { minTtlSeconds: request } : request;
    const { metrics } = this.deps;
    metrics.addMetric(MetricName.TokenRequest, MetricUnit.Count, 1);
    if (options.rejectedFingerprint) metrics.addMetric(MetricName.RejectedTokenReported, MetricUnit.Count, 1);
    const outcome =
      this.fromL1(options) ??
      (await this.acquisitions.run(`${options.minTtlSeconds}/${options.rejectedFingerprint ?? ''}`, () =>
        this.acquire(options, deadlineMs),
      ));

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
    } else if (outcome.reason === 'min_ttl_unattainable') {
      metrics.addMetric(MetricName.InvalidTokenRequest, MetricUnit.Count, 1);
    } else {
      metrics.addMetric(MetricName.TokenUnavailable, MetricUnit.Count, 1);
    }
    return outcome;
  }

  /** An answer from memory alone, when memory is enough: no AWS call. */
  private fromL1(options: TokenRequestOptions): ServeOutcome | undefined {
    const entry = this.l1.lookup(this.now());
    if (!entry) return undefined;
    const record = entry.record;
    if (record && this.isRejected(record, options)) return undefined;
    if (record && this.canServeFresh(record, options.minTtlSeconds))
      return { ok: true, record, source: 'l1' };
    if (record) {
      const refusal = this.minTtlRefusal(record, options.minTtlSeconds);
      if (refusal) return refusal;
    }
    if (this.coolingDown()) {
      return this.servableOr(record, options.minTtlSeconds, {
        reason: 'cooling_down',
        retryAfterSeconds: this.coolDownSeconds(),
      });
    }
    return undefined;
  }

  private async acquire(options: TokenRequestOptions, deadlineMs: number): Promise<ServeOutcome> {
    const { minTtlSeconds } = options;
    const read = await this.readL2();
    let record = read.readable ? read.record : this.l1.get(this.now());
    const rejected = record !== undefined && this.isRejected(record, options);
    if (read.readable && record && !rejected) {
      if (this.canServeFresh(record, minTtlSeconds)) return { ok: true, record, source: 'l2' };
      const refusal = this.minTtlRefusal(record, minTtlSeconds);
      if (refusal) return refusal;
    }

    if (this.coolingDown()) {
      return this.servableOr(rejected ? undefined : record, minTtlSeconds, {
        reason: 'cooling_down',
        retryAfterSeconds: this.coolDownSeconds(),
      });
    }

    const { settings, logger, metrics } = this.deps;
    const ensure: EnsureRequest = {
      minTtlSeconds,
      ...(rejected && options.rejectedFingerprint
        ? { rejectedFingerprint: options.rejectedFingerprint }
        : {}),
      ...(read.readable ? {} : { verifyCache: true }),
    };
    for (let retry = 0; ; retry++) {
      metrics.addMetric(MetricName.MintRequested, MetricUnit.Count, 1);
      try {
        const minted = await this.deps.minter.ensure(ensure, deadlineMs);
        if (minted.outcome === 'deferred' && minted.reason !== 'request_in_flight') {
          this.coolDownUntilMs = this.now() + minted.retryAfterSeconds * 1000;
          logger.warn('Upstream gate closed; serving a cached token if one is still servable', {
            gateReason: minted.reason,
            retryAfterSeconds: minted.retryAfterSeconds,
          });
          return this.servableOr(this.usable(record, options), minTtlSeconds, {
            reason: 'upstream_deferred',
            retryAfterSeconds: minted.retryAfterSeconds,
          });
        }
        if (minted.outcome === 'deferred') throw new MintThrottledError('another mint is in flight');

        const after = await this.readL2();
        if (after.readable) record = after.record;
        const usable = this.usable(record, options);
        if (usable && isServable(usable, this.nowSeconds(), minTtlSeconds)) {
          return { ok: true, record: usable, source: after.readable ? 'minted' : 'stale' };
        }
        if (usable) {
          const refusal = this.minTtlRefusal(usable, minTtlSeconds);
          if (refusal) return refusal;
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
          const usable = this.usable(record, options);
          if (usable && isServable(usable, this.nowSeconds(), minTtlSeconds)) {
            return { ok: true, record: usable, source: 'stale' };
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
          const fresh = this.usable(record, options);
          if (fresh && isServable(fresh, this.nowSeconds(), minTtlSeconds)) {
            return { ok: true, record: fresh, source: isFresh(fresh, this.nowSeconds()) ? 'l2' : 'stale' };
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
        const usable = this.usable(record, options);
        if (usable && this.canServeFresh(usable, minTtlSeconds))
          return { ok: true, record: usable, source: 'l2' };
        return this.servableOr(usable, minTtlSeconds, { reason: 'mint_failed', retryAfterSeconds });
      }
    }
  }

  /**
   * A caller's min_ttl that no mint can satisfy now, answered without one: more than ThroughLine's
   * lifetime (400), or more than a fresh token has left (503 until its refresh point: a fresh token
   * is replaced at most once per refresh window).
   */
  private minTtlRefusal(record: TokenRecord, minTtlSeconds: number): ServeOutcome | undefined {
    const now = this.nowSeconds();
    const lifetime = issuedLifetimeSeconds(record);
    const alwaysServable = Math.max(0, record.expiresAt - record.refreshAt);
    if (minTtlSeconds > lifetime) {
      return {
        ok: false,
        reason: 'min_ttl_unattainable',
        issuedLifetimeSeconds: lifetime,
        alwaysServableMinTtlSeconds: alwaysServable,
      };
    }
    if (isFresh(record, now) && !isServable(record, now, minTtlSeconds)) {
      return {
        ok: false,
        reason: 'no_token_long_enough',
        retryAfterSeconds: Math.max(1, record.refreshAt - now),
      };
    }
    return undefined;
  }

  /** The record, unless it is the one the caller reported rejected. */
  private usable(record: TokenRecord | undefined, options: TokenRequestOptions): TokenRecord | undefined {
    return record && !this.isRejected(record, options) ? record : undefined;
  }

  private isRejected(record: TokenRecord, options: TokenRequestOptions): boolean {
    return (
      options.rejectedFingerprint !== undefined &&
      tokenFingerprint(record.accessToken) === options.rejectedFingerprint
    );
  }

  private coolingDown(): boolean {
    return this.now() < this.coolDownUntilMs;
  }

  private coolDownSeconds(): number {
    return Math.max(1, Math.ceil((this.coolDownUntilMs - this.now()) / 1000));
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
