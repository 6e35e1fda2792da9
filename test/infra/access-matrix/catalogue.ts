/**
 * Who asks and what they ask for, in the access matrix. A principal is a session with the request
 * context AWS gives that caller; an action is an IAM action on one of the broker's resources with the
 * context the service adds. Both are resolved against one synthesized template (`BrokerWorld`).
 *
 * AWS behaviour these contexts rely on:
 * - A role session's `aws:PrincipalArn` is the role's ARN, not the session's (IAM User Guide, "AWS
 *   global condition context keys": aws:PrincipalArn).
 * - Lambda adds `lambda:SourceFunctionArn` to requests made with a function's execution-role
 *   credentials from inside its execution environment (Lambda Developer Guide, "Using source
 *   function ARN to control function access behavior"); any other session lacks the key.
 * - Secrets Manager decrypts a secret with KMS on the caller's behalf, with `kms:ViaService`
 *   `secretsmanager.<region>.amazonaws.com` and the encryption context `SecretARN`/`SecretVersionId`
 *   (Secrets Manager User Guide, "Secret encryption and decryption in AWS Secrets Manager").
 * - API Gateway sets `aws:SourceVpce` on requests to a private API through an interface endpoint
 *   (API Gateway Developer Guide, "Example: Allow private API traffic based on source VPC or VPC endpoint").
 * - `cdk bootstrap` gives the CloudFormation execution role AdministratorAccess unless told
 *   otherwise (AWS CDK Developer Guide, "Bootstrapping": --cloudformation-execution-policies).
 * - DynamoDB puts the partition key values an item request touches into `dynamodb:LeadingKeys`
 *   ("Represents the first key attribute of a table or index", Service Authorization Reference,
 *   "Condition keys for Amazon DynamoDB"), a multivalued key: a `ForAllValues:` condition on it
 *   holds when every value matches — and also when the request has none ("Using IAM policy
 *   conditions for fine-grained access control", DynamoDB Developer Guide; IAM User Guide,
 *   "Set operators for multivalued context keys"). A Scan names no key and carries none.
 * - API Gateway authorizes a call with the ARN of the method and the path requested:
 *   `arn:aws:execute-api:<region>:<account>:<api id>/<stage>/<method>/<path>` (API Gateway Developer
 *   Guide, "Resource format of permissions for executing API in API Gateway").
 */

export const ACCOUNT = '111122223333';
export const REGION = 'eu-west-2';
/** The broker account's organisation (the private stage allows it). */
export const BROKER_ORG = 'o-brokerorg01';
export const OTHER_ACCOUNT_IN_ORG = '444455556666';
export const OTHER_ACCOUNT_OUT_OF_ORG = '777788889999';
export const OTHER_ORG = 'o-elsewhere01';
export const LISTED_VPC_ENDPOINT = 'vpce-0a1b2c3d4e5f60718';
export const UNLISTED_VPC_ENDPOINT = 'vpce-0ffffffffffffffff';
/** A function in the account that someone created with a broker role passed to it. */
export const BORROWER_FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:borrowed-role`;

/** What the matrix needs from the synthesized template, with intrinsics resolved. */
export interface BrokerWorld {
  readonly roles: {
    readonly mint: string;
    readonly serve: string;
    readonly rotate: string;
    readonly stateMachine: string;
    readonly proxy: string;
  };
  readonly functions: {
    readonly mint: string;
    readonly serve: string;
    readonly rotate: string;
    readonly proxy: string;
  };
  readonly secretArn: string;
  readonly keyArn: string;
  readonly tableName: string;
  readonly tableArn: string;
  readonly tokenInvokeArn: string;
  /** The proxy route's execute-api ARNs, by method, as `TokenBroker.grantProxy` grants them (`…/throughline/*`). */
  readonly proxyInvokeArns: { readonly GET: string; readonly POST: string };
  readonly deploymentRoleArn: string;
  /** Resource policies (key policy) of the resources the matrix asks about. */
  readonly resourcePolicies: Readonly<Record<'secret' | 'table' | 'key' | 'api', { Statement: unknown[] }>>;
  /** Identity policies of a role of the stack, by role ARN. */
  readonly identityPoliciesOf: (roleArn: string) => { name: string; policy: unknown }[];
}

export interface StageSetting {
  /** The VPC endpoint API callers come through, when the API is PRIVATE. */
  readonly apiSourceVpce?: string;
}

const ADMINISTRATOR_ACCESS = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
};

