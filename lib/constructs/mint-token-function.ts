import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { EnvVar } from '../../contract/env-vars';
import { OPERATOR_ALIAS } from '../../contract/mint-token-payload';
import { brokerSettingsOf } from '../config/runtime-settings';
import type { StageConfig } from '../config/schema';
import { BrokerFunction } from './broker-function';
import type { CredentialStore } from './credential-store';
import type { TokenCacheTable } from './token-cache-table';

export interface MintTokenFunctionProps {
  readonly config: StageConfig;
  readonly key: kms.IKey;
  readonly credentialStore: CredentialStore;
  readonly tokenCache: TokenCacheTable;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly serviceName: string;
}

/** Time beyond the upstream budget for reading the secret and cache, writing the cache, flushing metrics. */
const OVERHEAD_SECONDS = 10;

/**
 * mint-token: reads the credentials, calls ThroughLine through the fleet-wide upstream gate, writes
 * the encrypted token to the cache. The gate's lease serialises mints (reserved concurrency is an
 * optional extra), so concurrent cache misses cost one upstream call.
 *
 * Two entry points, told apart by IAM: the unqualified function (serving: serve-token, the schedule,
 * the rotation function — a token, never a forced one) and the `operator` alias (force, flush, gate
 * override), which only principals granted with `grantOperatorInvoke` may invoke. The function reads
 * which one Lambda invoked from `context.invokedFunctionArn`. IAM permissions on a function can be
 * restricted "to a specific function by function, version, or alias ARN"
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-api-permissions-ref.html), and a policy naming
 * the unqualified ARN does not cover the alias.
 */
export class MintTokenFunction extends Construct {
  readonly handler: BrokerFunction;
  /** The operator entry point. */
  readonly operatorAlias: lambda.Alias;

  constructor(scope: Construct, id: string, props: MintTokenFunctionProps) {
    super(scope, id);
    const { config } = props;
    this.handler = new BrokerFunction(this, 'Handler', {
      handlerName: 'mint-token',
      description: 'Mints ThroughLine access tokens (client credentials) into the encrypted token cache',
      timeout: Duration.seconds(Math.ceil(config.upstream.totalBudgetMs / 1000) + OVERHEAD_SECONDS),
      ...(config.mintToken.reservedConcurrency !== undefined
        ? { reservedConcurrentExecutions: config.mintToken.reservedConcurrency }
        : {}),
      key: props.key,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        [EnvVar.CredentialsSecretArn]: props.credentialStore.secret.secretArn,
        [EnvVar.TokenTableName]: props.tokenCache.table.tableName,
        [EnvVar.TokenKeyArn]: props.key.keyArn,
        [EnvVar.Settings]: JSON.stringify(brokerSettingsOf(config)),
      },
    });
    props.credentialStore.grantRead(this.handler.role, this.handler.function);
    props.tokenCache.grantTokenAccess(this.handler.role, 'readWrite');
    // Proxy mode: operators' `usage` report reads the quota ledger (one BatchGetItem, no writes).
    if (config.proxy.enabled) props.tokenCache.grantQuotaLedgerRead(this.handler.role);

    this.operatorAlias = new lambda.Alias(this, 'OperatorAlias', {
      aliasName: OPERATOR_ALIAS,
      version: this.handler.function.currentVersion,
      description: 'Operator entry point of mint-token: force, flush, gate override (operators only)',
    });

    Validations.of(this.handler.function.node.defaultChild as lambda.CfnFunction).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'mint-token is only invoked synchronously (serve-token, Step Functions, operators); each caller receives and handles the failure, so there is no asynchronous event to dead-letter.',
    });
  }

  /** The serving entry point: the unqualified function only (no versions or aliases, so not the operator alias). */
  grantServingInvoke(role: iam.IRole, sid: string): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid,
        actions: ['lambda:InvokeFunction'],
        resources: [this.handler.function.functionArn],
      }),
    );
  }

  /** The operator entry point (force, flush, gate override): for operator roles, never for a broker function. */
  grantOperatorInvoke(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['lambda:InvokeFunction'],
      resourceArns: [this.operatorAlias.functionArn],
    });
  }
}
