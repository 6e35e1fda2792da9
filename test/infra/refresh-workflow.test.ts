import type { Template } from 'aws-cdk-lib/assertions';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { StackOutput } from '../../contract/stack-outputs';
import { ConfigError, loadStageConfig } from '../../lib/config/load-config';
import { REFRESH_PAYLOAD, TRANSIENT_ERRORS } from '../../lib/constructs/refresh-workflow';
import type { TokenBrokerStack } from '../../lib/token-broker-stack';
import { definitionOf } from '../kit/builders/state-machine-definition';
import { idOf, synthBrokerForAssertions } from '../kit/builders/synth';

interface State {
  Type: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  Retry?: Record<string, unknown>[];
  Catch?: { ErrorEquals: string[]; ResultPath: string; Next: string }[];
  Next?: string;
  ErrorPath?: string;
  CausePath?: string;
  TimeoutSeconds?: number;
}

let template: Template;
let stack: TokenBrokerStack;
let states: Record<string, State>;
let startAt: string;

beforeAll(() => {
  ({ template, stack } = synthBrokerForAssertions('refresh-workflow'));
  const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  const definition = definitionOf(machine?.Properties.DefinitionString);
  states = definition.States as Record<string, State>;
  startAt = definition.StartAt as string;
});

const mintArn = () => `<${idOf(stack, stack.mintToken.handler.function)}.Arn>`;

describe('refresh workflow — schedule', () => {
  it('runs at the configured rate, without a flexible window, with retries, a maximum event age and a DLQ', () => {
    const wf = stack.refreshWorkflow;
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(5 minutes)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: {
        Arn: { Ref: idOf(stack, wf.stateMachine) },
        RoleArn: {
          'Fn::GetAtt': [idOf(stack, wf.scheduleRole), 'Arn'],
        },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [idOf(stack, wf.deadLetterQueue), 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 300 },
        Input: JSON.stringify({ requestedBy: 'schedule' }),
      },
    });
  });

  it('has its own role that can only start this state machine and dead-letter into this queue', () => {
    const wf = stack.refreshWorkflow;
    const [schedule] = Object.values(template.findResources('AWS::Scheduler::Schedule'));
    const roleId = idOf(stack, stack.refreshWorkflow.scheduleRole);
    expect(schedule?.Properties.Target.RoleArn).toEqual({ 'Fn::GetAtt': [roleId, 'Arn'] });
    const role = template.findResources('AWS::IAM::Role')[roleId];
    expect(role?.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnEquals: {
            'aws:SourceArn': {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':scheduler:',
                  { Ref: 'AWS::Region' },
                  ':',
                  { Ref: 'AWS::AccountId' },
                  ':schedule-group/default',
                ],
              ],
            },
          },
        },
      },
    ]);
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId),
    );
    expect(policies).toHaveLength(1);
    expect(policies[0]?.Properties.PolicyDocument.Statement).toEqual([
      { Action: 'states:StartExecution', Effect: 'Allow', Resource: { Ref: idOf(stack, wf.stateMachine) } },
      {
        Action: 'sqs:SendMessage',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [idOf(stack, wf.deadLetterQueue), 'Arn'] },
      },
    ]);
  });

  it('dead-letters into an encrypted queue that refuses non-TLS requests', () => {
    const queueId = idOf(stack, stack.refreshWorkflow.deadLetterQueue);
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });
});

