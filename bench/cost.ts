import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../test/kit/builders/cdk-context';

/**
 * Monthly AWS cost of one broker stack at a given request rate. Prices: us-east-1 list prices
 * (on-demand, no free tier except where noted), as published by AWS; check them before budgeting.
 */
export const PRICES = {
  apiGatewayRestPerMillion: 3.5,
  lambdaRequestsPerMillion: 0.2,
  lambdaArmGbSecond: 0.0000133334,
  dynamoReadPerMillion: 0.125,
  dynamoWritePerMillion: 0.625,
  kmsKeyMonth: 1.0,
  kmsPer10kRequests: 0.03,
  secretMonth: 0.4,
  secretsPer10kCalls: 0.05,
  stepFunctionsPer1kTransitions: 0.025,
  schedulerPerMillion: 1.0,
  cloudWatchAlarm: 0.1,
  cloudWatchAnomalyAlarm: 0.3,
  customMetricMonth: 0.3,
  dashboardMonth: 3.0,
  contributorInsightsRuleMonth: 0.5,
  contributorInsightsPerMillionEvents: 0.02,
  logsIngestPerGb: 0.5,
  xrayPerMillionTraces: 5.0,
  snsEncryptedPerMillion: 0.5,
} as const;

export interface CostAssumptions {
  /** serve-token billed duration per request (L1 hit), ms. */
  readonly serveDurationMs: number;
  readonly serveMemoryGb: number;
  /** Bytes of logs per request: API access log line + serve-token audit line + EMF. */
  readonly logBytesPerRequest: number;
  /** L2 reads (and KMS decrypts) per warm serve-token instance per minute (L1 staleness bound). */
  readonly l2ReadsPerInstancePerMinute: number;
  /** Requests per second one warm instance absorbs (sets the instance count). */
  readonly requestsPerInstancePerSecond: number;
  readonly refreshRunsPerDay: number;
  readonly transitionsPerRefresh: number;
  readonly mintsPerDay: number;
  readonly alarms: number;
  readonly anomalyAlarms: number;
  readonly customMetrics: number;
  readonly contributorInsightsRules: number;
}

export const DEFAULT_ASSUMPTIONS: CostAssumptions = {
  serveDurationMs: 5,
  serveMemoryGb: 0.25,
  logBytesPerRequest: 1_000,
  l2ReadsPerInstancePerMinute: 2, // api.l1MaxAgeSeconds = 30
  requestsPerInstancePerSecond: 50,
  refreshRunsPerDay: 288,
  transitionsPerRefresh: 5,
  mintsPerDay: 32,
  alarms: 19,
  anomalyAlarms: 1,
  customMetrics: 12,
  contributorInsightsRules: 3,
};

const SECONDS_PER_MONTH = 30 * 86_400;

