import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import {
  METRIC_NAMESPACE,
  MetricName,
  REASON_DIMENSION,
  SERVICE_DIMENSION,
} from '../../../contract/metric-names';
import { TOKEN_PATH } from '../token-api-resource-policy';

/**
 * Every metric the broker's alarms and dashboard read, built in one place from the names the
 * handlers emit (contract/metric-names.ts). Pure functions: no construct is created here.
 */

/** The alarm period unless an alarm says otherwise: short enough to page fast, long enough to be stable. */
export const STANDARD_PERIOD = Duration.minutes(5);

/** Metrics the broker's functions emit with Powertools (EMF); `service` is the stack name. */
export function brokerMetrics(serviceName: string) {
  const metric = (
    metricName: MetricName,
    statistic: string,
    period: Duration,
    label: string,
    unit?: cloudwatch.Unit,
  ) =>
    new cloudwatch.Metric({
      namespace: METRIC_NAMESPACE,
      metricName,
      dimensionsMap: { [SERVICE_DIMENSION]: serviceName },
      statistic,
      period,
      label,
      ...(unit ? { unit } : {}),
    });
  return {
    credentialsRejected: (period = STANDARD_PERIOD) =>
      metric(MetricName.InvalidClient, cloudwatch.Stats.SUM, period, 'invalid_client answers'),
    /** All reasons together: the series emitted without the Reason dimension. */
    mintFailures: (period = STANDARD_PERIOD) =>
      metric(MetricName.MintFailed, cloudwatch.Stats.SUM, period, 'Mint failures'),
    /** One line per failure reason (dashboards only: alarms cannot read a SEARCH). */
    mintFailuresByReason: (period = STANDARD_PERIOD) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${METRIC_NAMESPACE},${SERVICE_DIMENSION},${REASON_DIMENSION}} MetricName="${MetricName.MintFailed}" ${SERVICE_DIMENSION}="${serviceName}"', 'Sum', ${period.toSeconds()})`,
        label: 'Mint failures by reason',
        period,
        usingMetrics: {},
      }),
    tokensMinted: (period = STANDARD_PERIOD) =>
      metric(MetricName.TokenMinted, cloudwatch.Stats.SUM, period, 'Tokens minted'),
    mintsSkippedFresh: (period = STANDARD_PERIOD) =>
      metric(MetricName.MintSkippedFresh, cloudwatch.Stats.SUM, period, 'Mint calls answered from cache'),
    upstreamTokenRequests: (period = STANDARD_PERIOD) =>
      metric(MetricName.UpstreamTokenRequest, cloudwatch.Stats.SUM, period, 'Token requests to ThroughLine'),
    tokenLifetime: (period = STANDARD_PERIOD) =>
      metric(
        MetricName.TokenLifetime,
        cloudwatch.Stats.MINIMUM,
        period,
        'Lifetime of minted tokens (s, min)',
      ),
    upstreamLatencyP99: (period = STANDARD_PERIOD) =>
      metric(
        MetricName.UpstreamLatency,
        cloudwatch.Stats.p(99),
        period,
        'ThroughLine token endpoint p99 (ms)',
      ),
    /** How many mint-token invocations reported the cached token: none in a window means refresh is silent. */
    cachedTokenReports: (period = STANDARD_PERIOD) =>
      metric(
        MetricName.CachedTokenSecondsToExpiry,
        cloudwatch.Stats.SAMPLE_COUNT,
        period,
        'Cached token reports (count)',
      ),
    /** mint-token invocations that found the broker not configured yet (no credentials ever put in). */
    notConfigured: (period = STANDARD_PERIOD) =>
      metric(MetricName.BrokerNotConfigured, cloudwatch.Stats.SUM, period, 'Not-configured answers'),
    cachedTokenSecondsToExpiry: (period = STANDARD_PERIOD) =>
      metric(
        MetricName.CachedTokenSecondsToExpiry,
        cloudwatch.Stats.MINIMUM,
        period,
        'Cached token: seconds to expiry (min)',
      ),
    upstreamGateClosedSeconds: (period = STANDARD_PERIOD) =>
      metric(
        MetricName.UpstreamGateClosedSeconds,
        cloudwatch.Stats.MAXIMUM,
        period,
        'Upstream gate: seconds failing (max)',
      ),
    upstreamRequestsLast24Hours: (period = STANDARD_PERIOD) =>
      metric(
        MetricName.UpstreamRequestsLast24Hours,
        cloudwatch.Stats.MAXIMUM,
        period,
        'Upstream requests in the rolling 24 h (gate count, max)',
      ),
    upstreamBudgetUsedPercent: (period = STANDARD_PERIOD) =>
      metric(
        MetricName.UpstreamBudgetUsedPercent,
        cloudwatch.Stats.MAXIMUM,
        period,
        "Gate's daily request budget used (%, max)",
      ),
    upstreamDeferred: (period = STANDARD_PERIOD) =>
      metric(MetricName.UpstreamDeferred, cloudwatch.Stats.SUM, period, 'Requests held back by the gate'),
    upstreamBudgetExhausted: (period = STANDARD_PERIOD) =>
      metric(
        MetricName.UpstreamBudgetExhausted,
        cloudwatch.Stats.SUM,
        period,
        'Refused for the daily budget',
      ),
    upstreamGateOverridden: (period = STANDARD_PERIOD) =>
      metric(MetricName.UpstreamGateOverridden, cloudwatch.Stats.SUM, period, 'Gate overrides by operators'),
    credentialAgeDays: (period = Duration.days(1)) =>
      metric(MetricName.CredentialAgeDays, cloudwatch.Stats.MAXIMUM, period, 'Credential age (days)'),
  };
}
export type BrokerMetrics = ReturnType<typeof brokerMetrics>;

