import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { APIGatewayProxyResult, Context } from 'aws-lambda';
import { EnvVar } from '../../contract/env-vars';
import { ApiHoldStore } from '../aws/api-hold-store';
import { MintTokenInvoker } from '../aws/mint-token-invoker';
import { QuotaLedgerStore } from '../aws/quota-ledger-store';
import { RateSlotStore } from '../aws/rate-slot-store';
import { ResponseCacheStore } from '../aws/response-cache-store';
import { TokenCache } from '../aws/token-cache';
import { TokenCipher } from '../aws/token-cipher';
import { errorFields } from '../errors/error-fields';
import { callerPrincipal } from '../proxy/caller-principal';
import { parseProxyTarget } from '../proxy/proxy-request';
import { ProxyServer } from '../proxy/proxy-server';
import { parseProxySettings } from '../proxy/proxy-settings';
import { requireEnv } from '../runtime/settings';
import { createLogger, createMetrics } from '../runtime/telemetry';
import { deployedApiFrom, isDeployedApiEvent } from '../serving/serve-token-request';
import { parseServeTokenSettings } from '../serving/serve-token-settings';
import { TokenServer } from '../serving/token-server';

/**
 * proxy-throughline: proxy mode. Internal services call ThroughLine's API through the broker
 * (`GET|POST /throughline/{path+}` on the IAM-authenticated token API) and never hold a token; every
 * call is counted against the customer's daily quota and the caller's share of it. Its role can read
 * and decrypt the cached token, ask mint-token to `ensure` one, and count in the quota ledger; it
 * cannot read the client credentials. One audit line per call: caller, path template, status, cache,
 * upstream latency — never a token or a query value.
 */
const logger = createLogger();
const metrics = createMetrics();
const serveSettings = parseServeTokenSettings(requireEnv(process.env, EnvVar.ServeSettings));
const settings = parseProxySettings(requireEnv(process.env, EnvVar.ProxySettings));
const tableName = requireEnv(process.env, EnvVar.TokenTableName);
const dynamo = new DynamoDBClient({});
const server = new ProxyServer({
  settings,
  target: parseProxyTarget({ upstreamBaseUrl: settings.upstreamBaseUrl, routes: settings.routes }),
  tokens: new TokenServer({
    cache: new TokenCache(
      dynamo,
      tableName,
      new TokenCipher(new KMSClient({}), requireEnv(process.env, EnvVar.TokenKeyArn), tableName),
    ),
    // No SDK retries: a throttle means "another mint is running", which TokenServer handles by re-reading the cache.
    minter: new MintTokenInvoker(
      new LambdaClient({ maxAttempts: 1 }),
      requireEnv(process.env, EnvVar.MintTokenFunctionName),
    ),
    settings: serveSettings,
    logger,
    metrics,
  }),
  minTtlSeconds: serveSettings.defaultMinTtlSeconds,
  ledger: new QuotaLedgerStore(dynamo, tableName),
  rateSlots: new RateSlotStore(dynamo, tableName),
  apiHold: new ApiHoldStore(dynamo, tableName),
  ...(Object.keys(settings.cache.ttlSecondsByPrefix).length > 0
    ? { responseCache: new ResponseCacheStore(dynamo, tableName) }
    : {}),
  logger,
  metrics,
});

/** Only events of this API and stage are answered: anything else could name any caller. */
const deployedApi = deployedApiFrom(process.env);

/** Kept back from the Lambda timeout so the answer and the audit line still go out. */
const DEADLINE_MARGIN_MS = 1_000;

export async function handler(event: unknown, context: Context): Promise<APIGatewayProxyResult> {
  logger.addContext(context);
  const startedMs = Date.now();
  let audit: Record<string, unknown> = {};
  try {
    if (!isDeployedApiEvent(event, deployedApi)) {
      audit = { outcome: 'refused', reason: 'not_an_api_call' };
      return {
        statusCode: 400,
        headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
        body: JSON.stringify({
          error: 'invalid_request',
          message: 'proxy-throughline answers only calls through the token API (GET|POST /throughline/...)',
        }),
      };
    }
    const identity = event.requestContext.identity;
    const deadlineMs = Math.min(
      startedMs + settings.requestBudgetMs,
      startedMs + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS,
    );
    const answer = await server.handle(
      {
        method: event.httpMethod,
        proxyPath: event.pathParameters?.proxy,
        queryStringParameters: event.queryStringParameters,
        multiValueQueryStringParameters: event.multiValueQueryStringParameters,
        headers: event.headers,
        body: event.body,
        isBase64Encoded: event.isBase64Encoded,
        caller: callerPrincipal(identity?.userArn, identity?.accountId),
      },
      deadlineMs,
    );
    audit = { ...answer.audit, apiRequestId: event.requestContext.requestId };
    return { statusCode: answer.statusCode, headers: answer.headers, body: answer.body };
  } catch (error) {
    logger.error('proxy-throughline failed unexpectedly', { error: errorFields(error) });
    audit = { ...audit, outcome: 'error', status: 500 };
    return {
      statusCode: 500,
      headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'X-Broker-Cache': 'none' },
      body: JSON.stringify({
        error: 'internal_error',
        message:
          'The token broker failed unexpectedly. Retry later; if this persists, tell the token broker operators.',
      }),
    };
  } finally {
    logger.info('ThroughLine call', {
      audit: { ...audit, requestId: context.awsRequestId, durationMs: Date.now() - startedMs },
    });
    metrics.publishStoredMetrics();
  }
}
