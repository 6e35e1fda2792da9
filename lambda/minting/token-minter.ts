import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { BrokerSettings } from '../../contract/broker-settings';
import { MetricName, REASON_DIMENSION } from '../../contract/metric-names';
import type { DeferReason, EnsureTokenResult, GateView } from '../../contract/mint-token-payload';
import type { TokenMetadata, TokenRecord } from '../../contract/token-cache-schema';
import { tokenFingerprint } from '../../contract/token-fingerprint';
import type { CredentialStore } from '../aws/credential-store';
import type { TokenCache } from '../aws/token-cache';
import {
  BrokerError,
  CredentialsNotSetError,
  type FailureReason,
  InvalidClientError,
  NOT_CONFIGURED_MESSAGE,
  UpstreamUnavailableError,
} from '../errors/broker-errors';
import { errorFields } from '../errors/error-fields';
import { decideMint, type MintDecision, metadataOf, refreshAtFor } from '../token/token-record';
import { validateTokenResponse } from '../token/token-response';
import { closedForSeconds, type GateState, requestsInWindow } from '../upstream/gate-policy';
import { requestClientCredentialsToken } from '../upstream/oauth-client';
import { MIN_ATTEMPT_MS } from '../upstream/retry';
import type { UpstreamGate } from '../upstream/upstream-gate';

export interface EnsureTokenOptions {
  /** Mint even if the cached token is fresh (operators; never the serving path). */
  readonly force?: boolean;
  /** An operator's reason to pass the gate's wait and budget (never its one-request-at-a-time lease). */
  readonly overrideReason?: string;
  /** A consumer reported this token (by fingerprint) rejected by ThroughLine: replace it if it is still cached. */
  readonly rejectedFingerprint?: string;
  /** Decrypt the cached token to check it is usable (serve-token could not), and replace it if not. */
  readonly verifyCache?: boolean;
  /** Epoch ms after which no new upstream attempt starts and no wait ends (the caller's deadline). */
  readonly deadlineMs?: number;
  /** Who asks (audit, logs). */
  readonly requestedBy?: string;
  /** Identifies this invocation's lease on the gate (the Lambda request id). */
  readonly invocationId?: string;
}

export interface TokenMinterDeps {
  readonly settings: BrokerSettings;
  readonly credentials: CredentialStore;
  readonly cache: TokenCache;
  readonly gate: UpstreamGate;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What the cache holds, as far as minting is concerned. */
interface CacheView {
  readonly cached: TokenMetadata | undefined;
  readonly unreadable: boolean;
  readonly rejectedDownstream: boolean;
}

/**
 * Makes sure the cache holds a fresh token of the current credentials, calling ThroughLine only
 * when it does not — and only when the fleet-wide upstream gate lets it. Idempotent: it re-reads
 * the cache on every call and again after taking the gate's lease, so concurrent invocations
 * (reserved concurrency is optional) produce one upstream request and cheap "fresh" answers.
 */
export class TokenMinter {
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly deps: TokenMinterDeps) {
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? delay;
  }

