import { inject } from 'vitest';
import {
  awsClientConfigFor,
  type LocalAwsEnv,
  MotoBroker,
  type TestCredentials,
} from '../local-aws/moto-broker';

export { makeCredentials, type TestCredentials } from '../local-aws/moto-broker';

/** The local AWS of this test run (started by the global setup). */
export const localAwsEnv = (): LocalAwsEnv => ({
  motoEndpoint: inject('motoEndpoint'),
  trustedCaFile: inject('trustedCaFile'),
});

export const awsClientConfig = () => awsClientConfigFor(localAwsEnv());

/** MotoBroker bound to this test run's moto_server: one broker's AWS resources, unique per test. */
export class BrokerFixture extends MotoBroker {
  static async create(secretValue: TestCredentials | string | undefined): Promise<BrokerFixture> {
    const env = localAwsEnv();
    const ids = await MotoBroker.createResources(env, secretValue);
    return new BrokerFixture(env, ids.keyArn, ids.secretArn, ids.tableName);
  }
}
