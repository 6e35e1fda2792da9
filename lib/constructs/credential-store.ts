import { Aws, Lazy, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/**
 * The only properties the credentials secret's template may carry. None defines a value: "If you omit
 * both GenerateSecretString and SecretString, you create an empty secret. When you make a change to
 * this property, a new secret version is created." (AWS::SecretsManager::Secret, CloudFormation
 * template reference). A generated or literal value in the template would let a later release's change
 * to it write a new AWSCURRENT over the operator's credentials on `cdk deploy`.
 */
export const CREDENTIALS_SECRET_PROPERTIES: readonly string[] = ['Description', 'KmsKeyId', 'Name', 'Tags'];

export interface CredentialStoreProps {
  readonly key: kms.IKey;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The ThroughLine client credentials: a Secrets Manager secret holding {"client_id","client_secret"},
 * encrypted with the broker's key. The template defines no value at all (no SecretString, no
 * GenerateSecretString): CloudFormation creates the secret empty, the broker reports "not set yet"
 * until an operator runs `credentials set`, and no stack update can ever write a credential value.
 *
 * The resource policy denies reading the value (GetSecretValue) to every principal but the roles
 * granted with `grantRead` — even administrators of the account, whose identity policies would
 * otherwise allow it. Writing a new value, describing, rotating and deleting are not denied, so
 * deployments and an operator putting in new credentials still work.
 */
export class CredentialStore extends Construct {
  readonly secret: secretsmanager.Secret;
  private readonly readerRoleArns: string[] = [];
  private readonly boundReaders: { functionName: string; functionArn: string; roleArn: string }[] = [];

  constructor(scope: Construct, id: string, props: CredentialStoreProps) {
    super(scope, id);
    this.secret = new secretsmanager.Secret(this, 'Credentials', {
      description:
        'ThroughLine OAuth client credentials {"client_id","client_secret"}; readable only by the broker',
      encryptionKey: props.key,
      removalPolicy: props.removalPolicy,
    });
    const cfnSecret = this.secret.node.defaultChild as secretsmanager.CfnSecret;
    // The L2 Secret renders `GenerateSecretString: {}` when no value is given; remove it so the secret is
    // created empty (test/infra/foundation.test.ts fails on any value-defining property).
    cfnSecret.generateSecretString = undefined;
    cfnSecret.addPropertyDeletionOverride('GenerateSecretString');
    Validations.of(cfnSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'A rotation function IS attached (RotateCredentials: CfnRotationSchedule with the rotate-credentials Lambda), but with no automatic interval, which this rule does not accept: ThroughLine issues client credentials only by hand in its dashboard, so a timed rotation could never produce a new value and would fail every time. Operators stage new credentials and start the rotation (docs/rotation.md); the CredentialAgeDays metric tracks age against policy.',
    });
    this.secret.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyReadingCredentialsExceptBrokerRoles',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['secretsmanager:GetSecretValue'],
        resources: ['*'],
        conditions: {
          ArnNotEquals: {
            'aws:PrincipalArn': Lazy.list({ produce: () => this.readerRoleArns }),
          },
        },
      }),
    );
    // A replica in another region would be read (and its reads logged) there, out of sight of this
    // region's trail and rules: the credentials stay in one region.
    this.secret.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyReplicationToOtherRegions',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['secretsmanager:ReplicateSecretToRegions'],
        resources: ['*'],
      }),
    );
    // AWS::SecretsManager::ResourcePolicy is a resource of its own: without the secret's removal policy,
    // deleting a retained stack would keep the secret but delete this policy, leaving the production
    // credentials readable by any principal whose IAM policy allows GetSecretValue.
    (this.secret.node.findChild('Policy') as secretsmanager.ResourcePolicy).applyRemovalPolicy(
      props.removalPolicy,
    );
  }

  /**
   * ARNs of the roles allowed to read the credentials (those given to `grantRead`). Monitoring
   * alerts on a read by any other principal; read it lazily, roles may be granted later.
   */
  get allowedReaderRoleArns(): readonly string[] {
    return [...this.readerRoleArns];
  }

  /** The functions allowed to read the credentials, with their roles: monitoring watches changes to them. */
  get readers(): readonly { functionName: string; functionArn: string; roleArn: string }[] {
    return [...this.boundReaders];
  }

  /**
   * Lets `role` read the credentials — from `boundTo`'s code only: identity policy on the role, the
   * decrypt of the key only via Secrets Manager, and an exception in the secret's deny statement.
   *
   * The role alone is not enough: anyone allowed to pass it to another function (or to change
   * `boundTo`'s code) would read the secret with it. Lambda puts `lambda:SourceFunctionArn` into the
   * execution-role credentials of the function that runs (AWS Lambda Developer Guide, "Using source
   * function ARN to control function access behavior"), and that key works only in identity policies
   * and SCPs, not in resource policies — hence a Deny on the role itself. It is a separate policy
   * (not the role's default policy) because the function waits for its default policy, and this one
   * names the function: in the default policy that would be a dependency cycle.
   */
  grantRead(role: iam.IRole, boundTo: lambda.IFunction): void {
    this.readerRoleArns.push(role.roleArn);
    this.boundReaders.push({
      functionName: boundTo.functionName,
      functionArn: boundTo.functionArn,
      roleArn: role.roleArn,
    });
    new iam.Policy(boundTo, 'CredentialsReadOnlyFromThisFunction', {
      roles: [role],
      statements: [
        new iam.PolicyStatement({
          sid: 'DenyCredentialsReadFromOtherFunctions',
          effect: iam.Effect.DENY,
          // Writes too: the rotate role may write the rotation's version and move labels, and a
          // borrowed role must not (a PutSecretValue without stages would replace AWSCURRENT).
          actions: [
            'secretsmanager:GetSecretValue',
            'secretsmanager:PutSecretValue',
            'secretsmanager:UpdateSecretVersionStage',
          ],
          resources: [this.secret.secretArn],
          // Absent key (a session not started by Lambda for a function) also denies.
          conditions: {
            ArnNotLike: { 'lambda:SourceFunctionArn': [boundTo.functionArn, `${boundTo.functionArn}:*`] },
          },
        }),
      ],
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadThroughLineCredentials',
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        resources: [this.secret.secretArn],
      }),
    );
    const key = this.secret.encryptionKey;
    if (key) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'DecryptCredentialsViaSecretsManager',
          actions: ['kms:Decrypt'],
          resources: [key.keyArn],
          conditions: {
            StringEquals: {
              'kms:ViaService': `secretsmanager.${Aws.REGION}.${Aws.URL_SUFFIX}`,
              'kms:EncryptionContext:SecretARN': this.secret.secretArn,
            },
          },
        }),
      );
    }
  }
}
