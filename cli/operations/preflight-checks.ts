import { type APIGatewayClient, GetAccountCommand } from '@aws-sdk/client-api-gateway';
import {
  type CloudFormationClient,
  DescribeStacksCommand,
  type DescribeStacksCommandOutput,
} from '@aws-sdk/client-cloudformation';
import {
  type CloudTrailClient,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  type GetEventSelectorsCommandOutput,
  GetTrailStatusCommand,
  type Trail,
} from '@aws-sdk/client-cloudtrail';
import { GetAccountSettingsCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';

/**
 * `broker preflight`: what the template cannot show about the target account and region, read with the
 * operator's own credentials (read-only calls only), before `cdk deploy`. Each check says what it
 * found and, when something needs doing, what to do. A `block` means the deploy would fail or a
 * promised alarm could never fire; a `warn` deploys but deserves attention.
 */
export type CheckStatus = 'ok' | 'warn' | 'block';

export interface CheckResult {
  readonly check: string;
  readonly status: CheckStatus;
  readonly found: string;
  readonly fix?: string;
}

export interface PreflightClients {
  readonly lambda: LambdaClient;
  readonly apiGateway: APIGatewayClient;
  readonly cloudTrail: CloudTrailClient;
  readonly ssm: SSMClient;
  readonly cloudFormation: CloudFormationClient;
}

export interface PreflightTarget {
  readonly region: string;
  /** Concurrency the stage reserves for its functions (mint-token); 0 when none is reserved. */
  readonly reservedConcurrency: number;
  /** The stage's api.createAccountLoggingRole. */
  readonly createsApiGatewayAccountRole: boolean;
  /** CDK bootstrap qualifier (`cdk bootstrap --qualifier`). */
  readonly bootstrapQualifier: string;
  /** The Node.js running the CLI (process.versions.node). */
  readonly nodeVersion: string;
  /** The CDK CLI `npx cdk` would run (node_modules/aws-cdk), undefined when not installed. */
  readonly cdkCliVersion: string | undefined;
  /** The CDK CLI version package.json pins. */
  readonly pinnedCdkCliVersion: string;
}

/** Lambda keeps at least this much of the account's concurrency unreserved ("Configuring reserved concurrency", Lambda Developer Guide). */
export const LAMBDA_MIN_UNRESERVED_CONCURRENCY = 100;
/** Lambda's default concurrency quota per region ("Lambda quotas"); new accounts may start far lower. */
export const LAMBDA_DEFAULT_CONCURRENCY_QUOTA = 1000;
/** Service Quotas code of "Concurrent executions" (Lambda), for the increase request. */
export const LAMBDA_CONCURRENCY_QUOTA_CODE = 'L-B99A9384';
/**
 * The bootstrap version templates of aws-cdk-lib 2 require: their CheckBootstrapVersion rule rejects
 * versions 1–5 ("Bootstrapping your environment", CDK Developer Guide).
 */
export const MIN_BOOTSTRAP_VERSION = 6;
export const MIN_NODE_MAJOR = 20;

export async function runPreflight(
  clients: PreflightClients,
  target: PreflightTarget,
): Promise<CheckResult[]> {
  return [
    checkNode(target),
    checkCdkCli(target),
    await guarded('Lambda concurrency', () => checkLambdaConcurrency(clients.lambda, target)),
    await guarded('API Gateway CloudWatch role', () => checkApiGatewayRole(clients.apiGateway, target)),
    await guarded('CloudTrail', () => checkCloudTrail(clients.cloudTrail, target.region)),
    await guarded('CDK bootstrap', () => checkBootstrap(clients.ssm, clients.cloudFormation, target)),
  ];
}

/** A check whose AWS call fails (no permission, no credentials) reports that instead of aborting the rest. */
async function guarded(check: string, run: () => Promise<CheckResult>): Promise<CheckResult> {
  try {
    return await run();
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    const message = error instanceof Error ? error.message : String(error);
    return {
      check,
      status: 'block',
      found: `could not check: ${name}: ${message}`,
      fix: 'run preflight with credentials that may make this read-only call (and the right --region)',
    };
  }
}

export function checkNode(target: Pick<PreflightTarget, 'nodeVersion'>): CheckResult {
  const major = Number(target.nodeVersion.split('.')[0]);
  return major >= MIN_NODE_MAJOR
    ? { check: 'Node.js', status: 'ok', found: `v${target.nodeVersion}` }
    : {
        check: 'Node.js',
        status: 'block',
        found: `v${target.nodeVersion}`,
        fix: `install Node.js ${MIN_NODE_MAJOR} or later (package.json "engines")`,
      };
}

export function checkCdkCli(
  target: Pick<PreflightTarget, 'cdkCliVersion' | 'pinnedCdkCliVersion'>,
): CheckResult {
  if (!target.cdkCliVersion) {
    return {
      check: 'CDK CLI',
      status: 'block',
      found: 'the project CDK CLI (aws-cdk) is not installed',
      fix: 'run npm ci (npx cdk must run the pinned CLI, which reads this aws-cdk-lib version)',
    };
  }
  return target.cdkCliVersion === target.pinnedCdkCliVersion
    ? { check: 'CDK CLI', status: 'ok', found: `aws-cdk ${target.cdkCliVersion} (pinned)` }
    : {
        check: 'CDK CLI',
        status: 'warn',
        found: `aws-cdk ${target.cdkCliVersion} installed, package.json pins ${target.pinnedCdkCliVersion}`,
        fix: 'run npm ci to install the pinned CLI',
      };
}

/** GetAccountSettings (Lambda API Reference): AccountLimit.ConcurrentExecutions and UnreservedConcurrentExecutions. */
export async function checkLambdaConcurrency(
  lambda: LambdaClient,
  target: Pick<PreflightTarget, 'reservedConcurrency'>,
): Promise<CheckResult> {
  const settings = await lambda.send(new GetAccountSettingsCommand({}));
  const quota = settings.AccountLimit?.ConcurrentExecutions ?? 0;
  const unreserved = settings.AccountLimit?.UnreservedConcurrentExecutions ?? quota;
  const found = `concurrency quota ${quota}, unreserved ${unreserved}`;
  const raise = `request a higher "Concurrent executions" quota (Service Quotas, Lambda, ${LAMBDA_CONCURRENCY_QUOTA_CODE})`;
  const reserved = target.reservedConcurrency;
  if (reserved > 0 && unreserved - reserved < LAMBDA_MIN_UNRESERVED_CONCURRENCY) {
    return {
      check: 'Lambda concurrency',
      status: 'block',
      found: `${found}; the stage reserves ${reserved}, and Lambda keeps at least ${LAMBDA_MIN_UNRESERVED_CONCURRENCY} unreserved, so the deploy would fail ("decreases account's UnreservedConcurrentExecution below its minimum value")`,
      fix: `${raise}, or deploy without reserved concurrency`,
    };
  }
  if (quota < LAMBDA_DEFAULT_CONCURRENCY_QUOTA) {
    return {
      check: 'Lambda concurrency',
      status: 'warn',
      found: `${found}, below the default ${LAMBDA_DEFAULT_CONCURRENCY_QUOTA}: every function of the account shares it, so bursts of token requests may be throttled`,
      fix: raise,
    };
  }
  return { check: 'Lambda concurrency', status: 'ok', found };
}

/**
 * GetAccount (API Gateway API Reference): cloudwatchRoleArn is the role API Gateway logs through, one
 * per account and region. The stage's execution logging needs one; without it the stage fails to deploy.
 */
export async function checkApiGatewayRole(
  apiGateway: APIGatewayClient,
  target: Pick<PreflightTarget, 'createsApiGatewayAccountRole'>,
): Promise<CheckResult> {
  const account = await apiGateway.send(new GetAccountCommand({}));
  const role = account.cloudwatchRoleArn;
  if (target.createsApiGatewayAccountRole) {
    return role
      ? {
          check: 'API Gateway CloudWatch role',
          status: 'warn',
          found: `${role} is registered, and this stage (api.createAccountLoggingRole: true) would replace it for every REST API of the account`,
          fix: 'set api.createAccountLoggingRole to false (the default) to keep the existing role',
        }
      : {
          check: 'API Gateway CloudWatch role',
          status: 'ok',
          found: 'none registered; this stage creates and registers one (kept when the stack is deleted)',
        };
  }
  return role
    ? { check: 'API Gateway CloudWatch role', status: 'ok', found: role }
    : {
        check: 'API Gateway CloudWatch role',
        status: 'block',
        found:
          'no CloudWatch role is registered for API Gateway in this account and region: the stage logging would fail to deploy',
        fix: 'set api.createAccountLoggingRole to true in the stage config, or register a role yourself: aws apigateway update-account --patch-operations op=replace,path=/cloudwatchRoleArn,value=<role ARN trusted by apigateway.amazonaws.com with AmazonAPIGatewayPushToCloudWatchLogs>',
      };
}

/**
 * The secret-read alarm hears of GetSecretValue through CloudTrail → EventBridge: "To record events
 * with a detail-type value of AWS API Call via CloudTrail, a CloudTrail trail with logging enabled is
 * required" ("AWS service events delivered via AWS CloudTrail", EventBridge User Guide), and the trail
 * must record read management events (GetSecretValue is one; trails record management events by
 * default, "CloudTrail concepts"). DescribeTrails (with shadow trails: multi-region and organization trails seen from
 * here), GetTrailStatus (IsLogging) and GetEventSelectors, CloudTrail API Reference.
 */
export async function checkCloudTrail(cloudTrail: CloudTrailClient, region: string): Promise<CheckResult> {
  const { trailList = [] } = await cloudTrail.send(new DescribeTrailsCommand({ includeShadowTrails: true }));
  const covering = trailList.filter((t) => t.IsMultiRegionTrail === true || t.HomeRegion === region);
  const fix =
    'create (or start) a trail that covers this region and records read management events, e.g. aws cloudtrail create-trail --name management --s3-bucket-name <bucket> --is-multi-region-trail && aws cloudtrail start-logging --name management';
  if (covering.length === 0) {
    return {
      check: 'CloudTrail',
      status: 'block',
      found: `no trail covers ${region}: the UnexpectedSecretRead alarm could never fire`,
      fix,
    };
  }
  const logging: Trail[] = [];
  for (const trail of covering) {
    const status = await cloudTrail.send(new GetTrailStatusCommand({ Name: trail.TrailARN ?? trail.Name }));
    if (status.IsLogging === true) logging.push(trail);
  }
  if (logging.length === 0) {
    return {
      check: 'CloudTrail',
      status: 'block',
      found: `${covering.map((t) => t.Name).join(', ')} cover${covering.length === 1 ? 's' : ''} ${region} but ${covering.length === 1 ? 'is' : 'are'} not logging: the UnexpectedSecretRead alarm could never fire`,
      fix,
    };
  }
  for (const trail of logging) {
    const selectors = await cloudTrail.send(
      new GetEventSelectorsCommand({ TrailName: trail.TrailARN ?? trail.Name }),
    );
    if (recordsReadManagementEvents(selectors)) {
      return {
        check: 'CloudTrail',
        status: 'ok',
        found: `${trail.Name} is logging read management events in ${region}`,
      };
    }
  }
  return {
    check: 'CloudTrail',
    status: 'block',
    found: `${logging.map((t) => t.Name).join(', ')} log${logging.length === 1 ? 's' : ''} in ${region} but no read management events (GetSecretValue is one)`,
    fix: 'record management events with ReadWriteType All (aws cloudtrail put-event-selectors)',
  };
}

/** Basic selectors: IncludeManagementEvents with ReadWriteType All/ReadOnly; advanced: a Management category selector not limited to writes. */
function recordsReadManagementEvents(selectors: GetEventSelectorsCommandOutput): boolean {
  const basic = (selectors.EventSelectors ?? []).some(
    (s) =>
      s.IncludeManagementEvents !== false &&
      (s.ReadWriteType === undefined || s.ReadWriteType !== 'WriteOnly'),
  );
  const advanced = (selectors.AdvancedEventSelectors ?? []).some((s) => {
    const fields = s.FieldSelectors ?? [];
    const management = fields.some(
      (f) => f.Field === 'eventCategory' && (f.Equals ?? []).includes('Management'),
    );
    const writesOnly = fields.some((f) => f.Field === 'readOnly' && (f.Equals ?? []).includes('false'));
    return management && !writesOnly;
  });
  return basic || advanced;
}

/**
 * `cdk bootstrap` writes the SSM parameter /cdk-bootstrap/<qualifier>/version and the CDKToolkit stack
 * ("Bootstrapping your environment", CDK Developer Guide). GetParameter (SSM API Reference) and
 * DescribeStacks (CloudFormation API Reference).
 */
export async function checkBootstrap(
  ssm: SSMClient,
  cloudFormation: CloudFormationClient,
  target: Pick<PreflightTarget, 'bootstrapQualifier' | 'region'>,
): Promise<CheckResult> {
  const fix = `run npx cdk bootstrap aws://<account>/${target.region}${target.bootstrapQualifier === 'hnb659fds' ? '' : ` --qualifier ${target.bootstrapQualifier}`}`;
  const parameter = `/cdk-bootstrap/${target.bootstrapQualifier}/version`;
  let version: number;
  try {
    const answer = await ssm.send(new GetParameterCommand({ Name: parameter }));
    version = Number(answer.Parameter?.Value);
  } catch (error) {
    if ((error as Error).name !== 'ParameterNotFound') throw error;
    return {
      check: 'CDK bootstrap',
      status: 'block',
      found: `${parameter} not found: the environment is not bootstrapped`,
      fix,
    };
  }
  let stackStatus = 'not found';
  try {
    const stacks: DescribeStacksCommandOutput = await cloudFormation.send(
      new DescribeStacksCommand({ StackName: 'CDKToolkit' }),
    );
    stackStatus = stacks.Stacks?.[0]?.StackStatus ?? 'not found';
  } catch (error) {
    // DescribeStacks answers ValidationError for a stack that does not exist.
    if ((error as Error).name !== 'ValidationError') throw error;
  }
  if (!(version >= MIN_BOOTSTRAP_VERSION)) {
    return {
      check: 'CDK bootstrap',
      status: 'block',
      found: `bootstrap version ${Number.isNaN(version) ? 'unreadable' : version}, templates need ${MIN_BOOTSTRAP_VERSION} or later`,
      fix,
    };
  }
  if (!/_COMPLETE$/.test(stackStatus) || /ROLLBACK|DELETE/.test(stackStatus)) {
    // A custom bootstrap template may use another stack name (cdk bootstrap --toolkit-stack-name).
    return {
      check: 'CDK bootstrap',
      status: 'warn',
      found: `bootstrap version ${version}, but the CDKToolkit stack is ${stackStatus}`,
      fix: `check the bootstrap stack (a custom --toolkit-stack-name is fine), or ${fix}`,
    };
  }
  return { check: 'CDK bootstrap', status: 'ok', found: `version ${version} (CDKToolkit ${stackStatus})` };
}