export interface PrincipalSpec {
  readonly label: string;
  /** The role the session belongs to. */
  readonly roleArn: (w: BrokerWorld) => string;
  readonly account: string;
  readonly orgId: string;
  readonly identityPolicies: (w: BrokerWorld) => { name: string; policy: unknown }[];
  /** lambda:SourceFunctionArn of the session, if it runs in a function. */
  readonly sourceFunctionArn?: (w: BrokerWorld) => string;
  /** Overrides the stage's aws:SourceVpce for API calls. */
  readonly apiSourceVpce?: string;
}

const sameAccountRole = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;

/** What `TokenBroker.grantGetToken` and `TokenBroker.grantProxy` give a consumer's role. */
const consumerPolicies = (w: BrokerWorld) => [
  {
    name: 'GetToken',
    policy: {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: w.tokenInvokeArn }],
    },
  },
  {
    name: 'Proxy',
    policy: {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'execute-api:Invoke',
          Resource: [w.proxyInvokeArns.GET, w.proxyInvokeArns.POST],
        },
      ],
    },
  },
];

export const PRINCIPALS = {
  mintOwn: {
    label: "mint-token's role, from mint-token",
    roleArn: (w) => w.roles.mint,
    account: ACCOUNT,
    orgId: BROKER_ORG,
    identityPolicies: (w) => w.identityPoliciesOf(w.roles.mint),
    sourceFunctionArn: (w) => w.functions.mint,
  },
  mintBorrowed: {
    label: "mint-token's role, from another function",
    roleArn: (w) => w.roles.mint,
    account: ACCOUNT,
    orgId: BROKER_ORG,
    identityPolicies: (w) => w.identityPoliciesOf(w.roles.mint),
    sourceFunctionArn: () => BORROWER_FUNCTION_ARN,
  },
  serveOwn: {
    label: "serve-token's role, from serve-token",
    roleArn: (w) => w.roles.serve,
    account: ACCOUNT,
    orgId: BROKER_ORG,
    identityPolicies: (w) => w.identityPoliciesOf(w.roles.serve),
    sourceFunctionArn: (w) => w.functions.serve,
  },
  serveBorrowed: {
    label: "serve-token's role, from another function",
    roleArn: (w) => w.roles.serve,
    account: ACCOUNT,
    orgId: BROKER_ORG,
    identityPolicies: (w) => w.identityPoliciesOf(w.roles.serve),
    sourceFunctionArn: () => BORROWER_FUNCTION_ARN,
  },
  proxyOwn: {
    label: "proxy-throughline's role, from proxy-throughline",
    roleArn: (w) => w.roles.proxy,
    account: ACCOUNT,
    orgId: BROKER_ORG,
    identityPolicies: (w) => w.identityPoliciesOf(w.roles.proxy),
    sourceFunctionArn: (w) => w.functions.proxy,
  },
  proxyBorrowed: {
    label: "proxy-throughline's role, from another function",
    roleArn: (w) => w.roles.proxy,
    account: ACCOUNT,
    orgId: BROKER_ORG,
    identityPolicies: (w) => w.identityPoliciesOf(w.roles.proxy),
    sourceFunctionArn: () => BORROWER_FUNCTION_ARN,
  },
  rotateOwn: {
    label: "rotate-credentials' role, from rotate-credentials",
    roleArn: (w) => w.roles.rotate,
    account: ACCOUNT,
    orgId: BROKER_ORG,
    identityPolicies: (w) => w.identityPoliciesOf(w.roles.rotate),
    sourceFunctionArn: (w) => w.functions.rotate,
  },
  rotateBorrowed: {
    label: "rotate-credentials' role, from another function",
    roleArn: (w) => w.roles.rotate,
    account: ACCOUNT,
    orgId: BROKER_ORG,
    identityPolicies: (w) => w.identityPoliciesOf(w.roles.rotate),
    sourceFunctionArn: () => BORROWER_FUNCTION_ARN,
  },
  stateMachine: {
    label: 'refresh state machine',
    roleArn: (w) => w.roles.stateMachine,
    account: ACCOUNT,
    orgId: BROKER_ORG,
    identityPolicies: (w) => w.identityPoliciesOf(w.roles.stateMachine),
  },
  consumer: {
    label: 'granted consumer role',
    roleArn: () => sameAccountRole('consumer-service'),
    account: ACCOUNT,
    orgId: BROKER_ORG,
    identityPolicies: (w) => consumerPolicies(w),
  },
  consumerUnlistedEndpoint: {
    label: 'granted consumer role, through an unlisted VPC endpoint',
    roleArn: () => sameAccountRole('consumer-service'),
    account: ACCOUNT,
    orgId: BROKER_ORG,
    identityPolicies: (w) => consumerPolicies(w),
    apiSourceVpce: UNLISTED_VPC_ENDPOINT,
  },
  ungranted: {
    label: 'ungranted role in the account',
    roleArn: () => sameAccountRole('some-other-service'),
    account: ACCOUNT,
    orgId: BROKER_ORG,
    identityPolicies: () => [],
  },
  otherAccountInOrg: {
    label: 'administrator of another account in the organisation',
    roleArn: () => `arn:aws:iam::${OTHER_ACCOUNT_IN_ORG}:role/Admin`,
    account: OTHER_ACCOUNT_IN_ORG,
    orgId: BROKER_ORG,
    identityPolicies: () => [{ name: 'AdministratorAccess', policy: ADMINISTRATOR_ACCESS }],
  },
  otherAccountOutOfOrg: {
    label: 'administrator of an account outside the organisation',
    roleArn: () => `arn:aws:iam::${OTHER_ACCOUNT_OUT_OF_ORG}:role/Admin`,
    account: OTHER_ACCOUNT_OUT_OF_ORG,
    orgId: OTHER_ORG,
    identityPolicies: () => [{ name: 'AdministratorAccess', policy: ADMINISTRATOR_ACCESS }],
  },
  administrator: {
    label: 'administrator (AdministratorAccess)',
    roleArn: () => sameAccountRole('Admin'),
    account: ACCOUNT,
    orgId: BROKER_ORG,
    identityPolicies: () => [{ name: 'AdministratorAccess', policy: ADMINISTRATOR_ACCESS }],
  },
  deployment: {
    label: 'CloudFormation deployment role',
    roleArn: (w) => w.deploymentRoleArn,
    account: ACCOUNT,
    orgId: BROKER_ORG,
    identityPolicies: () => [{ name: 'AdministratorAccess', policy: ADMINISTRATOR_ACCESS }],
  },
} as const satisfies Record<string, PrincipalSpec>;

