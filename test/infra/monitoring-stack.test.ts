import { describe, expect, it } from 'vitest';
import { stageSchema } from '../../lib/config/schema';
import { ALARM_CATALOG } from '../../lib/constructs/monitoring/alarm-catalog';
import { FAKE_SECRET_SUFFIX, generatedName, resolveCfn } from '../kit/builders/cfn-resolve';
import { getSecretValueEvent, identity, rotationServiceEvent } from '../kit/builders/cloudtrail-events';
import { matchesEventPattern } from '../kit/builders/event-pattern-matcher';
import { renderInputTransformer } from '../kit/builders/input-transformer';
import { nagFindings, resourcesOfType, synthBroker, type Template } from '../kit/builders/synth';

/**
 * The deployed stack (default stage, as `cdk synth` builds it): the alarms that exist without the
 * API and refresh workflow, the on-call topic, the secret audit rules and the dashboard.
 */
type Props = Record<string, unknown>;
interface MetricQuery {
  Id: string;
  Expression?: unknown;
  MetricStat?: {
    Metric: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: unknown }[] };
    Period: number;
    Stat: string;
  };
}

// Synthesized while the file is collected: the table-driven tests below are built from it.
const synthesized = synthBroker('monitoring-stack');
const template: Template = synthesized.template;
const stackName = synthesized.stack.stackName;
const config = stageSchema.parse({}).monitoring;

function alarmsByName(t: Template): Map<string, Props> {
  return new Map(resourcesOfType(t, 'AWS::CloudWatch::Alarm').map(([, p]) => [p.AlarmName as string, p]));
}
/** The PAGE topic (OnCallTopic…) or the TICKET topic (OnCallTicketTopic…) the stack creates. */
const topicRef = (severity: 'PAGE' | 'TICKET' = 'PAGE') => {
  const prefix = severity === 'PAGE' ? 'OnCallTopic' : 'OnCallTicketTopic';
  const found = resourcesOfType(template, 'AWS::SNS::Topic').filter(([id]) => id.startsWith(prefix));
  expect(found, prefix).toHaveLength(1);
  return { Ref: (found[0] as [string, Props])[0] };
};
const logicalIdOf = (type: string, pathPart: string) => {
  const found = Object.entries(template.Resources).filter(
    ([id, r]) => r.Type === type && id.startsWith(pathPart),
  );
  expect(found, `${type} ${pathPart}`).toHaveLength(1);
  return (found[0] as [string, unknown])[0];
};

const alarms = alarmsByName(template);

