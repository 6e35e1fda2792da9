import { ArnFormat, Lazy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { Severity } from './alarm-catalog';
import { Runbook, type RunbookName, runbookLink } from './runbooks';

/**
 * EventBridge rules on the credentials secret's CloudTrail events: a read by any principal other
 * than the broker's own roles, and a failed rotation. Both go straight to the on-call topic with a
 * message that names what happened; they are events, not metrics, so there is nothing to alarm on.
 */

export interface SecretEventRuleSpec {
  readonly id: string;
  readonly severity: Severity;
  readonly summary: string;
  readonly runbook: RunbookName;
}

export const SECRET_EVENT_RULES = {
  unexpectedRead: {
    id: 'UnexpectedSecretRead',
    severity: 'page',
    summary:
      'The ThroughLine credentials secret was read (GetSecretValue), or a read was attempted, by a principal other than the broker roles allowed to read it.',
    runbook: Runbook.UnexpectedSecretRead,
  },
  readerFunctionChanged: {
    id: 'CredentialReaderChanged',
    severity: 'page',
    summary:
      'The code or configuration of a function allowed to read the ThroughLine credentials (mint-token, rotate-credentials) was changed, or a function was created or reconfigured with one of their roles, outside a CloudFormation deployment.',
    runbook: Runbook.CredentialReaderChanged,
  },
  rotationFailed: {
    id: 'RotationFailed',
    severity: 'ticket',
    summary:
      'Secrets Manager reported that rotating the ThroughLine credentials failed; AWSCURRENT is unchanged and the broker keeps using the current credentials.',
    runbook: Runbook.RotationFailed,
  },
} as const satisfies Record<string, SecretEventRuleSpec>;

/** The ways a caller can name the secret in a request: full ARN, partial ARN (no suffix), name. */
export interface SecretIdentifiers {
  /** ARN without Secrets Manager's random 6-character suffix; a prefix of the full ARN. */
  readonly partialArn: string;
  /** Name without the suffix; a prefix of the name with suffix. */
  readonly name: string;
}

function secretIdMatchers(secret: SecretIdentifiers) {
  return [{ prefix: secret.partialArn }, { prefix: secret.name }];
}

/**
 * GetSecretValue on the secret by anyone but `readerRoleArns`. Roles appear in CloudTrail as
 * AssumedRole sessions whose issuer is the role ARN; IAM users, root, federated users and AWS
 * services have no session issuer, so they are matched by identity type instead: EventBridge
 * matches nothing on a field an event does not have, so "anything-but" alone would miss them.
 * BatchGetSecretValue also logs one GetSecretValue event per secret it returns.
 */
export function unexpectedSecretReadPattern(
  secret: SecretIdentifiers,
  readerRoleArns: readonly string[],
): events.EventPattern {
  return {
    source: ['aws.secretsmanager'],
    detailType: ['AWS API Call via CloudTrail'],
    detail: {
      eventSource: ['secretsmanager.amazonaws.com'],
      eventName: ['GetSecretValue'],
      requestParameters: { secretId: secretIdMatchers(secret) },
      $or: [
        { userIdentity: { type: [{ 'anything-but': ['AssumedRole'] }] } },
        {
          userIdentity: {
            sessionContext: { sessionIssuer: { arn: [{ 'anything-but': [...readerRoleArns] }] } },
          },
        },
      ],
    },
  };
}

/** A function allowed to read the credentials, and the role it runs with. */
export interface CredentialReader {
  readonly functionName: string;
  readonly functionArn: string;
  readonly roleArn: string;
}

/** Where a CloudFormation deployment's own calls come from (CloudTrail names the calling service). */
export const CLOUDFORMATION_SOURCE = 'cloudformation.amazonaws.com';

/**
 * Changes that would let other code read the credentials with a reader's role: new code or
 * configuration for a reader function (UpdateFunctionCode, UpdateFunctionConfiguration), and a
 * function created or reconfigured with a reader's role. Passing a role is a permission check
 * (iam:PassRole), not an API call of its own, so CloudTrail has no PassRole event: the role shows up
 * in the request of the API that passed it (IAM User Guide, "Grant a user permissions to pass a role
 * to an AWS service"), here CreateFunction's and UpdateFunctionConfiguration's `role`. Lambda's
 * CloudTrail event names carry an API version (e.g. UpdateFunctionCode20150331v2), hence prefixes;
 * a function is named by name or ARN in requests. CloudFormation's own calls carry its service name
 * as source address and are left out: deployments change these functions by design.
 */
export function credentialReaderChangedPattern(readers: {
  readonly functionNames: readonly string[];
  readonly functionArns: readonly string[];
  readonly roleArns: readonly string[];
}): events.EventPattern {
  return {
    source: ['aws.lambda'],
    detailType: ['AWS API Call via CloudTrail'],
    detail: {
      eventSource: ['lambda.amazonaws.com'],
      sourceIPAddress: [{ 'anything-but': [CLOUDFORMATION_SOURCE] }],
      $or: [
        {
          eventName: [{ prefix: 'UpdateFunctionCode' }, { prefix: 'UpdateFunctionConfiguration' }],
          requestParameters: {
            functionName: [...readers.functionNames, ...readers.functionArns].map((id) => ({ prefix: id })),
          },
        },
        {
          eventName: [{ prefix: 'CreateFunction' }, { prefix: 'UpdateFunctionConfiguration' }],
          requestParameters: { role: [...readers.roleArns] },
        },
      ],
    },
  };
}

/** Secrets Manager's own "rotation failed" event for the secret (a service event, not an API call). */
export function rotationFailedPattern(secret: SecretIdentifiers): events.EventPattern {
  return {
    source: ['aws.secretsmanager'],
    detailType: ['AWS Service Event via CloudTrail'],
    detail: {
      eventSource: ['secretsmanager.amazonaws.com'],
      eventName: ['RotationFailed'],
      additionalEventData: { SecretId: secretIdMatchers(secret) },
    },
  };
}

/** The notification text: severity and stack first, then who/what/when, then the runbook. */
export function notificationHeadline(spec: SecretEventRuleSpec, serviceName: string): string {
  return `[${spec.severity.toUpperCase()}] ${serviceName} ${spec.id}:`;
}

export interface SecretAuditRulesProps {
  readonly serviceName: string;
  /** The secret's name without Secrets Manager's random suffix (ISecret.secretName). */
  readonly secretName: string;
  /** Evaluated at synthesis, so roles granted after this construct are included. */
  readonly readerRoleArns: () => readonly string[];
  /** The functions bound to those roles (read at synthesis too). */
  readonly readers: () => readonly CredentialReader[];
  /** Where a notification of each severity goes (OnCallTopic.topicFor). */
  readonly topicFor: (severity: Severity) => sns.ITopic;
  readonly deadLetterQueue: sqs.IQueue;
  readonly runbookBaseUrl?: string;
}

export class SecretAuditRules extends Construct {
  readonly unexpectedRead: events.Rule;
  readonly readerFunctionChanged: events.Rule;
  readonly rotationFailed: events.Rule;

  constructor(scope: Construct, id: string, props: SecretAuditRulesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const secret: SecretIdentifiers = {
      name: props.secretName,
      partialArn: stack.formatArn({
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: props.secretName,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    };
    const readers = Lazy.list({ produce: () => [...props.readerRoleArns()] });
    this.node.addValidation({
      validate: () =>
        props.readerRoleArns().length === 0
          ? [
              'No role may read the credentials secret: grant the broker functions read access before monitoring it',
            ]
          : [],
    });
    const field = (path: string) => events.EventField.fromPath(path);
    const link = (spec: SecretEventRuleSpec) => runbookLink(spec.runbook, props.runbookBaseUrl);

    const read = SECRET_EVENT_RULES.unexpectedRead;
    this.unexpectedRead = new events.Rule(this, 'UnexpectedRead', {
      description: `${notificationHeadline(read, props.serviceName)} ${read.summary}`.slice(0, 512),
      eventPattern: unexpectedSecretReadPattern(secret, readers),
    });
    // GetSecretValue is a read-only management event: EventBridge delivers those only to rules in this state.
    (this.unexpectedRead.node.defaultChild as events.CfnRule).addPropertyOverride(
      'State',
      'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS',
    );
    this.unexpectedRead.addTarget(
      new targets.SnsTopic(props.topicFor(read.severity), {
        deadLetterQueue: props.deadLetterQueue,
        message: events.RuleTargetInput.fromText(
          `${notificationHeadline(read, props.serviceName)} the ThroughLine credentials secret was read by ` +
            `${field('$.detail.userIdentity.arn')} (identity type ${field('$.detail.userIdentity.type')}) ` +
            `from ${field('$.detail.sourceIPAddress')} at ${field('$.detail.eventTime')} in account ` +
            `${field('$.account')}; error code (empty when the read succeeded): ${field('$.detail.errorCode')}. ` +
            `Only the broker roles may read it. Runbook: ${link(read)}`,
        ),
      }),
    );

    const changed = SECRET_EVENT_RULES.readerFunctionChanged;
    // Read now (each becomes a pattern entry); a reader granted after this construct fails synthesis.
    const readerFunctions = props.readers();
    this.node.addValidation({
      validate: () =>
        props.readers().length !== readerFunctions.length
          ? ['A credential reader was granted after the secret audit rules: create BrokerMonitoring last']
          : [],
    });
    const readersOf = (pick: (r: CredentialReader) => string) => readerFunctions.map(pick);
    this.readerFunctionChanged = new events.Rule(this, 'ReaderFunctionChanged', {
      description: `${notificationHeadline(changed, props.serviceName)} ${changed.summary}`.slice(0, 512),
      eventPattern: credentialReaderChangedPattern({
        functionNames: readersOf((r) => r.functionName),
        functionArns: readersOf((r) => r.functionArn),
        roleArns: readersOf((r) => r.roleArn),
      }),
    });
    this.readerFunctionChanged.addTarget(
      new targets.SnsTopic(props.topicFor(changed.severity), {
        deadLetterQueue: props.deadLetterQueue,
        message: events.RuleTargetInput.fromText(
          `${notificationHeadline(changed, props.serviceName)} ${field('$.detail.eventName')} on function ` +
            `${field('$.detail.requestParameters.functionName')} by ${field('$.detail.userIdentity.arn')} from ` +
            `${field('$.detail.sourceIPAddress')} at ${field('$.detail.eventTime')} in account ${field('$.account')}, ` +
            `outside a CloudFormation deployment; error code (empty when it succeeded): ${field('$.detail.errorCode')}. ` +
            `Code running with a broker reader role can read the ThroughLine credentials. Runbook: ${link(changed)}`,
        ),
      }),
    );

    const rotation = SECRET_EVENT_RULES.rotationFailed;
    this.rotationFailed = new events.Rule(this, 'RotationFailed', {
      description: `${notificationHeadline(rotation, props.serviceName)} ${rotation.summary}`.slice(0, 512),
      eventPattern: rotationFailedPattern(secret),
    });
    this.rotationFailed.addTarget(
      new targets.SnsTopic(props.topicFor(rotation.severity), {
        deadLetterQueue: props.deadLetterQueue,
        message: events.RuleTargetInput.fromText(
          `${notificationHeadline(rotation, props.serviceName)} Secrets Manager could not rotate the ThroughLine ` +
            `credentials (${field('$.detail.eventName')} at ${field('$.detail.eventTime')}, secret ` +
            `${field('$.detail.additionalEventData.SecretId')}). AWSCURRENT is unchanged. Runbook: ${link(rotation)}`,
        ),
      }),
    );
  }
}
