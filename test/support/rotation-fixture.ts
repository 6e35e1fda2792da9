import { randomUUID } from 'node:crypto';
import { DescribeSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { inject } from 'vitest';
import { OPERATOR_ALIAS } from '../../lambda/core/mint-token-request';
import { EnvVar } from '../../lambda/core/settings';
import { BrokerFixture, type TestCredentials } from './broker-fixture';
import { type InvokeOutcome, invokeBundled } from './invoke-bundled';
import type { LambdaInvokeServer } from './lambda-invoke-server-rotation';
import type { BundledFunction } from './synth-bundles';

export function bundled(name: 'MintToken' | 'RotateCredentials'): BundledFunction {
  const fn = inject('bundledFunctions')[name];
  if (!fn) throw new Error(`${name} bundle not found in the synthesized app`);
  return fn;
}

/** Settings for the local token server: short timeouts and backoff, so failures are quick. */
export function localUpstream(tokenUrl: string) {
  return (s: Record<string, Record<string, unknown>>) => {
    s.upstream = {
      ...s.upstream,
      tokenUrl,
      requestTimeoutMs: 1_000,
      totalBudgetMs: 10_000,
      backoffBaseMs: 10,
      backoffCapMs: 50,
    };
  };
}

export type RotationStepName = 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';

/**
 * One broker in moto (key, credentials secret, token table) with mint-token served by the local
 * Lambda Invoke stand-in and the bundled rotate-credentials function run as Secrets Manager runs it:
 * one step per invocation, with {SecretId, ClientRequestToken, Step}.
 */
export class RotationFixture {
  readonly mintTokenFunctionName: string;

  private constructor(
    readonly broker: BrokerFixture,
    readonly lambdaServer: LambdaInvokeServer,
    readonly tokenUrl: string,
  ) {
    this.mintTokenFunctionName = `mint-token-${randomUUID().slice(0, 8)}`;
    lambdaServer.register(this.mintTokenFunctionName, {
      aliases: [OPERATOR_ALIAS],
      bundle: bundled('MintToken').bundle,
      env: broker.functionEnv(bundled('MintToken').environment, localUpstream(tokenUrl)),
    });
  }

  static async create(
    initial: TestCredentials | string | undefined,
    lambdaServer: LambdaInvokeServer,
    tokenUrl: string,
  ): Promise<RotationFixture> {
    return new RotationFixture(await BrokerFixture.create(initial), lambdaServer, tokenUrl);
  }

  get secretArn(): string {
    return this.broker.secretArn;
  }

  /** The rotate-credentials environment as deployed, pointed at moto, the token server and mint-token. */
  rotateEnv(): Record<string, string> {
    return {
      ...this.broker.functionEnv(bundled('RotateCredentials').environment, localUpstream(this.tokenUrl)),
      [EnvVar.MintTokenFunctionName]: this.mintTokenFunctionName,
      AWS_ENDPOINT_URL_LAMBDA: this.lambdaServer.url,
    };
  }

  /** Stages credentials as AWSPENDING under a new ClientRequestToken, as `credentials rotate` does. */
  async stage(value: TestCredentials | string): Promise<string> {
    const token = randomUUID();
    await this.broker.secrets.send(
      new PutSecretValueCommand({
        SecretId: this.secretArn,
        ClientRequestToken: token,
        SecretString: typeof value === 'string' ? value : JSON.stringify(value),
        VersionStages: ['AWSPENDING'],
      }),
    );
    return token;
  }

  /** Runs rotation steps in one execution environment, in order, as Secrets Manager invokes them. */
  async steps(
    token: string,
    steps: readonly RotationStepName[],
    secretId = this.secretArn,
  ): Promise<InvokeOutcome> {
    return invokeBundled({
      bundle: bundled('RotateCredentials').bundle,
      env: this.rotateEnv(),
      events: steps.map((Step) => ({ SecretId: secretId, ClientRequestToken: token, Step })),
    });
  }

  async describe() {
    return this.broker.secrets.send(new DescribeSecretCommand({ SecretId: this.secretArn }));
  }

  /** Version id → staging labels, sorted for stable comparison. */
  async stages(): Promise<Record<string, string[]>> {
    const d = await this.describe();
    return Object.fromEntries(
      Object.entries(d.VersionIdsToStages ?? {}).map(([id, stages]) => [id, [...stages].sort()]),
    );
  }

  async versionWith(stage: string): Promise<string | undefined> {
    return Object.entries(await this.stages()).find(([, s]) => s.includes(stage))?.[0];
  }

  /** Invokes mint-token through the Lambda stand-in, as serve-token or an operator would. */
  async mint(payload: unknown = { action: 'ensure' }): Promise<unknown> {
    const response = await fetch(
      `${this.lambdaServer.url}/2015-03-31/functions/${this.mintTokenFunctionName}/invocations`,
      { method: 'POST', body: JSON.stringify(payload) },
    );
    return response.json();
  }
}