describe('alarms of the deployed stack', () => {
  /** What each alarm must read, written out independently of the metric factory. */
  const expected = () => {
    const mintFunction = { Ref: logicalIdOf('AWS::Lambda::Function', 'MintTokenHandlerFunction') };
    const queueName = {
      'Fn::GetAtt': [logicalIdOf('AWS::SQS::Queue', 'OnCallDeliveryFailures'), 'QueueName'],
    };
    const broker = (metricName: string) => ({
      Namespace: 'ThroughLineTokenBroker',
      MetricName: metricName,
      Dimensions: [{ Name: 'service', Value: stackName }],
    });
    return [
      {
        id: 'CredentialsRejected',
        severity: 'PAGE',
        metric: broker('InvalidClient'),
        stat: 'Sum',
        period: 300,
        comparison: 'GreaterThanOrEqualToThreshold',
        threshold: 1,
        missing: 'notBreaching',
      },
      {
        id: 'MintFailures',
        severity: 'TICKET',
        metric: broker('MintFailed'),
        stat: 'Sum',
        period: 900,
        comparison: 'GreaterThanOrEqualToThreshold',
        threshold: 3,
        missing: 'notBreaching',
      },
      {
        id: 'UpstreamDailyBudget',
        severity: 'PAGE',
        metric: broker('UpstreamTokenRequest'),
        stat: 'Sum',
        period: 86_400,
        comparison: 'GreaterThanOrEqualToThreshold',
        threshold: 800,
        missing: 'notBreaching',
      },
      {
        id: 'UpstreamHourlyBurn',
        severity: 'TICKET',
        metric: broker('UpstreamTokenRequest'),
        stat: 'Sum',
        period: 3_600,
        comparison: 'GreaterThanThreshold',
        threshold: 42,
        missing: 'notBreaching',
      },
      {
        id: 'CredentialAge',
        severity: 'TICKET',
        metric: broker('CredentialAgeDays'),
        stat: 'Maximum',
        period: 86_400,
        comparison: 'GreaterThanThreshold',
        threshold: 90,
        missing: 'ignore',
      },
      {
        id: 'NotificationDeliveryFailed',
        severity: 'TICKET',
        metric: {
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [{ Name: 'QueueName', Value: queueName }],
        },
        stat: 'Maximum',
        period: 300,
        comparison: 'GreaterThanOrEqualToThreshold',
        threshold: 1,
        missing: 'ignore',
      },
      {
        id: 'LambdaErrors-MintToken',
        severity: 'TICKET',
        metric: {
          Namespace: 'AWS/Lambda',
          MetricName: 'Errors',
          Dimensions: [{ Name: 'FunctionName', Value: mintFunction }],
        },
        stat: 'Sum',
        period: 300,
        comparison: 'GreaterThanOrEqualToThreshold',
        threshold: 3,
        missing: 'notBreaching',
      },
      {
        id: 'LambdaThrottles-MintToken',
        severity: 'TICKET',
        metric: {
          Namespace: 'AWS/Lambda',
          MetricName: 'Throttles',
          Dimensions: [{ Name: 'FunctionName', Value: mintFunction }],
        },
        stat: 'Sum',
        period: 300,
        comparison: 'GreaterThanOrEqualToThreshold',
        threshold: 10,
        missing: 'notBreaching',
      },
    ];
  };

  it('has every alarm that needs neither the API nor the refresh workflow', () => {
    expect([...alarms.keys()].sort()).toEqual(
      expect.arrayContaining(expected().map((e) => `[${e.severity}] ${stackName} ${e.id}`)),
    );
  });

  it.each(expected().map((e) => [e.id, e] as const))(
    '%s: metric, statistic, period, threshold, comparison, missing data, alarm and OK actions',
    (_, e) => {
      const alarm = alarms.get(`[${e.severity}] ${stackName} ${e.id}`) as Props;
      expect(alarm).toBeDefined();
      const queries = alarm.Metrics as MetricQuery[];
      expect(queries).toHaveLength(1);
      expect(queries[0]?.MetricStat).toEqual({ Metric: e.metric, Period: e.period, Stat: e.stat });
      expect(alarm).toMatchObject({
        ComparisonOperator: e.comparison,
        Threshold: e.threshold,
        TreatMissingData: e.missing,
        ActionsEnabled: true,
        AlarmActions: [topicRef(e.severity as 'PAGE' | 'TICKET')],
        OKActions: [topicRef(e.severity as 'PAGE' | 'TICKET')],
      });
      expect(alarm.DatapointsToAlarm).toBe(alarm.EvaluationPeriods);
    },
  );

  it('descriptions say what happened, the severity, the condition and the runbook', () => {
    for (const [rawName, alarm] of alarms) {
      const name = rawName.replace(/ \(signal\)$/, '');
      const id = name.split(' ').at(-1) as string;
      const spec = ALARM_CATALOG.find((s) => s.id === id.split('-')[0]);
      expect(spec, name).toBeDefined();
      const description = alarm.AlarmDescription as string;
      expect(description.startsWith(`[${spec?.severity.toUpperCase()}] ${spec?.summary}`)).toBe(true);
      expect(description).toMatch(/Condition: .+ in \d+ of \d+ period\(s\) of /);
      expect(description).toContain(`Runbook: docs/runbooks/${spec?.runbook}.md`);
      expect(description.length).toBeLessThanOrEqual(1024);
    }
  });
});