export function monthlyCost(rps: number, a: CostAssumptions = DEFAULT_ASSUMPTIONS): Record<string, number> {
  const requests = rps * SECONDS_PER_MONTH;
  const millions = requests / 1e6;
  const instances = Math.max(1, Math.ceil(rps / a.requestsPerInstancePerSecond));
  const l2Reads = instances * a.l2ReadsPerInstancePerMinute * 60 * 24 * 30;
  const mints = a.mintsPerDay * 30;
  const refreshRuns = a.refreshRunsPerDay * 30;
  // X-Ray default sampling: the first request each second, then 5 %.
  const traces = Math.min(rps, 1 + 0.05 * Math.max(0, rps - 1)) * SECONDS_PER_MONTH;
  return {
    'API Gateway (REST)': millions * PRICES.apiGatewayRestPerMillion,
    Lambda:
      millions * PRICES.lambdaRequestsPerMillion +
      requests * (a.serveDurationMs / 1000) * a.serveMemoryGb * PRICES.lambdaArmGbSecond +
      (refreshRuns + mints) * 0.3 * 0.25 * PRICES.lambdaArmGbSecond,
    DynamoDB:
      (l2Reads / 1e6) * PRICES.dynamoReadPerMillion +
      ((mints + refreshRuns) / 1e6) * (PRICES.dynamoReadPerMillion + PRICES.dynamoWritePerMillion),
    KMS: PRICES.kmsKeyMonth + ((l2Reads + 2 * mints + refreshRuns) / 1e4) * PRICES.kmsPer10kRequests,
    'Secrets Manager': PRICES.secretMonth + ((refreshRuns + mints) / 1e4) * PRICES.secretsPer10kCalls,
    'Step Functions + Scheduler':
      (refreshRuns * a.transitionsPerRefresh * PRICES.stepFunctionsPer1kTransitions) / 1000 +
      (refreshRuns / 1e6) * PRICES.schedulerPerMillion,
    'CloudWatch (alarms, metrics, dashboard, Contributor Insights, logs)':
      a.alarms * PRICES.cloudWatchAlarm +
      a.anomalyAlarms * PRICES.cloudWatchAnomalyAlarm +
      a.customMetrics * PRICES.customMetricMonth +
      PRICES.dashboardMonth +
      a.contributorInsightsRules *
        (PRICES.contributorInsightsRuleMonth + millions * PRICES.contributorInsightsPerMillionEvents) +
      ((requests * a.logBytesPerRequest) / 2 ** 30) * PRICES.logsIngestPerGb,
    'X-Ray': (Math.max(0, traces - 100_000) / 1e6) * PRICES.xrayPerMillionTraces,
  };
}

function main(): void {
  const rates = [1, 10, 100];
  const costs = rates.map((r) => monthlyCost(r));
  const services = Object.keys(costs[0] as object);
  const money = (n: number) => `$${n < 10 ? n.toFixed(2) : n.toFixed(0)}`;
  const rows = services.map((s) => `| ${s} | ${costs.map((c) => money(c[s] as number)).join(' | ')} |`);
  const totals = costs.map((c) => Object.values(c).reduce((x, y) => x + y, 0));
  const a = DEFAULT_ASSUMPTIONS;
  const doc = `# Monthly cost

Produced by \`npm run cost\` (model: \`bench/cost.ts\`). One broker stack, us-east-1 list prices,
30-day month, no free tier (except X-Ray's 100k traces). Check current prices before budgeting.

| Service | 1 req/s (${(2.592).toFixed(1)} M/month) | 10 req/s (25.9 M) | 100 req/s (259 M) |
|---|---|---|---|
${rows.join('\n')}
| **Total** | **${totals.map(money).join('** | **')}** |

Assumptions: serve-token answers from memory in ${a.serveDurationMs} ms billed at ${a.serveMemoryGb * 1024} MB (arm64);
${a.logBytesPerRequest} bytes of logs per request (API access log + audit line + metrics);
one warm instance per ${a.requestsPerInstancePerSecond} req/s, each re-reading the shared cache ${a.l2ReadsPerInstancePerMinute}×/min;
${a.refreshRunsPerDay} scheduled refresh runs/day of ${a.transitionsPerRefresh} state transitions; ${a.mintsPerDay} mints/day;
${a.alarms} alarms + ${a.anomalyAlarms} anomaly-detection alarm, ${a.customMetrics} custom metrics, ${a.contributorInsightsRules} Contributor Insights rules, one dashboard;
X-Ray default sampling (1 req/s + 5 %).

Prices used (USD): ${Object.entries(PRICES)
    .map(([k, v]) => `${k} ${v}`)
    .join('; ')}.

What dominates: API Gateway's per-request price, then log ingestion and X-Ray. ThroughLine's own
quota is untouched by the request rate: the broker mints about ${a.mintsPerDay} tokens a day whatever the load.
Cheaper options if cost matters more than the features: an HTTP API (about $1.00/M, but no
resource policies — the IAM-only design relies on them), lower X-Ray sampling, shorter log retention.
`;
  writeFileSync(path.join(PROJECT_ROOT, 'docs', 'cost.md'), doc);
  console.log(doc);
}

if (require.main === module) main();
