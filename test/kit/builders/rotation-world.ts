import { randomUUID } from 'node:crypto';
import {
  DescribeSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { STAGED_LABEL } from '../../../contract/credentials-secret';
import { EnvVar } from '../../../contract/env-vars';
import { OPERATOR_ALIAS } from '../../../contract/mint-token-payload';
import type { LambdaInvokeEmulator } from '../emulators/lambda-invoke';
import type { DocStrictSecretsManager } from '../emulators/secrets-manager-doc-strict';
import { awsClientConfigFor, type MotoBroker, type TestCredentials } from '../local-aws/moto-broker';
import { type InvokeOutcome, invokeBundled } from '../runners/invoke-bundled';
import { tokenRequestEvent } from './api-gateway-event';
import { serveTokenEnv } from './serve-token-world';
import { bundledFrom, type WorldSources } from './world-sources';

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
      maxAttempts: LOCAL_MAX_ATTEMPTS,
    };
    // The fleet-wide gate's backoff on the same small scale (its timing is unit-tested).
    s.gate = { ...s.gate, backoffBaseSeconds: 0.05, backoffCapSeconds: 0.2 };
  };
}

/** Upstream attempts mint-token makes in one invocation with `localUpstream`. */
export const LOCAL_MAX_ATTEMPTS = 3;

export type RotationStepName = 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';

/**
 * One broker in moto (key, credentials secret, token table) with mint-token served by the local
 * Lambda Invoke stand-in and the bundled rotate-credentials function run as Secrets Manager runs it:
 * one step per invocation, with {SecretId, ClientRequestToken, Step, RotationToken}. The rotation
 * function and `secrets` talk to Secrets Manager through the doc-strict stand-in, which holds the
 * rotation's empty AWSPENDING version as Secrets Manager does.
 */
export class RotationWorld {
  readonly mintTokenFunctionName: string;
  /** Secrets Manager as the rotation function and operators see it: through the doc-strict stand-in. */
  readonly secrets: SecretsManagerClient;

  /** `broker`: the key, secret and table in moto (MotoBroker.createIn); `docStrict`: rotation tests need one. */
  constructor(
    private readonly sources: WorldSources,
    readonly broker: MotoBroker,
    readonly lambdaServer: LambdaInvokeEmulator,
    readonly tokenUrl: string,
    private readonly docStrict: DocStrictSecretsManager | undefined,
  ) {
    this.secrets = docStrict
      ? new SecretsManagerClient({ ...awsClientConfigFor(broker.localEnv), endpoint: docStrict.url })
      : broker.secrets;
    this.mintTokenFunctionName = `mint-token-${randomUUID().slice(0, 8)}`;
    lambdaServer.register(this.mintTokenFunctionName, {
      // One invocation at a time: a second caller meanwhile is throttled, as with reserved concurrency 1.
      reservedConcurrency: 1,
      aliases: [OPERATOR_ALIAS],
      bundle: bundledFrom(sources, 'MintToken').bundle,
      env: broker.functionEnv(bundledFrom(sources, 'MintToken').environment, localUpstream(tokenUrl)),
    });
  }

  get secretArn(): string {
    return this.broker.secretArn;
  }

  /** The rotate-credentials environment as deployed, pointed at moto, the token server and mint-token. */
  rotateEnv(): Record<string, string> {
    return {
      ...this.broker.functionEnv(
        bundledFrom(this.sources, 'RotateCredentials').environment,
        localUpstream(this.tokenUrl),
      ),
      [EnvVar.MintTokenFunctionName]: this.mintTokenFunctionName,
      AWS_ENDPOINT_URL_LAMBDA: this.lambdaServer.url,
      ...(this.docStrict ? { AWS_ENDPOINT_URL_SECRETS_MANAGER: this.docStrict.url } : {}),
    };
  }

  /** Stages credentials under THROUGHLINE_STAGED as a new version, as `credentials rotate` does. Returns its id. */
  async stage(value: TestCredentials | string): Promise<string> {
    const versionId = randomUUID();
    await this.secrets.send(
      new PutSecretValueCommand({
        SecretId: this.secretArn,
        ClientRequestToken: versionId,
        SecretString: typeof value === 'string' ? value : JSON.stringify(value),
        VersionStages: [STAGED_LABEL],
      }),
    );
    return versionId;
  }

  /** What RotateSecret does before invoking the function: the rotation's empty AWSPENDING version. Returns its id. */
  async openRotation(options: { readonly testOnly?: boolean } = {}): Promise<string> {
    return (await this.standIn.openRotation(this.secretArn, options)).token;
  }

  /** The doc-strict Secrets Manager this fixture was created with (rotation tests need one). */
  get standIn(): DocStrictSecretsManager {
    if (!this.docStrict) throw new Error('RotationFixture.create was given no DocStrictSecretsManager');
    return this.docStrict;
  }

  /** Runs rotation steps in one execution environment, in order, as Secrets Manager invokes them. */
  async steps(
    token: string,
    steps: readonly RotationStepName[],
    secretId = this.secretArn,
  ): Promise<InvokeOutcome> {
    const rotationToken = this.docStrict?.rotations.find((r) => r.token === token)?.rotationToken;
    return invokeBundled({
      bundle: bundledFrom(this.sources, 'RotateCredentials').bundle,
      env: this.rotateEnv(),
      events: steps.map((Step) => ({
        SecretId: secretId,
        ClientRequestToken: token,
        Step,
        ...(rotationToken ? { RotationToken: rotationToken } : {}),
      })),
    });
  }

  /**
   * One request to a FRESH serve-token instance (its own cold process, empty L1), wired as deployed:
   * table and key of this broker, mint-token behind the Lambda stand-in. Returns what the caller got.
   */
  async serveFreshInstance(): Promise<{
    status: number;
    accessToken: string | undefined;
    logLines: string[];
  }> {
    const serve = bundledFrom(this.sources, 'ServeToken');
    const outcome = await invokeBundled<{ statusCode: number; body: string }>({
      bundle: serve.bundle,
      env: {
        ...serveTokenEnv(serve.environment, {
          broker: this.broker,
          mintFunctionName: this.mintTokenFunctionName,
          awsEndpoint: this.broker.localEnv.motoEndpoint,
          lambdaEndpoint: this.lambdaServer.url,
        }),
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      events: [tokenRequestEvent()],
    });
    const result = outcome.results[0];
    if (!result?.ok) throw new Error(`serve-token failed: ${result ? result.error.message : 'no result'}`);
    const body = JSON.parse(result.value.body) as { access_token?: string };
    return { status: result.value.statusCode, accessToken: body.access_token, logLines: outcome.logLines };
  }

  async describe() {
    return this.secrets.send(new DescribeSecretCommand({ SecretId: this.secretArn }));
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
