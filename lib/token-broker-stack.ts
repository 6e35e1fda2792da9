import { CfnOutput, RemovalPolicy, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StageConfig } from './config/schema';
import { BrokerKey } from './constructs/broker-key';
import { CredentialStore } from './constructs/credential-store';
import { MintTokenFunction } from './constructs/mint-token-function';
import { BrokerMonitoring } from './constructs/monitoring/broker-monitoring';
import { OnCallTopic } from './constructs/on-call-topic';
import { TokenCacheTable } from './constructs/token-cache-table';
import { StackOutput } from './stack-output-names';

export interface TokenBrokerStackProps extends StackProps {
  readonly stageName: string;
  readonly config: StageConfig;
}

/**
 * One ThroughLine token broker for one upstream application (e.g. sandbox or production):
 * its own key, credentials, token cache, functions and alarms.
 */
export class TokenBrokerStack extends Stack {
  readonly brokerKey: BrokerKey;
  readonly credentialStore: CredentialStore;
  readonly tokenCache: TokenCacheTable;
  readonly mintToken: MintTokenFunction;
  readonly onCall: OnCallTopic;
  readonly monitoring: BrokerMonitoring;

  constructor(scope: Construct, id: string, props: TokenBrokerStackProps) {
    super(scope, id, props);
    const { config } = props;
    const removalPolicy = config.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    Tags.of(this).add('throughline-broker:stage', props.stageName);

    this.brokerKey = new BrokerKey(this, 'BrokerKey', { removalPolicy });
    const key = this.brokerKey.key;
    this.credentialStore = new CredentialStore(this, 'CredentialStore', { key, removalPolicy });
    this.tokenCache = new TokenCacheTable(this, 'TokenCache', { key, removalPolicy });
    this.onCall = new OnCallTopic(this, 'OnCall', {
      key,
      existingTopicArn: config.monitoring.alarmTopicArn,
      emailSubscriptions: config.monitoring.emailSubscriptions,
    });
    this.mintToken = new MintTokenFunction(this, 'MintToken', {
      config,
      key,
      credentialStore: this.credentialStore,
      tokenCache: this.tokenCache,
      logRetention: config.logRetentionDays,
      removalPolicy,
      serviceName: this.stackName,
    });

    this.monitoring = new BrokerMonitoring(this, 'Monitoring', {
      config: config.monitoring,
      serviceName: this.stackName,
      onCall: this.onCall,
      credentialStore: this.credentialStore,
      functions: { MintToken: this.mintToken.handler },
    });

    new CfnOutput(this, StackOutput.Stage, { value: props.stageName, description: 'Broker stage' });
    new CfnOutput(this, StackOutput.CredentialsSecretArn, {
      value: this.credentialStore.secret.secretArn,
      description: 'Secret to put the ThroughLine {"client_id","client_secret"} into (see README)',
    });
    new CfnOutput(this, StackOutput.TokenTableName, {
      value: this.tokenCache.table.tableName,
      description: 'Encrypted token cache',
    });
    new CfnOutput(this, StackOutput.MintTokenFunctionName, {
      value: this.mintToken.handler.function.functionName,
      description: 'Operators: invoke with {"action":"ensure","force":true} to mint now',
    });
    new CfnOutput(this, StackOutput.OnCallTopicArn, {
      value: this.onCall.topic.topicArn,
      description: 'SNS topic of alarms and security events (subscribe on-call here)',
    });
    new CfnOutput(this, StackOutput.MonitoringDashboardName, {
      value: this.monitoring.dashboard.dashboardName,
      description: 'CloudWatch dashboard of this broker',
    });
    new CfnOutput(this, 'BrokerKeyArn', {
      value: key.keyArn,
      description: 'KMS key of the secret, cache, tokens and logs',
    });
  }
}
