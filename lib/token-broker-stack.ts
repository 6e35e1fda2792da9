import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { TokenApiEnvVar } from '../lambda/core/serve-token-request';
import type { StageConfig } from './config/schema';
import { BrokerKey } from './constructs/broker-key';
import { CredentialRotation } from './constructs/credential-rotation';
import { CredentialStore } from './constructs/credential-store';
import { MintTokenFunction } from './constructs/mint-token-function';
import { BrokerMonitoring } from './constructs/monitoring/broker-monitoring';
import { ManagementTrail } from './constructs/monitoring/management-trail';
import { OnCallTopic } from './constructs/on-call-topic';
import { RefreshWorkflow } from './constructs/refresh-workflow';
import { ServeTokenFunction } from './constructs/serve-token-function';
import { TOKEN_API_STAGE, TokenApi } from './constructs/token-api';
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
  readonly serveToken: ServeTokenFunction;
  readonly tokenApi: TokenApi;
  readonly refreshWorkflow: RefreshWorkflow;
  readonly credentialRotation: CredentialRotation;
  /** Only with monitoring.createManagementTrail. */
  readonly managementTrail?: ManagementTrail;

  constructor(scope: Construct, id: string, props: TokenBrokerStackProps) {
    super(scope, id, props);
    const { config } = props;
    const removalPolicy = config.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    Tags.of(this).add('throughline-broker:stage', props.stageName);

    this.brokerKey = new BrokerKey(this, 'BrokerKey', { removalPolicy });
    const key = this.brokerKey.key;
    this.credentialStore = new CredentialStore(this, 'CredentialStore', { key, removalPolicy });
    this.tokenCache = new TokenCacheTable(this, 'TokenCache', { key, removalPolicy });
    this.brokerKey.restrictTokenDecryption(() => this.tokenCache.tokenAccessorRoleArns);
    this.onCall = new OnCallTopic(this, 'OnCall', {
      removalPolicy,
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

    this.serveToken = new ServeTokenFunction(this, 'ServeToken', {
      config,
      key,
      tokenCache: this.tokenCache,
      mintToken: this.mintToken,
      logRetention: config.logRetentionDays,
      removalPolicy,
      serviceName: this.stackName,
    });
    this.tokenApi = new TokenApi(this, 'TokenApi', {
      config: config.api,
      handler: this.serveToken.handler.function,
      key,
      logRetention: config.logRetentionDays,
      removalPolicy,
    });
    // serve-token records only this API's events as API calls (lambda/core/serve-token-request.ts).
    this.serveToken.handler.function.addEnvironment(TokenApiEnvVar.ApiId, this.tokenApi.api.restApiId);
    this.serveToken.handler.function.addEnvironment(TokenApiEnvVar.Stage, TOKEN_API_STAGE);
    this.refreshWorkflow = new RefreshWorkflow(this, 'RefreshWorkflow', {
      refresh: config.refresh,
      mintToken: this.mintToken.handler.function,
      mintTokenTimeout: this.mintToken.handler.function.timeout ?? Duration.minutes(1),
      onCallTopic: this.onCall.topic,
      key,
      logRetention: config.logRetentionDays,
      removalPolicy,
    });

    // CDK's Lambda task grants the function ARN and "<arn>:*"; the workflow only ever needs the serving
    // entry point, so the operator alias is denied to its role explicitly (an explicit Deny wins over
    // any Allow: IAM policy evaluation logic, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
    this.refreshWorkflow.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'NoOperatorEntryPoint',
        effect: iam.Effect.DENY,
        actions: ['lambda:InvokeFunction'],
        resources: [this.mintToken.operatorAlias.functionArn],
      }),
    );

    this.credentialRotation = new CredentialRotation(this, 'RotateCredentials', {
      config,
      key,
      credentialStore: this.credentialStore,
      mintToken: this.mintToken.handler.function,
      logRetention: config.logRetentionDays,
      removalPolicy,
      serviceName: this.stackName,
    });

    this.monitoring = new BrokerMonitoring(this, 'Monitoring', {
      config: config.monitoring,
      serviceName: this.stackName,
      onCall: this.onCall,
      credentialStore: this.credentialStore,
      functions: {
        MintToken: this.mintToken.handler,
        ServeToken: this.serveToken.handler,
        RotateCredentials: this.credentialRotation.handler,
      },
      api: {
        restApi: this.tokenApi.api,
        stageName: this.tokenApi.api.deploymentStage.stageName,
        accessLogGroup: this.tokenApi.accessLogGroup,
      },
      refreshWorkflow: {
        stateMachine: this.refreshWorkflow.stateMachine,
        scheduleInterval: Duration.minutes(config.refresh.scheduleRateMinutes),
      },
    });
    if (config.monitoring.createManagementTrail) {
      this.managementTrail = new ManagementTrail(this, 'ManagementTrail', { removalPolicy });
    }
    this.addTokenApiOutputs();

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
    new CfnOutput(this, StackOutput.MintTokenOperatorAliasArn, {
      value: this.mintToken.operatorAlias.functionArn,
      description:
        "mint-token's operator entry point (force, flush, gate override): grant operators lambda:InvokeFunction on this ARN only",
    });
    new CfnOutput(this, StackOutput.OnCallTopicArn, {
      value: this.onCall.topic.topicArn,
      description: 'SNS topic of alarms and security events (subscribe on-call here)',
    });
    new CfnOutput(this, StackOutput.MonitoringDashboardName, {
      value: this.monitoring.dashboard.dashboardName,
      description: 'CloudWatch dashboard of this broker',
    });
    new CfnOutput(this, StackOutput.RefreshStateMachineArn, {
      value: this.refreshWorkflow.stateMachine.stateMachineArn,
      description: 'Scheduled token refresh workflow (Step Functions)',
    });
    new CfnOutput(this, StackOutput.RotateFunctionName, {
      value: this.credentialRotation.handler.function.functionName,
      description: 'Rotation function of the credentials secret (started by `credentials rotate`)',
    });
    new CfnOutput(this, StackOutput.BrokerKeyArn, {
      value: key.keyArn,
      description: 'KMS key of the secret, cache, tokens and logs',
    });
  }

  private addTokenApiOutputs(): void {
    const api = this.tokenApi;
    new CfnOutput(this, StackOutput.ApiId, { value: api.api.restApiId, description: 'Token API id' });
    new CfnOutput(this, StackOutput.ApiUrl, {
      value: api.url,
      description: 'Token API base URL (stage v1); give it to the consumer client as apiUrl',
    });
    new CfnOutput(this, StackOutput.TokenEndpoint, {
      value: api.tokenUrl,
      description: 'GET this with SigV4 (service execute-api) for an access token',
    });
    new CfnOutput(this, StackOutput.TokenInvokeArn, {
      value: api.tokenInvokeArn,
      description: "Grant a consumer's role execute-api:Invoke on this ARN (and allow it in the api config)",
    });
    new CfnOutput(this, StackOutput.ApiAccessLogGroupName, {
      value: api.accessLogGroup.logGroupName,
      description: 'Token API JSON access logs (caller ARN, account, status)',
    });
    new CfnOutput(this, StackOutput.ServeTokenFunctionName, {
      value: this.serveToken.handler.function.functionName,
      description: 'serve-token; same-account services may invoke it directly with {"min_ttl": <seconds>}',
    });
    new CfnOutput(this, StackOutput.ServeTokenFunctionArn, {
      value: this.serveToken.handler.function.functionArn,
      description:
        "Grant a same-account service's role lambda:InvokeFunction on this ARN for direct invocation",
    });
  }
}
