import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { APIGatewayProxyResult, Context } from 'aws-lambda';
import { EnvVar } from '../../contract/env-vars';
import { MetricName } from '../../contract/metric-names';
import { MintTokenInvoker } from '../aws/mint-token-invoker';
import { TokenCache } from '../aws/token-cache';
import { TokenCipher } from '../aws/token-cipher';
import { errorFields } from '../errors/error-fields';
import { requireEnv } from '../runtime/settings';
import { createLogger, createMetrics } from '../runtime/telemetry';
import {
  deployedApiFrom,
  InvalidTokenRequestError,
  isApiGatewayEvent,
  isDeployedApiEvent,
  parseServeTokenRequest,
} from '../serving/serve-token-request';
import {
  apiResponse,
  type DirectTokenResult,
  errorBody,
  INTERNAL_ERROR_MESSAGE,
  minTtlUnattainableMessage,
  noTokenLongEnoughMessage,
  tokenBody,
  UNAVAILABLE_MESSAGE,
} from '../serving/serve-token-response';
import { parseServeTokenSettings } from '../serving/serve-token-settings';
import { TokenServer } from '../serving/token-server';

/**
 * serve-token: hands the cached access token to IAM-authenticated callers (`GET /token` through
 * API Gateway, or a direct lambda:InvokeFunction). Its role can read and decrypt the token cache
 * and invoke mint-token; it cannot read the client credentials. One audit line per request, with
 * the caller, the outcome and the token's expiry — never the token.
 */
const logger = createLogger();
const metrics = createMetrics();
const settings = parseServeTokenSettings(requireEnv(process.env, EnvVar.ServeSettings));
const tableName = requireEnv(process.env, EnvVar.TokenTableName);
const server = new TokenServer({
  cache: new TokenCache(
    new DynamoDBClient({}),
    tableName,
    new TokenCipher(new KMSClient({}), requireEnv(process.env, EnvVar.TokenKeyArn), tableName),
  ),
  // No SDK retries: a throttle means "another mint is running", which TokenServer handles by re-reading the cache.
  minter: new MintTokenInvoker(
    new LambdaClient({ maxAttempts: 1 }),
    requireEnv(process.env, EnvVar.MintTokenFunctionName),
  ),
  settings,
  logger,
  metrics,
});

/** Only events of this API and stage are API calls; any other API-shaped event is a direct invocation. */
const deployedApi = deployedApiFrom(process.env);

/** Kept back from the Lambda timeout so the answer and the audit line still go out. */
const DEADLINE_MARGIN_MS = 1_000;

export async function handler(
  event: unknown,
  context: Context,
): Promise<APIGatewayProxyResult | DirectTokenResult> {
  logger.addContext(context);
  const startedMs = Date.now();
  const viaApi = isDeployedApiEvent(event, deployedApi);
  let audit: Record<string, unknown> = viaApi
    ? { channel: 'api' }
    : { channel: 'lambda-invoke', ...(isApiGatewayEvent(event) ? { apiShaped: true } : {}) };
  try {
    const request = parseServeTokenRequest(event, settings, deployedApi);
    audit = {
      caller: request.caller,
      minTtlSeconds: request.minTtlSeconds,
      ...(request.rejectedFingerprint ? { reportedRejected: true } : {}),
    };
    const deadlineMs = Math.min(
      startedMs + settings.requestBudgetMs,
      startedMs + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS,
    );
    const outcome = await server.getToken(
      {
        minTtlSeconds: request.minTtlSeconds,
        ...(request.rejectedFingerprint ? { rejectedFingerprint: request.rejectedFingerprint } : {}),
      },
      deadlineMs,
    );
    const nowSeconds = Math.floor(Date.now() / 1000);
    if (outcome.ok) {
      const body = tokenBody(outcome.record, nowSeconds);
      audit = {
        ...audit,
        outcome: 'served',
        status: 200,
        source: outcome.source,
        expiresAt: outcome.record.expiresAt,
        secondsToExpiry: body.expires_in,
        credentialVersionId: outcome.record.credentialVersionId,
      };
      return viaApi ? apiResponse(200, body) : body;
    }
    if (outcome.reason === 'min_ttl_unattainable') {
      audit = { ...audit, outcome: 'invalid_request', status: 400, reason: outcome.reason };
      const body = errorBody('invalid_request', minTtlUnattainableMessage(outcome));
      return viaApi ? apiResponse(400, body) : body;
    }
    audit = {
      ...audit,
      outcome: 'unavailable',
      status: 503,
      reason: outcome.reason,
      retryAfterSeconds: outcome.retryAfterSeconds,
    };
    const body = errorBody(
      'token_unavailable',
      outcome.reason === 'no_token_long_enough'
        ? noTokenLongEnoughMessage(outcome.retryAfterSeconds)
        : UNAVAILABLE_MESSAGE,
    );
    return viaApi
      ? apiResponse(503, body, outcome.retryAfterSeconds)
      : { ...body, retry_after: outcome.retryAfterSeconds };
  } catch (error) {
    if (error instanceof InvalidTokenRequestError) {
      metrics.addMetric(MetricName.InvalidTokenRequest, MetricUnit.Count, 1);
      audit = { ...audit, outcome: 'invalid_request', status: 400, problem: error.message };
      const body = errorBody('invalid_request', error.message);
      return viaApi ? apiResponse(400, body) : body;
    }
    logger.error('serve-token failed unexpectedly', { error: errorFields(error) });
    audit = { ...audit, outcome: 'error', status: 500 };
    const body = errorBody('internal_error', INTERNAL_ERROR_MESSAGE);
    return viaApi ? apiResponse(500, body) : body;
  } finally {
    logger.info('Token request', {
      audit: { ...audit, requestId: context.awsRequestId, durationMs: Date.now() - startedMs },
    });
    metrics.publishStoredMetrics();
  }
}
