import { Aws, Lazy, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import {
  CACHE_KEY_ATTRIBUTE,
  RATE_KEY_PREFIX,
  RESPONSE_KEY_PREFIX,
  TTL_ATTRIBUTE,
  UPSTREAM_API_HOLD_KEY,
  UPSTREAM_GATE_KEY,
  USAGE_KEY_PREFIX,
} from '../../contract/token-cache-schema';
import { TOKEN_ENCRYPTION_PURPOSE } from '../../contract/token-encryption-context';
import { deploymentRoleArn } from './deployment-role';

export interface TokenCacheTableProps {
  readonly key: kms.IKey;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * Item-level actions: what a resource policy must fence. Control-plane actions stay with IAM.
 *
 * Only actions DynamoDB accepts in a *table* policy: the stream actions (dynamodb:GetRecords,
 * GetShardIterator, DescribeStream, ListStreams) act on a stream ARN and belong in the stream's own
 * resource policy ("Attach a resource-based policy to a stream", DynamoDB Developer Guide); a table
 * policy that lists one fails to deploy with "Invalid policy document: The following action names are
 * invalid" (aws-cdk#32230; CDK split its grants into resource and principal-only actions in #36228).
 * The table has no stream, so nothing is left unfenced. test/infra/deploy-rules.test.ts checks the list.
 */
export const TABLE_POLICY_DATA_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:PartiQLSelect',
  'dynamodb:PartiQLInsert',
  'dynamodb:PartiQLUpdate',
  'dynamodb:PartiQLDelete',
  'dynamodb:ExportTableToPointInTime',
] as const;

/**
 * Copies of the table (backups, point-in-time restores, exports, AWS Backup jobs) and changes to its
 * own resource policy: nobody but the deployment needs them, and each would move the items out of
 * reach of the item deny above. Every one has the `table` resource type in the Service Authorization
 * Reference ("Actions, resources, and condition keys for Amazon DynamoDB"), which a table resource
 * policy requires. RestoreTableFromBackup acts on a backup (which cannot exist without CreateBackup
 * or StartAwsBackupJob); DeleteResourcePolicy stays possible for the account root, which DynamoDB
 * exempts so an account cannot lock itself out (DeleteResourcePolicy API reference).
 */
export const COPY_AND_POLICY_ACTIONS = [
  'dynamodb:CreateBackup',
  'dynamodb:StartAwsBackupJob',
  'dynamodb:RestoreTableToPointInTime',
  'dynamodb:ExportTableToPointInTime',
  'dynamodb:UpdateContinuousBackups',
  'dynamodb:PutResourcePolicy',
  'dynamodb:DeleteResourcePolicy',
];

/**
 * The shared (L2) token cache: one item holding the envelope-encrypted token and its metadata.
 * Encrypted at rest with the broker's key; TTL removes expired items. A resource policy denies item
 * access to every principal except the broker's roles, so an over-broad IAM grant elsewhere in the
 * account does not reach it. Point-in-time recovery stays off on purpose (see the cdk-nag note).
 */
export class TokenCacheTable extends Construct {
  readonly table: dynamodb.Table;
  private readonly accessorRoleArns: string[] = [];

  constructor(scope: Construct, id: string, props: TokenCacheTableProps) {
    super(scope, id);
    // Table, not TableV2: TableV2 cannot render a customer-managed key in an environment-agnostic stack.
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: CACHE_KEY_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.key,
      timeToLiveAttribute: TTL_ATTRIBUTE,
      removalPolicy: props.removalPolicy,
      deletionProtection: props.removalPolicy === RemovalPolicy.RETAIN,
      resourcePolicy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: 'DenyItemAccessExceptBrokerRoles',
            effect: iam.Effect.DENY,
            principals: [new iam.AnyPrincipal()],
            actions: [...TABLE_POLICY_DATA_ACTIONS],
            resources: ['*'],
            conditions: {
              ArnNotEquals: { 'aws:PrincipalArn': Lazy.list({ produce: () => this.accessorRoleArns }) },
            },
          }),
          new iam.PolicyStatement({
            sid: 'DenyCopiesAndPolicyChangesExceptDeployment',
            effect: iam.Effect.DENY,
            principals: [new iam.AnyPrincipal()],
            actions: COPY_AND_POLICY_ACTIONS,
            resources: ['*'],
            conditions: { ArnNotEquals: { 'aws:PrincipalArn': deploymentRoleArn(Stack.of(scope)) } },
          }),
        ],
      }),
    });
    Validations.of(this.table.node.defaultChild as dynamodb.CfnTable).acknowledge({
      id: 'AwsSolutions-DDB3',
      reason:
        'The table is a cache of one short-lived token that mint-token recreates in seconds; point-in-time backups would only keep copies of expired tokens for 35 days.',
    });
  }

  /** Roles granted token access: the only principals the key lets decrypt a cached token. */
  get tokenAccessorRoleArns(): readonly string[] {
    return [...this.accessorRoleArns];
  }

  /**
   * Count in the proxy's quota ledger and per-second rate items (contract/token-cache-schema.ts) and
   * read them with the gate's item: UpdateItem only on keys starting `usage#` or `rate#`, read with
   * BatchGetItem. `dynamodb:LeadingKeys` — "Represents the first key attribute of a table or index"
   * (DynamoDB condition keys, Service Authorization Reference:
   * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html) —
   * fences the writes off the cached token and the gate: `ForAllValues:StringLike`, so every key
   * the request touches must match ("Using IAM policy conditions for fine-grained access control",
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html).
   * With `responseCache`, also PutItem on `response#*` keys (the shared response cache; it reads
   * them with the GetItem token access gives). Call it for a role that has token access already
   * (it is then on the table's resource policy).
   */
  grantQuotaLedger(role: iam.IRole, options: { readonly responseCache?: boolean } = {}): void {
    if (options.responseCache) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'StoreCachedResponses',
          actions: ['dynamodb:PutItem'],
          resources: [this.table.tableArn],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${RESPONSE_KEY_PREFIX}*`] } },
        }),
      );
    }
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'CountQuotaLedgerAndRateSlots',
        actions: ['dynamodb:UpdateItem'],
        resources: [this.table.tableArn],
        conditions: {
          'ForAllValues:StringLike': {
            'dynamodb:LeadingKeys': [`${USAGE_KEY_PREFIX}*`, `${RATE_KEY_PREFIX}*`, UPSTREAM_API_HOLD_KEY],
          },
        },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadQuotaLedger',
        actions: ['dynamodb:BatchGetItem'],
        resources: [this.table.tableArn],
        conditions: {
          'ForAllValues:StringLike': {
            'dynamodb:LeadingKeys': [`${USAGE_KEY_PREFIX}*`, UPSTREAM_GATE_KEY, UPSTREAM_API_HOLD_KEY],
          },
        },
      }),
    );
  }

  /**
   * Read the quota ledger with the gate's item, nothing else: BatchGetItem only, every key `usage#*`
   * or `upstream-gate` (`ForAllValues:StringLike` on `dynamodb:LeadingKeys`, as in
   * `grantQuotaLedger`). For mint-token's operator report of the ledger (`usage`), which never counts
   * in it. Call it for a role that has token access already (it is then on the table's resource policy).
   */
  grantQuotaLedgerRead(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadQuotaLedgerForUsage',
        actions: ['dynamodb:BatchGetItem'],
        resources: [this.table.tableArn],
        conditions: {
          'ForAllValues:StringLike': {
            'dynamodb:LeadingKeys': [`${USAGE_KEY_PREFIX}*`, UPSTREAM_GATE_KEY, UPSTREAM_API_HOLD_KEY],
          },
        },
      }),
    );
  }

  /** Read (and, with `write`, write and delete) the cached token, including its envelope decryption. */
  grantTokenAccess(role: iam.IRole, access: 'read' | 'readWrite'): void {
    this.accessorRoleArns.push(role.roleArn);
    const key = this.table.encryptionKey;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: access === 'read' ? 'ReadCachedToken' : 'ReadWriteCachedToken',
        actions:
          access === 'read'
            ? ['dynamodb:GetItem']
            : ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
        resources: [this.table.tableArn],
      }),
    );
    if (!key) return;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'UseKeyForTableViaDynamoDB',
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: [key.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `dynamodb.${this.table.stack.region}.${Aws.URL_SUFFIX}` },
        },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: access === 'read' ? 'DecryptCachedToken' : 'EncryptAndDecryptCachedToken',
        actions: access === 'read' ? ['kms:Decrypt'] : ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [key.keyArn],
        conditions: {
          StringEquals: {
            'kms:EncryptionContext:purpose': TOKEN_ENCRYPTION_PURPOSE,
            'kms:EncryptionContext:cache': this.table.tableName,
          },
        },
      }),
    );
  }
}
