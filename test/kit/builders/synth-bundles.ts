import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildApp } from '../../../lib/app';
import { cdkJsonContext } from './cdk-context';

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
  const app = new App({
    context: cdkJsonContext({ 'aws:cdk:enable-path-metadata': true, 'aws:cdk:enable-asset-metadata': true }),
    outdir,
  });
  const { stack } = buildApp(app);
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