/** The period of the ThroughLine API rate alarms: long enough to hold a few calls at ~1,000 calls a day. */
export const UPSTREAM_API_RATE_PERIOD = Duration.minutes(15);

/**
 * Metrics proxy-throughline emits (proxy mode): calls to ThroughLine's API, the quota ledger's view
 * of the day, the broker's own refusals and the response cache. Same namespace and `service`
 * dimension as the other broker metrics.
 */
export function proxyMetrics(serviceName: string) {
  const metric = (metricName: MetricName, statistic: string, period: Duration, label: string) =>
    new cloudwatch.Metric({
      namespace: METRIC_NAMESPACE,
      metricName,
      dimensionsMap: { [SERVICE_DIMENSION]: serviceName },
      statistic,
      period,
      label,
    });
  const sum =
    (metricName: MetricName, label: string) =>
    (period = STANDARD_PERIOD) =>
      metric(metricName, cloudwatch.Stats.SUM, period, label);
  const upstreamApiCalls = sum(MetricName.UpstreamApiCall, 'Calls to the ThroughLine API');
  const upstreamApiFailed = sum(MetricName.UpstreamApiFailed, 'ThroughLine API 5xx or unreachable');
  const upstreamApiThrottled = sum(MetricName.UpstreamApiThrottled, 'ThroughLine API 429');
  /**
   * `part` as a percentage of the calls to ThroughLine's API in the period; 0 while fewer than
   * `minCalls` were made (one failure among two calls is not a failure rate). `id` names `part` in
   * the expression (unique on a graph that draws several of these).
   */
  const shareOfCalls = (
    id: string,
    part: cloudwatch.IMetric,
    minCalls: number,
    label: string,
    period: Duration,
  ) =>
    new cloudwatch.MathExpression({
      expression: `IF(calls >= ${minCalls}, 100 * FILL(${id}, 0) / calls, 0)`,
      usingMetrics: { calls: upstreamApiCalls(period), [id]: part },
      label,
      period,
    });
  return {
    proxyRequests: sum(MetricName.ProxyRequest, 'Proxy requests'),
    upstreamApiCalls,
    upstreamApiFailed,
    upstreamApiThrottled,
    upstreamApiTokenRejected: sum(
      MetricName.UpstreamApiTokenRejected,
      'ThroughLine API 401 (token rejected)',
    ),
    /** UpstreamApiFailed ÷ UpstreamApiCall in percent, once at least `minCalls` calls were made. */
    upstreamApiFailurePercent: (minCalls: number, period = UPSTREAM_API_RATE_PERIOD) =>
      shareOfCalls(
        'failed',
        upstreamApiFailed(period),
        minCalls,
        'ThroughLine API calls failed: 5xx, unreachable, timed out (%)',
        period,
      ),
    /** UpstreamApiThrottled ÷ UpstreamApiCall in percent, once at least `minCalls` calls were made. */
    upstreamApiThrottledPercent: (minCalls: number, period = UPSTREAM_API_RATE_PERIOD) =>
      shareOfCalls(
        'throttled',
        upstreamApiThrottled(period),
        minCalls,
        'ThroughLine API calls answered 429 (%)',
        period,
      ),
    upstreamApiLatencyP50: (period = STANDARD_PERIOD) =>
      metric(MetricName.UpstreamApiLatency, cloudwatch.Stats.p(50), period, 'ThroughLine API p50 (ms)'),
    upstreamApiLatencyP99: (period = STANDARD_PERIOD) =>
      metric(MetricName.UpstreamApiLatency, cloudwatch.Stats.p(99), period, 'ThroughLine API p99 (ms)'),
    quotaShareExhausted: sum(MetricName.QuotaShareExhausted, 'Refused: caller over its daily share'),
    quotaReserveReached: sum(MetricName.QuotaReserveReached, 'Refused: quota at the reserve'),
    proxyRateLimited: sum(MetricName.ProxyRateLimited, 'Refused: per-second limit full'),
    proxyRequestRefused: sum(
      MetricName.ProxyRequestRefused,
      "Refused: the proxy's rules (path, method, body)",
    ),
    quotaCallsLast24Hours: (period = STANDARD_PERIOD) =>
      metric(
        MetricName.QuotaCallsLast24Hours,
        cloudwatch.Stats.MAXIMUM,
        period,
        'Calls to ThroughLine in the rolling 24 h (ledger, max)',
      ),
    quotaUsedPercent: (period = STANDARD_PERIOD) =>
      metric(MetricName.QuotaUsedPercent, cloudwatch.Stats.MAXIMUM, period, 'Daily quota used (%, max)'),
    cacheHits: sum(MetricName.ProxyCacheHit, 'Answered from the response cache'),
    cacheStaleServed: sum(MetricName.ProxyCacheStaleServed, 'Stale answers served (stale-if-error)'),
    cacheStoreSkipped: sum(MetricName.ProxyCacheStoreSkipped, 'Answers too large to cache'),
  };
}
export type ProxyMetrics = ReturnType<typeof proxyMetrics>;

