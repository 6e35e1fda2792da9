import { App, Aws, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { TokenBroker } from '../lib/token-broker';

/**
 * A platform team's own stack with the broker inside: its own key (shared with its other resources),
 * its own paging topic, its own naming, and a consumer role of its app granted tokens. Type-checked
 * and synthesized with cdk-nag by the tests (test/infra/token-broker-construct.test.ts).
 *
 *   npx cdk synth --app "npx tsx examples/embedded-broker.ts"
 */
export class PlatformStack extends Stack {
  readonly broker: TokenBroker;
  readonly consumer: iam.Role;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const key = new kms.Key(this, 'PlatformKey', { enableKeyRotation: true });

    // The team's paging topic. It is theirs, so the grants the broker's publishers need are theirs to
    // write (docs/monitoring.md, "Using an existing topic").
    const pagingKey = new kms.Key(this, 'PagingKey', { enableKeyRotation: true });
    const paging = new sns.Topic(this, 'Paging', { masterKey: pagingKey, enforceSSL: true });
    paging.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'BrokerAlarms',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [paging.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: {
            'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*`,
          },
        },
      }),
    );
    pagingKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'BrokerPublishers',
        principals: [
          new iam.ServicePrincipal('cloudwatch.amazonaws.com'),
          new iam.ServicePrincipal('events.amazonaws.com'),
        ],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );

    this.broker = new TokenBroker(this, 'ThroughLine', {
      existingKey: key,
      onCall: { existingTopic: paging },
      serviceName: 'platform-throughline',
      stageName: 'prod',
      settings: { removalPolicy: 'retain' },
    });

    this.consumer = new iam.Role(this, 'HelplineService', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'A service that fetches ThroughLine tokens from the broker',
    });
    this.broker.grantGetToken(this.consumer);
  }
}

if (require.main === module) {
  new PlatformStack(new App(), 'PlatformWithThroughLine');
}
