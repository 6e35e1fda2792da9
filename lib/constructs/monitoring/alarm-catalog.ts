import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { MonitoringConfig } from '../../config/schema';
import type {
  ApiMetrics,
  BrokerMetrics,
  DeliveryFailureMetrics,
  InsightRuleMetrics,
  LambdaMetrics,
  ProxyMetrics,
  RefreshWorkflowMetrics,
} from './metric-factory';
import { Runbook, type RunbookName } from './runbooks';

/**
 * The broker's alarms, declared as data: adding an alarm is adding one entry here (and its runbook).
 * `BrokerMonitoring` turns each entry into a CloudWatch alarm with alarm and OK actions to on-call.
 */

/** page: wake someone now (callers are or soon will be without tokens, or a security signal). ticket: next working day. */
export type Severity = 'page' | 'ticket';

/** Where an alarm's metrics come from; an alarm exists only when its scope does. */
export interface AlarmScopes {
  /** Always: the broker's own metrics and the on-call dead-letter queue. */
  readonly broker: { readonly broker: BrokerMetrics; readonly deliveryFailures: DeliveryFailureMetrics };
  /** When the token API is monitored: API Gateway metrics and the access-log Contributor Insights rules. */
  readonly api: {
    readonly api: ApiMetrics;
    readonly callers: InsightRuleMetrics;
    readonly forbidden: InsightRuleMetrics;
    readonly refusedPrincipals: InsightRuleMetrics;
  };
  /** When the scheduled refresh workflow is monitored. `refreshWindow`: a period that always holds a run. */
  readonly refreshWorkflow: {
    readonly refresh: RefreshWorkflowMetrics;
    readonly broker: BrokerMetrics;
    readonly refreshWindow: Duration;
  };
  /** When proxy mode's function (proxy-throughline) is monitored: only with `proxy.enabled`. */
  readonly proxy: { readonly proxy: ProxyMetrics };
  /** Once per broker function. */
  readonly function: { readonly fn: LambdaMetrics };
}
export type AlarmScope = keyof AlarmScopes;

export type AlarmCondition =
  | {
      readonly kind: 'threshold';
      readonly comparison: cloudwatch.ComparisonOperator;
      readonly threshold: (config: MonitoringConfig) => number;
    }
  | {
      /** Outside an anomaly-detection band of `stdDevs` standard deviations. */
      readonly kind: 'anomaly';
      readonly comparison: cloudwatch.ComparisonOperator;
      readonly stdDevs: (config: MonitoringConfig) => number;
    };

/** treatMissingData is a decision, so each alarm states it with its reason. */
export interface MissingDataPolicy {
  readonly treat: cloudwatch.TreatMissingData;
  readonly why: string;
}

interface AlarmSpecOf<S extends AlarmScope> {
  readonly scope: S;
  /** Unique within the catalogue; part of the alarm name. */
  readonly id: string;
  readonly severity: Severity;
  /** What happened, in on-call's words: the first sentence of the alarm description. */
  readonly summary: string;
  readonly runbook: RunbookName;
  readonly metric: (sources: AlarmScopes[S], config: MonitoringConfig) => cloudwatch.IMetric;
  readonly condition: AlarmCondition;
  readonly evaluationPeriods: number;
  /** @default evaluationPeriods (every evaluated period must breach) */
  readonly datapointsToAlarm?: number;
  readonly missingData: MissingDataPolicy;
  /**
   * Quiet while the broker is not configured yet (no credentials ever put in): the alarm pages
   * through a composite alarm whose actions the NotConfigured alarm suppresses. For alarms that
   * would otherwise fire on a fresh deploy, where no token exists to report.
   */
  readonly quietUntilConfigured?: true;
}

export type AlarmSpec = { [S in AlarmScope]: AlarmSpecOf<S> }[AlarmScope];

const {
  GREATER_THAN_OR_EQUAL_TO_THRESHOLD: AT_LEAST,
  GREATER_THAN_THRESHOLD: ABOVE,
  LESS_THAN_THRESHOLD: BELOW,
} = cloudwatch.ComparisonOperator;

/** Counts emitted only when something happens: no data means nothing happened. */
const NO_EVENTS_IS_FINE =
  'The metric is only published when the event happens, so a period without data is a period without the problem.';

