import {
  Aws,
  Duration,
  type IResolvable,
  type IResolveContext,
  type RemovalPolicy,
  Validations,
} from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface OnCallTopicProps {
  /** Of the topic's own key (a topic from `existingTopicArn` is not touched). */
  readonly removalPolicy: RemovalPolicy;
  /**
   * An existing topic to use instead of creating one (e.g. one wired to a paging service). Its
   * owner keeps its access policy and encryption: see docs/monitoring.md, "Using an existing topic".
   * @default a new KMS-encrypted (own key), TLS-only topic
   */
  readonly existingTopicArn?: string;
  /** The same as `existingTopicArn`, as a topic construct of the app (wins over the ARN). @default none */
  readonly existingTopic?: sns.ITopic;
  /**
   * An existing topic for TICKET-level notifications (next working day), apart from the PAGE ones.
   * @default the existing topic when one is given (everything to one topic), else a ticket topic of
   * the stack's own, on the same key
   */
  readonly existingTicketTopicArn?: string;
  /** The same as `existingTicketTopicArn`, as a topic construct of the app (wins over the ARN). @default none */
  readonly existingTicketTopic?: sns.ITopic;
  /** Email addresses subscribed to the topic. @default none */
  readonly emailSubscriptions?: readonly string[];
}

/** The KMS actions a service publisher needs on an encrypted topic's key, as AWS documents them. */
export const TOPIC_KEY_PUBLISHER_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey*'] as const;

/**
 * The one SNS topic on-call hears from: alarms (alarm and OK), failed refresh workflows, rotation
 * failures, unexpected secret reads. Encrypted with a KMS key of its own; TLS-only publishing.
 * Or an existing topic from config, when the organisation already pages through one.
 *
 * Why a key of its own: CloudWatch alarms and EventBridge publish as AWS services, and a service
 * principal can only be granted the key in the key policy. On the broker key (secret, tokens, logs)
 * that grant would reach the credentials' key; on this key it reaches notification texts only.
 *
 * Notifications that cannot be delivered (an EventBridge target or an email subscription failing)
 * land in `deliveryFailures`, which has its own alarm: a dropped security notification must be visible.
 */
export class OnCallTopic extends Construct {
  /** PAGE-level notifications (wake someone now). */
  readonly topic: sns.ITopic;
  /** TICKET-level notifications (next working day); the PAGE topic itself when only that one is given. */
  readonly ticketTopic: sns.ITopic;
  /** True when this construct created the topic (and so manages its policy and key). */
  readonly ownsTopic: boolean;
  /** The topic's own key, when this construct created the topic. */
  readonly topicKey?: kms.Key;
  /** Dead-letter queue of the notifications that could not be delivered. */
  readonly deliveryFailures: sqs.Queue;