export type PrincipalId = keyof typeof PRINCIPALS;

export interface ActionSpec {
  readonly label: string;
  readonly action: string;
  readonly resource: (w: BrokerWorld) => string;
  /** Context the service adds for this request. */
  readonly context?: (
    w: BrokerWorld,
    stage: StageSetting,
    principal: PrincipalSpec,
  ) => Record<string, string | string[]>;
}

const tokenContext = (w: BrokerWorld) => ({
  'kms:EncryptionContext:purpose': 'throughline-token-cache',
  'kms:EncryptionContext:cache': w.tableName,
});

/** The token table's items (contract/token-cache-schema.ts), by partition key. */
const CACHED_TOKEN_KEY = 'access-token';
const UPSTREAM_GATE_KEY = 'upstream-gate';
/** The quota ledger's item of an hour (`usage#<epoch hour>`) and a rate slot (`rate#<epoch second>`): 2025-06-01T12:00Z. */
const USAGE_KEY = 'usage#485772';
const EARLIER_USAGE_KEY = 'usage#485771';
const RATE_KEY = 'rate#1748779200';

/** The partition keys an item request names: `dynamodb:LeadingKeys`. */
const leadingKeys =
  (...keys: string[]) =>
  (): Record<string, string[]> => ({ 'dynamodb:LeadingKeys': keys });

/** API Gateway's context: the VPC endpoint the call came through, on a private API. */
const apiContext = (
  _w: BrokerWorld,
  stage: StageSetting,
  principal: PrincipalSpec,
): Record<string, string> => {
  const vpce = principal.apiSourceVpce ?? stage.apiSourceVpce;
  return vpce ? { 'aws:SourceVpce': vpce } : {};
};

/** A call of ThroughLine's `path` through the proxy route: the ARN API Gateway authorizes it with. */
const proxyCall = (w: BrokerWorld, method: 'GET' | 'POST', path: string) =>
  w.proxyInvokeArns[method].replace(/\*$/, path);