describe('on-call topic', () => {
  it('is two KMS-encrypted topics, PAGE and TICKET, on one key, that refuse publishing without TLS', () => {
    const topics = resourcesOfType(template, 'AWS::SNS::Topic');
    expect(topics.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual([
      'OnCallTicketTopic',
      'OnCallTopic',
    ]);
    expect(new Set(topics.map(([, t]) => JSON.stringify(t.KmsMasterKeyId))).size).toBe(1);
    expect((topics[0] as [string, Props])[1].KmsMasterKeyId).toBeDefined();
    expect(resourcesOfType(template, 'AWS::SNS::TopicPolicy')).toHaveLength(2);
    const policies = resourcesOfType(template, 'AWS::SNS::TopicPolicy');
    expect(JSON.stringify(policies)).toContain('"aws:SecureTransport":"false"');
  });

  it('uses an existing topic from config instead, for alarms and events alike', () => {
    const existing = 'arn:aws:sns:eu-west-2:123456789012:pager';
    const { template: t } = synthBroker('monitoring-existing-topic', {
      monitoring: { alarmTopicArn: existing, emailSubscriptions: ['oncall@example.org'] },
    });
    expect(resourcesOfType(t, 'AWS::SNS::Topic')).toHaveLength(0);
    const alarmsWithActions = [
      ...resourcesOfType(t, 'AWS::CloudWatch::Alarm'),
      ...resourcesOfType(t, 'AWS::CloudWatch::CompositeAlarm'),
    ].filter(([, alarm]) => !(alarm.AlarmName as string).endsWith(' (signal)'));
    expect(alarmsWithActions.length).toBeGreaterThan(10);
    for (const [, alarm] of alarmsWithActions) {
      expect(alarm.AlarmActions).toEqual([existing]);
      expect(alarm.OKActions).toEqual([existing]);
    }
    for (const [, rule] of resourcesOfType(t, 'AWS::Events::Rule')) {
      expect((rule.Targets as Props[]).map((target) => target.Arn)).toEqual([existing]);
    }
    const subscriptions = resourcesOfType(t, 'AWS::SNS::Subscription');
    expect(subscriptions).toHaveLength(1);
    expect(subscriptions[0]?.[1]).toMatchObject({
      Protocol: 'email',
      Endpoint: 'oncall@example.org',
      TopicArn: existing,
      RedrivePolicy: { deadLetterTargetArn: expect.anything() },
    });
  });
});

describe('PAGE and TICKET routed apart', () => {
  it('with alarmTopicArn and ticketTopicArn, every PAGE alarm and event goes to the one, every TICKET to the other', () => {
    const pager = 'arn:aws:sns:eu-west-2:123456789012:pager';
    const tickets = 'arn:aws:sns:eu-west-2:123456789012:tickets';
    const { template: t } = synthBroker('monitoring-page-ticket', {
      monitoring: { alarmTopicArn: pager, ticketTopicArn: tickets },
    });
    expect(resourcesOfType(t, 'AWS::SNS::Topic')).toHaveLength(0);
    const alarms = [
      ...resourcesOfType(t, 'AWS::CloudWatch::Alarm'),
      ...resourcesOfType(t, 'AWS::CloudWatch::CompositeAlarm'),
    ].filter(([, a]) => !(a.AlarmName as string).endsWith(' (signal)'));
    const bySeverity = (severity: string) =>
      alarms.filter(([, a]) => (a.AlarmName as string).startsWith(`[${severity}]`));
    expect(bySeverity('PAGE').length).toBeGreaterThan(3);
    expect(bySeverity('TICKET').length).toBeGreaterThan(3);
    for (const [, a] of bySeverity('PAGE')) expect([a.AlarmActions, a.OKActions]).toEqual([[pager], [pager]]);
    for (const [, a] of bySeverity('TICKET'))
      expect([a.AlarmActions, a.OKActions]).toEqual([[tickets], [tickets]]);
    const targetOf = (idPart: string) => {
      const rule = resourcesOfType(t, 'AWS::Events::Rule').find(([id]) => id.includes(idPart));
      return ((rule?.[1].Targets ?? []) as Props[])[0]?.Arn;
    };
    expect(targetOf('UnexpectedRead')).toBe(pager);
    expect(targetOf('ReaderFunctionChanged')).toBe(pager);
    expect(targetOf('RotationFailed')).toBe(tickets);
    // The refresh workflow's failure message is a ticket too.
    const [, machine] = resourcesOfType(t, 'AWS::StepFunctions::StateMachine')[0] ?? [];
    expect(JSON.stringify(machine?.DefinitionString)).toContain(tickets);
    expect(JSON.stringify(machine?.DefinitionString)).not.toContain(pager);
  });
});

describe('credentials secret audit (EventBridge on CloudTrail)', () => {
  const secretLogicalId = () => logicalIdOf('AWS::SecretsManager::Secret', 'CredentialStoreCredentials');
  const secretArn = () =>
    `arn:aws:secretsmanager:eu-west-2:111122223333:secret:${generatedName(secretLogicalId())}-${FAKE_SECRET_SUFFIX}`;
  const secretName = () => generatedName(secretLogicalId());
  const mintRoleArn = () =>
    `arn:aws:iam::111122223333:role/${generatedName(logicalIdOf('AWS::IAM::Role', 'MintTokenHandlerRole'))}`;
  const adminRole = 'arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123';

  const rule = (idPrefix: string) => {
    const [, props] = resourcesOfType(template, 'AWS::Events::Rule').find(([id]) =>
      id.startsWith(idPrefix),
    ) as [string, Props];
    return resolveCfn(props, template.Resources) as Props & {
      EventPattern: unknown;
      Targets: {
        Arn: string;
        DeadLetterConfig?: { Arn: string };
        InputTransformer: { InputTemplate: string; InputPathsMap: Record<string, string> };
      }[];
    };
  };

  it('the resolved secret identifiers are the ones the template refers to', () => {
    // Guards the fixture: the fake ARNs below are what resolveCfn makes of the secret and role.
    expect(resolveCfn({ Ref: secretLogicalId() }, template.Resources)).toBe(secretArn());
    expect(
      resolveCfn(
        { 'Fn::GetAtt': [logicalIdOf('AWS::IAM::Role', 'MintTokenHandlerRole'), 'Arn'] },
        template.Resources,
      ),
    ).toBe(mintRoleArn());
  });

  it('receives read-only management events and notifies the topic, with a dead-letter queue', () => {
    const read = rule('MonitoringSecretAuditUnexpectedRead');
    expect(read.State).toBe('ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
    expect(read.Targets).toHaveLength(1);
    expect(read.Targets[0]?.Arn).toBe(resolveCfn(topicRef(), template.Resources));
    expect(read.Targets[0]?.DeadLetterConfig?.Arn).toContain('OnCallDeliveryFailures');
  });

  it.each([
    [
      'an administrator role, denied',
      () => identity.assumedRole(adminRole, 'alice'),
      () => secretArn(),
      'AccessDenied',
    ],
    [
      'an administrator role, by name, succeeding',
      () => identity.assumedRole(adminRole),
      () => secretName(),
      undefined,
    ],
    [
      'another role, by partial ARN',
      () => identity.assumedRole('arn:aws:iam::111122223333:role/ci-deployer'),
      () => secretArn().slice(0, -7),
      'AccessDenied',
    ],
    ['an IAM user (no session issuer)', () => identity.iamUser('bob'), () => secretArn(), 'AccessDenied'],
    ['the root user', () => identity.root(), () => secretName(), undefined],
  ])('matches GetSecretValue by %s', (_, who, secretId, errorCode) => {
    const event = getSecretValueEvent({
      secretId: secretId(),
      userIdentity: who(),
      ...(errorCode ? { errorCode } : {}),
    });
    expect(matchesEventPattern(rule('MonitoringSecretAuditUnexpectedRead').EventPattern, event)).toBe(true);
  });

  it.each([
    [
      'the mint-token role, by ARN',
      () => identity.assumedRole(mintRoleArn(), 'MintTokenFunction'),
      () => secretArn(),
      'GetSecretValue',
    ],
    [
      'the mint-token role, by name',
      () => identity.assumedRole(mintRoleArn()),
      () => secretName(),
      'GetSecretValue',
    ],
    [
      'an administrator, on another secret',
      () => identity.assumedRole(adminRole),
      () => 'arn:aws:secretsmanager:eu-west-2:111122223333:secret:other-AbC123',
      'GetSecretValue',
    ],
    [
      'an administrator, describing (not reading) it',
      () => identity.assumedRole(adminRole),
      () => secretArn(),
      'DescribeSecret',
    ],
  ])('does not match a read by %s', (_, who, secretId, eventName) => {
    const event = getSecretValueEvent({ secretId: secretId(), userIdentity: who(), eventName });
    expect(matchesEventPattern(rule('MonitoringSecretAuditUnexpectedRead').EventPattern, event)).toBe(false);
  });

  it('names the principal, its source and the outcome in the notification', () => {
    const event = getSecretValueEvent({
      secretId: secretArn(),
      userIdentity: identity.assumedRole(adminRole, 'alice'),
      errorCode: 'AccessDenied',
    });
    const message = renderInputTransformer(
      rule('MonitoringSecretAuditUnexpectedRead').Targets[0]?.InputTransformer as never,
      event,
    );
    expect(message).toMatch(/^\[PAGE\] ThroughLineTokenBroker-dev UnexpectedSecretRead: /);
    expect(message).toContain(
      'read by arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123/alice',
    );
    expect(message).toContain('(identity type AssumedRole) from 203.0.113.9 at 2026-01-02T03:04:05Z');
    expect(message).toContain('error code (empty when the read succeeded): AccessDenied');
    expect(message).toContain('Runbook: docs/runbooks/unexpected-secret-read.md');
  });

  it('notifies a failed rotation of this secret only', () => {
    const rotation = rule('MonitoringSecretAuditRotationFailed');
    expect(
      matchesEventPattern(rotation.EventPattern, rotationServiceEvent('RotationFailed', secretArn())),
    ).toBe(true);
    expect(
      matchesEventPattern(rotation.EventPattern, rotationServiceEvent('RotationSucceeded', secretArn())),
    ).toBe(false);
    expect(
      matchesEventPattern(
        rotation.EventPattern,
        rotationServiceEvent(
          'RotationFailed',
          'arn:aws:secretsmanager:eu-west-2:111122223333:secret:other-AbC123',
        ),
      ),
    ).toBe(false);
    const message = renderInputTransformer(
      rotation.Targets[0]?.InputTransformer as never,
      rotationServiceEvent('RotationFailed', secretArn()),
    );
    expect(message).toMatch(/^\[TICKET\] ThroughLineTokenBroker-dev RotationFailed: /);
    expect(message).toContain(`secret ${secretArn()}`);
    expect(message).toContain('Runbook: docs/runbooks/rotation-failed.md');
    expect(rotation.Targets[0]?.DeadLetterConfig?.Arn).toContain('OnCallDeliveryFailures');
  });
});

describe('dashboard', () => {
  it("draws each graph's threshold from its alarm (value and condition), so the two cannot drift apart", () => {
    const [, props] = resourcesOfType(template, 'AWS::CloudWatch::Dashboard')[0] as [string, Props];
    const body = JSON.parse(resolveCfn(props.DashboardBody, template.Resources) as string) as {
      widgets: {
        properties: { title?: string; annotations?: { horizontal?: { value: number; label: string }[] } };
      }[];
    };
    const thresholdLine = (title: string) =>
      body.widgets.find((w) => w.properties.title === title)?.properties.annotations?.horizontal ?? [];
    for (const [title, alarmId] of [
      ['Cached token: seconds to expiry', ['PAGE', 'TokenNearExpiry']],
      ['Token requests to ThroughLine per hour', ['TICKET', 'UpstreamHourlyBurn']],
      ['Credential age (days)', ['TICKET', 'CredentialAge']],
      ['Token API latency (ms)', ['TICKET', 'ApiLatencyP99']],
    ] as const) {
      const alarm = alarms.get(`[${alarmId[0]}] ${stackName} ${alarmId[1]}`) as Props;
      expect(alarm, alarmId.join(' ')).toBeDefined();
      const lines = thresholdLine(title);
      expect(lines, title).toHaveLength(1);
      expect(lines[0]?.value, title).toBe(alarm.Threshold);
      expect(lines[0]?.label, title).toMatch(/[<>]=? \d/);
    }
  });

  it('is one dashboard named after the stack, showing every alarm and the broker metrics', () => {
    const dashboards = resourcesOfType(template, 'AWS::CloudWatch::Dashboard');
    expect(dashboards).toHaveLength(1);
    const [, props] = dashboards[0] as [string, Props];
    expect(props.DashboardName).toBe(stackName);
    const body = JSON.parse(resolveCfn(props.DashboardBody, template.Resources) as string) as {
      widgets: { type: string; properties: Record<string, unknown> }[];
    };
    const status = body.widgets.find((w) => w.type === 'alarm');
    expect(status?.properties.alarms).toHaveLength(alarms.size);
    const titles = body.widgets.map((w) => w.properties.title);
    expect(titles).toEqual(
      expect.arrayContaining([
        'Alarm status',
        'Token requests and outcomes',
        'Mints and failures',
        'Cached token: seconds to expiry',
        'Token requests to ThroughLine per hour',
        'Credential age (days)',
        'ThroughLine token endpoint',
        'Function errors and throttles',
      ]),
    );
    const text = JSON.stringify(body);
    for (const name of [
      'TokenMinted',
      'MintFailed',
      'InvalidClient',
      'CachedTokenSecondsToExpiry',
      'UpstreamTokenRequest',
    ]) {
      expect(text).toContain(`"${name}"`);
    }
  });

  it('is named in the stack outputs with the topic', () => {
    expect(template.Outputs?.MonitoringDashboardName?.Value).toEqual({
      Ref: logicalIdOf('AWS::CloudWatch::Dashboard', 'MonitoringDashboard'),
    });
    expect(template.Outputs?.OnCallTopicArn?.Value).toEqual(topicRef());
    expect(template.Outputs?.OnCallTicketTopicArn?.Value).toEqual(topicRef('TICKET'));
  });
});

describe('cdk-nag', () => {
  it('finds nothing unacknowledged in the stack with monitoring', () => {
    const { app } = synthBroker('monitoring-nag', {
      monitoring: { emailSubscriptions: ['oncall@example.org'] },
    });
    expect(nagFindings(app)).toEqual([]);
  });
});

it('the thresholds in the expectations are the config defaults', () => {
  // Keeps the literal expectations above honest if a default changes.
  expect(config.thresholds.mintFailuresPer15Minutes).toBe(3);
  expect(Math.ceil(config.dailyUpstreamRequestBudget * config.thresholds.upstreamDailyBudgetFraction)).toBe(
    800,
  );
  expect(Math.ceil(config.dailyUpstreamRequestBudget / 24)).toBe(42);
});