/**
 * AWS/ApiGateway metrics of `GET /token` alone: the stage's detailed metrics (on: `metricsEnabled`)
 * by method — "ApiName, Method, Resource, Stage: Filters API Gateway metrics for an API method of
 * the specified API, stage, resource, and method" (API Gateway Developer Guide, "Amazon API Gateway
 * dimensions and metrics"). Not the whole stage: proxy mode's route passes ThroughLine's own 5xx
 * and latency through, which must not page as "callers cannot get tokens" (proxy mode has its own
 * alarms on ThroughLine's API).
 */
export function apiMetrics(api: { readonly apiName: string; readonly stageName: string }) {
  const metric = (metricName: string, statistic: string, label: string, period = STANDARD_PERIOD) =>
    new cloudwatch.Metric({
      namespace: 'AWS/ApiGateway',
      metricName,
      dimensionsMap: {
        ApiName: api.apiName,
        Method: 'GET',
        Resource: `/${TOKEN_PATH}`,
        Stage: api.stageName,
      },
      statistic,
      period,
      label,
    });
  return {
    requests: (period = STANDARD_PERIOD) => metric('Count', cloudwatch.Stats.SUM, 'Token requests', period),
    clientErrors: () => metric('4XXError', cloudwatch.Stats.SUM, '4xx answers'),
    serverErrors: () => metric('5XXError', cloudwatch.Stats.SUM, '5xx answers'),
    latencyP99: () => metric('Latency', cloudwatch.Stats.p(99), 'Latency p99 (ms)'),
    latencyP50: () => metric('Latency', cloudwatch.Stats.p(50), 'Latency p50 (ms)'),
  };
}
export type ApiMetrics = ReturnType<typeof apiMetrics>;

