import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { TestProject } from 'vitest/node';
import { PROJECT_ROOT } from '../builders/cdk-context';
import { type BundledFunction, synthBundledFunctions } from '../builders/synth';
import { startMoto } from '../local-aws/moto';
import { createLocalCertificate, type TlsMaterial } from '../local-aws/tls';

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

  const bundledFunctions = synthBundledFunctions(path.join(outRoot, 'bundles'));

  project.provide('motoEndpoint', moto.endpoint);
  project.provide('trustedTls', trustedTls);
  project.provide('trustedCaFile', trustedCaFile);
  project.provide('untrustedTls', untrustedTls);
  project.provide('bundledFunctions', bundledFunctions);

  return async () => {
    await moto.stop();
  };
}