export const ACTIONS = {
  secretRead: {
    label: 'read the secret (GetSecretValue)',
    action: 'secretsmanager:GetSecretValue',
    resource: (w) => w.secretArn,
  },
  secretWrite: {
    label: 'write a secret value (PutSecretValue)',
    action: 'secretsmanager:PutSecretValue',
    resource: (w) => w.secretArn,
  },
  secretDescribe: {
    label: 'describe the secret',
    action: 'secretsmanager:DescribeSecret',
    resource: (w) => w.secretArn,
  },
  secretReplicate: {
    label: 'replicate the secret to another region',
    action: 'secretsmanager:ReplicateSecretToRegions',
    resource: (w) => w.secretArn,
  },
  secretDeletePolicy: {
    label: "delete the secret's resource policy",
    action: 'secretsmanager:DeleteResourcePolicy',
    resource: (w) => w.secretArn,
  },
  keyDecryptToken: {
    label: "kms:Decrypt with the token cache's context",
    action: 'kms:Decrypt',
    resource: (w) => w.keyArn,
    context: (w) => tokenContext(w),
  },
  keyGenerateToken: {
    label: "kms:GenerateDataKey with the token cache's context",
    action: 'kms:GenerateDataKey',
    resource: (w) => w.keyArn,
    context: (w) => tokenContext(w),
  },
  keyDecryptSecret: {
    label: 'kms:Decrypt of the secret via Secrets Manager',
    action: 'kms:Decrypt',
    resource: (w) => w.keyArn,
    context: (w) => ({
      'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com`,
      'kms:EncryptionContext:SecretARN': w.secretArn,
      'kms:EncryptionContext:SecretVersionId': 'EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE',
    }),
  },
  tableGetItem: {
    label: 'read the cached item',
    action: 'dynamodb:GetItem',
    resource: (w) => w.tableArn,
    context: leadingKeys(CACHED_TOKEN_KEY),
  },
  tablePutItem: {
    label: 'write the cached item',
    action: 'dynamodb:PutItem',
    resource: (w) => w.tableArn,
    context: leadingKeys(CACHED_TOKEN_KEY),
  },
  tableUpdateItem: {
    label: 'update the cached item (UpdateItem)',
    action: 'dynamodb:UpdateItem',
    resource: (w) => w.tableArn,
    context: leadingKeys(CACHED_TOKEN_KEY),
  },
  tableCountUsage: {
    label: 'count in the quota ledger (UpdateItem `usage#<hour>`)',
    action: 'dynamodb:UpdateItem',
    resource: (w) => w.tableArn,
    context: leadingKeys(USAGE_KEY),
  },
  tableTakeRateSlot: {
    label: 'take a rate slot (UpdateItem `rate#<second>`)',
    action: 'dynamodb:UpdateItem',
    resource: (w) => w.tableArn,
    context: leadingKeys(RATE_KEY),
  },
  tableReadLedger: {
    label: 'read the quota ledger and the gate (BatchGetItem `usage#<hour>`…, `upstream-gate`)',
    action: 'dynamodb:BatchGetItem',
    resource: (w) => w.tableArn,
    context: leadingKeys(EARLIER_USAGE_KEY, USAGE_KEY, UPSTREAM_GATE_KEY),
  },
  tablePutGate: {
    label: 'write the upstream gate (PutItem `upstream-gate`)',
    action: 'dynamodb:PutItem',
    resource: (w) => w.tableArn,
    context: leadingKeys(UPSTREAM_GATE_KEY),
  },
  tableUpdateGate: {
    label: 'update the upstream gate (UpdateItem `upstream-gate`)',
    action: 'dynamodb:UpdateItem',
    resource: (w) => w.tableArn,
    context: leadingKeys(UPSTREAM_GATE_KEY),
  },
  tableScan: { label: 'scan the table', action: 'dynamodb:Scan', resource: (w) => w.tableArn },
  tableBackup: { label: 'back up the table', action: 'dynamodb:CreateBackup', resource: (w) => w.tableArn },
  tableRestore: {
    label: 'restore the table to a point in time',
    action: 'dynamodb:RestoreTableToPointInTime',
    resource: (w) => w.tableArn,
  },
  tableExport: {
    label: 'export the table to S3',
    action: 'dynamodb:ExportTableToPointInTime',
    resource: (w) => w.tableArn,
  },
  tablePutPolicy: {
    label: "change the table's resource policy",
    action: 'dynamodb:PutResourcePolicy',
    resource: (w) => w.tableArn,
  },
  mintInvoke: {
    label: 'invoke mint-token (unqualified: `ensure`)',
    action: 'lambda:InvokeFunction',
    resource: (w) => w.functions.mint,
  },
  mintInvokeOperator: {
    label: "invoke mint-token's `operator` alias (force, flush)",
    action: 'lambda:InvokeFunction',
    resource: (w) => `${w.functions.mint}:operator`,
  },
  apiGetToken: {
    label: '`GET /token` (execute-api:Invoke)',
    action: 'execute-api:Invoke',
    resource: (w) => w.tokenInvokeArn,
    context: apiContext,
  },
  apiProxyGet: {
    label: '`GET /throughline/v2/countries` (proxy route)',
    action: 'execute-api:Invoke',
    resource: (w) => proxyCall(w, 'GET', 'v2/countries'),
    context: apiContext,
  },
  apiProxyPost: {
    label: '`POST /throughline/v2/events/helpline_click` (proxy route)',
    action: 'execute-api:Invoke',
    resource: (w) => proxyCall(w, 'POST', 'v2/events/helpline_click'),
    context: apiContext,
  },
} as const satisfies Record<string, ActionSpec>;

export type ActionId = keyof typeof ACTIONS;