export const ALARM_CATALOG: readonly AlarmSpec[] = [
  {
    scope: 'broker',
    id: 'CredentialsRejected',
    severity: 'page',
    summary:
      'ThroughLine rejected the client credentials (invalid_client): they were revoked, regenerated or are wrong, and no new token can be minted until they are replaced.',
    runbook: Runbook.CredentialsRejected,
    metric: ({ broker }) => broker.credentialsRejected(),
    condition: {
      kind: 'threshold',
      comparison: AT_LEAST,
      threshold: (c) => c.thresholds.credentialsRejectedPer5Minutes,
    },
    evaluationPeriods: 1,
    missingData: { treat: cloudwatch.TreatMissingData.NOT_BREACHING, why: NO_EVENTS_IS_FINE },
  },
  {
    scope: 'broker',
    id: 'MintFailures',
    severity: 'ticket',
    summary:
      'Minting a token failed repeatedly (any reason). Callers are still served while the cached token lasts; token-near-expiry pages if it runs out.',
    runbook: Runbook.MintFailures,
    metric: ({ broker }) => broker.mintFailures(Duration.minutes(15)),
    condition: {
      kind: 'threshold',
      comparison: AT_LEAST,
      threshold: (c) => c.thresholds.mintFailuresPer15Minutes,
    },
    evaluationPeriods: 1,
    missingData: { treat: cloudwatch.TreatMissingData.NOT_BREACHING, why: NO_EVENTS_IS_FINE },
  },
  {
    scope: 'broker',
    id: 'UpstreamDailyBudget',
    severity: 'page',
    summary:
      "Token requests to ThroughLine in the last 24 hours reached the configured share of the daily call budget: at this rate ThroughLine will start refusing calls (HTTP 429), token requests and possibly the organisation's own API calls.",
    runbook: Runbook.UpstreamRequestBudget,
    metric: ({ broker }) => broker.upstreamTokenRequests(Duration.days(1)),
    condition: {
      kind: 'threshold',
      comparison: AT_LEAST,
      threshold: (c) => Math.ceil(c.dailyUpstreamRequestBudget * c.thresholds.upstreamDailyBudgetFraction),
    },
    evaluationPeriods: 1,
    missingData: {
      treat: cloudwatch.TreatMissingData.NOT_BREACHING,
      why: 'A day without token requests spent none of the budget.',
    },
  },
  {
    scope: 'broker',
    id: 'UpstreamGateClosed',
    severity: 'page',
    summary:
      'Token requests to ThroughLine have been failing for longer than the threshold: the upstream gate is holding every caller back (probing with capped backoff). Callers are served the cached token while it lasts, then get 503.',
    runbook: Runbook.UpstreamGateClosed,
    metric: ({ broker }) => broker.upstreamGateClosedSeconds(),
    condition: {
      kind: 'threshold',
      comparison: AT_LEAST,
      threshold: (c) => c.thresholds.upstreamGateClosedSeconds,
    },
    evaluationPeriods: 1,
    missingData: {
      treat: cloudwatch.TreatMissingData.NOT_BREACHING,
      why: 'Every mint-token invocation reports it and the schedule invokes mint-token every few minutes; silence means mint-token is not running, which the refresh-workflow and token-staleness alarms report.',
    },
  },
  {
    scope: 'broker',
    id: 'UpstreamGateBudgetHalf',
    severity: 'ticket',
    summary:
      "Half of the gate's hard daily budget of token requests to ThroughLine is spent in the last 24 hours (normal use is a few percent): something is minting far too often.",
    runbook: Runbook.UpstreamGateBudget,
    metric: ({ broker }) => broker.upstreamBudgetUsedPercent(),
    condition: { kind: 'threshold', comparison: AT_LEAST, threshold: () => 50 },
    evaluationPeriods: 1,
    missingData: {
      treat: cloudwatch.TreatMissingData.NOT_BREACHING,
      why: 'Every mint-token invocation reports it; silence means nothing was minted or checked, which spends no budget.',
    },
  },
  {
    scope: 'broker',
    id: 'UpstreamGateBudgetReached',
    severity: 'page',
    summary:
      "The gate's hard daily budget of token requests to ThroughLine is spent: the broker does not call ThroughLine until the rolling 24-hour window frees up; callers get the cached token while it lasts, then 503.",
    runbook: Runbook.UpstreamGateBudget,
    metric: ({ broker }) => broker.upstreamBudgetUsedPercent(),
    condition: { kind: 'threshold', comparison: AT_LEAST, threshold: () => 100 },
    evaluationPeriods: 1,
    missingData: {
      treat: cloudwatch.TreatMissingData.NOT_BREACHING,
      why: 'Every mint-token invocation reports it; silence means nothing was minted or checked, which spends no budget.',
    },
  },
  {
    scope: 'broker',
    id: 'UpstreamGateOverridden',
    severity: 'ticket',
    summary:
      'An operator overrode the upstream gate (token refresh --override-gate): ThroughLine was called despite backoff, Retry-After or the daily budget. Check the reason was sound.',
    runbook: Runbook.UpstreamGateOverridden,
    metric: ({ broker }) => broker.upstreamGateOverridden(),
    condition: { kind: 'threshold', comparison: AT_LEAST, threshold: () => 1 },
    evaluationPeriods: 1,
    missingData: { treat: cloudwatch.TreatMissingData.NOT_BREACHING, why: NO_EVENTS_IS_FINE },
  },
  {
    scope: 'broker',
    id: 'UpstreamHourlyBurn',
    severity: 'ticket',
    summary:
      'Token requests to ThroughLine in the last hour were above the pace that keeps within the daily call budget (early warning: normal operation mints about once per token lifetime).',
    runbook: Runbook.UpstreamRequestBudget,
    metric: ({ broker }) => broker.upstreamTokenRequests(Duration.hours(1)),
    condition: {
      kind: 'threshold',
      comparison: ABOVE,
      threshold: (c) => c.thresholds.upstreamRequestsPerHour ?? Math.ceil(c.dailyUpstreamRequestBudget / 24),
    },
    evaluationPeriods: 1,
    missingData: {
      treat: cloudwatch.TreatMissingData.NOT_BREACHING,
      why: 'An hour without token requests spent none of the budget.',
    },
  },
  {
    scope: 'broker',
    id: 'CredentialAge',
    severity: 'ticket',
    summary:
      'The ThroughLine client credentials in use are older than the configured policy: obtain new credentials from the ThroughLine dashboard and rotate them.',
    runbook: Runbook.CredentialAge,
    metric: ({ broker }) => broker.credentialAgeDays(),
    condition: { kind: 'threshold', comparison: ABOVE, threshold: (c) => c.credentialMaxAgeDays },
    evaluationPeriods: 1,
    missingData: {
      treat: cloudwatch.TreatMissingData.IGNORE,
      why: 'Age only grows: a pause in reporting (refresh paused or failing, which have their own alarms) must neither clear an over-age alarm nor raise one.',
    },
  },
  {
    scope: 'broker',
    id: 'NotificationDeliveryFailed',
    severity: 'ticket',
    summary:
      'An on-call notification (security event or email) could not be delivered and is waiting in the dead-letter queue: someone may have missed an alert.',
    runbook: Runbook.NotificationDeliveryFailed,
    metric: ({ deliveryFailures }) => deliveryFailures.undelivered(),
    condition: { kind: 'threshold', comparison: AT_LEAST, threshold: () => 1 },
    evaluationPeriods: 1,
    missingData: {
      treat: cloudwatch.TreatMissingData.IGNORE,
      why: 'SQS stops publishing metrics for a queue that has been idle for hours even while it holds messages, so silence must keep the last known state.',
    },
  },
  {
    scope: 'api',
    id: 'RequestVolumeAnomaly',
    severity: 'ticket',
    summary:
      'Token requests to the broker API left their usual range (anomaly-detection band) for 15 minutes: a caller misbehaving (a token per request, a retry loop) or callers disappearing.',
    runbook: Runbook.RequestVolumeAnomaly,
    metric: ({ api }) => api.requests(),
    condition: {
      kind: 'anomaly',
      comparison: cloudwatch.ComparisonOperator.LESS_THAN_LOWER_OR_GREATER_THAN_UPPER_THRESHOLD,
      stdDevs: (c) => c.thresholds.requestAnomalyStdDevs,
    },
    evaluationPeriods: 3,
    missingData: {
      treat: cloudwatch.TreatMissingData.NOT_BREACHING,
      why: 'API Gateway publishes Count only for periods with requests; callers falling silent (nights, deploys) is not harmful to the broker and shows on the dashboard.',
    },
  },
  {
    scope: 'api',
    id: 'ForbiddenSpike',
    severity: 'ticket',
    summary:
      'Many requests to the token API were refused with 403 (missing or invalid signature, or a principal the resource policy does not allow): someone is probing or a caller lost its permission.',
    runbook: Runbook.ForbiddenSpike,
    metric: ({ forbidden }) => forbidden.total(),
    condition: {
      kind: 'threshold',
      comparison: AT_LEAST,
      threshold: (c) => c.thresholds.forbiddenRequestsPer5Minutes,
    },
    evaluationPeriods: 1,
    missingData: { treat: cloudwatch.TreatMissingData.NOT_BREACHING, why: NO_EVENTS_IS_FINE },
  },
  {
    scope: 'api',
    id: 'RefusedCallers',
    severity: 'ticket',
    summary:
      'An authenticated AWS principal that is not on the API allow-list tried to get a token and was refused (403).',
    runbook: Runbook.RefusedCallers,
    metric: ({ refusedPrincipals }) => refusedPrincipals.uniqueContributors(),
    condition: {
      kind: 'threshold',
      comparison: AT_LEAST,
      threshold: (c) => c.thresholds.refusedCallersPer5Minutes,
    },
    evaluationPeriods: 1,
    missingData: { treat: cloudwatch.TreatMissingData.NOT_BREACHING, why: NO_EVENTS_IS_FINE },
  },
  {
    scope: 'api',
    id: 'DominantCaller',
    severity: 'ticket',
    summary:
      'One caller made far more token requests than the others for 15 minutes (it is probably not caching tokens, or is in a retry loop).',
    runbook: Runbook.DominantCaller,
    metric: ({ callers }, c) => callers.topContributorDominance(c.thresholds.callerDominanceMinRequests),
    condition: { kind: 'threshold', comparison: ABOVE, threshold: (c) => c.thresholds.callerDominanceFactor },
    evaluationPeriods: 3,
    missingData: {
      treat: cloudwatch.TreatMissingData.NOT_BREACHING,
      why: 'Contributor Insights publishes nothing for periods without requests: no requests, no dominant caller.',
    },
  },
  {
    scope: 'api',
    id: 'Api5xx',
    severity: 'page',
    summary:
      'The token API answered with server errors (5xx, usually 503 "no token available"): callers cannot get tokens.',
    runbook: Runbook.Api5xx,
    metric: ({ api }) => api.serverErrors(),
    condition: { kind: 'threshold', comparison: AT_LEAST, threshold: (c) => c.thresholds.api5xxPer5Minutes },
    evaluationPeriods: 1,
    missingData: {
      treat: cloudwatch.TreatMissingData.NOT_BREACHING,
      why: 'API Gateway publishes 5XXError only for periods with requests: no requests, no errors.',
    },
  },
  {
    scope: 'api',
    id: 'ApiLatencyP99',
    severity: 'ticket',
    summary: 'The token API was slow (p99 latency above the threshold) for 15 minutes.',
    runbook: Runbook.ApiLatency,
    metric: ({ api }) => api.latencyP99(),
    condition: { kind: 'threshold', comparison: ABOVE, threshold: (c) => c.thresholds.apiP99LatencyMs },
    evaluationPeriods: 3,
    missingData: {
      treat: cloudwatch.TreatMissingData.NOT_BREACHING,
      why: 'API Gateway publishes Latency only for periods with requests: no requests, nothing slow.',
    },
  },
  {
    scope: 'refreshWorkflow',
    id: 'RefreshWorkflowFailed',
    severity: 'ticket',
    summary:
      'A scheduled token refresh run failed, timed out or was aborted. The cached token is still served until it nears expiry; token-near-expiry pages if refreshes keep failing.',
    runbook: Runbook.RefreshWorkflowFailed,
    metric: ({ refresh }) => refresh.unsuccessful(),
    condition: {
      kind: 'threshold',
      comparison: AT_LEAST,
      threshold: (c) => c.thresholds.refreshFailuresPer5Minutes,
    },
    evaluationPeriods: 1,
    missingData: { treat: cloudwatch.TreatMissingData.NOT_BREACHING, why: NO_EVENTS_IS_FINE },
  },
  {
    scope: 'refreshWorkflow',
    id: 'TokenNearExpiry',
    severity: 'page',
    summary: 'The cached token is close to expiry: refresh is not keeping up and callers will soon get 503.',
    runbook: Runbook.TokenNearExpiry,
    metric: ({ broker, refreshWindow }) => broker.cachedTokenSecondsToExpiry(refreshWindow),
    condition: {
      kind: 'threshold',
      comparison: BELOW,
      threshold: (c) => c.thresholds.tokenExpiryWarningSeconds,
    },
    evaluationPeriods: 1,
    missingData: {
      treat: cloudwatch.TreatMissingData.NOT_BREACHING,
      why: "A period without reports is the RefreshSilent alarm's case (it pages too); this one reads only the seconds reported, so it pages at once, with no suppression wait.",
    },
  },
  {
    scope: 'refreshWorkflow',
    id: 'RefreshSilent',
    severity: 'page',
    summary:
      'No scheduled refresh has reported the cached token within the expected time: refresh is not running or finds no token, and callers will soon get 503.',
    runbook: Runbook.TokenNearExpiry,
    metric: ({ broker, refreshWindow }) => broker.cachedTokenReports(refreshWindow),
    condition: { kind: 'threshold', comparison: BELOW, threshold: () => 1 },
    evaluationPeriods: 1,
    missingData: {
      treat: cloudwatch.TreatMissingData.BREACHING,
      why: "Every scheduled refresh reports the cached token through mint-token, and the period holds at least one run: silence means refresh is not running (or there is no token), which is this alarm's case.",
    },
    // A fresh deploy has no token to report until credentials are put in.
    quietUntilConfigured: true,
  },
  {
    scope: 'refreshWorkflow',
    id: 'NotConfigured',
    severity: 'ticket',
    summary:
      'The broker has no ThroughLine credentials yet (first deploy): scheduled refreshes answer "not configured" and no token can be served. Put them in with: npm run -s broker -- --stage <stage> credentials set.',
    runbook: Runbook.NotConfigured,
    metric: ({ broker, refreshWindow }) => broker.notConfigured(refreshWindow),
    condition: { kind: 'threshold', comparison: AT_LEAST, threshold: () => 1 },
    evaluationPeriods: 1,
    missingData: { treat: cloudwatch.TreatMissingData.NOT_BREACHING, why: NO_EVENTS_IS_FINE },
  },
  {
    scope: 'proxy',
    id: 'QuotaReserveReached',
    severity: 'page',
    summary:
      "The organisation's rolling 24-hour use of ThroughLine's daily quota is at the reserve (proxy.reservePercent): the proxy refuses every call it cannot answer from the response cache (503 quota_reserve_reached), for every caller.",
    runbook: Runbook.QuotaReserveReached,
    metric: ({ proxy }) => proxy.quotaReserveReached(),
    condition: { kind: 'threshold', comparison: AT_LEAST, threshold: () => 1 },
    // Pages at the first refusal, and stays in ALARM until 15 minutes pass without one: refusals
    // come only with calls, and a quiet 5 minutes at the reserve is not the all-clear.
    evaluationPeriods: 3,
    datapointsToAlarm: 1,
    missingData: {
      treat: cloudwatch.TreatMissingData.NOT_BREACHING,
      why: 'The metric is only published when a call is refused at the reserve, so a period without data had no such refusal (no calls, or the window freed up).',
    },
  },
  {
    scope: 'proxy',
    id: 'QuotaShareExhausted',
    severity: 'ticket',
    summary:
      'A caller of the proxy used its daily share of the ThroughLine quota and was refused (429 quota_share_exhausted) until its rolling 24-hour window frees up. Other callers are unaffected.',
    runbook: Runbook.QuotaShareExhausted,
    metric: ({ proxy }) => proxy.quotaShareExhausted(),
    condition: {
      kind: 'threshold',
      comparison: AT_LEAST,
      threshold: (c) => c.thresholds.quotaShareRefusalsPer5Minutes,
    },
    // One ticket for a caller held at its share for hours, not one per retry: in ALARM from the first
    // refusal until an hour passes without one.
    evaluationPeriods: 12,
    datapointsToAlarm: 1,
    missingData: { treat: cloudwatch.TreatMissingData.NOT_BREACHING, why: NO_EVENTS_IS_FINE },
  },
  {
    scope: 'proxy',
    id: 'ThroughLineApiFailures',
    severity: 'ticket',
    summary:
      "Calls the proxy sent to ThroughLine's API failed (5xx, unreachable or timed out) at a rate above the threshold: ThroughLine is degraded or down, and proxy callers get its 5xx or 502/504 upstream_unavailable.",
    runbook: Runbook.ThroughLineApiFailures,
    metric: ({ proxy }, c) => proxy.upstreamApiFailurePercent(c.thresholds.upstreamApiMinCallsPer15Minutes),
    condition: {
      kind: 'threshold',
      comparison: AT_LEAST,
      threshold: (c) => c.thresholds.upstreamApiFailurePercentPer15Minutes,
    },
    evaluationPeriods: 1,
    missingData: {
      treat: cloudwatch.TreatMissingData.NOT_BREACHING,
      why: 'UpstreamApiCall is only published when the proxy calls ThroughLine, so the rate has no value in a period without calls: nothing was sent, nothing failed.',
    },
  },
  {
    scope: 'proxy',
    id: 'ThroughLineApiThrottled',
    severity: 'ticket',
    summary:
      "ThroughLine's API answered 429 to a share of the proxy's calls above the threshold. The broker keeps below ThroughLine's per-second limit and its daily quota, so the quota is being spent elsewhere (token-mode consumers or other applications calling ThroughLine directly) or ThroughLine counts differently.",
    runbook: Runbook.ThroughLineApiThrottled,
    metric: ({ proxy }, c) => proxy.upstreamApiThrottledPercent(c.thresholds.upstreamApiMinCallsPer15Minutes),
    condition: {
      kind: 'threshold',
      comparison: AT_LEAST,
      threshold: (c) => c.thresholds.upstreamApiThrottledPercentPer15Minutes,
    },
    evaluationPeriods: 1,
    missingData: {
      treat: cloudwatch.TreatMissingData.NOT_BREACHING,
      why: 'UpstreamApiCall is only published when the proxy calls ThroughLine, so the rate has no value in a period without calls: nothing was sent, nothing was refused.',
    },
  },
  {
    scope: 'function',
    id: 'LambdaErrors',
    severity: 'ticket',
    summary: 'A broker function failed with unhandled errors repeatedly.',
    runbook: Runbook.LambdaErrors,
    metric: ({ fn }) => fn.errors(),
    condition: {
      kind: 'threshold',
      comparison: AT_LEAST,
      threshold: (c) => c.thresholds.lambdaErrorsPer5Minutes,
    },
    evaluationPeriods: 1,
    missingData: {
      treat: cloudwatch.TreatMissingData.NOT_BREACHING,
      why: 'Lambda publishes Errors only for periods with invocations: no invocations, no errors.',
    },
  },
  {
    scope: 'function',
    id: 'LambdaThrottles',
    severity: 'ticket',
    summary:
      "A broker function was throttled repeatedly (concurrency limit reached: the account's, or a configured reserved concurrency).",
    runbook: Runbook.LambdaThrottles,
    metric: ({ fn }) => fn.throttles(),
    condition: {
      kind: 'threshold',
      comparison: AT_LEAST,
      threshold: (c) => c.thresholds.lambdaThrottlesPer5Minutes,
    },
    evaluationPeriods: 1,
    missingData: {
      treat: cloudwatch.TreatMissingData.NOT_BREACHING,
      why: 'Lambda publishes Throttles only when invocations are attempted: none attempted, none throttled.',
    },
  },
];

