import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../../test/kit/builders/cdk-context';
import { type BundledFunction, synthBundledFunctions } from '../../test/kit/builders/synth';
import { startMoto } from '../../test/kit/local-aws/moto';
import type { LocalAwsEnv } from '../../test/kit/local-aws/moto-broker';
import { createLocalCertificate, type TlsMaterial } from '../../test/kit/local-aws/tls';

export interface BenchEnv {
  readonly localAws: LocalAwsEnv;
  readonly tls: TlsMaterial;
  readonly bundles: Record<string, BundledFunction>;
  readonly outRoot: string;
  readonly stop: () => Promise<void>;
}

/** The same local world the integration tests use: moto_server, a trusted local CA, the synthesized bundles. */
export async function startBenchEnv(): Promise<BenchEnv> {
  const outRoot = path.join(PROJECT_ROOT, '.test-out', 'bench');
  mkdirSync(outRoot, { recursive: true });
  const moto = await startMoto();
  const tls = await createLocalCertificate('throughline-broker-bench');
  // Per process: two benchmark runs at once must not trust each other's certificates.
  const trustedCaFile = path.join(outRoot, `trusted-ca-${process.pid}.pem`);
  writeFileSync(trustedCaFile, tls.cert);
  const bundles = synthBundledFunctions(path.join(outRoot, 'assembly'));
  return { localAws: { motoEndpoint: moto.endpoint, trustedCaFile }, tls, bundles, outRoot, stop: moto.stop };
}
