import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { describe, expect, it } from 'vitest';
import { stageSchema } from '../../lib/config/schema';
import { ACCESS_LOG_FIELDS, accessLogFormat } from '../../lib/constructs/access-log-format';
import { BrokerKey } from '../../lib/constructs/broker-key';
import { CredentialStore } from '../../lib/constructs/credential-store';
import { MintTokenFunction } from '../../lib/constructs/mint-token-function';
import { BrokerMonitoring, refreshWindow } from '../../lib/constructs/monitoring/broker-monitoring';
import { OnCallTopic } from '../../lib/constructs/on-call-topic';
import { TokenCacheTable } from '../../lib/constructs/token-cache-table';
import { refusedPrincipal, renderAccessLogLine, served, unsigned } from '../kit/builders/access-log-sample';
import { cdkJsonContext } from '../kit/builders/cdk-context';
import { resolveCfn } from '../kit/builders/cfn-resolve';
import { evaluateInsightRule, parseInsightRule } from '../kit/builders/contributor-insights';
import { nagFindings, resourcesOfType, type Template, testOutdir } from '../kit/builders/synth';

/**
 * The optional parts of BrokerMonitoring, proven now with small test-only resources: a REST API
 * that writes the access-log format of lib/constructs/access-log-format.ts, and a trivial state
 * machine standing in for the refresh workflow.
 */
type Props = Record<string, unknown>;
const config = stageSchema.parse({});
const SERVICE = 'BrokerMonitoringFixture';

function buildFixture() {
  const app = new App({ context: cdkJsonContext(), outdir: testOutdir('monitoring-api-workflow') });
  const stack = new Stack(app, SERVICE);
  const removalPolicy = RemovalPolicy.DESTROY;
  const { key } = new BrokerKey(stack, 'BrokerKey', { removalPolicy });
  const credentialStore = new CredentialStore(stack, 'CredentialStore', { key, removalPolicy });
  const tokenCache = new TokenCacheTable(stack, 'TokenCache', { key, removalPolicy });
  const onCall = new OnCallTopic(stack, 'OnCall', { removalPolicy });
  const mintToken = new MintTokenFunction(stack, 'MintToken', {
    config,
    key,
    credentialStore,
    tokenCache,
    logRetention: config.logRetentionDays,
    removalPolicy,
    serviceName: SERVICE,
  });

  const accessLogGroup = new logs.LogGroup(stack, 'ApiAccessLogs', { removalPolicy });
  const restApi = new apigateway.RestApi(stack, 'TokenApi', {
    restApiName: 'broker-fixture-api',
    deployOptions: {
      stageName: 'v1',
      accessLogDestination: new apigateway.LogGroupLogDestination(accessLogGroup),
      accessLogFormat: accessLogFormat(),
    },
    defaultMethodOptions: { authorizationType: apigateway.AuthorizationType.IAM },
  });
  restApi.root.addResource('token').addMethod('GET', new apigateway.MockIntegration());
  const stateMachine = new sfn.StateMachine(stack, 'Refresh', {
    definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'Noop')),
  });

  const monitoring = new BrokerMonitoring(stack, 'Monitoring', {
    config: config.monitoring,
    serviceName: SERVICE,
    onCall,
    credentialStore,
    functions: { MintToken: mintToken.handler },
    api: { restApi, stageName: restApi.deploymentStage.stageName, accessLogGroup },
    refreshWorkflow: { stateMachine, scheduleInterval: Duration.minutes(5) },
  });
  const template = app.synth().getStackByName(stack.stackName).template as Template;
  return { app, stack, monitoring, template };
}

const fixture = buildFixture();
const { template } = fixture;
const alarms = new Map(
  resourcesOfType(template, 'AWS::CloudWatch::Alarm').map(([, p]) => [p.AlarmName as string, p]),
);
const alarm = (severity: string, id: string) => {
  const found = alarms.get(`[${severity}] ${SERVICE} ${id}`);
  expect(found, id).toBeDefined();
  return found as Props;
};
const composites = new Map(
  resourcesOfType(template, 'AWS::CloudWatch::CompositeAlarm').map(([, p]) => [p.AlarmName as string, p]),
);
const alarmLogicalId = (name: string) =>
  resourcesOfType(template, 'AWS::CloudWatch::Alarm').find(([, p]) => p.AlarmName === name)?.[0];
