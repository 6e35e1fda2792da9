import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { EnvVar } from '../../contract/env-vars';
import type { MintTokenResponse } from '../../contract/mint-token-payload';
import { CredentialStore } from '../aws/credential-store';
import { GateStore } from '../aws/gate-store';
import { QuotaLedgerStore } from '../aws/quota-ledger-store';
import { TokenCache } from '../aws/token-cache';
import { TokenCipher } from '../aws/token-cipher';
import { toBoundaryError } from '../errors/boundary-errors';
import { errorFields } from '../errors/error-fields';
import { entryPointOf, MintTokenRequestError, parseMintTokenRequest } from '../minting/mint-token-request';
import { quotaUsageReport } from '../minting/quota-usage';
import { TokenMinter } from '../minting/token-minter';
import { parseSettings, requireEnv } from '../runtime/settings';
import { createLogger, createMetrics } from '../runtime/telemetry';
import { UpstreamGate } from '../upstream/upstream-gate';

/**
 * mint-token: the only function (with rotate-credentials) that can read the client credentials.
 * Invoked by serve-token on a cache miss, by the scheduled refresh and the rotation function (the
 * serving entry point: the unqualified function) and by operators (the `operator` alias, for force,
 * flush, gate overrides and proxy mode's quota usage). Every request to ThroughLine passes the
 * fleet-wide upstream gate, whose lease also serialises mints, so a stampede costs one upstream call
 * without reserved concurrency.
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
const dynamo = new DynamoDBClient({});
const cache = new TokenCache(
  dynamo,
  tableName,
  new TokenCipher(new KMSClient({}), requireEnv(process.env, EnvVar.TokenKeyArn), tableName),
);
const gate = new UpstreamGate(new GateStore(dynamo, tableName), settings.gate, {
  onCorrupt: () =>
    logger.error('Upstream gate item unparseable; it is replaced by a fresh gate on the next write'),
});
const minter = new TokenMinter({ settings, credentials, cache, gate, logger, metrics });
const ledger = new QuotaLedgerStore(dynamo, tableName);

/** Time kept back from the Lambda timeout to write the cache and flush metrics after the last attempt. */
const SAFETY_MARGIN_MS = 3_000;

export async function handler(event: unknown, context: Context): Promise<MintTokenResponse> {
  logger.addContext(context);
  try {
    const entryPoint = entryPointOf(context.invokedFunctionArn);
    const request = parseMintTokenRequest(event, entryPoint, settings.token);
    logger.info('mint-token invoked', { request, entryPoint });
    if (request.action === 'flush') {
      const removed = await cache.flush();
      logger.warn('Token cache flushed', { removed, requestedBy: request.requestedBy });
      return { outcome: 'flushed', removed };
    }
    if (request.action === 'describe') {
      const [cached, state] = await Promise.all([cache.readMetadata(), gate.describe()]);
      return { outcome: 'described', cached: cached ?? null, gate: minter.gateView(state) };
    }
    if (request.action === 'usage') {
      // Proxy mode off: no quota rules in the settings, nothing meters calls per consumer.
      if (!settings.quota) return { outcome: 'usage_unavailable', reason: 'proxy_mode_off' };
      const nowMs = Date.now();
      const whole = await ledger.readAll(nowMs).catch((error: unknown) => {
        logger.error('Quota ledger unreadable', { error: errorFields(error) });
        throw toBoundaryError(error, 'reading the quota ledger');
      });
      return quotaUsageReport(whole, settings.quota, nowMs);
    }
    const lambdaDeadlineMs = Date.now() + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS;
    const callerDeadlineMs =
      request.waitBudgetMs !== undefined ? Date.now() + request.waitBudgetMs : Number.POSITIVE_INFINITY;
    return await minter.ensureToken({
      ...(request.force !== undefined ? { force: request.force } : {}),
      ...(request.overrideReason !== undefined ? { overrideReason: request.overrideReason } : {}),
      ...(request.rejectedFingerprint !== undefined
        ? { rejectedFingerprint: request.rejectedFingerprint }
        : {}),
      ...(request.verifyCache !== undefined ? { verifyCache: request.verifyCache } : {}),
      ...(request.requestedBy !== undefined ? { requestedBy: request.requestedBy } : {}),
      invocationId: context.awsRequestId,
      deadlineMs: Math.min(lambdaDeadlineMs, callerDeadlineMs),
    });
  } catch (error) {
    // ensureToken has logged and counted its own failures; anything else is logged here once.
    if (!(error instanceof Error) || error instanceof MintTokenRequestError) {
      logger.error('mint-token request rejected', { error: errorFields(error) });
    }
    throw toBoundaryError(error);
  } finally {
    metrics.publishStoredMetrics();
  }
}