  async ensureToken(options: EnsureTokenOptions = {}): Promise<EnsureTokenResult> {
    const { settings, logger, metrics, gate } = this.deps;
    try {
      const [view, credentialsRead, gateState] = await Promise.all([
        this.viewCache(options),
        this.deps.credentials.read().catch((error: unknown) => {
          if (error instanceof CredentialsNotSetError) return error;
          throw error;
        }),
        gate.describe(),
      ]);
      const nowSeconds = Math.floor(this.now() / 1000);
      if (credentialsRead instanceof CredentialsNotSetError) {
        // Only a broker that never minted is "not configured". Credentials that vanish after a
        // token was minted (a cached token, or a lifetime the gate remembers) are a failure that pages.
        if (view.cached === undefined && !view.unreadable && gateState.issuedLifetimeSeconds === undefined) {
          this.recordObservations(undefined, undefined, gateState, nowSeconds);
          return this.notConfigured(credentialsRead);
        }
        throw credentialsRead;
      }
      const credentials = credentialsRead;
      this.recordObservations(view.cached, credentials.createdDate, gateState, nowSeconds);
      let decision = decideMint(view.cached, credentials.versionId, nowSeconds, {
        force: options.force === true,
        rejectedDownstream: view.rejectedDownstream,
        unreadable: view.unreadable,
      });
      if (!decision.mint && view.cached) return this.fresh(view.cached);

      const deadlineMs = Math.min(
        options.deadlineMs ?? Number.POSITIVE_INFINITY,
        this.now() + settings.upstream.totalBudgetMs,
      );
      const owner = options.invocationId ?? `mint-${this.now()}-${Math.random().toString(36).slice(2)}`;
      const override = options.overrideReason !== undefined;
      let attempts = 0;
      let lastState = gateState;
      let cached = view.cached;
      for (;;) {
        const acquisition = await gate.acquire({
          owner,
          credentialVersionId: credentials.versionId,
          override,
        });
        lastState = acquisition.state;
        if (!acquisition.admitted) {
          const waitMs = acquisition.retryAtMs - this.now();
          const canWait =
            acquisition.reason !== 'budget_exhausted' &&
            acquisition.reason !== 'credentials_rejected' &&
            this.now() + waitMs + MIN_ATTEMPT_MS <= deadlineMs;
          if (canWait) {
            await this.sleep(Math.max(0, waitMs));
            // Whoever held the gate may have minted what we need.
            const again = await this.viewCache(options);
            cached = again.cached;
            decision = this.redecide(again, credentials.versionId, options);
            if (!decision.mint && again.cached) return this.fresh(again.cached);
            continue;
          }
          return this.deferred(acquisition.reason, acquisition.retryAtMs, attempts > 0, lastState, cached);
        }

        // Holding the lease: check again, so a mint that finished while we waited is not repeated.
        const again = await this.viewCache(options);
        cached = again.cached;
        decision = this.redecide(again, credentials.versionId, options);
        if (!decision.mint && again.cached) {
          await gate.release(owner);
          return this.fresh(again.cached);
        }
        if (acquisition.probe) logger.info('Upstream gate half-open: this request is the probe', { owner });
        if (override) {
          metrics.addMetric(MetricName.UpstreamGateOverridden, MetricUnit.Count, 1);
          logger.warn('Upstream gate overridden by an operator', {
            reason: options.overrideReason,
            requestedBy: options.requestedBy,
          });
        }

        attempts += 1;
        const attemptStartedMs = this.now();
        const timeoutMs = Math.max(
          1,
          Math.min(settings.upstream.requestTimeoutMs, deadlineMs - attemptStartedMs),
        );
        metrics.addMetric(MetricName.UpstreamTokenRequest, MetricUnit.Count, 1);
        let validated: ReturnType<typeof validateTokenResponse>;
        try {
          const body = await requestClientCredentialsToken(credentials, settings.upstream, timeoutMs);
          validated = validateTokenResponse(body, settings.token);
        } catch (error) {
          metrics.addMetric(
            MetricName.UpstreamLatency,
            MetricUnit.Milliseconds,
            this.now() - attemptStartedMs,
          );
          if (!(error instanceof BrokerError)) {
            await gate.release(owner);
            throw error;
          }
          lastState = await gate.finish(owner, {
            ok: false,
            reason: error.reason,
            status: (error as { status?: number }).status,
            retryAfterSeconds:
              error instanceof UpstreamUnavailableError ? error.retryAfterSeconds : undefined,
            credentialVersionId: credentials.versionId,
          });
          if (!error.retryable) throw error;
          this.recordFailure(error);
          const nextMs = lastState.closedUntilMs;
          if (attempts < settings.upstream.maxAttempts && nextMs + MIN_ATTEMPT_MS <= deadlineMs) {
            logger.warn('Token request failed; the gate allows another attempt within this deadline', {
              attempt: attempts,
              delayMs: nextMs - this.now(),
            });
            await this.sleep(Math.max(0, nextMs - this.now()));
            continue;
          }
          return this.deferred('upstream_unavailable', nextMs, true, lastState, cached);
        }
        metrics.addMetric(MetricName.UpstreamLatency, MetricUnit.Milliseconds, this.now() - attemptStartedMs);
        // The lifetime counts from when the request was sent: the server's clock started no earlier.
        const mintedAt = Math.floor(attemptStartedMs / 1000);
        const record: TokenRecord = {
          accessToken: validated.accessToken,
          tokenType: 'Bearer',
          mintedAt,
          expiresAt: mintedAt + validated.lifetimeSeconds,
          refreshAt: refreshAtFor(mintedAt, validated.lifetimeSeconds, settings.token.refreshAtFraction),
          credentialVersionId: credentials.versionId,
        };
        // The token is in the cache before the lease is released: whoever takes the lease next re-reads
        // the cache and finds it (released first, a waiting mint could read the old cache and ask
        // ThroughLine again). The gate records the success whether or not the write worked.
        let written: boolean;
        try {
          written = await this.deps.cache.write(record);
        } finally {
          lastState = await gate.finish(owner, {
            ok: true,
            issuedLifetimeSeconds: validated.lifetimeSeconds,
          });
        }
        // A lost conditional write means a newer token is stored: report that one, not ours.
        const metadata = written
          ? metadataOf(record)
          : ((await this.deps.cache.readMetadata()) ?? metadataOf(record));
        const why = decision.why as Exclude<MintDecision['why'], 'fresh'>;
        this.recordMint(validated.lifetimeSeconds, validated.lifetimeSource);
        // What the cache holds now: a run that mints reports the token too (RefreshSilent counts reports).
        metrics.addMetric(
          MetricName.CachedTokenSecondsToExpiry,
          MetricUnit.Seconds,
          Math.max(0, metadata.expiresAt - Math.floor(this.now() / 1000)),
        );
        logger.info('Token minted', {
          why,
          attempts,
          written,
          lifetimeSource: validated.lifetimeSource,
          token: metadata,
        });
        return { outcome: 'minted', why, attempts, written, ...metadata };
      }
    } catch (error) {
      this.recordFailure(error);
      throw error;
    }
  }

