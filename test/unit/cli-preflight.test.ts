import { APIGatewayClient, UpdateAccountCommand } from '@aws-sdk/client-api-gateway';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import {
  CloudTrailClient,
  CreateTrailCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
} from '@aws-sdk/client-cloudtrail';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LambdaAccountSettingsStandIn } from '../kit/emulators/lambda-account-settings-stand-in';
import { MOTO_CREDENTIALS } from '../kit/local-aws/moto';
import { runCli, useMotoCredentials } from '../kit/runners/cli-harness';

/**
 * `broker preflight` against moto_server (API Gateway GetAccount, CloudTrail DescribeTrails /
 * GetTrailStatus / GetEventSelectors, SSM GetParameter, CloudFormation DescribeStacks — the AWS wire
 * protocols) and a local stand-in for Lambda GetAccountSettings, which moto lacks. Each scenario uses
 * its own region, so moto's per-region state (trails, the API Gateway account setting, bootstrap) of
 * one scenario never leaks into another.
 */
let lambda: LambdaAccountSettingsStandIn;

beforeAll(async () => {
  useMotoCredentials();
  lambda = await LambdaAccountSettingsStandIn.start();
});
afterAll(async () => {
  await lambda.stop();
});

interface AccountShape {
  readonly apiGatewayRole?: boolean;
  readonly trail?: 'logging' | 'stopped' | 'none';
  readonly readWrite?: 'All' | 'WriteOnly';
  readonly bootstrapVersion?: number;
}

