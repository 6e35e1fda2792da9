import { Aws, type IResolvable, type IResolveContext, Lazy, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { TOKEN_ENCRYPTION_PURPOSE } from '../../contract/token-encryption-context';

export interface BrokerKeyProps {
  readonly removalPolicy: RemovalPolicy;
  /**
   * A key of the app to use instead of creating one. It must be a `kms.Key` of the same stack: the
   * broker adds its key-policy statements to it (CloudWatch Logs for this account's log groups, the
   * token data-key Deny), and an imported key's policy cannot be changed from here. Its owner keeps
   * rotation and removal. @default a new key with annual rotation
   */
  readonly existingKey?: kms.Key;
}

/**
 * The broker's customer-managed KMS key: encrypts the credentials secret, the token table, the
 * tokens inside it (envelope) and the broker's log groups. Annual rotation on. The key policy keeps
 * CDK's account-root statement (so IAM policies decide who uses it) and lets CloudWatch Logs use
 * it only for this account's log groups. No other AWS service is named in it: the on-call topic,
 * which CloudWatch alarms and EventBridge must encrypt for, has its own key (OnCallTopic).
 */
export class BrokerKey extends Construct {
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: BrokerKeyProps) {
    super(scope, id);
    this.key =
      props.existingKey ??
      new kms.Key(this, 'Key', {
        description: `ThroughLine token broker (${Aws.STACK_NAME}): credentials secret, token cache, logs`,
        enableKeyRotation: true,
        removalPolicy: props.removalPolicy,
      });
    // aws-cdk-lib's Secret adds a key-policy statement for Secrets Manager with a literal
    // `kms:ViaService: secretsmanager.<region>.amazonaws.com`, which is not the endpoint name outside the
    // `aws` partition (e.g. `.amazonaws.com.cn`): rewrite every such suffix to the stack's URL suffix.
    const cfnKey = this.key.node.defaultChild as kms.CfnKey;
    const keyPolicy = cfnKey.keyPolicy;
    const partitionAwarePolicy: IResolvable = {
      creationStack: [],
      resolve: (context: IResolveContext) => withPartitionUrlSuffix(context.resolve(keyPolicy)),
    };
    cfnKey.keyPolicy = partitionAwarePolicy;
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchLogsForThisAccountsLogGroups',
        principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.${Aws.URL_SUFFIX}`)],
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

const AWS_PARTITION_SUFFIX = '.amazonaws.com';

/**
 * A resolved policy document with every `kms:ViaService` value's literal `.amazonaws.com` ending
 * replaced by the partition's URL suffix ({"Ref":"AWS::URLSuffix"}); everything else unchanged.
 */
export function withPartitionUrlSuffix(document: unknown): unknown {
  const rewrite = (value: unknown): unknown => {
    if (typeof value === 'string' && value.endsWith(AWS_PARTITION_SUFFIX)) {
      return {
        'Fn::Join': ['', [value.slice(0, -AWS_PARTITION_SUFFIX.length + 1), { Ref: 'AWS::URLSuffix' }]],
      };
    }
    const join = (value as { 'Fn::Join'?: [string, unknown[]] } | null)?.['Fn::Join'];
    if (
      join &&
      join[0] === '' &&
      typeof join[1].at(-1) === 'string' &&
      (join[1].at(-1) as string).endsWith(AWS_PARTITION_SUFFIX)
    ) {
      const last = join[1].at(-1) as string;
      return {
        'Fn::Join': [
          '',
          [
            ...join[1].slice(0, -1),
            last.slice(0, -AWS_PARTITION_SUFFIX.length + 1),
            { Ref: 'AWS::URLSuffix' },
          ],
        ],
      };
    }
    return Array.isArray(value) ? value.map(rewrite) : value;
  };
  const doc = document as { Statement?: { Condition?: Record<string, Record<string, unknown>> }[] };
  for (const statement of doc.Statement ?? []) {
    for (const operator of Object.values(statement.Condition ?? {})) {
      if ('kms:ViaService' in operator) operator['kms:ViaService'] = rewrite(operator['kms:ViaService']);
    }
  }
  return document;
}
