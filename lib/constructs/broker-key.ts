import { Aws, Lazy, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { TOKEN_ENCRYPTION_PURPOSE } from '../../lambda/core/token-encryption-context';

export interface BrokerKeyProps {
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The broker's customer-managed KMS key: encrypts the credentials secret, the token table, the
 * tokens inside it (envelope) and the broker's log groups. Annual rotation on. The key policy keeps
 * CDK's account-root statement (so IAM policies decide who uses it) and lets CloudWatch Logs use
 * it only for this account's log groups.
 */
export class BrokerKey extends Construct {
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: BrokerKeyProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: `ThroughLine token broker (${Aws.STACK_NAME}): credentials secret, token cache, logs`,
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchLogsForThisAccountsLogGroups',
        principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`,
          },
        },
      }),
    );
  }

  /**
   * The encryption context of a cached token is not a secret (it is in the code and the table), so
   * without this anyone with IAM kms:Decrypt on the key — administrators — could decrypt a copied
   * token envelope. The key policy denies decrypting (and generating) token data keys to every
   * principal but `accessorRoleArns` (read lazily: roles are granted later), whatever IAM says.
   */
  restrictTokenDecryption(accessorRoleArns: () => readonly string[]): void {
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyTokenDataKeysExceptTokenCacheRoles',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'kms:EncryptionContext:purpose': TOKEN_ENCRYPTION_PURPOSE },
          ArnNotEquals: { 'aws:PrincipalArn': Lazy.list({ produce: () => [...accessorRoleArns()] }) },
        },
      }),
    );
  }
}
