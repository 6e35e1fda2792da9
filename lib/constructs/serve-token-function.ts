import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { EnvVar } from '../../contract/env-vars';
import { serveTokenSettingsOf } from '../config/runtime-settings';
import type { StageConfig } from '../config/schema';
import { BrokerFunction } from './broker-function';
import type { MintTokenFunction } from './mint-token-function';
import type { TokenCacheTable } from './token-cache-table';

export interface ServeTokenFunctionProps {
  readonly config: StageConfig;
  readonly key: kms.IKey;
  readonly tokenCache: TokenCacheTable;
  readonly mintToken: MintTokenFunction;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly serviceName: string;
}

/** Time beyond the request budget to answer, write the audit line and flush metrics. */
const OVERHEAD_SECONDS = 3;

/**
 * serve-token: the function consumers reach (through the token API, or by direct invocation).
 * Its role reads and decrypts the cached token and invokes mint-token — and nothing else: it has
 * no permission on the credentials secret, and the secret's resource policy denies it anyway.
 */
export class ServeTokenFunction extends Construct {
  readonly handler: BrokerFunction;

  constructor(scope: Construct, id: string, props: ServeTokenFunctionProps) {
    super(scope, id);
    const { config } = props;
    const mintFunction = props.mintToken.handler.function;
    this.handler = new BrokerFunction(this, 'Handler', {
      handlerName: 'serve-token',
      description: 'Serves the cached ThroughLine access token to IAM-authenticated internal callers',
      timeout: Duration.seconds(Math.ceil(config.api.requestBudgetMs / 1000) + OVERHEAD_SECONDS),
      key: props.key,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        [EnvVar.TokenTableName]: props.tokenCache.table.tableName,
        [EnvVar.TokenKeyArn]: props.key.keyArn,
        [EnvVar.MintTokenFunctionName]: mintFunction.functionName,
        [EnvVar.ServeSettings]: JSON.stringify(serveTokenSettingsOf(config)),
      },
    });
    props.tokenCache.grantTokenAccess(this.handler.role, 'read');
    // The serving entry point only: the unqualified function, never its operator alias (grantInvoke
    // would add "<arn>:*"). So a compromised serve-token can ask for a token, never force one.
    props.mintToken.grantServingInvoke(this.handler.role, 'InvokeMintToken');

    Validations.of(this.handler.function.node.defaultChild as CfnFunction).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'serve-token is only invoked synchronously (API Gateway, direct RequestResponse invocations); the caller receives every failure, so there is no asynchronous event to dead-letter.',
    });
  }

  /**
   * Lets a same-account principal call serve-token directly with lambda:InvokeFunction (payload
   * `{}` or `{"min_ttl": <seconds>}`; see docs/consumer-api.md) instead of through the API.
   */
  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['lambda:InvokeFunction'],
      resourceArns: [this.handler.function.functionArn],
    });
  }
}
