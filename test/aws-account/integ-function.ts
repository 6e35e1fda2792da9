import * as path from 'node:path';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BROKER_BUNDLING } from '../../lib/constructs/broker-function';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

export interface IntegFunctionProps {
  /** File name under test/aws-account/functions, without extension. */
  readonly handlerName: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly environment?: Record<string, string>;
}

/**
 * A Lambda of the integration-test harness (not of the broker): Node.js 24 on arm64, bundled
 * locally by esbuild (no Docker), a one-day log group destroyed with the stack.
 */
export class IntegFunction extends Construct {
  readonly function: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: IntegFunctionProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_DAY,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(__dirname, 'functions', `${props.handlerName}.ts`),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      description: props.description,
      timeout: props.timeout,
      memorySize: 256,
      logGroup,
      environment: props.environment ?? {},
      bundling: BROKER_BUNDLING,
    });
  }
}
