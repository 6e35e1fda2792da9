import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { toBoundaryError } from '../core/boundary-errors';
import { CredentialStore } from '../core/credential-store';
import { parseMintTokenRequest } from '../core/mint-token-request';
import { EnvVar, parseSettings, requireEnv } from '../core/settings';
import { createLogger, createMetrics } from '../core/telemetry';
import { TokenCache } from '../core/token-cache';
import { TokenCipher } from '../core/token-cipher';
import { type EnsureTokenResult, errorFields, TokenMinter } from '../core/token-minter';
import type { TokenMetadata } from '../core/token-record';

/**
 * mint-token: the only function (with rotate-credentials) that can read the client credentials.
 * Invoked by serve-token on a cache miss, by the scheduled refresh and by operators. Reserved
 * concurrency 1 serialises invocations, so a stampede becomes a queue of cheap "already fresh" calls.
 * Its response never contains the token: callers read it from the encrypted cache.
 */
const logger = createLogger();
const metrics = createMetrics();
const settings = parseSettings(requireEnv(process.env, EnvVar.Settings));
const tableName = requireEnv(process.env, EnvVar.TokenTableName);
const credentials = new CredentialStore(
  new SecretsManagerClient({}),
  requireEnv(process.env, EnvVar.CredentialsSecretArn),
);
const cache = new TokenCache(
  new DynamoDBClient({}),
  tableName,
  new TokenCipher(new KMSClient({}), requireEnv(process.env, EnvVar.TokenKeyArn), tableName),
);
const minter = new TokenMinter({ settings, credentials, cache, logger, metrics });

/** Time kept back from the Lambda timeout to write the cache and flush metrics after the last attempt. */
const SAFETY_MARGIN_MS = 3_000;

export type MintTokenResponse =
  | EnsureTokenResult
  | { readonly outcome: 'flushed'; readonly removed: boolean }
  | { readonly outcome: 'described'; readonly cached: TokenMetadata | null };

export async function handler(event: unknown, context: Context): Promise<MintTokenResponse> {
  logger.addContext(context);
  try {
    const request = parseMintTokenRequest(event);
    logger.info('mint-token invoked', { request });
    if (request.action === 'flush') {
      const removed = await cache.flush();
      logger.warn('Token cache flushed', { removed, requestedBy: request.requestedBy });
      return { outcome: 'flushed', removed };
    }
    if (request.action === 'describe') {
      return { outcome: 'described', cached: (await cache.readMetadata()) ?? null };
    }
    return await minter.ensureToken({
      ...(request.force !== undefined ? { force: request.force } : {}),
      ...(request.minTtlSeconds !== undefined ? { minTtlSeconds: request.minTtlSeconds } : {}),
      deadlineMs: Date.now() + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS,
    });
  } catch (error) {
    // ensureToken has logged and counted its own failures; anything else is logged here once.
    if (!(error instanceof Error) || error.name === 'MintTokenRequestError') {
      logger.error('mint-token request rejected', { error: errorFields(error) });
    }
    throw toBoundaryError(error);
  } finally {
    metrics.publishStoredMetrics();
  }
}
