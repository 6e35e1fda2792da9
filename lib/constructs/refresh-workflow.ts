import { Aws, Duration, Fn, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { operatorGuidance, WORKFLOW_RETRIED_ERROR_NAMES } from '../../contract/error-registry';
import type { MintTokenRequest } from '../../contract/mint-token-payload';
import type { RefreshConfig } from '../config/schema';

/** What the workflow asks mint-token for: a fresh token, minting only past the refresh point. */
export const REFRESH_PAYLOAD: MintTokenRequest = { action: 'refresh', requestedBy: 'schedule' };

/**
 * Errors worth another attempt: the Lambda service's own transient failures and throttles (when
 * mint-token has reserved concurrency, a concurrent mint throttles us) and the broker's cache errors.
 * ThroughLine's own transient failures are not errors here: mint-token answers them with
 * `{"outcome":"deferred"}` and the upstream gate decides when ThroughLine is asked again, so the
 * workflow never retries against a failing upstream. Everything else — InvalidClientError above
 * all — goes straight to on-call: retrying rejected credentials burns quota and cannot succeed.
 */
export const TRANSIENT_ERRORS: readonly string[] = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.TooManyRequestsException',
  ...WORKFLOW_RETRIED_ERROR_NAMES,
];

export interface RefreshWorkflowProps {
  readonly refresh: RefreshConfig;
  readonly mintToken: lambda.IFunction;
  /** mint-token's own timeout: the task waits a little longer before giving up on it. */
  readonly mintTokenTimeout: Duration;
  readonly onCallTopic: sns.ITopic;
  /** Encrypts the state machine's log group (the on-call topic's own key comes with the topic). */
  readonly key: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * Scheduled token refresh: EventBridge Scheduler starts a Standard Step Functions execution every
 * `scheduleRateMinutes`; it invokes mint-token in refresh mode (which mints only when the cached
 * token is past its refresh point, and records seconds-to-expiry and credential age as metrics),
 * retries transient failures with capped exponential backoff and full jitter, and on final failure
 * tells on-call and fails the execution (so the ExecutionsFailed metric counts it too).
 *
 * Standard rather than Express: a handful of executions an hour, each with a full, auditable history
 * that on-call can open from the notification.
 */
export class RefreshWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly schedule: scheduler.Schedule;
  /** Schedule events that could not start an execution after the scheduler's retries. */
  readonly deadLetterQueue: sqs.Queue;
  readonly logGroup: logs.LogGroup;
  /** The schedule's own role: start this state machine, dead-letter into this queue, nothing else. */
  readonly scheduleRole: iam.Role;

