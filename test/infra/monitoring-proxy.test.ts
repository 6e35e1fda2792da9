import { describe, expect, it } from 'vitest';
import { MetricName } from '../../contract/metric-names';
import { stageSchema } from '../../lib/config/schema';
import { ALARM_CATALOG } from '../../lib/constructs/monitoring/alarm-catalog';
import { PROXY_AUDIT_MESSAGE } from '../../lib/constructs/monitoring/proxy-insight-rules';
import { resolveCfn } from '../kit/builders/cfn-resolve';
import { evaluateInsightRule, parseInsightRule } from '../kit/builders/contributor-insights';
import { resourcesOfType, synthBroker, type Template } from '../kit/builders/synth';

/**
 * Proxy mode's monitoring in the deployed stack (default stage: `proxy.enabled`): its alarms, the
 * Contributor Insights rules over proxy-throughline's audit lines and the dashboard's proxy section —
 * and none of them in a stack with `proxy.enabled` false. That the handler emits what these read is
 * test/integration/metric-contract.test.ts's part (the bundled proxy, its metrics and its audit lines).
 */
type Props = Record<string, unknown>;
interface MetricQuery {
  Id: string;
  Expression?: string;
  ReturnData?: boolean;
  MetricStat?: {
    Metric: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: unknown }[] };
    Period: number;
    Stat: string;
  };
}

const on = synthBroker('monitoring-proxy');
const off = synthBroker('monitoring-proxy-off', { proxy: { enabled: false } });
const stackName = on.stack.stackName;
const thresholds = stageSchema.parse({}).monitoring.thresholds;
const PROXY_ALARM_IDS = ALARM_CATALOG.filter((s) => s.scope === 'proxy').map((s) => s.id);

const alarmsOf = (t: Template) =>
  new Map(resourcesOfType(t, 'AWS::CloudWatch::Alarm').map(([, p]) => [p.AlarmName as string, p]));
const alarms = alarmsOf(on.template);
const alarm = (severity: 'PAGE' | 'TICKET', id: string) => {
  const found = alarms.get(`[${severity}] ${stackName} ${id}`);
  expect(found, id).toBeDefined();
  return found as Props;
};
const topic = (t: Template, severity: 'PAGE' | 'TICKET') => ({
  Ref: resourcesOfType(t, 'AWS::SNS::Topic').find(([id]) =>
    id.startsWith(severity === 'PAGE' ? 'OnCallTopic' : 'OnCallTicketTopic'),
  )?.[0],
});
const brokerMetric = (name: string) => ({
  Namespace: 'ThroughLineTokenBroker',
  MetricName: name,
  Dimensions: [{ Name: 'service', Value: stackName }],
});
const insightRules = (t: Template) =>
  new Map(
    resourcesOfType(t, 'AWS::CloudWatch::InsightRule').map(([id, p]) => [
      (p.RuleName as string).replace(`${stackName}-`, ''),
      { logicalId: id, body: parseInsightRule(resolveCfn(p.RuleBody, t.Resources) as string) },
    ]),
  );
const dashboardOf = (t: Template) => {
  const [, props] = resourcesOfType(t, 'AWS::CloudWatch::Dashboard')[0] as [string, Props];
  return JSON.parse(resolveCfn(props.DashboardBody, t.Resources) as string) as {
    widgets: {
      type: string;
      properties: {
        title?: string;
        metrics?: unknown[];
        insightRule?: { ruleName: string };
        annotations?: { horizontal?: { value: number; label: string }[] };
      };
    }[];
  };
};

