import { Aws, Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { EnvVar } from '../../contract/env-vars';
import { ROTATION_PROGRESS_TAG } from '../../contract/rotation-progress';
import { brokerSettingsOf } from '../config/runtime-settings';
import type { StageConfig } from '../config/schema';
import { BrokerFunction } from './broker-function';
import type { CredentialStore } from './credential-store';

export interface CredentialRotationProps {
  readonly config: StageConfig;
  readonly key: kms.IKey;
  readonly credentialStore: CredentialStore;
  readonly mintToken: lambda.IFunction;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly serviceName: string;
}

/**
 * Secrets Manager rotation for the ThroughLine credentials: the rotate-credentials function, attached
 * to the secret with a rotation schedule that has no automatic interval. ThroughLine issues
 * credentials only in its dashboard, so a timed rotation could never produce a new value — it would
 * fail every time. Operators start each rotation after staging new credentials
 * (`npm run broker -- credentials rotate`); credential age is recorded as a metric instead.
 *
 * The function's role reads the credentials (to copy and test the staged pair), writes the value of the
 * rotation's own version (createSecret's PutSecretValue into the version Secrets Manager created with
 * AWSPENDING), moves staging labels, tags the secret with rotation progress and invokes mint-token.
 * It cannot generate passwords, nor read or write the token cache (mint-token refreshes it).
 */
export class CredentialRotation extends Construct {
  readonly handler: BrokerFunction;
  readonly rotationSchedule: secretsmanager.CfnRotationSchedule;

  constructor(scope: Construct, id: string, props: CredentialRotationProps) {
    super(scope, id);
    const { config, credentialStore } = props;
    const secret = credentialStore.secret;
    const budgetSeconds = Math.ceil(config.upstream.totalBudgetMs / 1000);

    this.handler = new BrokerFunction(this, 'Handler', {
      handlerName: 'rotate-credentials',
      description: 'Secrets Manager rotation of the ThroughLine client credentials (operator-staged)',
      // testSecret's upstream budget, then finishSecret's wait on mint-token (its own budget), plus overhead.
      timeout: Duration.seconds(2 * budgetSeconds + 30),
      key: props.key,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        [EnvVar.CredentialsSecretArn]: secret.secretArn,
        [EnvVar.MintTokenFunctionName]: props.mintToken.functionName,
        [EnvVar.Settings]: JSON.stringify(brokerSettingsOf(config)),
      },
    });
    const role = this.handler.role;
    credentialStore.grantRead(role, this.handler.function);
    // createSecret copies the operator's staged pair into the rotation's version, as every AWS rotation
    // template does (PutSecretValue with the event's ClientRequestToken and VersionStages [AWSPENDING]).
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteRotationVersion',
        actions: ['secretsmanager:PutSecretValue'],
        resources: [secret.secretArn],
      }),
    );
    const key = secret.encryptionKey;
    if (key) {
      // Storing a version encrypts it under the secret's key through Secrets Manager (GenerateDataKey).
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'EncryptRotationVersionViaSecretsManager',
          actions: ['kms:GenerateDataKey'],
          resources: [key.keyArn],
          conditions: {
            StringEquals: {
              'kms:ViaService': `secretsmanager.${Aws.REGION}.${Aws.URL_SUFFIX}`,
              'kms:EncryptionContext:SecretARN': secret.secretArn,
            },
          },
        }),
      );
    }
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'MoveCredentialStagingLabels',
        actions: ['secretsmanager:UpdateSecretVersionStage'],
        resources: [secret.secretArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RecordRotationProgressTag',
        actions: ['secretsmanager:TagResource'],
        resources: [secret.secretArn],
        conditions: { 'ForAllValues:StringEquals': { 'aws:TagKeys': [ROTATION_PROGRESS_TAG] } },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'AskMintTokenToRefreshTheCache',
        actions: ['lambda:InvokeFunction'],
        resources: [props.mintToken.functionArn],
      }),
    );

    this.handler.function.addPermission('InvokedBySecretsManager', {
      principal: new iam.ServicePrincipal('secretsmanager.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      sourceAccount: Aws.ACCOUNT_ID,
    });

    // L1 on purpose: the L2 RotationSchedule grants its own broader set (PutSecretValue without the key
    // conditions above, and secretsmanager:GetRandomPassword on "*": nothing is generated here).
    this.rotationSchedule = new secretsmanager.CfnRotationSchedule(this, 'Schedule', {
      secretId: secret.secretArn,
      rotationLambdaArn: this.handler.function.functionArn,
      // No RotationRules: no timed rotation. Not rotating on create/update: a deploy has no staged
      // credentials to rotate to; Secrets Manager only runs testSecret to check the configuration.
      rotateImmediatelyOnUpdate: false,
    });
    // Secrets Manager tests the configuration when the schedule is created: the function must be
    // invocable and its policy in place by then.
    this.rotationSchedule.node.addDependency(this.handler.function.node.findChild('InvokedBySecretsManager'));
    const rolePolicy = role.node.tryFindChild('DefaultPolicy');
    if (rolePolicy) this.rotationSchedule.node.addDependency(rolePolicy);

    Validations.of(this.handler.function.node.defaultChild as lambda.CfnFunction).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Secrets Manager invokes the rotation function synchronously, step by step, and records a failed step itself (RotationFailed event); there is no asynchronous event to dead-letter.',
    });
  }
}
