import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export interface OnCallTopicProps {
  readonly key: kms.Key;
}

/**
 * The one SNS topic on-call hears from: alarms (alarm and OK), failed refresh workflows, rotation
 * failures, unexpected secret reads. KMS-encrypted with the broker's key; TLS-only publishing.
 */
export class OnCallTopic extends Construct {
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: OnCallTopicProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: `ThroughLine token broker on-call (${Aws.STACK_NAME})`,
      masterKey: props.key,
      enforceSSL: true,
    });
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
}
