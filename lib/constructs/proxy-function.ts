import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { EnvVar } from '../../contract/env-vars';
import { proxySettingsOf, serveTokenSettingsOf } from '../config/runtime-settings';
import type { StageConfig } from '../config/schema';
import { BrokerFunction } from './broker-function';
import type { MintTokenFunction } from './mint-token-function';
import type { TokenCacheTable } from './token-cache-table';

export interface ProxyFunctionProps {
  /** The stage config: `proxy` for its own settings, `token` and `api` for how it gets its token. */
  readonly config: StageConfig;
  /** The broker key (its log group is encrypted with it). */
  readonly key: kms.IKey;
  /** The token cache: the token it sends, and the quota ledger and rate slots beside it. */
  readonly tokenCache: TokenCacheTable;
  /** Asked to `ensure` a token on a miss or after ThroughLine rejected one. */
  readonly mintToken: MintTokenFunction;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly serviceName: string;
}

/** Time beyond the request budget to answer, write the audit line and flush metrics. */
const OVERHEAD_SECONDS = 3;

/**
 * proxy-throughline: proxy mode's function (lambda/handlers/proxy-throughline.ts), reached only
 * through the token API's `/throughline/{path+}`. Its role reads and decrypts the cached token,
 * invokes mint-token's serving entry point, and counts in the quota ledger and the per-second rate
 * items of the token table — and nothing else: no permission on the credentials secret, whose
 * resource policy denies it anyway, and no write to the token or the gate.
 */
export class ProxyFunction extends Construct {
  readonly handler: BrokerFunction;

  constructor(scope: Construct, id: string, props: ProxyFunctionProps) {
    super(scope, id);
    const { config } = props;
    this.handler = new BrokerFunction(this, 'Handler', {
      handlerName: 'proxy-throughline',
      description: "Forwards IAM-authenticated callers' requests to ThroughLine's API with the cached token",
      timeout: Duration.seconds(Math.ceil(config.proxy.requestBudgetMs / 1000) + OVERHEAD_SECONDS),
      key: props.key,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        [EnvVar.TokenTableName]: props.tokenCache.table.tableName,
        [EnvVar.TokenKeyArn]: props.key.keyArn,
        [EnvVar.MintTokenFunctionName]: props.mintToken.handler.function.functionName,
        [EnvVar.ServeSettings]: JSON.stringify(serveTokenSettingsOf(config)),
        [EnvVar.ProxySettings]: JSON.stringify(proxySettingsOf(config)),
      },
    });
    props.tokenCache.grantTokenAccess(this.handler.role, 'read');
    props.tokenCache.grantQuotaLedger(this.handler.role, { responseCache: config.proxy.cache.enabled });
    props.mintToken.grantServingInvoke(this.handler.role, 'InvokeMintToken');

    Validations.of(this.handler.function.node.defaultChild as CfnFunction).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'proxy-throughline is only invoked synchronously by API Gateway; the caller receives every failure, so there is no asynchronous event to dead-letter.',
    });
  }
}
