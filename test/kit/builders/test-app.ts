import { mkdtempSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { buildApp } from '../../../lib/app';
import type { TokenBrokerStack } from '../../../lib/token-broker-stack';
import { cdkJsonContext, PROJECT_ROOT } from './cdk-context';

/**
 * The broker app as `cdk synth` builds it (cdk.json context, cdk-nag packs), optionally with a stage
 * config override. Synthesis fails — and so the test — on any unacknowledged cdk-nag finding.
 */
export function synthBroker(stageOverride?: Record<string, unknown>): {
  app: App;
  stack: TokenBrokerStack;
  template: Template;
} {
  const context = cdkJsonContext();
  if (stageOverride) {
    const stages = context.stages as Record<string, Record<string, unknown>>;
    context.stages = { ...stages, dev: { ...stages.dev, ...stageOverride } };
  }
  const outdir = mkdtempSync(path.join(PROJECT_ROOT, '.test-out', 'infra-'));
  const app = new App({ context, outdir });
  const { stack } = buildApp(app);
  app.synth();
  const template = Template.fromStack(stack);
  // The template is in memory now; the bundled assets on disk are not needed.
  rmSync(outdir, { recursive: true, force: true });
  return { app, stack, template };
}

/**
 * A Step Functions DefinitionString (Fn::Join of literal text and references) as JSON, with each
 * reference replaced by a readable marker: {"Ref":"X"} → "<Ref:X>", {"Fn::GetAtt":["X","Arn"]} → "<X.Arn>".
 */
export function definitionOf(definitionString: unknown): Record<string, unknown> {
  const join = (definitionString as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  const text = join[1]
    .map((part) => {
      if (typeof part === 'string') return part;
      const p = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
      if (p.Ref) return `<Ref:${p.Ref}>`;
      if (p['Fn::GetAtt']) return `<${p['Fn::GetAtt'][0]}.${p['Fn::GetAtt'][1]}>`;
      return '<?>';
    })
    .join('');
  return JSON.parse(text) as Record<string, unknown>;
}

/** The logical id of a construct's CloudFormation resource (its default child). */
export function idOf(stack: TokenBrokerStack, construct: IConstruct): string {
  return stack.getLogicalId((construct.node.defaultChild ?? construct) as CfnElement);
}

/** A Step Functions DefinitionString with its references resolved by `resolve`, ready to deploy elsewhere. */
export function renderDefinition(definitionString: unknown, resolve: (reference: string) => string): string {
  const join = (definitionString as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return join[1]
    .map((part) => {
      if (typeof part === 'string') return part;
      const p = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
      return resolve(p.Ref ?? `${p['Fn::GetAtt']?.[0]}.${p['Fn::GetAtt']?.[1]}`);
    })
    .join('');
}
