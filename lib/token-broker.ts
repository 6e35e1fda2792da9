import { CfnOutput, Duration, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { EnvVar } from '../contract/env-vars';
import { PROXY_PATH } from '../contract/proxy-api';
import { StackOutput, type StackOutputKey } from '../contract/stack-outputs';
import { ConfigError, parseStageSettings } from './config/load-config';
import type { StageConfig, StageSettingsInput } from './config/schema';
import { BrokerKey } from './constructs/broker-key';
import { CredentialRotation } from './constructs/credential-rotation';
import { CredentialStore } from './constructs/credential-store';
import { MintTokenFunction } from './constructs/mint-token-function';
import { BrokerMonitoring } from './constructs/monitoring/broker-monitoring';
import { ManagementTrail } from './constructs/monitoring/management-trail';
import { OnCallTopic } from './constructs/on-call-topic';
import { ProxyFunction } from './constructs/proxy-function';
import { RefreshWorkflow } from './constructs/refresh-workflow';
import { ServeTokenFunction } from './constructs/serve-token-function';
import { TOKEN_API_STAGE, TokenApi } from './constructs/token-api';
import { TokenCacheTable } from './constructs/token-cache-table';

/** Where on-call is told: an existing topic, or the topic the broker creates. Exclusive by type. */
export type TokenBrokerOnCall =
  | {
      /**
       * A topic of the app (e.g. wired to a paging service). Its owner keeps its access policy and
       * key, which must let CloudWatch alarms and EventBridge publish: docs/monitoring.md, "Using an
       * existing topic".
       */
      readonly existingTopic: sns.ITopic;
      /** TICKET-level notifications apart from the PAGE ones. @default existingTopic (one topic for both) */
      readonly existingTicketTopic?: sns.ITopic;
    }
  | {
      /** Email addresses subscribed to the broker's own topic. @default settings.monitoring.emailSubscriptions */
      readonly emailSubscriptions?: readonly string[];
    };

/** The broker's settings, as written (validated here) or already validated. Exclusive by type. */
export type TokenBrokerSettings =
  | {
      /**
       * The same object as a stage's entry in cdk.json (`stages.<name>`), validated and defaulted by
       * the schema in lib/config/schema.ts (the README's configuration reference).
       * @default every default (the secret, key, table and logs are retained on destroy)
       */
      readonly settings?: StageSettingsInput;
      readonly config?: never;
    }
  | {
      /**
       * Settings already validated (loadStageConfig, or `stageSchema.parse`), used as they are: e.g.
       * with a deploy-time token (a URL from another construct) where the schema wants a literal.
       */
      readonly config: StageConfig;
      readonly settings?: never;
    };

export type TokenBrokerProps = TokenBrokerSettings & TokenBrokerOptions;

export interface TokenBrokerOptions {
  /** Tagged on every resource as `throughline-broker:stage`. @default "default" */
  readonly stageName?: string;
  /**
   * Names the broker's metrics (the `service` dimension), alarms and dashboard; unique per account
   * and region. @default the stack's name
   */
  readonly serviceName?: string;
  /**
   * A KMS key of the same stack for the secret, cache, tokens and logs, instead of a new one; the
   * broker adds its statements to its key policy (lib/constructs/broker-key.ts).
   * @default a new customer-managed key with annual rotation
   */
  readonly existingKey?: kms.Key;
  /** @default a new KMS-encrypted, TLS-only topic (settings.monitoring.alarmTopicArn, if set, instead) */
  readonly onCall?: TokenBrokerOnCall;
  /**
   * Stack outputs under the names the operator CLI and the client look for (contract/stack-outputs.ts).
   * They are stack-wide names: one broker with outputs per stack. @default true
   */
  readonly stackOutputs?: boolean;
}

const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const STAGE_NAME = /^[a-z][a-z0-9-]{0,19}$/;

/** Checks the props together and returns the validated settings, or throws one ConfigError naming every problem. */
function checkProps(scope: Construct, props: TokenBrokerProps): StageConfig {
  const problems: string[] = [];
  const settings: ReturnType<typeof parseStageSettings> = props.config
    ? { ok: true, config: props.config }
    : parseStageSettings(props.settings ?? {}, ['settings']);
  const monitoring = props.config?.monitoring ?? props.settings?.monitoring;
  if (!settings.ok) problems.push(...settings.problems);
  if (props.existingKey && Stack.of(props.existingKey) !== Stack.of(scope)) {
    problems.push(
      "existingKey: must be a key of the stack the broker is in (its key policy gets the broker's statements, which would make the two stacks depend on each other); create the key in that stack",
    );
  }
  if (props.stageName !== undefined && !STAGE_NAME.test(props.stageName)) {
    problems.push(
      'stageName: lower-case letters, digits and "-", at most 20 characters, starting with a letter',
    );
  }
  if (props.serviceName !== undefined && !SERVICE_NAME.test(props.serviceName)) {
    problems.push(
      'serviceName: letters, digits, "_", "." and "-", at most 128 characters (it becomes part of alarm names and a metric dimension)',
    );
  }
  if (props.onCall && 'existingTopic' in props.onCall && monitoring?.alarmTopicArn) {
    problems.push(
      'onCall.existingTopic and settings.monitoring.alarmTopicArn both name a topic: keep one of them',
    );
  }
  if (
    props.onCall &&
    'existingTopic' in props.onCall &&
    props.onCall.existingTicketTopic &&
    monitoring?.ticketTopicArn
  ) {
    problems.push(
      'onCall.existingTicketTopic and settings.monitoring.ticketTopicArn both name a ticket topic: keep one of them',
    );
  }
  if (
    props.onCall &&
    !('existingTopic' in props.onCall) &&
    props.onCall.emailSubscriptions &&
    (monitoring?.emailSubscriptions?.length ?? 0) > 0
  ) {
    problems.push(
      'onCall.emailSubscriptions and settings.monitoring.emailSubscriptions both list subscribers: keep one of them',
    );
  }
  if (problems.length > 0 || !settings.ok) throw new ConfigError(problems);
  return settings.config;
}

/**
 * One ThroughLine token broker: its key, credentials secret, encrypted token cache, mint-token,
 * serve-token and the IAM-authenticated token API, the scheduled refresh, credential rotation, alarms
 * and dashboard. Everything is optional: `new TokenBroker(stack, 'Broker')` is a working broker.
 * The operator CLI finds it through the stack outputs (`stackOutputs`), consumers through its API.
 */
export class TokenBroker extends Construct {
  /** The validated settings, defaults filled in. */
  readonly config: StageConfig;
  readonly brokerKey: BrokerKey;
  readonly credentialStore: CredentialStore;
  readonly tokenCache: TokenCacheTable;
  readonly mintToken: MintTokenFunction;
  readonly onCall: OnCallTopic;
  readonly monitoring: BrokerMonitoring;
  readonly serveToken: ServeTokenFunction;
  readonly tokenApi: TokenApi;
  /** Proxy mode's function (settings.proxy.enabled, the default). */
  readonly proxy?: ProxyFunction;
  readonly refreshWorkflow: RefreshWorkflow;
  readonly credentialRotation: CredentialRotation;
  /** Only with settings.monitoring.createManagementTrail. */
  readonly managementTrail?: ManagementTrail;
  /** What the stack outputs hold, by output name (tokens until deploy), whether or not outputs are created. */
  readonly outputs: Readonly<Partial<Record<StackOutputKey, string>>>;

  constructor(scope: Construct, id: string, props: TokenBrokerProps = {}) {
    super(scope, id);
    const config = checkProps(scope, props);
    this.config = config;
    const stageName = props.stageName ?? 'default';
    const serviceName = props.serviceName ?? Stack.of(this).stackName;
    const removalPolicy = config.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    Tags.of(this).add('throughline-broker:stage', stageName);

    this.brokerKey = new BrokerKey(this, 'BrokerKey', {
      removalPolicy,
      ...(props.existingKey ? { existingKey: props.existingKey } : {}),
    });
    const key = this.brokerKey.key;
    this.credentialStore = new CredentialStore(this, 'CredentialStore', { key, removalPolicy });
    this.tokenCache = new TokenCacheTable(this, 'TokenCache', { key, removalPolicy });
    this.brokerKey.restrictTokenDecryption(() => this.tokenCache.tokenAccessorRoleArns);
    const onCall = props.onCall;
    this.onCall = new OnCallTopic(this, 'OnCall', {
      removalPolicy,
      existingTopicArn: config.monitoring.alarmTopicArn,
      existingTicketTopicArn: config.monitoring.ticketTopicArn,
      ...(onCall && 'existingTopic' in onCall ? { existingTopic: onCall.existingTopic } : {}),
      ...(onCall && 'existingTopic' in onCall && onCall.existingTicketTopic
        ? { existingTicketTopic: onCall.existingTicketTopic }
        : {}),
      emailSubscriptions:
        (onCall && !('existingTopic' in onCall) ? onCall.emailSubscriptions : undefined) ??
        config.monitoring.emailSubscriptions,
    });
    this.mintToken = new MintTokenFunction(this, 'MintToken', {
      config,
      key,
      credentialStore: this.credentialStore,
      tokenCache: this.tokenCache,
      logRetention: config.logRetentionDays,
      removalPolicy,
      serviceName,
    });

    this.serveToken = new ServeTokenFunction(this, 'ServeToken', {
      config,
      key,
      tokenCache: this.tokenCache,
      mintToken: this.mintToken,
      logRetention: config.logRetentionDays,
      removalPolicy,
      serviceName,
    });
    this.tokenApi = new TokenApi(this, 'TokenApi', {
      config: config.api,
      handler: this.serveToken.handler.function,
      key,
      logRetention: config.logRetentionDays,
      removalPolicy,
    });
    // serve-token records only this API's events as API calls (lambda/serving/serve-token-request.ts).
    this.serveToken.handler.function.addEnvironment(EnvVar.TokenApiId, this.tokenApi.api.restApiId);
    this.serveToken.handler.function.addEnvironment(EnvVar.TokenApiStage, TOKEN_API_STAGE);
    if (config.proxy.enabled) {
      this.proxy = new ProxyFunction(this, 'Proxy', {
        config,
        key,
        tokenCache: this.tokenCache,
        mintToken: this.mintToken,
        logRetention: config.logRetentionDays,
        removalPolicy,
        serviceName,
      });
      this.tokenApi.addProxyRoute(this.proxy.handler.function);
      this.proxy.handler.function.addEnvironment(EnvVar.TokenApiId, this.tokenApi.api.restApiId);
      this.proxy.handler.function.addEnvironment(EnvVar.TokenApiStage, TOKEN_API_STAGE);
    }
    this.refreshWorkflow = new RefreshWorkflow(this, 'RefreshWorkflow', {
      refresh: config.refresh,
      mintToken: this.mintToken.handler.function,
      mintTokenTimeout: this.mintToken.handler.function.timeout ?? Duration.minutes(1),
      // A failed run is a TICKET (RefreshWorkflowFailed); what pages is its consequence (RefreshSilent, TokenNearExpiry).
      onCallTopic: this.onCall.topicFor('ticket'),
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
      serviceName,
    });

    this.monitoring = new BrokerMonitoring(this, 'Monitoring', {
      config: config.monitoring,
      serviceName,
      onCall: this.onCall,
      credentialStore: this.credentialStore,
      functions: {
        MintToken: this.mintToken.handler,
        ServeToken: this.serveToken.handler,
        ...(this.proxy ? { ProxyThroughLine: this.proxy.handler } : {}),
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

    this.outputs = {
      [StackOutput.Stage]: stageName,
      [StackOutput.CredentialsSecretArn]: this.credentialStore.secret.secretArn,
      [StackOutput.TokenTableName]: this.tokenCache.table.tableName,
      [StackOutput.MintTokenFunctionName]: this.mintToken.handler.function.functionName,
      [StackOutput.MintTokenOperatorAliasArn]: this.mintToken.operatorAlias.functionArn,
      [StackOutput.OnCallTopicArn]: this.onCall.topic.topicArn,
      [StackOutput.OnCallTicketTopicArn]: this.onCall.ticketTopic.topicArn,
      [StackOutput.MonitoringDashboardName]: this.monitoring.dashboard.dashboardName,
      [StackOutput.RefreshStateMachineArn]: this.refreshWorkflow.stateMachine.stateMachineArn,
      [StackOutput.RotateFunctionName]: this.credentialRotation.handler.function.functionName,
      [StackOutput.BrokerKeyArn]: key.keyArn,
      [StackOutput.ApiId]: this.tokenApi.api.restApiId,
      [StackOutput.ApiUrl]: this.tokenApi.url,
      [StackOutput.TokenEndpoint]: this.tokenApi.tokenUrl,
      [StackOutput.TokenInvokeArn]: this.tokenApi.tokenInvokeArn,
      [StackOutput.ApiAccessLogGroupName]: this.tokenApi.accessLogGroup.logGroupName,
      [StackOutput.ServeTokenFunctionName]: this.serveToken.handler.function.functionName,
      [StackOutput.ServeTokenFunctionArn]: this.serveToken.handler.function.functionArn,
      ...(this.proxy
        ? {
            [StackOutput.ProxyBaseUrl]: `${this.tokenApi.url}${PROXY_PATH}/`,
            [StackOutput.ProxyFunctionName]: this.proxy.handler.function.functionName,
          }
        : {}),
    };
    if (props.stackOutputs ?? true) this.addStackOutputs();
  }

  /**
   * Lets `grantee` get tokens from the API: IAM `execute-api:Invoke` on the token method and, for a
   * principal of this stack or a literal ARN, a place in the API's resource policy (TokenApi.grantGetToken).
   */
  grantGetToken(grantee: iam.IGrantable): iam.Grant {
    return this.tokenApi.grantGetToken(grantee);
  }

  /** Lets `grantee` call ThroughLine through the broker (proxy mode: `GET|POST /throughline/*`). */
  grantProxy(grantee: iam.IGrantable): iam.Grant {
    return this.tokenApi.grantProxy(grantee);
  }

  /** The outputs, in the stack's scope so their names are exactly the keys the CLI reads. */
  private addStackOutputs(): void {
    const stack = Stack.of(this);
    const descriptions: Record<StackOutputKey, string> = {
      [StackOutput.Stage]: 'Broker stage',
      [StackOutput.CredentialsSecretArn]:
        'Secret to put the ThroughLine {"client_id","client_secret"} into (see README)',
      [StackOutput.TokenTableName]: 'Encrypted token cache',
      [StackOutput.MintTokenFunctionName]:
        'Operators: invoke with {"action":"ensure","force":true} to mint now',
      [StackOutput.MintTokenOperatorAliasArn]:
        "mint-token's operator entry point (force, flush, gate override): grant operators lambda:InvokeFunction on this ARN only",
      [StackOutput.OnCallTopicArn]:
        'SNS topic of PAGE-level alarms and security events (subscribe the pager here)',
      [StackOutput.OnCallTicketTopicArn]:
        'SNS topic of TICKET-level alarms and events (next working day; the PAGE topic when only one is configured)',
      [StackOutput.MonitoringDashboardName]: 'CloudWatch dashboard of this broker',
      [StackOutput.RefreshStateMachineArn]: 'Scheduled token refresh workflow (Step Functions)',
      [StackOutput.RotateFunctionName]:
        'Rotation function of the credentials secret (started by `credentials rotate`)',
      [StackOutput.BrokerKeyArn]: 'KMS key of the secret, cache, tokens and logs',
      [StackOutput.ApiId]: 'Token API id',
      [StackOutput.ApiUrl]: 'Token API base URL (stage v1); give it to the consumer client as apiUrl',
      [StackOutput.TokenEndpoint]: 'GET this with SigV4 (service execute-api) for an access token',
      [StackOutput.TokenInvokeArn]:
        "Grant a consumer's role execute-api:Invoke on this ARN (and allow it in the api config)",
      [StackOutput.ApiAccessLogGroupName]: 'Token API JSON access logs (caller ARN, account, status)',
      [StackOutput.ServeTokenFunctionName]:
        'serve-token; same-account services may invoke it directly with {"min_ttl": <seconds>}',
      [StackOutput.ServeTokenFunctionArn]:
        "Grant a same-account service's role lambda:InvokeFunction on this ARN for direct invocation",
      [StackOutput.ProxyBaseUrl]:
        "Proxy mode: call ThroughLine's API paths under this URL with SigV4 (service execute-api), e.g. <url>v2/countries",
      [StackOutput.ProxyFunctionName]:
        'proxy-throughline (proxy mode): its logs hold one audit line per ThroughLine call',
    };
    for (const [name, value] of Object.entries(this.outputs) as [StackOutputKey, string][]) {
      new CfnOutput(stack, name, { value, description: descriptions[name] });
    }
  }
}