const insightRules = new Map(
  resourcesOfType(template, 'AWS::CloudWatch::InsightRule').map(([id, p]) => [
    (p.RuleName as string).replace(`${SERVICE}-`, ''),
    { logicalId: id, body: parseInsightRule(resolveCfn(p.RuleBody, template.Resources) as string) },
  ]),
);
const ruleName = (name: string) => ({ 'Fn::GetAtt': [insightRules.get(name)?.logicalId, 'RuleName'] });
const expressions = (a: Props) =>
  (a.Metrics as { Id: string; Expression?: unknown; ReturnData?: boolean; Period?: number }[]).filter(
    (m) => m.Expression !== undefined,
  );
/** The PAGE topic, or with 'TICKET' the ticket topic, of the fixture's OnCallTopic. */
const topic = (severity: 'PAGE' | 'TICKET' = 'PAGE') => ({
  Ref: resourcesOfType(template, 'AWS::SNS::Topic').find(([id]) =>
    id.startsWith(severity === 'PAGE' ? 'OnCallTopic' : 'OnCallTicketTopic'),
  )?.[0],
});

describe('Contributor Insights rules over the API access log', () => {
  it('are three rules on the log group the API stage writes its access log to', () => {
    expect([...insightRules.keys()].sort()).toEqual(['callers', 'forbidden', 'refused-principals']);
    const [, stage] = resourcesOfType(template, 'AWS::ApiGateway::Stage')[0] as [string, Props];
    const destination = resolveCfn(
      (stage.AccessLogSetting as Props).DestinationArn,
      template.Resources,
    ) as string;
    for (const { body } of insightRules.values()) {
      expect(body.logGroupNames).toHaveLength(1);
      expect(destination).toContain(body.logGroupNames[0]);
    }
  });

  it('read only fields the access-log format writes', () => {
    const fields = new Set(Object.keys(ACCESS_LOG_FIELDS).map((f) => `$.${f}`));
    for (const { body } of insightRules.values()) {
      for (const path of [...body.keys, ...body.filters.map((f) => f.Match)]) expect(fields).toContain(path);
    }
  });

  it('count the lines API Gateway writes for served, refused and unsigned requests', () => {
    const alice = 'arn:aws:sts::444455556666:assumed-role/payments/i-1';
    const bob = 'arn:aws:sts::444455556666:assumed-role/reports/i-2';
    const mallory = 'arn:aws:sts::777788889999:assumed-role/intruder/x';
    const lines = [
      ...Array.from({ length: 5 }, () => renderAccessLogLine(served(alice))),
      ...Array.from({ length: 2 }, () => renderAccessLogLine(served(bob))),
      ...Array.from({ length: 3 }, () => renderAccessLogLine(refusedPrincipal(mallory))),
      ...Array.from({ length: 4 }, () => renderAccessLogLine(unsigned('198.51.100.7'))),
    ];
    const run = (name: string) => evaluateInsightRule(insightRules.get(name)?.body as never, lines);

    const callers = run('callers');
    expect(callers.unreadableLines).toBe(0);
    expect(Object.fromEntries(callers.contributors)).toEqual({ [alice]: 5, [bob]: 2, [mallory]: 3, '-': 4 });

    const forbidden = run('forbidden');
    expect(forbidden.sum).toBe(7);
    expect(Object.fromEntries(forbidden.contributors)).toEqual({
      [`${mallory} | 10.1.2.3`]: 3,
      '- | 198.51.100.7': 4,
    });

    const refused = run('refused-principals');
    expect(Object.fromEntries(refused.contributors)).toEqual({ [mallory]: 3 });
    expect(refused.uniqueContributors).toBe(1);
  });
});

