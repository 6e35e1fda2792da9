import * as path from 'node:path';
import { type Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/**
 * How every Lambda of the project is bundled: locally by esbuild (never Docker), minified, AWS SDK
 * included so the deployed code runs the SDK version the tests ran, Node 20 syntax so the same
 * bundle runs in the integration tests on this project's Node 20. Benchmarks build their
 * comparison variants from the same values.
 */
export const BROKER_BUNDLING = {
  minify: true,
  target: 'node20',
  format: nodejs.OutputFormat.CJS,
  mainFields: ['module', 'main'],
  externalModules: [],
  sourceMap: false,
  forceDockerBundling: false,
} satisfies nodejs.BundlingOptions;

export interface BrokerFunctionProps {
  /** Handler file name under lambda/handlers, without extension. */
  readonly handlerName: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize?: number;
  readonly environment: Record<string, string>;
  readonly reservedConcurrentExecutions?: number;
  /** Encrypts the log group. */
  readonly key: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * A broker Lambda with the project's defaults: Node.js 24 on arm64, bundled locally by esbuild
 * (AWS SDK included, so the deployed code runs the SDK version the tests ran), its own role with
 * no managed policies, its own KMS-encrypted log group with retention, JSON logs, X-Ray active.
 */
export class BrokerFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: BrokerFunctionProps) {
    super(scope, id);
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      encryptionKey: props.key,
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(PROJECT_ROOT, 'lambda', 'handlers', `${props.handlerName}.ts`),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      description: props.description,
      timeout: props.timeout,
      memorySize: props.memorySize ?? 256,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      tracing: lambda.Tracing.ACTIVE,
      environment: props.environment,
      ...(props.reservedConcurrentExecutions !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions }
        : {}),
      bundling: BROKER_BUNDLING,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    // X-Ray's PutTraceSegments/PutTelemetryRecords have no resource-level permissions.
    const defaultPolicy = this.role.node.tryFindChild('DefaultPolicy');
    if (defaultPolicy) {
      Validations.of(defaultPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Only the X-Ray actions xray:PutTraceSegments and xray:PutTelemetryRecords use Resource "*": X-Ray supports no resource-level permissions for them.',
      });
    }
  }
}