  constructor(scope: Construct, id: string, props: RefreshWorkflowProps) {
    super(scope, id);
    const { refresh } = props;

    const refreshToken = new tasks.LambdaInvoke(this, 'RefreshToken', {
      comment: 'mint-token in refresh mode: mints only when the cached token is past its refresh point',
      lambdaFunction: props.mintToken,
      payload: sfn.TaskInput.fromObject({ ...REFRESH_PAYLOAD }),
      // The optimized integration (arn:aws:states:::lambda:invoke): Lambda service failures surface as
      // Lambda.<Code> errors the retrier names, mint-token's own failures as their error class.
      outputPath: '$.Payload',
      // The retry below replaces the default one, so the policy is ours (jitter, no retry of rejections).
      retryOnServiceExceptions: false,
      taskTimeout: sfn.Timeout.duration(props.mintTokenTimeout.plus(Duration.seconds(10))),
    });
    if (refresh.maxAttempts > 1) {
      refreshToken.addRetry({
        errors: [...TRANSIENT_ERRORS],
        interval: Duration.seconds(refresh.retryIntervalSeconds),
        maxAttempts: refresh.maxAttempts - 1,
        backoffRate: 2,
        maxDelay: Duration.seconds(refresh.maxRetryDelaySeconds),
        jitterStrategy: sfn.JitterType.FULL,
      });
    }

    // Error and Cause come from mint-token's error class and message, which never hold a secret.
    const notifyOnCall = new tasks.SnsPublish(this, 'NotifyOnCall', {
      comment: 'Tell on-call what failed and what to do',
      topic: props.onCallTopic,
      subject: `ThroughLine token refresh failed (${Aws.STACK_NAME})`,
      message: sfn.TaskInput.fromText(
        sfn.JsonPath.format(
          `The scheduled ThroughLine token refresh of stack ${Aws.STACK_NAME} failed after its retries. Error: {}. Cause: {}. ` +
            `What to do: ${operatorGuidance().join('. ')}. ` +
            'Other errors - AWS stayed unavailable through every retry; callers keep the cached token while it is servable; ' +
            'run npm run broker -- token refresh and see docs/rotation.md, section Scheduled refresh. ' +
            'Execution: {}',
          sfn.JsonPath.stringAt('$.error.Error'),
          sfn.JsonPath.stringAt('$.error.Cause'),
          sfn.JsonPath.executionId,
        ),
      ),
      resultPath: sfn.JsonPath.DISCARD,
    });
    const failed = new sfn.Fail(this, 'RefreshFailed', {
      comment: 'Keep the original error so the execution history and metrics show it',
      errorPath: '$.error.Error',
      causePath: '$.error.Cause',
    });
    refreshToken.addCatch(notifyOnCall.next(failed), { errors: [sfn.Errors.ALL], resultPath: '$.error' });

    // Under /aws/vendedlogs/: CloudWatch Logs then needs no entry in the account's resource policy
    // (5,120 characters, shared by every vended-log source) for each deploy; without the prefix, repeated
    // deploys fill it up ("CloudWatch Logs Resource Policy size was exceeded"). See "Enabling logging from
    // AWS services" (CloudWatch Logs User Guide, AWS-logs-and-resource-policy) and "Logging using CloudWatch
    // Logs" (Step Functions Developer Guide). The stack id's UUID keeps the name unique per stack instance,
    // so a group retained from a deleted stack never blocks a new deploy under the same stack name.
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${Aws.STACK_NAME}-refresh-${Fn.select(2, Fn.split('/', Aws.STACK_ID))}`,
      encryptionKey: props.key,
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: 'Refreshes the cached ThroughLine access token ahead of expiry',
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(
        refreshToken.next(
          new sfn.Choice(this, 'Outcome?', {
            comment:
              'mint-token answers a closed upstream gate with outcome "deferred", and a broker without credentials yet with "not_configured": known states, not failures',
          })
            .when(
              sfn.Condition.stringEquals('$.outcome', 'not_configured'),
              new sfn.Succeed(this, 'NotConfigured', {
                comment:
                  'No credentials were ever put in (first deploy): a known state, not a failure; the NotConfigured TICKET alarm says what to run, once',
              }),
            )
            .when(
              sfn.Condition.stringEquals('$.outcome', 'deferred'),
              new sfn.Succeed(this, 'Deferred', {
                comment:
                  'ThroughLine is backing off (failures, Retry-After or the daily budget): no retry here; the gate alarms (UpstreamGateClosed, UpstreamBudget*) page when it lasts',
              }),
            )
            .otherwise(new sfn.Succeed(this, 'Refreshed', { comment: 'The cache holds a fresh token' })),
        ),
      ),
      // Backstop only: the task timeout and retry budget end a run well before this.
      timeout: Duration.minutes(30),
      tracingEnabled: true,
      // Every state transition is logged, but never its input or output.
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });

    // An encrypted on-call topic: publishing needs its key, but only via SNS.
    const topicKey = props.onCallTopic.masterKey;
    if (topicKey) {
      this.stateMachine.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'EncryptOnCallMessagesViaSns',
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [topicKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `sns.${Aws.REGION}.${Aws.URL_SUFFIX}` } },
        }),
      );
    }
    const stateMachinePolicy = this.stateMachine.role.node.tryFindChild('DefaultPolicy')?.node.defaultChild;
    if (stateMachinePolicy) {
      Validations.of(stateMachinePolicy).acknowledge(
        {
          id: `AwsSolutions-IAM5[Resource::<${stackLogicalIdOf(props.mintToken)}.Arn>:*]`,
          reason:
            'CDK grants lambda:InvokeFunction on mint-token and its own versions/aliases (ARN + ":*"); the workflow invokes only the unqualified mint-token function and no other function.',
        },
        {
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason:
            'Only the CloudWatch Logs vended-delivery actions (logs:CreateLogDelivery and friends, which Step Functions logging requires) and the X-Ray trace actions use Resource "*": neither supports resource-level permissions.',
        },
      );
    }

    this.deadLetterQueue = new sqs.Queue(this, 'ScheduleDeadLetters', {
      // The dead letters are copies of the schedule's fixed input: nothing secret, so SQS-managed keys
      // suffice and no scheduler principal needs to use the broker's key.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue.node.defaultChild as sqs.CfnQueue).acknowledge(
      {
        id: 'AwsSolutions-SQS3',
        reason:
          "This queue is the refresh schedule's dead-letter queue (EventBridge Scheduler DeadLetterConfig); a dead-letter queue needs no dead-letter queue of its own.",
      },
      {
        id: 'Serverless-SQSRedrivePolicy',
        reason:
          "This queue is the refresh schedule's dead-letter queue; nothing consumes it automatically, so there is nothing to redrive into a further queue.",
      },
    );

    // The scheduler's role can start this state machine and dead-letter into this queue; nothing else.
    this.scheduleRole = new iam.Role(this, 'ScheduleRole', {
      description: 'EventBridge Scheduler: start the token refresh state machine',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        // Only schedules of this account's default group (the one this schedule is in) may assume it.
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnEquals: {
            'aws:SourceArn': `arn:${Aws.PARTITION}:scheduler:${Aws.REGION}:${Aws.ACCOUNT_ID}:schedule-group/default`,
          },
        },
      }),
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: `Refresh the cached ThroughLine token (every ${refresh.scheduleRateMinutes} min)`,
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(refresh.scheduleRateMinutes)),
      timeWindow: scheduler.TimeWindow.off(),
      target: new targets.StepFunctionsStartExecution(this.stateMachine, {
        role: this.scheduleRole,
        input: scheduler.ScheduleTargetInput.fromObject({ requestedBy: 'schedule' }),
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 3,
        // A start that is older than the next run is pointless: the next run does the same work.
        maxEventAge: Duration.minutes(Math.max(1, refresh.scheduleRateMinutes)),
      }),
    });
  }
}

/** The logical id CDK gives the function's CfnFunction: cdk-nag findings name resources by it. */
function stackLogicalIdOf(fn: lambda.IFunction): string {
  const cfn = fn.node.defaultChild as lambda.CfnFunction;
  return Stack.of(cfn).getLogicalId(cfn);
}
