import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { App, type Stack } from 'aws-cdk-lib';
import { Template as AssertionsTemplate } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { buildApp } from '../../../lib/app';
import { cdkJsonContext, PROJECT_ROOT } from './cdk-context';
import type { CfnResources } from './cfn-resolve';

export interface Template {
  readonly Resources: CfnResources;
  readonly Outputs?: Record<string, { Value: unknown }>;
}

/** A fresh output folder under .test-out for one synthesis. */
export function testOutdir(name: string): string {
  const outdir = path.join(PROJECT_ROOT, '.test-out', 'synth', `${name}-${process.pid}-${Date.now()}`);
  mkdirSync(outdir, { recursive: true });
  return outdir;
}

/** Synthesizes the broker app as `cdk synth` would (cdk.json context), with stage settings merged in. */
export function synthBroker(name: string, stageOverrides: Record<string, unknown> = {}) {
  const context = cdkJsonContext();
  const stages = context.stages as Record<string, Record<string, unknown>>;
  const stageName = context.stage as string;
  const app = new App({
    context: { ...context, stages: { ...stages, [stageName]: { ...stages[stageName], ...stageOverrides } } },
    outdir: testOutdir(name),
  });
  const { stack } = buildApp(app);
  const template = app.synth().getStackByName(stack.stackName).template as Template;
  return { app, stack, template };
}

/** Unacknowledged cdk-nag findings (AwsSolutions and Serverless packs) in `scope`, as "rule: construct path". */
export function nagFindings(scope: App | Stack): string[] {
  return [new AwsSolutionsChecks(scope), new ServerlessChecks(scope)].flatMap((pack) =>
    pack.validateScope(scope).violations.flatMap((v) =>
      v.violatingResources.map((r) => {
        // cdk-nag 3 reports the construct path; the typed field of the report is the logical id.
        const where = (r as { constructPath?: string }).constructPath ?? r.resourceLogicalId;
        if (!where) throw new Error(`cdk-nag finding ${v.ruleName} names no resource`);
        return `${v.ruleName}: ${where}`;
      }),
    ),
  );
}

export function resourcesOfType(template: Template, type: string): [string, Record<string, unknown>][] {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => [id, r.Properties ?? {}]);
}

/**
 * Synthesizes the broker app with whole-context overrides (e.g. `{ stage: 'prod' }`) and returns
 * the stack with an `aws-cdk-lib/assertions` Template, for template assertions.
 */
export function synthBrokerForAssertions(name: string, contextOverrides: Record<string, unknown> = {}) {
  const app = new App({ context: cdkJsonContext(contextOverrides), outdir: testOutdir(name) });
  const { stack } = buildApp(app);
  return { app, stack, template: AssertionsTemplate.fromStack(stack) };
}
