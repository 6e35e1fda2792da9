import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StageConfig } from './config/schema';
import { BrokerKey } from './constructs/broker-key';
import { CredentialRotation } from './constructs/credential-rotation';
import { CredentialStore } from './constructs/credential-store';
import { MintTokenFunction } from './constructs/mint-token-function';
import { OnCallTopic } from './constructs/on-call-topic';
import { RefreshWorkflow } from './constructs/refresh-workflow';
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
  readonly refreshWorkflow: RefreshWorkflow;
  readonly credentialRotation: CredentialRotation;

  constructor(scope: Construct, id: string, props: TokenBrokerStackProps) {
    super(scope, id, props);
    const { config } = props;
    const removalPolicy = config.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    Tags.of(this).add('throughline-broker:stage', props.stageName);

    this.brokerKey = new BrokerKey(this, 'BrokerKey', { removalPolicy });
    const key = this.brokerKey.key;
    this.credentialStore = new CredentialStore(this, 'CredentialStore', { key, removalPolicy });
    this.tokenCache = new TokenCacheTable(this, 'TokenCache', { key, removalPolicy });
    this.onCall = new OnCallTopic(this, 'OnCall', { key });
    this.mintToken = new MintTokenFunction(this, 'MintToken', {
      config,
      key,
      credentialStore: this.credentialStore,
      tokenCache: this.tokenCache,
      logRetention: config.logRetentionDays,
      removalPolicy,
      serviceName: this.stackName,
    });

    this.refreshWorkflow = new RefreshWorkflow(this, 'RefreshWorkflow', {
      refresh: config.refresh,
      mintToken: this.mintToken.handler.function,
      mintTokenTimeout: this.mintToken.handler.function.timeout ?? Duration.minutes(1),
      onCallTopic: this.onCall.topic,
      key,
      logRetention: config.logRetentionDays,
      removalPolicy,
    });

    this.credentialRotation = new CredentialRotation(this, 'RotateCredentials', {
      config,
      key,
      credentialStore: this.credentialStore,
      mintToken: this.mintToken.handler.function,
      logRetention: config.logRetentionDays,
      removalPolicy,
      serviceName: this.stackName,
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
    new CfnOutput(this, StackOutput.RefreshStateMachineArn, {
      value: this.refreshWorkflow.stateMachine.stateMachineArn,
      description: 'Scheduled token refresh workflow (Step Functions)',
    });
    new CfnOutput(this, StackOutput.RotateFunctionName, {
      value: this.credentialRotation.handler.function.functionName,
      description: 'Rotation function of the credentials secret (started by `credentials rotate`)',
    });
    new CfnOutput(this, 'BrokerKeyArn', {
      value: key.keyArn,
      description: 'KMS key of the secret, cache, tokens and logs',
    });
  }
}
