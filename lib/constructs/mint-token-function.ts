import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { EnvVar } from '../../lambda/core/settings';
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
 * mint-token: reads the credentials, calls ThroughLine, writes the encrypted token to the cache.
 * Reserved concurrency 1: mints are serialised, so concurrent cache misses cost one upstream call.
 */
export class MintTokenFunction extends Construct {
  readonly handler: BrokerFunction;

  constructor(scope: Construct, id: string, props: MintTokenFunctionProps) {
    super(scope, id);
    const { config } = props;
    this.handler = new BrokerFunction(this, 'Handler', {
      handlerName: 'mint-token',
      description: 'Mints ThroughLine access tokens (client credentials) into the encrypted token cache',
      timeout: Duration.seconds(Math.ceil(config.upstream.totalBudgetMs / 1000) + OVERHEAD_SECONDS),
      reservedConcurrentExecutions: 1,
      key: props.key,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        [EnvVar.CredentialsSecretArn]: props.credentialStore.secret.secretArn,
        [EnvVar.TokenTableName]: props.tokenCache.table.tableName,
        [EnvVar.TokenKeyArn]: props.key.keyArn,
        [EnvVar.Settings]: JSON.stringify({ upstream: config.upstream, token: config.token }),
      },
    });
    props.credentialStore.grantRead(this.handler.role, this.handler.function);
    props.tokenCache.grantTokenAccess(this.handler.role, 'readWrite');

    Validations.of(this.handler.function.node.defaultChild as CfnFunction).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'mint-token is only invoked synchronously (serve-token, Step Functions, operators); each caller receives and handles the failure, so there is no asynchronous event to dead-letter.',
    });
  }
}