  private redecide(view: CacheView, credentialVersionId: string, options: EnsureTokenOptions): MintDecision {
    return decideMint(view.cached, credentialVersionId, Math.floor(this.now() / 1000), {
      force: options.force === true,
      rejectedDownstream: view.rejectedDownstream,
      unreadable: view.unreadable,
    });
  }

  /**
   * Reads the cached token's metadata (no KMS call) — and decrypts it only when asked to verify it
   * or to compare it with a reported rejected token's fingerprint.
   */
  private async viewCache(options: EnsureTokenOptions): Promise<CacheView> {
    const { logger, cache } = this.deps;
    const needsToken = options.verifyCache === true || options.rejectedFingerprint !== undefined;
    try {
      if (!needsToken)
        return { cached: await cache.readMetadata(), unreadable: false, rejectedDownstream: false };
      const record = await cache.read();
      return {
        cached: record ? metadataOf(record) : undefined,
        unreadable: false,
        rejectedDownstream:
          record !== undefined &&
          options.rejectedFingerprint !== undefined &&
          tokenFingerprint(record.accessToken) === options.rejectedFingerprint,
      };
    } catch (error) {
      // An unreadable cache item is replaced, not fatal: minting is how it heals.
      logger.warn('Cached token unreadable; minting a replacement', { error: errorFields(error) });
      return { cached: undefined, unreadable: true, rejectedDownstream: false };
    }
  }

  private fresh(cached: TokenMetadata): EnsureTokenResult {
    this.deps.metrics.addMetric(MetricName.MintSkippedFresh, MetricUnit.Count, 1);
    this.deps.logger.info('Cached token is fresh; no upstream call', { token: cached });
    return { outcome: 'fresh', ...cached };
  }

  private notConfigured(error: CredentialsNotSetError): EnsureTokenResult {
    const { metrics, logger } = this.deps;
    metrics.addMetric(MetricName.BrokerNotConfigured, MetricUnit.Count, 1);
    logger.warn('Broker not configured yet: no credentials have been put in; ThroughLine not asked', {
      error: errorFields(error),
    });
    return { outcome: 'not_configured', reason: 'credentials_not_set', message: NOT_CONFIGURED_MESSAGE };
  }

  private deferred(
    reason: DeferReason | 'upstream_unavailable',
    retryAtMs: number,
    attempted: boolean,
    state: GateState,
    cached: TokenMetadata | undefined,
  ): EnsureTokenResult {
    const { metrics, logger } = this.deps;
    const retryAfterSeconds = Math.max(1, Math.ceil((retryAtMs - this.now()) / 1000));
    const single = metrics.singleMetric();
    single.addDimension(REASON_DIMENSION, reason);
    single.addMetric(MetricName.UpstreamDeferred, MetricUnit.Count, 1);
    if (reason === 'budget_exhausted')
      metrics.addMetric(MetricName.UpstreamBudgetExhausted, MetricUnit.Count, 1);
    const gate = this.gateView(state);
    logger.warn('Upstream gate closed: ThroughLine not asked', {
      reason,
      retryAfterSeconds,
      attempted,
      gate,
    });
    return { outcome: 'deferred', reason, retryAfterSeconds, attempted, gate, cached: cached ?? null };
  }

