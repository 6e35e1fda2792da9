import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { FOREIGN_MESSAGE_WITHHELD, isBrokerBuilt, safeErrorName } from './boundary-errors';
import type { CredentialStore } from './credential-store';
import { BrokerError, type FailureReason, InvalidClientError } from './errors';
import { MetricName, REASON_DIMENSION } from './metric-names';
import { requestClientCredentialsToken } from './oauth-client';
import { withRetries } from './retry';
import type { BrokerSettings } from './settings';
import type { TokenCache } from './token-cache';
import {
  decideMint,
  type MintDecision,
  metadataOf,
  refreshAtFor,
  type TokenMetadata,
  type TokenRecord,
} from './token-record';
import { validateTokenResponse } from './token-response';

export interface EnsureTokenOptions {
  /** Mint even if the cached token is fresh (operators; never the serving path). */
  readonly force?: boolean;
  /** Least remaining lifetime the cached token must have to count as good enough. */
  readonly minTtlSeconds?: number;
  /** Epoch ms after which no new upstream attempt starts (the Lambda's own deadline). */
  readonly deadlineMs?: number;
}

export type EnsureTokenResult =
  | ({ readonly outcome: 'fresh' } & TokenMetadata)
  | ({
      readonly outcome: 'minted';
      readonly why: Exclude<MintDecision['why'], 'fresh'>;
      readonly attempts: number;
    } & TokenMetadata);

export interface TokenMinterDeps {
  readonly settings: BrokerSettings;
  readonly credentials: CredentialStore;
  readonly cache: TokenCache;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now?: () => number;
}

/**
 * Makes sure the cache holds a fresh token of the current credentials, calling ThroughLine only
 * when it does not. Idempotent: it re-reads the cache on every call (no in-memory state), so
 * invocations serialised by reserved concurrency 1 after one successful mint all find it fresh.
 */
export class TokenMinter {
  private readonly now: () => number;

  constructor(private readonly deps: TokenMinterDeps) {
    this.now = deps.now ?? Date.now;
  }

  async ensureToken(options: EnsureTokenOptions = {}): Promise<EnsureTokenResult> {
    const { settings, logger, metrics } = this.deps;
    try {
      const [cached, credentials] = await Promise.all([
        this.deps.cache.readMetadata().catch((error) => {
          // An unreadable cache item is replaced, not fatal: minting is how it heals.
          logger.warn('Cached token metadata unreadable; minting a replacement', {
            error: errorFields(error),
          });
          return undefined;
        }),
        this.deps.credentials.read(),
      ]);
      const nowSeconds = Math.floor(this.now() / 1000);
      const decision = decideMint(cached, credentials.versionId, nowSeconds, {
        force: options.force === true,
        minTtlSeconds: options.minTtlSeconds ?? settings.token.minTtlSeconds,
      });
      if (cached) {
        metrics.addMetric(
          MetricName.CachedTokenSecondsToExpiry,
          MetricUnit.Seconds,
          Math.max(0, cached.expiresAt - nowSeconds),
        );
      }
      if (credentials.createdDate) {
        metrics.addMetric(
          MetricName.CredentialAgeDays,
          MetricUnit.Count,
          credentialAgeDays(credentials.createdDate, this.now()),
        );
      }
      if (!decision.mint && cached) {
        metrics.addMetric(MetricName.MintSkippedFresh, MetricUnit.Count, 1);
        logger.info('Cached token is fresh; no upstream call', { token: cached });
        return { outcome: 'fresh', ...cached };
      }
      const why = decision.why as Exclude<MintDecision['why'], 'fresh'>;

      let attempts = 0;
      let attemptStartedMs = 0;
      const deadlineMs = Math.min(
        options.deadlineMs ?? Number.POSITIVE_INFINITY,
        this.now() + settings.upstream.totalBudgetMs,
      );
      const validated = await withRetries(
        async (attempt, remainingMs) => {
          attempts = attempt;
          attemptStartedMs = this.now();
          const timeoutMs = Math.max(1, Math.min(settings.upstream.requestTimeoutMs, remainingMs));
          metrics.addMetric(MetricName.UpstreamTokenRequest, MetricUnit.Count, 1);
          try {
            const body = await requestClientCredentialsToken(credentials, settings.upstream, timeoutMs);
            return validateTokenResponse(body, settings.token);
          } finally {
            metrics.addMetric(
              MetricName.UpstreamLatency,
              MetricUnit.Milliseconds,
              this.now() - attemptStartedMs,
            );
          }
        },
        { ...settings.upstream, deadlineMs },
        {
          now: this.now,
          onRetry: ({ attempt, delayMs, error }) =>
            logger.warn('Token request failed; retrying', { attempt, delayMs, error: errorFields(error) }),
        },
      );

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
      const written = await this.deps.cache.write(record);
      const metadata = metadataOf(record);

      metrics.addMetric(MetricName.TokenMinted, MetricUnit.Count, 1);
      metrics.addMetric(MetricName.TokenLifetime, MetricUnit.Seconds, validated.lifetimeSeconds);
      if (validated.lifetimeSource === 'default') {
        metrics.addMetric(MetricName.DefaultLifetimeUsed, MetricUnit.Count, 1);
        logger.warn('Token response had no usable expires_in; assumed the configured default lifetime', {
          defaultLifetimeSeconds: settings.token.defaultLifetimeSeconds,
        });
      } else if (validated.lifetimeSource === 'capped') {
        logger.warn('Token response claimed a lifetime above the cap; capped it', {
          maxLifetimeSeconds: settings.token.maxLifetimeSeconds,
        });
      }
      logger.info('Token minted', {
        why,
        attempts,
        written,
        lifetimeSource: validated.lifetimeSource,
        token: metadata,
      });
      return { outcome: 'minted', why, attempts, ...metadata };
    } catch (error) {
      this.recordFailure(error);
      throw error;
    }
  }

  private recordFailure(error: unknown): void {
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

/** What of an error is logged: class, message (secret-free by construction) and HTTP facts. No cause, no body. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { name: 'NonError', message: typeof error };
  // A foreign message may quote the data that caused it (lambda/core/boundary-errors.ts): only its class is logged.
  const fields: Record<string, unknown> = isBrokerBuilt(error)
    ? { name: error.name, message: error.message }
    : { name: safeErrorName(error), message: FOREIGN_MESSAGE_WITHHELD };
  const { status, oauthError, retryAfterSeconds } = error as {
    status?: unknown;
    oauthError?: unknown;
    retryAfterSeconds?: unknown;
  };
  if (status !== undefined) fields.status = status;
  if (oauthError !== undefined) fields.oauthError = oauthError;
  if (retryAfterSeconds !== undefined) fields.retryAfterSeconds = retryAfterSeconds;
  return fields;
}
