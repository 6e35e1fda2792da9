import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import type { TestProject } from 'vitest/node';
import { buildApp } from '../../lib/app';
import { cdkJsonContext, PROJECT_ROOT } from './cdk-context';
import { startMoto } from './moto';
import { createLocalCertificate, type TlsMaterial } from './tls';

export interface BundledFunction {
  /** Absolute path of the bundled index.js, exactly as `cdk synth` packages it. */
  readonly bundle: string;
  /** The function's environment in the template (references left unresolved). */
  readonly environment: Record<string, unknown>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    motoEndpoint: string;
    trustedTls: TlsMaterial;
    trustedCaFile: string;
    untrustedTls: TlsMaterial;
    bundledFunctions: Record<string, BundledFunction>;
  }
}

/**
 * Once per test run: start moto_server, make TLS material for the local token servers, and
 * synthesize the default stage so integration tests run the very bundles `cdk synth` produces.
 */
export default async function setup(project: TestProject) {
  const outRoot = path.join(PROJECT_ROOT, '.test-out');
  mkdirSync(outRoot, { recursive: true });

  const moto = await startMoto();

  const trustedTls = await createLocalCertificate('throughline-broker-test-trusted');
  const untrustedTls = await createLocalCertificate('throughline-broker-test-untrusted');
  const trustedCaFile = path.join(outRoot, 'trusted-ca.pem');
  writeFileSync(trustedCaFile, trustedTls.cert);

  const outdir = path.join(outRoot, 'bundles');
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
  const bundledFunctions: Record<string, BundledFunction> = {};
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function' || !resource.Metadata?.['aws:asset:path']) continue;
    // e.g. ThroughLineTokenBroker-dev/MintToken/Handler/Function/Resource → MintToken
    const name = resource.Metadata['aws:cdk:path']?.split('/')[1];
    if (!name) continue;
    bundledFunctions[name] = {
      bundle: path.join(outdir, resource.Metadata['aws:asset:path'], 'index.js'),
      environment:
        (resource.Properties.Environment as { Variables?: Record<string, unknown> })?.Variables ?? {},
    };
  }

  project.provide('motoEndpoint', moto.endpoint);
  project.provide('trustedTls', trustedTls);
  project.provide('trustedCaFile', trustedCaFile);
  project.provide('untrustedTls', untrustedTls);
  project.provide('bundledFunctions', bundledFunctions);

  return async () => {
    await moto.stop();
  };
}
