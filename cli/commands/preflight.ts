import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Command } from 'commander';
import { loadStageConfig } from '../../lib/config/load-config';
import { BrokerConnection } from '../broker-connection';
import type { CliIo } from '../io';
import { type CheckResult, type PreflightClients, runPreflight } from '../operations/preflight-checks';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/** Thrown after the report when a check blocks the deploy: bin/broker.ts prints it and exits 1. */
export class PreflightBlockedError extends Error {
  override readonly name = 'PreflightBlockedError';
  constructor(readonly blocking: readonly CheckResult[]) {
    super(
      `preflight: ${blocking.length} problem${blocking.length === 1 ? '' : 's'} to fix before cdk deploy (${blocking.map((c) => c.check).join(', ')})`,
    );
  }
}

/** Clients for the preflight reads, configured (region, endpoints) like every other command's. */
function preflightClients(connection: BrokerConnection): PreflightClients {
  return {
    lambda: new LambdaClient(connection.clientConfig('LAMBDA')),
    apiGateway: new APIGatewayClient(connection.clientConfig('API_GATEWAY')),
    cloudTrail: new CloudTrailClient(connection.clientConfig('CLOUDTRAIL')),
    ssm: new SSMClient(connection.clientConfig('SSM')),
    cloudFormation: new CloudFormationClient(connection.clientConfig('CLOUDFORMATION')),
  };
}

function readJson(file: string): Record<string, unknown> | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : undefined;
}

const MARK: Record<CheckResult['status'], string> = { ok: 'ok   ', warn: 'WARN ', block: 'BLOCK' };

/**
 * `preflight`: read-only checks of the account and region a stage is about to be deployed to, with the
 * operator's credentials. Prints every check and what to fix; fails (exit 1) when one blocks.
 */
export function registerPreflightCommand(program: Command, io: CliIo): void {
  program
    .command('preflight')
    .description('Check the AWS account and region (read-only) before the first cdk deploy of a stage')
    .option(
      '--reserved-concurrency <n>',
      "Lambda concurrency the stage reserves (default: the stage's mintToken.reservedConcurrency, none unless set)",
      (v) => Number.parseInt(v, 10),
    )
    .option('--qualifier <qualifier>', 'CDK bootstrap qualifier', 'hnb659fds')
    .action(async (options: { reservedConcurrency?: number; qualifier: string }, command: Command) => {
      const connection = BrokerConnection.of(command, io);
      const region = connection.requireRegion('preflight needs a region: pass --region or set AWS_REGION');
      const context = (readJson(path.join(PROJECT_ROOT, 'cdk.json'))?.context ?? {}) as Record<
        string,
        unknown
      >;
      const { stageName, config } = loadStageConfig((key) =>
        key === 'stage' ? connection.global.stage : context[key],
      );
      const pkg = readJson(path.join(PROJECT_ROOT, 'package.json')) as {
        devDependencies?: Record<string, string>;
      };
      const cli = readJson(path.join(PROJECT_ROOT, 'node_modules', 'aws-cdk', 'package.json'));

      io.out(`Preflight for stage ${stageName} in ${region} (read-only, with your AWS credentials):`);
      const results = await runPreflight(preflightClients(connection), {
        region,
        reservedConcurrency: options.reservedConcurrency ?? config.mintToken.reservedConcurrency ?? 0,
        createsApiGatewayAccountRole: config.api.createAccountLoggingRole,
        bootstrapQualifier: options.qualifier,
        nodeVersion: process.versions.node,
        cdkCliVersion: cli?.version as string | undefined,
        pinnedCdkCliVersion: pkg?.devDependencies?.['aws-cdk'] ?? 'unknown',
      });
      for (const result of results) {
        io.out(`  ${MARK[result.status]} ${result.check}: ${result.found}`);
        if (result.fix && result.status !== 'ok') io.out(`        fix: ${result.fix}`);
      }
      const blocking = results.filter((r) => r.status === 'block');
      if (blocking.length > 0) throw new PreflightBlockedError(blocking);
      io.out(
        `Nothing blocks the deploy: npx cdk deploy -c stage=${stageName}${results.some((r) => r.status === 'warn') ? ' (read the warnings first)' : ''}`,
      );
    });
}
