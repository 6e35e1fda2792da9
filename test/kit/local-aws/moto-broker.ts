import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { EnvVar } from '../../../contract/env-vars';
import { CACHE_KEY_ATTRIBUTE, CURRENT_TOKEN_KEY } from '../../../contract/token-cache-schema';
import { MOTO_CREDENTIALS, MOTO_REGION, motoProcessEnv } from './moto';

/** Where the test AWS (moto_server) is and which CA the local HTTPS servers use. No vitest import: benchmarks use it too. */
export interface LocalAwsEnv {
  readonly motoEndpoint: string;
  readonly trustedCaFile: string;
}

export const awsClientConfigFor = (env: LocalAwsEnv) => ({
  endpoint: env.motoEndpoint,
  region: MOTO_REGION,
  credentials: MOTO_CREDENTIALS,
});

/** A function's template environment without its references (a local run has no CloudFormation to resolve them). */
export function templateStrings(templateEnv: Record<string, unknown>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(templateEnv)) if (typeof value === 'string') env[name] = value;
  return env;
}

export interface TestCredentials {
  readonly client_id: string;
  readonly client_secret: string;
}

export function makeCredentials(): TestCredentials {
  const id = randomUUID().slice(0, 8);
  return { client_id: `client-${id}`, client_secret: `S3cr3t-${randomUUID()}` };
}

/** One broker's AWS resources in moto (key, credentials secret, token table), unique per test. */
export class MotoBroker {
  readonly secrets: SecretsManagerClient;
  readonly dynamo: DynamoDBClient;
  readonly kms: KMSClient;

  protected constructor(
    readonly localEnv: LocalAwsEnv,
    readonly keyArn: string,
    readonly secretArn: string,
    readonly tableName: string,
  ) {
    this.secrets = new SecretsManagerClient(awsClientConfigFor(localEnv));
    this.dynamo = new DynamoDBClient(awsClientConfigFor(localEnv));
    this.kms = new KMSClient(awsClientConfigFor(localEnv));
  }

  /** `secretValue`: credentials, a raw string, or undefined for a secret with no value at all. */
  static async createIn(
    localEnv: LocalAwsEnv,
    secretValue: TestCredentials | string | undefined,
  ): Promise<MotoBroker> {
    const ids = await MotoBroker.createResources(localEnv, secretValue);
    return new MotoBroker(localEnv, ids.keyArn, ids.secretArn, ids.tableName);
  }

  protected static async createResources(
    localEnv: LocalAwsEnv,
    secretValue: TestCredentials | string | undefined,
  ): Promise<{ keyArn: string; secretArn: string; tableName: string }> {
    const awsClientConfig = () => awsClientConfigFor(localEnv);
    const suffix = randomUUID().slice(0, 12);
    const kms = new KMSClient(awsClientConfig());
    const key = await kms.send(new CreateKeyCommand({ Description: `test ${suffix}` }));
    const secrets = new SecretsManagerClient(awsClientConfig());
    const secret = await secrets.send(
      new CreateSecretCommand({
        Name: `broker-test/${suffix}`,
        KmsKeyId: key.KeyMetadata?.Arn,
        ...(secretValue === undefined
          ? {}
          : { SecretString: typeof secretValue === 'string' ? secretValue : JSON.stringify(secretValue) }),
      }),
    );
    const dynamo = new DynamoDBClient(awsClientConfig());
    const tableName = `broker-test-${suffix}`;
    await dynamo.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: CACHE_KEY_ATTRIBUTE, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: CACHE_KEY_ATTRIBUTE, KeyType: 'HASH' }],
      }),
    );
    return { keyArn: key.KeyMetadata?.Arn as string, secretArn: secret.ARN as string, tableName };
  }

  /** Puts new credentials as AWSCURRENT, as an operator would. Returns the new version id. */
  async putCredentials(value: TestCredentials | string): Promise<string> {
    const result = await this.secrets.send(
      new PutSecretValueCommand({
        SecretId: this.secretArn,
        SecretString: typeof value === 'string' ? value : JSON.stringify(value),
      }),
    );
    return result.VersionId as string;
  }

  /** The raw cached item, exactly as a principal with only table read access would see it. */
  async rawCachedItem() {
    const result = await this.dynamo.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { [CACHE_KEY_ATTRIBUTE]: { S: CURRENT_TOKEN_KEY } },
      }),
    );
    return result.Item;
  }

  /**
   * The environment of a bundled function as deployed, with the template's references replaced by
   * this fixture's resources and the settings pointed at the test's token server.
   */
  functionEnv(
    templateEnv: Record<string, unknown>,
    settingsOverride: (settings: Record<string, Record<string, unknown>>) => void,
  ): Record<string, string> {
    const env = templateStrings(templateEnv);
    env[EnvVar.CredentialsSecretArn] = this.secretArn;
    env[EnvVar.TokenTableName] = this.tableName;
    env[EnvVar.TokenKeyArn] = this.keyArn;
    const settings = JSON.parse(env[EnvVar.Settings] as string) as Record<string, Record<string, unknown>>;
    settingsOverride(settings);
    env[EnvVar.Settings] = JSON.stringify(settings);
    return {
      ...env,
      ...motoProcessEnv(this.localEnv.motoEndpoint),
      AWS_LAMBDA_FUNCTION_NAME: 'test-function',
      NODE_EXTRA_CA_CERTS: this.localEnv.trustedCaFile,
      // Local tests run on Node 20; Lambda runs Node 24, where the SDK has nothing to warn about.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
  }
}