describe('API alarms', () => {
  it('ForbiddenSpike reads the 403 rule total (INSIGHT_RULE_METRIC Sum)', () => {
    const a = alarm('TICKET', 'ForbiddenSpike');
    expect(expressions(a)).toEqual([
      expect.objectContaining({
        Expression: { 'Fn::Join': ['', ["INSIGHT_RULE_METRIC('", ruleName('forbidden'), "', 'Sum')"]] },
        Period: 300,
        ReturnData: true,
      }),
    ]);
    expect(a).toMatchObject({
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 20,
      TreatMissingData: 'notBreaching',
    });
  });

  it('RefusedCallers counts distinct refused principals (UniqueContributors)', () => {
    const a = alarm('TICKET', 'RefusedCallers');
    expect(expressions(a)[0]?.Expression).toEqual({
      'Fn::Join': ['', ["INSIGHT_RULE_METRIC('", ruleName('refused-principals'), "', 'UniqueContributors')"]],
    });
    expect(a).toMatchObject({
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it('DominantCaller compares the top caller with the average of the others, from the callers rule', () => {
    const a = alarm('TICKET', 'DominantCaller');
    const exprs = expressions(a);
    const main = exprs.find((m) => m.ReturnData !== false);
    expect(main?.Expression).toBe(
      'IF(callers >= 2 AND top >= 100, top / ((total - top) / (callers - 1)), 0)',
    );
    const parts = Object.fromEntries(
      exprs.filter((m) => m.ReturnData === false).map((m) => [m.Id, m.Expression]),
    );
    expect(parts).toEqual({
      callers: {
        'Fn::Join': ['', ["INSIGHT_RULE_METRIC('", ruleName('callers'), "', 'UniqueContributors')"]],
      },
      top: { 'Fn::Join': ['', ["INSIGHT_RULE_METRIC('", ruleName('callers'), "', 'MaxContributorValue')"]] },
      total: { 'Fn::Join': ['', ["INSIGHT_RULE_METRIC('", ruleName('callers'), "', 'Sum')"]] },
    });
    expect(a).toMatchObject({
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 10,
      EvaluationPeriods: 3,
    });
  });

  it('RequestVolumeAnomaly alarms outside the anomaly band of the API request count', () => {
    const a = alarm('TICKET', 'RequestVolumeAnomaly');
    const queries = a.Metrics as { Id: string; Expression?: string; MetricStat?: Props }[];
    const band = queries.find((q) => q.Expression?.startsWith('ANOMALY_DETECTION_BAND'));
    const count = queries.find((q) => q.MetricStat);
    expect(band?.Expression).toBe(`ANOMALY_DETECTION_BAND(${count?.Id}, 3)`);
    expect(count?.MetricStat).toEqual({
      Metric: {
        Namespace: 'AWS/ApiGateway',
        MetricName: 'Count',
        Dimensions: [
          // GET /token's detailed metrics, not the whole stage: proxy mode's route is not token traffic.
          { Name: 'ApiName', Value: 'broker-fixture-api' },
          { Name: 'Method', Value: 'GET' },
          { Name: 'Resource', Value: '/token' },
          { Name: 'Stage', Value: { Ref: expect.stringMatching(/^TokenApiDeploymentStagev1/) } },
        ],
      },
      Period: 300,
      Stat: 'Sum',
    });
    expect(a).toMatchObject({
      ComparisonOperator: 'LessThanLowerOrGreaterThanUpperThreshold',
      ThresholdMetricId: band?.Id,
      EvaluationPeriods: 3,
      TreatMissingData: 'notBreaching',
    });
    expect(a.Threshold).toBeUndefined();
  });

  it.each([
    ['PAGE', 'Api5xx', '5XXError', 'Sum', 'GreaterThanOrEqualToThreshold', 3],
    ['TICKET', 'ApiLatencyP99', 'Latency', 'p99', 'GreaterThanThreshold', 3000],
  ])('[%s] %s reads AWS/ApiGateway %s (%s)', (severity, id, metricName, stat, comparison, threshold) => {
    const a = alarm(severity, id);
    const [query] = a.Metrics as { MetricStat: { Metric: Props; Stat: string; Period: number } }[];
    expect(query?.MetricStat.Metric).toMatchObject({ Namespace: 'AWS/ApiGateway', MetricName: metricName });
    expect(query?.MetricStat.Stat).toBe(stat);
    expect(a).toMatchObject({
      ComparisonOperator: comparison,
      Threshold: threshold,
      TreatMissingData: 'notBreaching',
    });
  });
});

describe('refresh workflow alarms', () => {
  it('RefreshWorkflowFailed adds failed, timed-out and aborted executions of the state machine', () => {
    const a = alarm('TICKET', 'RefreshWorkflowFailed');
    const queries = a.Metrics as { Id: string; Expression?: string; MetricStat?: { Metric: Props } }[];
    expect(queries.find((q) => q.Expression)?.Expression).toBe(
      'FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)',
    );
    const stateMachineRef = { Ref: resourcesOfType(template, 'AWS::StepFunctions::StateMachine')[0]?.[0] };
    expect(queries.filter((q) => q.MetricStat).map((q) => [q.Id, q.MetricStat?.Metric])).toEqual([
      [
        'failed',
        {
          Namespace: 'AWS/States',
          MetricName: 'ExecutionsFailed',
          Dimensions: [{ Name: 'StateMachineArn', Value: stateMachineRef }],
        },
      ],
      [
        'timedOut',
        {
          Namespace: 'AWS/States',
          MetricName: 'ExecutionsTimedOut',
          Dimensions: [{ Name: 'StateMachineArn', Value: stateMachineRef }],
        },
      ],
      [
        'aborted',
        {
          Namespace: 'AWS/States',
          MetricName: 'ExecutionsAborted',
          Dimensions: [{ Name: 'StateMachineArn', Value: stateMachineRef }],
        },
      ],
    ]);
    expect(a).toMatchObject({
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it("TokenNearExpiry pages at once when the minimum seconds to expiry reported is low (no report is RefreshSilent's case)", () => {
    const a = alarm('PAGE', 'TokenNearExpiry');
    const [query] = a.Metrics as { MetricStat: Props }[];
    expect(query?.MetricStat).toEqual({
      Metric: {
        Namespace: 'ThroughLineTokenBroker',
        MetricName: 'CachedTokenSecondsToExpiry',
        Dimensions: [{ Name: 'service', Value: SERVICE }],
      },
      Period: 600,
      Stat: 'Minimum',
    });
    expect(a).toMatchObject({
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 300,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic()],
    });
  });

  it('RefreshSilent: no report in two schedule intervals breaches a signal alarm with no actions; a composite pages, suppressed by NotConfigured', () => {
    const signalName = `[PAGE] ${SERVICE} RefreshSilent (signal)`;
    const signal = alarms.get(signalName) as Props;
    expect(signal).toBeDefined();
    const [query] = signal.Metrics as { MetricStat: Props }[];
    expect(query?.MetricStat).toMatchObject({
      Metric: { MetricName: 'CachedTokenSecondsToExpiry' },
      Period: 600,
      Stat: 'SampleCount',
    });
    expect(signal).toMatchObject({
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
    });
    // Its own actions would page regardless of the suppressor.
    expect(signal.AlarmActions).toBeUndefined();
    expect(signal.OKActions).toBeUndefined();

    const paging = composites.get(`[PAGE] ${SERVICE} RefreshSilent`) as Props;
    expect(paging).toBeDefined();
    expect(JSON.stringify(paging.AlarmRule)).toContain(`"${alarmLogicalId(signalName)}","Arn"`);
    expect(paging.ActionsSuppressor).toEqual({
      'Fn::GetAtt': [alarmLogicalId(`[TICKET] ${SERVICE} NotConfigured`), 'Arn'],
    });
    // A fresh deploy: the signal breaches at once; NotConfigured needs one run (≤ 5 min) and one evaluation.
    expect(paging.ActionsSuppressorWaitPeriod).toBe(900);
    expect(paging.ActionsSuppressorExtensionPeriod).toBe(600);
    expect(paging).toMatchObject({ AlarmActions: [topic()], OKActions: [topic()], ActionsEnabled: true });
    expect(paging.AlarmDescription).toMatch(/Suppressed while \[TICKET\] .* NotConfigured is in ALARM/);
  });

  it('NotConfigured is one TICKET while mint-token answers "not configured", and names the command to run', () => {
    const a = alarm('TICKET', 'NotConfigured');
    const [query] = a.Metrics as { MetricStat: Props }[];
    expect(query?.MetricStat).toMatchObject({
      Metric: { MetricName: 'BrokerNotConfigured' },
      Period: 600,
      Stat: 'Sum',
    });
    expect(a).toMatchObject({
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic('TICKET')],
    });
    expect(a.AlarmDescription).toContain('npm run -s broker -- --stage <stage> credentials set');
    expect(a.AlarmDescription).toContain('docs/runbooks/not-configured.md');
  });

  it('the staleness window is twice the schedule, at least 5 minutes, in whole minutes', () => {
    expect(refreshWindow(Duration.minutes(1)).toSeconds()).toBe(300);
    expect(refreshWindow(Duration.seconds(270)).toSeconds()).toBe(540);
    expect(refreshWindow(Duration.hours(12)).toSeconds()).toBe(86_400);
    expect(() => refreshWindow(Duration.seconds(30))).toThrow(/between 1 minute and 12 hours/);
    expect(() => refreshWindow(Duration.hours(13))).toThrow(/between 1 minute and 12 hours/);
  });
});

describe('all alarms with the optional parts', () => {
  it('exist once each, every one with alarm and OK actions to the on-call topic', () => {
    const paging = [...alarms.entries(), ...composites.entries()].filter(
      ([name]) => !name.endsWith(' (signal)'),
    );
    expect(paging.map(([n]) => n.split(' ').at(-1)).sort()).toEqual(
      [
        'Api5xx',
        'ApiLatencyP99',
        'CredentialAge',
        'CredentialsRejected',
        'DominantCaller',
        'ForbiddenSpike',
        'LambdaErrors-MintToken',
        'LambdaThrottles-MintToken',
        'MintFailures',
        'NotConfigured',
        'NotificationDeliveryFailed',
        'RefreshSilent',
        'RefreshWorkflowFailed',
        'RefusedCallers',
        'RequestVolumeAnomaly',
        'TokenNearExpiry',
        'UpstreamDailyBudget',
        'UpstreamGateBudgetHalf',
        'UpstreamGateBudgetReached',
        'UpstreamGateClosed',
        'UpstreamGateOverridden',
        'UpstreamHourlyBurn',
      ].sort(),
    );
    for (const [name, a] of paging) {
      const severity = name.startsWith('[PAGE]') ? 'PAGE' : 'TICKET';
      expect(a.AlarmActions, name).toEqual([topic(severity)]);
      expect(a.OKActions, name).toEqual([topic(severity)]);
      expect((a.AlarmDescription as string).length).toBeLessThanOrEqual(1024);
    }
  });

  it('the dashboard shows top callers and refused callers from the rules, and API latency', () => {
    const [, props] = resourcesOfType(template, 'AWS::CloudWatch::Dashboard')[0] as [string, Props];
    const body = JSON.parse(resolveCfn(props.DashboardBody, template.Resources) as string) as {
      widgets: { properties: { title?: string; insightRule?: { ruleName: string } } }[];
    };
    const insightWidgets = body.widgets.filter((w) => w.properties.insightRule);
    expect(insightWidgets.map((w) => [w.properties.title, w.properties.insightRule?.ruleName])).toEqual([
      ['Top callers (requests)', `${SERVICE}-callers`],
      ['Refused (403) by caller and source IP', `${SERVICE}-forbidden`],
    ]);
    expect(body.widgets.map((w) => w.properties.title)).toEqual(
      expect.arrayContaining(['Token API latency (ms)', 'Refresh workflow runs']),
    );
  });

  it('refuses function role names that cannot be part of an alarm name', () => {
    const { stack, monitoring } = fixture;
    expect(
      () =>
        new BrokerMonitoring(stack, 'Misnamed', {
          config: config.monitoring,
          serviceName: SERVICE,
          onCall: monitoring.node.scope?.node.findChild('OnCall') as OnCallTopic,
          credentialStore: stack.node.findChild('CredentialStore') as CredentialStore,
          functions: { 'mint-token': (stack.node.findChild('MintToken') as MintTokenFunction).handler },
        }),
    ).toThrow(/function role name "mint-token" must be PascalCase letters and digits \(e\.g\. MintToken\)/);
  });

  it('adds no cdk-nag finding of its own', () => {
    const all = nagFindings(fixture.app);
    // The test-only API and state machine have findings of their own: proof the check runs.
    expect(all.some((f) => f.includes(`: ${SERVICE}/TokenApi/`))).toBe(true);
    expect(all.filter((f) => new RegExp(`: ${SERVICE}/(Monitoring|OnCall)/`).test(f))).toEqual([]);
  });
});
