import { mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { App, type CfnElement, type Stack } from 'aws-cdk-lib';
import { Template as AssertionsTemplate } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { buildApp } from '../../../lib/app';
import { cdkJsonContext, PROJECT_ROOT } from './cdk-context';
import type { CfnResources } from './cfn-resolve';

/**
 * The broker app as `cdk synth` builds it (cdk.json context, cdk-nag packs: synthesis fails on any
 * unacknowledged finding), three ways: the raw template (`synthBroker`), an `aws-cdk-lib/assertions`
 * Template (`synthBrokerForAssertions`), and each function's bundle (`synthBundledFunctions`).
 */

export interface Template {
  readonly Resources: CfnResources;
  readonly Outputs?: Record<string, { Value: unknown }>;
}

export interface SynthOverrides {
  /** Whole-context overrides, e.g. `{ stage: 'prod' }`. */
  readonly context?: Record<string, unknown>;
  /** Merged into the selected stage's settings (cdk.json `stages[stage]`). */
  readonly stage?: Record<string, unknown>;
}

/** A fresh output folder under .test-out for one synthesis. */
export function testOutdir(name: string): string {
  const outdir = path.join(PROJECT_ROOT, '.test-out', 'synth', `${name}-${process.pid}-${Date.now()}`);
  mkdirSync(outdir, { recursive: true });
  return outdir;
}

/** The app and its stack, built (not yet synthesized) into `outdir`. */
function brokerApp(outdir: string, overrides: SynthOverrides = {}) {
  const context = cdkJsonContext(overrides.context);
  if (overrides.stage) {
    const stages = context.stages as Record<string, Record<string, unknown>>;
    const stageName = context.stage as string;
    context.stages = { ...stages, [stageName]: { ...stages[stageName], ...overrides.stage } };
  }
  const app = new App({ context, outdir });
  return { app, stack: buildApp(app).stack };
}

/** Synthesizes the broker app with stage settings merged in; the template as raw JSON. */
export function synthBroker(name: string, stageOverrides: Record<string, unknown> = {}) {
  const { app, stack } = brokerApp(testOutdir(name), { stage: stageOverrides });
  const template = app.synth().getStackByName(stack.stackName).template as Template;
  return { app, stack, template };
}

/**
 * Synthesizes the broker app and returns the stack with an `aws-cdk-lib/assertions` Template, for
 * template assertions. The template is read into memory; the output folder (bundled assets) is removed.
 */
export function synthBrokerForAssertions(name: string, overrides: SynthOverrides = {}) {
  const outdir = testOutdir(name);
  const { app, stack } = brokerApp(outdir, overrides);
  app.synth();
  const template = AssertionsTemplate.fromStack(stack);
  rmSync(outdir, { recursive: true, force: true });
  return { app, stack, template };
}

export interface BundledFunction {
  /** Absolute path of the bundled index.js, exactly as `cdk synth` packages it. */
  readonly bundle: string;
  /** The function's environment in the template (references left unresolved). */
  readonly environment: Record<string, unknown>;
}

/**
 * Synthesizes the default stage into `outdir` and returns each Lambda's bundle, keyed by the
 * construct id under the stack (e.g. ThroughLineTokenBroker-dev/MintToken/… → "MintToken").
 */
export function synthBundledFunctions(outdir: string): Record<string, BundledFunction> {
  rmSync(outdir, { recursive: true, force: true });
  // The CDK CLI turns these on; an in-process App needs them to record asset paths and construct paths.
  const { app, stack } = brokerApp(outdir, {
    context: { 'aws:cdk:enable-path-metadata': true, 'aws:cdk:enable-asset-metadata': true },
  });
  const assembly = app.synth();
  const template = assembly.getStackByName(stack.stackName).template as {
    Resources: Record<
      string,
      { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, string> }
    >;
  };
  const bundled: Record<string, BundledFunction> = {};
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function' || !resource.Metadata?.['aws:asset:path']) continue;
    // The stack's TokenBroker has the id "Default" (kept out of logical IDs): skip it in the path.
    const name = resource.Metadata['aws:cdk:path']?.split('/').filter((part) => part !== 'Default')[1];
    if (!name) continue;
    bundled[name] = {
      bundle: path.join(outdir, resource.Metadata['aws:asset:path'], 'index.js'),
      environment:
        (resource.Properties.Environment as { Variables?: Record<string, unknown> })?.Variables ?? {},
    };
  }
  return bundled;
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

/** The logical id of a construct's CloudFormation resource (its default child). */
export function idOf(stack: Stack, construct: IConstruct): string {
  return stack.getLogicalId((construct.node.defaultChild ?? construct) as CfnElement);
}