describe('proxy mode alarms', () => {
  it.each([
    ['PAGE', 'QuotaReserveReached', 'QuotaReserveReached', 1, 3, 1],
    ['TICKET', 'QuotaShareExhausted', 'QuotaShareExhausted', thresholds.quotaShareRefusalsPer5Minutes, 12, 1],
  ] as const)(
    '[%s] %s: %s (Sum of 5 min) at or above %s, in ALARM from the first refusal until %s quiet periods pass',
    (severity, id, metricName, threshold, periods, toAlarm) => {
      const a = alarm(severity, id);
      const queries = a.Metrics as MetricQuery[];
      expect(queries).toHaveLength(1);
      expect(queries[0]?.MetricStat).toEqual({ Metric: brokerMetric(metricName), Period: 300, Stat: 'Sum' });
      expect(a).toMatchObject({
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: threshold,
        EvaluationPeriods: periods,
        DatapointsToAlarm: toAlarm,
        TreatMissingData: 'notBreaching',
        ActionsEnabled: true,
        AlarmActions: [topic(on.template, severity)],
        OKActions: [topic(on.template, severity)],
      });
    },
  );

  it.each([
    [
      'ThroughLineApiFailures',
      'failed',
      'UpstreamApiFailed',
      thresholds.upstreamApiFailurePercentPer15Minutes,
    ],
    [
      'ThroughLineApiThrottled',
      'throttled',
      'UpstreamApiThrottled',
      thresholds.upstreamApiThrottledPercentPer15Minutes,
    ],
  ] as const)(
    '[TICKET] %s: %s ÷ UpstreamApiCall in percent over 15 minutes, 0 below the minimum calls',
    (id, part, metricName, threshold) => {
      const a = alarm('TICKET', id);
      const queries = a.Metrics as MetricQuery[];
      const main = queries.filter((q) => q.ReturnData !== false);
      expect(main.map((q) => q.Expression)).toEqual([
        `IF(calls >= ${thresholds.upstreamApiMinCallsPer15Minutes}, 100 * FILL(${part}, 0) / calls, 0)`,
      ]);
      const inputs = Object.fromEntries(
        queries.filter((q) => q.ReturnData === false).map((q) => [q.Id, q.MetricStat]),
      );
      expect(inputs).toEqual({
        calls: { Metric: brokerMetric(MetricName.UpstreamApiCall), Period: 900, Stat: 'Sum' },
        [part]: { Metric: brokerMetric(metricName), Period: 900, Stat: 'Sum' },
      });
      expect(a).toMatchObject({
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: threshold,
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
        AlarmActions: [topic(on.template, 'TICKET')],
        OKActions: [topic(on.template, 'TICKET')],
      });
      expect(a.AlarmDescription).toContain(`in 1 of 1 period(s) of 15 min`);
    },
  );

  it('the thresholds above are the config defaults', () => {
    expect(thresholds).toMatchObject({
      quotaShareRefusalsPer5Minutes: 1,
      upstreamApiFailurePercentPer15Minutes: 25,
      upstreamApiThrottledPercentPer15Minutes: 10,
      upstreamApiMinCallsPer15Minutes: 5,
    });
  });

  it('a stack with proxy.enabled false has none of them, and no alarm reads a proxy metric', () => {
    const offAlarms = alarmsOf(off.template);
    expect(offAlarms.size).toBeGreaterThan(10);
    const ids = [...offAlarms.keys()].map((name) => name.split(' ').at(-1) as string);
    for (const id of [...PROXY_ALARM_IDS, 'LambdaErrors-ProxyThroughLine']) expect(ids).not.toContain(id);
    const proxyMetricNames = [
      MetricName.UpstreamApiCall,
      MetricName.UpstreamApiFailed,
      MetricName.UpstreamApiThrottled,
      MetricName.QuotaShareExhausted,
      MetricName.QuotaReserveReached,
    ];
    const text = JSON.stringify(off.template.Resources);
    for (const name of proxyMetricNames) expect(text).not.toContain(`"${name}"`);
    // And the proxy stack has each, once.
    for (const id of PROXY_ALARM_IDS) {
      expect(
        [...alarms.keys()].filter((n) => n.endsWith(` ${id}`)),
        id,
      ).toHaveLength(1);
    }
  });
});

describe("Contributor Insights rules over proxy-throughline's audit lines", () => {
  const rules = insightRules(on.template);
  const proxyLogGroup = () => {
    const found = resourcesOfType(on.template, 'AWS::Logs::LogGroup').filter(([id]) =>
      id.startsWith('ProxyHandlerLogs'),
    );
    expect(found).toHaveLength(1);
    return resolveCfn({ Ref: found[0]?.[0] }, on.template.Resources) as string;
  };

  it("are two rules on the proxy function's own log group", () => {
    expect([...rules.keys()].filter((n) => n.startsWith('throughline-')).sort()).toEqual([
      'throughline-consumers',
      'throughline-share-refused',
    ]);
    for (const name of ['throughline-consumers', 'throughline-share-refused']) {
      expect(rules.get(name)?.body.logGroupNames).toEqual([proxyLogGroup()]);
    }
    const [, fn] = resourcesOfType(on.template, 'AWS::Lambda::Function').find(([id]) =>
      id.startsWith('ProxyHandlerFunction'),
    ) as [string, Props];
    expect(resolveCfn((fn.LoggingConfig as Props).LogGroup, on.template.Resources)).toBe(proxyLogGroup());
  });

  it('count the ThroughLine calls per caller role, and the refusals for a share; nothing else in the log group', () => {
    const orders = 'arn:aws:iam::123456789012:role/orders-service';
    const billing = 'arn:aws:iam::123456789012:role/billing-service';
    const line = (audit: Record<string, unknown>) =>
      JSON.stringify({ level: 'INFO', message: PROXY_AUDIT_MESSAGE, service: stackName, audit });
    const lines = [
      line({ caller: orders, status: 200, outcome: 'forwarded', cache: 'miss', attempts: 1 }),
      line({ caller: orders, status: 200, outcome: 'forwarded', cache: 'miss', attempts: 2 }),
      line({ caller: orders, status: 502, outcome: 'refused', error: 'upstream_unavailable', attempts: 1 }),
      line({ caller: orders, status: 429, outcome: 'refused', error: 'quota_share_exhausted' }),
      line({ caller: orders, status: 429, outcome: 'refused', error: 'quota_share_exhausted' }),
      line({ caller: billing, status: 200, outcome: 'forwarded', cache: 'hit' }),
      line({ caller: billing, status: 503, outcome: 'refused', error: 'rate_limited', attempts: 0 }),
      line({ caller: billing, status: 200, outcome: 'forwarded', cache: 'miss', attempts: 1 }),
      // Other lines of the log group: a warning naming the path, an EMF record, a platform line.
      JSON.stringify({
        level: 'WARN',
        message: 'ThroughLine rejected the cached token',
        pathTemplate: '/v2/topics',
      }),
      JSON.stringify({ _aws: { CloudWatchMetrics: [] }, service: stackName, UpstreamApiCall: 1 }),
      JSON.stringify({ time: '2026-12-01T12:00:00Z', type: 'platform.report', record: {} }),
    ];
    const run = (name: string) => evaluateInsightRule(rules.get(name)?.body as never, lines);

    const consumers = run('throughline-consumers');
    expect(consumers.unreadableLines).toBe(0);
    expect(Object.fromEntries(consumers.contributors)).toEqual({ [orders]: 4, [billing]: 1 });

    const refused = run('throughline-share-refused');
    expect(Object.fromEntries(refused.contributors)).toEqual({ [orders]: 2 });
  });

  it('a stack with proxy.enabled false has only the access-log rules', () => {
    expect([...insightRules(off.template).keys()].sort()).toEqual([
      'callers',
      'forbidden',
      'refused-principals',
    ]);
  });
});