/** AWS/Lambda metrics of one function. */
export function lambdaMetrics(functionName: string, label: string) {
  const metric = (metricName: string, statistic: string, what: string) =>
    new cloudwatch.Metric({
      namespace: 'AWS/Lambda',
      metricName,
      dimensionsMap: { FunctionName: functionName },
      statistic,
      period: STANDARD_PERIOD,
      label: `${label} ${what}`,
    });
  return {
    errors: () => metric('Errors', cloudwatch.Stats.SUM, 'errors'),
    throttles: () => metric('Throttles', cloudwatch.Stats.SUM, 'throttles'),
  };
}
export type LambdaMetrics = ReturnType<typeof lambdaMetrics>;

/** AWS/States metrics of the refresh state machine. */
export function refreshWorkflowMetrics(stateMachineArn: string) {
  const metric = (metricName: string, label: string) =>
    new cloudwatch.Metric({
      namespace: 'AWS/States',
      metricName,
      dimensionsMap: { StateMachineArn: stateMachineArn },
      statistic: cloudwatch.Stats.SUM,
      period: STANDARD_PERIOD,
      label,
    });
  return {
    succeeded: () => metric('ExecutionsSucceeded', 'Refresh runs succeeded'),
    /** Failed, timed out and aborted runs together: each means the token was not refreshed. */
    unsuccessful: () =>
      new cloudwatch.MathExpression({
        expression: 'FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)',
        usingMetrics: {
          failed: metric('ExecutionsFailed', 'failed'),
          timedOut: metric('ExecutionsTimedOut', 'timed out'),
          aborted: metric('ExecutionsAborted', 'aborted'),
        },
        label: 'Refresh runs failed, timed out or aborted',
        period: STANDARD_PERIOD,
      }),
  };
}
export type RefreshWorkflowMetrics = ReturnType<typeof refreshWorkflowMetrics>;

/** The statistics a Contributor Insights rule publishes (INSIGHT_RULE_METRIC). */
export type InsightRuleStatistic = 'UniqueContributors' | 'MaxContributorValue' | 'SampleCount' | 'Sum';

/** Metrics of a Contributor Insights rule: per-caller detail stays in the rule, not in metric dimensions. */
export function insightRuleMetrics(ruleName: string) {
  const metric = (statistic: InsightRuleStatistic, label: string, period = STANDARD_PERIOD) =>
    new cloudwatch.MathExpression({
      expression: `INSIGHT_RULE_METRIC('${ruleName}', '${statistic}')`,
      label,
      period,
      usingMetrics: {},
    });
  return {
    /** Matching log events (for a Count rule: requests). */
    total: () => metric('Sum', 'Matching requests'),
    uniqueContributors: () => metric('UniqueContributors', 'Distinct callers'),
    topContributor: () => metric('MaxContributorValue', 'Requests of the top caller'),
    /**
     * How far the top caller is above the rest: its count divided by the average of the others.
     * 0 while fewer than two callers exist or the top caller is below `minRequests`: one lone
     * caller is not "far above the rest", and a handful of requests is noise.
     */
    topContributorDominance: (minRequests: number) =>
      new cloudwatch.MathExpression({
        expression: `IF(callers >= 2 AND top >= ${minRequests}, top / ((total - top) / (callers - 1)), 0)`,
        usingMetrics: {
          callers: metric('UniqueContributors', 'Distinct callers'),
          top: metric('MaxContributorValue', 'Requests of the top caller'),
          total: metric('Sum', 'All requests'),
        },
        label: 'Top caller ÷ average of the other callers',
        period: STANDARD_PERIOD,
      }),
  };
}
export type InsightRuleMetrics = ReturnType<typeof insightRuleMetrics>;

/** SQS metric of the on-call dead-letter queue. */
export function deliveryFailureMetrics(queueName: string) {
  return {
    undelivered: () =>
      new cloudwatch.Metric({
        namespace: 'AWS/SQS',
        metricName: 'ApproximateNumberOfMessagesVisible',
        dimensionsMap: { QueueName: queueName },
        statistic: cloudwatch.Stats.MAXIMUM,
        period: STANDARD_PERIOD,
        label: 'Undelivered on-call notifications',
      }),
  };
}
export type DeliveryFailureMetrics = ReturnType<typeof deliveryFailureMetrics>;