  gateView(state: GateState): GateView {
    const nowMs = this.now();
    const open = state.closedUntilMs <= nowMs;
    return {
      open,
      consecutiveFailures: state.consecutiveFailures,
      ...(open ? {} : { closedUntil: Math.ceil(state.closedUntilMs / 1000) }),
      ...(state.lastFailure ? { lastFailure: state.lastFailure.reason } : {}),
      requestsLast24Hours: requestsInWindow(state, nowMs),
      dailyRequestBudget: this.deps.settings.gate.dailyRequestBudget,
      ...(state.issuedLifetimeSeconds !== undefined
        ? { issuedLifetimeSeconds: state.issuedLifetimeSeconds }
        : {}),
    };
  }

  /** Gauges every invocation records, so the alarms see the cache, the credentials and the gate even when nothing is minted. */
  private recordObservations(
    cached: TokenMetadata | undefined,
    credentialsCreated: Date | undefined,
    gateState: GateState,
    nowSeconds: number,
  ): void {
    const { metrics } = this.deps;
    if (cached) {
      metrics.addMetric(
        MetricName.CachedTokenSecondsToExpiry,
        MetricUnit.Seconds,
        Math.max(0, cached.expiresAt - nowSeconds),
      );
    }
    if (credentialsCreated) {
      metrics.addMetric(
        MetricName.CredentialAgeDays,
        MetricUnit.Count,
        credentialAgeDays(credentialsCreated, this.now()),
      );
    }
    metrics.addMetric(
      MetricName.UpstreamGateClosedSeconds,
      MetricUnit.Seconds,
      closedForSeconds(gateState, this.now()),
    );
    const requests = requestsInWindow(gateState, this.now());
    metrics.addMetric(MetricName.UpstreamRequestsLast24Hours, MetricUnit.Count, requests);
    metrics.addMetric(
      MetricName.UpstreamBudgetUsedPercent,
      MetricUnit.Percent,
      Math.floor((100 * requests) / this.deps.settings.gate.dailyRequestBudget),
    );
  }

  private recordMint(lifetimeSeconds: number, lifetimeSource: 'expires_in' | 'default' | 'capped'): void {
    const { metrics, logger, settings } = this.deps;
    metrics.addMetric(MetricName.TokenMinted, MetricUnit.Count, 1);
    metrics.addMetric(MetricName.TokenLifetime, MetricUnit.Seconds, lifetimeSeconds);
    if (lifetimeSource === 'default') {
      metrics.addMetric(MetricName.DefaultLifetimeUsed, MetricUnit.Count, 1);
      logger.warn('Token response had no usable expires_in; assumed the configured default lifetime', {
        defaultLifetimeSeconds: settings.token.defaultLifetimeSeconds,
      });
    } else if (lifetimeSource === 'capped') {
      logger.warn('Token response claimed a lifetime above the cap; capped it', {
        maxLifetimeSeconds: settings.token.maxLifetimeSeconds,
      });
    }
  }

  private readonly failuresRecorded = new WeakSet<object>();

  private recordFailure(error: unknown): void {
    // A failure is counted once, however many layers see it.
    if (typeof error === 'object' && error !== null) {
      if (this.failuresRecorded.has(error)) return;
      this.failuresRecorded.add(error);
    }
    const { logger, metrics } = this.deps;
    const reason: FailureReason | 'internal' = error instanceof BrokerError ? error.reason : 'internal';
    const single = metrics.singleMetric();
    single.addDimension(REASON_DIMENSION, reason);
    single.addMetric(MetricName.MintFailed, MetricUnit.Count, 1);
    // The same count without the Reason dimension: the all-reasons series the mint-failure alarm reads.
    metrics.addMetric(MetricName.MintFailed, MetricUnit.Count, 1);
    if (error instanceof InvalidClientError) metrics.addMetric(MetricName.InvalidClient, MetricUnit.Count, 1);
    logger.error('Token mint failed', { reason, error: errorFields(error) });
  }
}

/** Whole days since the credentials version was created: the figure a credential-age policy alarms on. */
export function credentialAgeDays(createdDate: Date, nowMs: number): number {
  return Math.max(0, Math.floor((nowMs - createdDate.getTime()) / 86_400_000));
}
