import { mkdtempSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { buildApp } from '../../lib/app';
import type { TokenBrokerStack } from '../../lib/token-broker-stack';
import { cdkJsonContext, PROJECT_ROOT } from './cdk-context';

export interface SynthesizedBroker {
  readonly app: App;
  readonly stack: TokenBrokerStack;
  readonly template: Template;
}

/**
 * Builds the broker app exactly as bin/app.ts does (cdk.json context, same cdk-nag packs), with
 * optional context overrides (e.g. a stage), into a scratch folder under .test-out.
 */
export function synthBroker(contextOverrides: Record<string, unknown> = {}): SynthesizedBroker {
  const outdir = mkdtempSync(path.join(PROJECT_ROOT, '.test-out', 'synth-'));
  const app = new App({ context: cdkJsonContext(contextOverrides), outdir });
  const { stack } = buildApp(app);
  return { app, stack, template: Template.fromStack(stack) };
}

/** cdk-nag findings not acknowledged, as "rule at logical id" strings (empty means clean). */
export function unacknowledgedNagFindings(app: App): string[] {
  return [new AwsSolutionsChecks(app), new ServerlessChecks(app)].flatMap((pack) =>
    pack
      .validateScope(app)
      .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.resourceLogicalId}`)),
  );
}