describe('dashboard: the proxy mode section', () => {
  const PROXY_TITLES = [
    'ThroughLine API calls and daily quota used',
    'Proxy refusals by kind',
    'ThroughLine API failures and 429s (% of calls)',
    'Top consumers of ThroughLine calls',
    'Refused for their daily share, by caller',
    'ThroughLine API latency (ms)',
    'Response cache',
  ];

  it('shows calls and quota used, refusals by kind, failure and 429 rates, top consumers, latency and the cache', () => {
    const body = dashboardOf(on.template);
    const titles = body.widgets.map((w) => w.properties.title);
    expect(titles).toEqual(expect.arrayContaining(PROXY_TITLES));
    const metricsOf = (title: string) =>
      JSON.stringify(body.widgets.find((w) => w.properties.title === title)?.properties.metrics);
    for (const [title, names] of [
      ['ThroughLine API calls and daily quota used', ['UpstreamApiCall', 'ProxyRequest', 'QuotaUsedPercent']],
      [
        'Proxy refusals by kind',
        ['QuotaShareExhausted', 'QuotaReserveReached', 'ProxyRateLimited', 'ProxyRequestRefused'],
      ],
      [
        'ThroughLine API failures and 429s (% of calls)',
        ['UpstreamApiCall', 'UpstreamApiFailed', 'UpstreamApiThrottled', 'UpstreamApiTokenRejected'],
      ],
      ['ThroughLine API latency (ms)', ['UpstreamApiLatency', 'p50', 'p99']],
      ['Response cache', ['ProxyCacheHit', 'ProxyCacheStaleServed', 'ProxyCacheStoreSkipped']],
    ] as const) {
      for (const name of names) expect(metricsOf(title), `${title}: ${name}`).toContain(`"${name}"`);
    }
    expect(
      body.widgets
        .filter((w) => w.properties.insightRule)
        .map((w) => [w.properties.title, w.properties.insightRule?.ruleName])
        .filter(([title]) => PROXY_TITLES.includes(title as string)),
    ).toEqual([
      ['Top consumers of ThroughLine calls', `${stackName}-throughline-consumers`],
      ['Refused for their daily share, by caller', `${stackName}-throughline-share-refused`],
    ]);
  });

  it('draws the rate alarms’ own thresholds on the rate graph', () => {
    const body = dashboardOf(on.template);
    const lines =
      body.widgets.find((w) => w.properties.title === 'ThroughLine API failures and 429s (% of calls)')
        ?.properties.annotations?.horizontal ?? [];
    expect(lines.map((l) => l.value)).toEqual([
      alarm('TICKET', 'ThroughLineApiFailures').Threshold,
      alarm('TICKET', 'ThroughLineApiThrottled').Threshold,
    ]);
  });

  it('a stack with proxy.enabled false has no proxy section', () => {
    const body = dashboardOf(off.template);
    const titles = body.widgets.map((w) => w.properties.title);
    for (const title of PROXY_TITLES) expect(titles).not.toContain(title);
    expect(JSON.stringify(body)).not.toMatch(/Proxy mode|UpstreamApiCall|QuotaUsedPercent/);
  });
});