  constructor(scope: Construct, id: string, props: OnCallTopicProps) {
    super(scope, id);
    if (props.existingTopic) {
      this.topic = props.existingTopic;
      this.ownsTopic = false;
    } else if (props.existingTopicArn) {
      this.topic = sns.Topic.fromTopicArn(this, 'Topic', props.existingTopicArn);
      this.ownsTopic = false;
    } else {
      this.topicKey = new kms.Key(this, 'TopicKey', {
        description: `ThroughLine token broker (${Aws.STACK_NAME}): on-call topic messages`,
        enableKeyRotation: true,
        removalPolicy: props.removalPolicy,
      });
      const topic = new sns.Topic(this, 'Topic', {
        displayName: `ThroughLine token broker on-call (${Aws.STACK_NAME})`,
        masterKey: this.topicKey,
        enforceSSL: true,
      });
      this.topic = topic;
      this.ownsTopic = true;
      this.allowServicePublishers(topic);
      this.allowServicePublishersToUseKey(this.topicKey);
    }
    const existingTicket =
      props.existingTicketTopic ??
      (props.existingTicketTopicArn
        ? sns.Topic.fromTopicArn(this, 'TicketTopicImported', props.existingTicketTopicArn)
        : undefined);
    if (existingTicket) {
      this.ticketTopic = existingTicket;
    } else if (!this.topicKey) {
      // One existing topic for everything, as configured before PAGE and TICKET were routed apart.
      this.ticketTopic = this.topic;
    } else {
      const ticket = new sns.Topic(this, 'TicketTopic', {
        displayName: `ThroughLine token broker tickets (${Aws.STACK_NAME})`,
        masterKey: this.topicKey,
        enforceSSL: true,
      });
      this.ticketTopic = ticket;
      this.allowServicePublishers(ticket);
    }
    // SQS-managed encryption: SNS and EventBridge can write to it without a key policy of ours, and
    // it only ever holds notification texts (principal ARNs, alarm names), never a secret.
    this.deliveryFailures = new sqs.Queue(this, 'DeliveryFailures', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const isItselfTheDeadLetterQueue =
      'This queue is itself the dead-letter queue of the on-call notifications (EventBridge targets and SNS subscriptions); a dead-letter queue of a dead-letter queue would only move the problem. Its depth is alarmed (NotificationDeliveryFailed).';
    const queue = Validations.of(this.deliveryFailures.node.defaultChild as sqs.CfnQueue);
    queue.acknowledge({ id: 'AwsSolutions-SQS3', reason: isItselfTheDeadLetterQueue });
    queue.acknowledge({ id: 'Serverless-SQSRedrivePolicy', reason: isItselfTheDeadLetterQueue });

    const topics = this.ticketTopic === this.topic ? [this.topic] : [this.topic, this.ticketTopic];
    for (const email of props.emailSubscriptions ?? []) {
      for (const topic of topics) {
        topic.addSubscription(
          new subscriptions.EmailSubscription(email, { deadLetterQueue: this.deliveryFailures }),
        );
      }
    }
  }

  /** Where a notification of this severity goes: an action strategy for alarms, rules and the workflow. */
  topicFor(severity: 'page' | 'ticket'): sns.ITopic {
    return severity === 'page' ? this.topic : this.ticketTopic;
  }

  /**
   * CloudWatch alarms and EventBridge rules publish as services. A topic policy replaces SNS's default
   * one (enforceSSL writes one), so each service needs its own Allow, scoped to this account's
   * resources (the confused-deputy guard of "Example cases for Amazon SNS access control"):
   * - alarms: Knowledge Center "cloudwatch-receive-sns-for-alarm-trigger" (without it the alarm history
   *   shows "...alarm:... is not authorized to perform: SNS:Publish");
   * - EventBridge: "Amazon SNS permissions" in the EventBridge User Guide. CDK's SnsTopic target adds that
   *   Allow for events.amazonaws.com itself, unconditioned, when a rule targets the topic; it is confined
   *   here to this account's rules with aws:SourceAccount and aws:SourceArn, which EventBridge sets
   *   ("Cross-service confused deputy prevention in Amazon EventBridge").
   * The key grant is AWS's documented one, unconditioned, as in "Enabling compatibility between event
   * sources from AWS services and encrypted topics" (SNS Developer Guide, sns-key-management) and
   * Knowledge Center "cloudwatch-configure-alarm-sns": kms:Decrypt and kms:GenerateDataKey*. It is safe
   * unconditioned because this key encrypts nothing but this topic's messages, and the topic policy
   * decides who may publish.
   */
  private allowServicePublishers(topic: sns.Topic): void {
    const partition = Aws.PARTITION;
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowThisAccountsCloudWatchAlarms',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': `arn:${partition}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*` },
        },
      }),
    );
    const cfnPolicy = topic.node.findChild('Policy').node.defaultChild as sns.CfnTopicPolicy;
    const document = cfnPolicy.policyDocument;
    const confined: IResolvable = {
      creationStack: [],
      resolve: (context: IResolveContext) =>
        confineEventBridgeStatements(context.resolve(document), {
          StringEquals: { 'aws:SourceAccount': context.resolve(Aws.ACCOUNT_ID) },
          ArnLike: {
            'aws:SourceArn': context.resolve(
              `arn:${partition}:events:${Aws.REGION}:${Aws.ACCOUNT_ID}:rule/*`,
            ),
          },
        }),
    };
    cfnPolicy.policyDocument = confined;
  }

  /** The topics' key, shared by the PAGE and TICKET topics: one grant to both publishers. */
  private allowServicePublishersToUseKey(key: kms.Key): void {
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowAlarmAndEventPublishersToUseTopicKey',
        principals: [
          new iam.ServicePrincipal('cloudwatch.amazonaws.com'),
          new iam.ServicePrincipal('events.amazonaws.com'),
        ],
        actions: [...TOPIC_KEY_PUBLISHER_ACTIONS],
        resources: ['*'],
      }),
    );
  }
}

interface ResolvedStatement {
  readonly Effect?: string;
  readonly Principal?: { readonly Service?: unknown };
  Condition?: Record<string, unknown>;
}

/** Adds `conditions` to every unconditioned Allow for events.amazonaws.com in a resolved policy document. */
export function confineEventBridgeStatements(
  document: unknown,
  conditions: Record<string, unknown>,
): unknown {
  for (const statement of (document as { Statement?: ResolvedStatement[] }).Statement ?? []) {
    const services = [statement.Principal?.Service].flat();
    if (statement.Effect === 'Allow' && services.includes('events.amazonaws.com') && !statement.Condition) {
      statement.Condition = conditions;
    }
  }
  return document;
}
