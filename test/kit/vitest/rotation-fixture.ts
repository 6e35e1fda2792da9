import { RotationWorld } from '../builders/rotation-world';
import type { BundledFunction } from '../builders/synth';
import { type BundleName, bundledFrom } from '../builders/world-sources';
import type { LambdaInvokeEmulator } from '../emulators/lambda-invoke';
import type { DocStrictSecretsManager } from '../emulators/secrets-manager-doc-strict';
import type { TestCredentials } from '../local-aws/moto-broker';
import { BrokerFixture } from './broker-fixture';
import { worldSources } from './serve-token-harness';

export { LOCAL_MAX_ATTEMPTS, localUpstream, type RotationStepName } from '../builders/rotation-world';

/** A bundle of this test run's synthesized app (the global setup's `cdk synth`). */
export const bundled = (name: BundleName): BundledFunction => bundledFrom(worldSources(), name);

/** RotationWorld in this test run's moto_server, with this run's bundles. */
export class RotationFixture extends RotationWorld {
  static async create(
    initial: TestCredentials | string | undefined,
    lambdaServer: LambdaInvokeEmulator,
    tokenUrl: string,
    docStrict?: DocStrictSecretsManager,
  ): Promise<RotationFixture> {
    return new RotationFixture(
      worldSources(),
      await BrokerFixture.create(initial),
      lambdaServer,
      tokenUrl,
      docStrict,
    );
  }
}