describe('refresh workflow — state machine', () => {
  it('is a Standard state machine with X-Ray tracing and logs of every event, without execution data, to a KMS-encrypted group', () => {
    const logGroupId = idOf(stack, stack.refreshWorkflow.logGroup);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: false,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logGroupId, 'Arn'] } } }],
      },
    });
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { KmsKeyId: { 'Fn::GetAtt': [idOf(stack, stack.brokerKey.key), 'Arn'] } },
    });
    expect(template.findResources('AWS::Logs::LogGroup')[logGroupId]?.Properties.KmsKeyId).toBeDefined();
  });

  it('starts by invoking mint-token in refresh mode', () => {
    const first = states[startAt];
    expect(first?.Type).toBe('Task');
    expect(first?.Resource).toBe('arn:<Ref:AWS::Partition>:states:::lambda:invoke');
    expect(first?.Parameters).toEqual({ FunctionName: mintArn(), Payload: REFRESH_PAYLOAD });
    expect((first as State & { OutputPath: string }).OutputPath).toBe('$.Payload');
    // A closed upstream gate (outcome "deferred") and a broker without credentials yet
    // ("not_configured") are known states, not failures to retry or tell on-call about.
    const choice = first?.Next ? states[first.Next] : undefined;
    expect(choice?.Type).toBe('Choice');
    const rules = choice as unknown as {
      Choices: { Variable: string; StringEquals: string; Next: string }[];
      Default: string;
    };
    expect(rules.Choices).toEqual([
      { Variable: '$.outcome', StringEquals: 'not_configured', Next: 'NotConfigured' },
      { Variable: '$.outcome', StringEquals: 'deferred', Next: 'Deferred' },
    ]);
    expect(states.Deferred?.Type).toBe('Succeed');
    expect(states.NotConfigured?.Type).toBe('Succeed');
    expect(states[rules.Default]?.Type).toBe('Succeed');
  });

  it('retries only transient errors, with capped exponential backoff and full jitter', () => {
    const retry = states[startAt]?.Retry;
    expect(retry).toEqual([
      {
        ErrorEquals: [...TRANSIENT_ERRORS],
        IntervalSeconds: 5,
        MaxAttempts: 3,
        BackoffRate: 2,
        MaxDelaySeconds: 60,
        JitterStrategy: 'FULL',
      },
    ]);
    const retried = retry?.flatMap((r) => r.ErrorEquals as string[]) ?? [];
    for (const error of [
      'Lambda.ServiceException',
      'Lambda.TooManyRequestsException',
      'Lambda.SdkClientException',
      'TokenCacheError',
    ]) {
      expect(retried).toContain(error);
    }
    for (const notRetried of [
      // mint-token answers ThroughLine's transient failures as "deferred"; the gate decides when to retry.
      'UpstreamUnavailableError',
      'InvalidClientError',
      'CredentialsNotSetError',
      'UpstreamRejectedError',
      'States.ALL',
      'States.TaskFailed',
    ]) {
      expect(retried).not.toContain(notRetried);
    }
  });

  it('catches every final failure, notifies the on-call topic with the error, and fails the execution', () => {
    const catchers = states[startAt]?.Catch ?? [];
    expect(catchers).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'NotifyOnCall' }]);
    const notify = states.NotifyOnCall as State & { ResultPath: unknown };
    expect(notify.Resource).toBe('arn:<Ref:AWS::Partition>:states:::sns:publish');
    expect(notify.Parameters?.TopicArn).toBe(`<Ref:${idOf(stack, stack.onCall.ticketTopic)}>`);
    expect(notify.Parameters?.['Message.$']).toMatch(
      /^States\.Format\('The scheduled ThroughLine token refresh .*', \$\.error\.Error, \$\.error\.Cause, \$\$\.Execution\.Id\)$/,
    );
    expect(notify.Parameters?.['Message.$']).toMatch(/docs\/runbooks\/credentials-rejected\.md/);
    expect(notify.ResultPath).toBeNull();
    const failed = states[notify.Next as string];
    expect(failed).toMatchObject({ Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' });
  });

  it('its role may invoke mint-token, publish to the topic and use the key only via SNS', () => {
    const roleId = idOf(stack, stack.refreshWorkflow.stateMachine.role);
    const [policy] = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId),
    );
    const statements = policy?.Properties.PolicyDocument.Statement as Record<string, unknown>[];
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Action: 'lambda:InvokeFunction' }),
        expect.objectContaining({
          Action: 'sns:Publish',
          Resource: { Ref: idOf(stack, stack.onCall.ticketTopic) },
        }),
        expect.objectContaining({
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Resource: { 'Fn::GetAtt': [idOf(stack, stack.onCall.node.findChild('TopicKey')), 'Arn'] },
          Condition: {
            StringEquals: {
              'kms:ViaService': {
                'Fn::Join': ['', ['sns.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]],
              },
            },
          },
        }),
      ]),
    );
    expect(JSON.stringify(statements)).not.toMatch(/secretsmanager|dynamodb/);
  });

  it('exports the state machine ARN as a stack output', () => {
    template.hasOutput(StackOutput.RefreshStateMachineArn, {
      Value: { Ref: idOf(stack, stack.refreshWorkflow.stateMachine) },
    });
  });
});

describe('refresh workflow — configuration', () => {
  it('follows the configured rate and retry policy; one attempt means no Retry at all', () => {
    const { template: t } = synthBrokerForAssertions('refresh-workflow-rate', {
      stage: { refresh: { scheduleRateMinutes: 10, maxAttempts: 1 } },
    });
    t.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(10 minutes)',
      Target: Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 600 } }),
    });
    const [machine] = Object.values(t.findResources('AWS::StepFunctions::StateMachine'));
    const def = definitionOf(machine?.Properties.DefinitionString);
    expect((def.States as Record<string, State>).RefreshToken?.Retry).toBeUndefined();
  });

  const stage = (refresh: Record<string, unknown>, token: Record<string, unknown> = {}) =>
    loadStageConfig((key) => (key === 'stage' ? 'x' : { x: { refresh, token } }));

  it('rejects a schedule that is not more frequent than the refresh window, saying what would fit', () => {
    // Defaults: 3600 s × (1 − 0.75) − 60 s min TTL = 840 s between the refresh point and unservable.
    expect(() => stage({ scheduleRateMinutes: 14 })).toThrow(ConfigError);
    try {
      stage({ scheduleRateMinutes: 14 });
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        expect.stringMatching(
          /^stages\.x\.refresh\.scheduleRateMinutes: every 14 min \(840 s\) is not more often than the 840 s between a token's refresh point .* run at most every 13 min or lower token\.refreshAtFraction$/,
        ),
      ]);
    }
    expect(stage({ scheduleRateMinutes: 13 }).config.refresh.scheduleRateMinutes).toBe(13);
  });

  it('validates the schedule against the configured token lifetime, and reports every problem at once', () => {
    expect(() =>
      stage(
        { scheduleRateMinutes: 5 },
        { defaultLifetimeSeconds: 600, maxLifetimeSeconds: 600, minTtlSeconds: 30 },
      ),
    ).toThrow(/refresh\.scheduleRateMinutes: every 5 min \(300 s\) is not more often than the 120 s/);
    try {
      stage({ scheduleRateMinutes: 0, retryIntervalSeconds: 30, maxRetryDelaySeconds: 10, extra: 1 });
    } catch (error) {
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).toMatch(/refresh\.scheduleRateMinutes: must be at least 1 minute/);
      expect(problems).toMatch(/refresh: unknown key \(extra\)/);
    }
    expect(() => stage({ retryIntervalSeconds: 30, maxRetryDelaySeconds: 10 })).toThrow(
      /refresh\.maxRetryDelaySeconds: must be at least refresh\.retryIntervalSeconds/,
    );
  });
});
