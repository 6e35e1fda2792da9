import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { brokerStackName } from '../contract/stack-outputs';
import { loadStageConfig } from './config/load-config';
import { TokenBrokerStack } from './token-broker-stack';

export interface BrokerApp {
  readonly app: App;
  readonly stack: TokenBrokerStack;
}

/**
 * Builds the CDK app for the stage chosen by context. Shared by bin/app.ts and the tests, so the
 * tested template is the deployed one, with the same cdk-nag packs.
 */
export function buildApp(app: App): BrokerApp {
  const { stageName, config } = loadStageConfig((key) => app.node.tryGetContext(key));
  const stack = new TokenBrokerStack(app, brokerStackName(stageName), {
    stageName,
    config,
    description: `ThroughLine token broker (${stageName}): credentials, token cache and minting`,
    ...(config.account || config.region ? { env: { account: config.account, region: config.region } } : {}),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { app, stack };
}