/** Puts the account's region into the given shape, in moto, the way the real setup commands would. */
async function prepare(region: string, shape: AccountShape): Promise<void> {
  const config = { region, endpoint: inject('motoEndpoint'), credentials: MOTO_CREDENTIALS };
  if (shape.apiGatewayRole !== false) {
    await new APIGatewayClient(config).send(
      new UpdateAccountCommand({
        patchOperations: [
          { op: 'replace', path: '/cloudwatchRoleArn', value: 'arn:aws:iam::123456789012:role/apigw-logs' },
        ],
      }),
    );
  }
  const trail = shape.trail ?? 'logging';
  if (trail !== 'none') {
    const bucket = `trail-${region}-${Date.now()}`;
    // moto checks that the trail's bucket exists; a path-style PUT creates it (S3 CreateBucket).
    const created = await fetch(`${inject('motoEndpoint')}/${bucket}`, {
      method: 'PUT',
      headers: {
        Authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0`,
      },
    });
    expect(created.ok).toBe(true);
    const cloudTrail = new CloudTrailClient(config);
    await cloudTrail.send(new CreateTrailCommand({ Name: `management-${region}`, S3BucketName: bucket }));
    // What a new trail records by default in AWS (all management events); set explicitly, as moto has no default.
    await cloudTrail.send(
      new PutEventSelectorsCommand({
        TrailName: `management-${region}`,
        EventSelectors: [
          { ReadWriteType: shape.readWrite ?? 'All', IncludeManagementEvents: true, DataResources: [] },
        ],
      }),
    );
    if (trail === 'logging') await cloudTrail.send(new StartLoggingCommand({ Name: `management-${region}` }));
  }
  if (shape.bootstrapVersion !== undefined) {
    await new SSMClient(config).send(
      new PutParameterCommand({
        Name: '/cdk-bootstrap/hnb659fds/version',
        Value: String(shape.bootstrapVersion),
        Type: 'String',
      }),
    );
    await new CloudFormationClient(config).send(
      new CreateStackCommand({
        StackName: 'CDKToolkit',
        TemplateBody: JSON.stringify({
          Resources: { Placeholder: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
        }),
      }),
    );
  }
}

async function preflight(region: string, extra: string[] = []) {
  return runCli(['--region', region, 'preflight', ...extra], {
    env: { AWS_ENDPOINT_URL: inject('motoEndpoint'), AWS_ENDPOINT_URL_LAMBDA: lambda.url },
  });
}

const line = (text: string, check: string) => text.split('\n').find((l) => l.includes(` ${check}: `)) ?? '';

describe('broker preflight', () => {
  it('a ready account: every check ok, exit 0, and the next step printed', async () => {
    await prepare('eu-west-1', { bootstrapVersion: 30 });
    lambda.limits = { concurrentExecutions: 1000, unreservedConcurrentExecutions: 1000 };

    const run = await preflight('eu-west-1');

    expect(run.error).toBeUndefined();
    for (const check of [
      'Node.js',
      'CDK CLI',
      'Lambda concurrency',
      'API Gateway CloudWatch role',
      'CloudTrail',
      'CDK bootstrap',
    ]) {
      expect(line(run.text, check)).toMatch(/^\s+ok\s/);
    }
    expect(line(run.text, 'API Gateway CloudWatch role')).toContain(
      'arn:aws:iam::123456789012:role/apigw-logs',
    );
    expect(line(run.text, 'CloudTrail')).toContain('management-eu-west-1 is logging read management events');
    expect(line(run.text, 'CDK bootstrap')).toContain('version 30 (CDKToolkit CREATE_COMPLETE)');
    expect(run.text).toContain('Nothing blocks the deploy: npx cdk deploy -c stage=dev');
    // Read-only: the only Lambda call is GetAccountSettings.
    expect(new Set(lambda.requests.map((r) => r.replace(/\/$/, '')))).toEqual(
      new Set(['GET /2016-08-19/account-settings']),
    );
  });

  it('quota 10: reserving concurrency blocks (exit 1, with the quota to raise); the default stage reserves none, so it only warns', async () => {
    await prepare('ca-central-1', { bootstrapVersion: 30 });
    lambda.limits = { concurrentExecutions: 10, unreservedConcurrentExecutions: 10 };

    const reserving = await preflight('ca-central-1', ['--reserved-concurrency', '1']);
    const unreserved = await preflight('ca-central-1');

    expect(reserving.error?.name).toBe('PreflightBlockedError');
    expect(reserving.error?.message).toBe(
      'preflight: 1 problem to fix before cdk deploy (Lambda concurrency)',
    );
    expect(line(reserving.text, 'Lambda concurrency')).toMatch(
      /BLOCK Lambda concurrency: concurrency quota 10, unreserved 10; the stage reserves 1/,
    );
    expect(reserving.text).toContain('L-B99A9384');
    expect(unreserved.error).toBeUndefined();
    expect(line(unreserved.text, 'Lambda concurrency')).toMatch(
      /WARN\s+Lambda concurrency: concurrency quota 10, unreserved 10, below the default 1000/,
    );
  });

  it('no trail in the region: blocks, because the secret-read alarm could never fire', async () => {
    await prepare('sa-east-1', { trail: 'none', bootstrapVersion: 30 });
    lambda.limits = { concurrentExecutions: 1000, unreservedConcurrentExecutions: 1000 };

    const run = await preflight('sa-east-1');

    expect(run.error?.message).toBe('preflight: 1 problem to fix before cdk deploy (CloudTrail)');
    expect(line(run.text, 'CloudTrail')).toContain('BLOCK CloudTrail: no trail covers sa-east-1');
    expect(run.text).toMatch(/fix: create \(or start\) a trail/);
  });

  it('a trail that is not logging blocks too', async () => {
    await prepare('eu-north-1', { trail: 'stopped', bootstrapVersion: 30 });

    const run = await preflight('eu-north-1');

    expect(line(run.text, 'CloudTrail')).toContain(
      'management-eu-north-1 covers eu-north-1 but is not logging',
    );
    expect(run.error?.message).toContain('(CloudTrail)');
  });

  it('a trail recording only write management events blocks (GetSecretValue is a read)', async () => {
    await prepare('ap-northeast-1', { readWrite: 'WriteOnly', bootstrapVersion: 30 });

    const run = await preflight('ap-northeast-1');

    expect(line(run.text, 'CloudTrail')).toContain('but no read management events');
    expect(run.error?.message).toContain('(CloudTrail)');
  });

  it('no API Gateway role and no bootstrap: both block, each with its fix', async () => {
    await prepare('ap-southeast-2', { apiGatewayRole: false });

    const run = await preflight('ap-southeast-2');

    expect(run.error?.message).toBe(
      'preflight: 2 problems to fix before cdk deploy (API Gateway CloudWatch role, CDK bootstrap)',
    );
    expect(line(run.text, 'API Gateway CloudWatch role')).toContain('no CloudWatch role is registered');
    expect(run.text).toContain('set api.createAccountLoggingRole to true');
    expect(line(run.text, 'CDK bootstrap')).toContain('/cdk-bootstrap/hnb659fds/version not found');
    expect(run.text).toContain('fix: run npx cdk bootstrap aws://<account>/ap-southeast-2');
  });

  it('without a region it says how to give one', async () => {
    const run = await runCli(['preflight'], { env: {} });

    expect(run.error?.message).toBe('preflight needs a region: pass --region or set AWS_REGION');
  });
});
