import { Aws, Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface OnCallTopicProps {
  readonly key: kms.Key;
  /**
   * An existing topic to use instead of creating one (e.g. one wired to a paging service). Its
   * owner keeps its access policy and encryption: see docs/monitoring.md, "Using an existing topic".
   * @default a new KMS-encrypted, TLS-only topic
   */
  readonly existingTopicArn?: string;
  /** Email addresses subscribed to the topic. @default none */
  readonly emailSubscriptions?: readonly string[];
}

/**
 * The one SNS topic on-call hears from: alarms (alarm and OK), failed refresh workflows, rotation
 * failures, unexpected secret reads. KMS-encrypted with the broker's key; TLS-only publishing.
 * Or an existing topic from config, when the organisation already pages through one.
 *
 * Notifications that cannot be delivered (an EventBridge target or an email subscription failing)
 * land in `deliveryFailures`, which has its own alarm: a dropped security notification must be visible.
 */
export class OnCallTopic extends Construct {
  readonly topic: sns.ITopic;
  /** True when this construct created the topic (and so manages its policy and key). */
  readonly ownsTopic: boolean;
  /** Dead-letter queue of the notifications that could not be delivered. */
  readonly deliveryFailures: sqs.Queue;

  constructor(scope: Construct, id: string, props: OnCallTopicProps) {
    super(scope, id);
    if (props.existingTopicArn) {
      this.topic = sns.Topic.fromTopicArn(this, 'Topic', props.existingTopicArn);
      this.ownsTopic = false;
    } else {
      this.topic = new sns.Topic(this, 'Topic', {
        displayName: `ThroughLine token broker on-call (${Aws.STACK_NAME})`,
        masterKey: props.key,
        enforceSSL: true,
      });
      this.ownsTopic = true;
      // CloudWatch alarms and EventBridge rules publish as services: they need the key for encrypted topics.
      props.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowAlarmAndEventPublishersToEncryptForOnCallTopic',
          principals: [
            new iam.ServicePrincipal('cloudwatch.amazonaws.com'),
            new iam.ServicePrincipal('events.amazonaws.com'),
          ],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
        }),
      );
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

    for (const email of props.emailSubscriptions ?? []) {
      this.topic.addSubscription(
        new subscriptions.EmailSubscription(email, { deadLetterQueue: this.deliveryFailures }),
      );
    }
  }
}