/** Comparison words for the alarm description. */
const COMPARISON_WORDS: Partial<Record<cloudwatch.ComparisonOperator, string>> = {
  [AT_LEAST]: '≥',
  [ABOVE]: '>',
  [BELOW]: '<',
};

/** The alarm's description: what happened, severity, the condition, and where the runbook is. */
export function alarmDescription(spec: AlarmSpec, condition: string, runbookUrl: string): string {
  return `[${spec.severity.toUpperCase()}] ${spec.summary} Condition: ${condition}. Runbook: ${runbookUrl}`;
}

export function describeCondition(
  spec: AlarmSpec,
  config: MonitoringConfig,
  metricLabel: string,
  periodSeconds: number,
): string {
  const breaching = spec.datapointsToAlarm ?? spec.evaluationPeriods;
  const over = `${breaching} of ${spec.evaluationPeriods} period(s) of ${formatPeriod(periodSeconds)}`;
  if (spec.condition.kind === 'anomaly') {
    return `${metricLabel} outside its anomaly band (${spec.condition.stdDevs(config)} standard deviations) in ${over}`;
  }
  const words = COMPARISON_WORDS[spec.condition.comparison] ?? spec.condition.comparison;
  return `${metricLabel} ${words} ${spec.condition.threshold(config)} in ${over}`;
}

function formatPeriod(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} day(s)`;
  if (seconds % 3_600 === 0) return `${seconds / 3_600} hour(s)`;
  return `${Math.round(seconds / 60)} min`;
}

/** The alarm name shows severity first, so on-call can sort and filter by it. */
export function alarmName(severity: Severity, serviceName: string, id: string): string {
  return `[${severity.toUpperCase()}] ${serviceName} ${id}`;
}
