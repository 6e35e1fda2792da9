import { randomUUID } from 'node:crypto';
import type { ProxySettings, ServeTokenSettings } from '../../../contract/broker-settings';
import { EnvVar } from '../../../contract/env-vars';
import { OPERATOR_ALIAS } from '../../../contract/mint-token-payload';
import type { LambdaInvokeEmulator } from '../emulators/lambda-invoke';
import type { RecordingAwsProxy } from '../emulators/recording-aws-proxy';
import type { FakeTokenServer } from '../fakes/token-server';
import { motoProcessEnv } from '../local-aws/moto';
import { MotoBroker, makeCredentials, type TestCredentials, templateStrings } from '../local-aws/moto-broker';
import { WarmLambda } from '../runners/warm-lambda';
import { TEST_API } from './api-gateway-event';
import { bundledFrom, type WorldSources } from './world-sources';

export type SettingsPatch = (settings: Record<string, Record<string, unknown>>) => void;

/**
 * serve-token's environment as deployed (`template`: its environment in the template), wired to a
 * local world: `broker`'s table and key, mint-token by name behind the Lambda Invoke emulator at
 * `lambdaEndpoint`, every other AWS call to `awsEndpoint` (moto, or the recording proxy) signed with
 * `accessKeyId`. Its mint-throttle backoff is shortened; `settings` changes more.
 */
export function serveTokenEnv(
  template: Record<string, unknown>,
  wiring: {
    readonly broker: Pick<MotoBroker, 'tableName' | 'keyArn'>;
    readonly mintFunctionName: string;
    readonly awsEndpoint: string;
    readonly lambdaEndpoint: string;
    readonly accessKeyId?: string;
    readonly settings?: Partial<ServeTokenSettings>;
  },
): Record<string, string> {
  const env = templateStrings(template);
  const settings = {
    ...(JSON.parse(env[EnvVar.ServeSettings] as string) as ServeTokenSettings),
    mintThrottleBackoffBaseMs: 50,
    mintThrottleBackoffCapMs: 200,
    ...wiring.settings,
  };
  return {
    ...env,
    [EnvVar.TokenTableName]: wiring.broker.tableName,
    [EnvVar.TokenKeyArn]: wiring.broker.keyArn,
    [EnvVar.MintTokenFunctionName]: wiring.mintFunctionName,
    [EnvVar.ServeSettings]: JSON.stringify(settings),
    // The API the test events come from (api-gateway-event.ts): serve-token answers an API call only when it knows the API.
    [EnvVar.TokenApiId]: TEST_API.apiId,
    [EnvVar.TokenApiStage]: TEST_API.stage,
    ...motoProcessEnv(wiring.awsEndpoint, wiring.accessKeyId),
    AWS_ENDPOINT_URL_LAMBDA: wiring.lambdaEndpoint,
    AWS_LAMBDA_FUNCTION_NAME: 'serve-token',
  };
}

/**
 * One broker's world for serve-token integration tests: its moto resources (key, credentials,
 * token table), the bundled mint-token running warm behind the Lambda Invoke stand-in (no reserved
 * concurrency by default, as deployed; the upstream gate's lease serialises mints), and any number of bundled serve-token instances whose
 * DynamoDB/KMS calls go through the recording proxy and whose Lambda calls reach the stand-in.
 */
export class ServeTokenBroker {
  private readonly instances: WarmLambda[] = [];

  protected constructor(
    private readonly sources: WorldSources,
    readonly fixture: MotoBroker,
    readonly credentials: TestCredentials,
    readonly mint: WarmLambda,
    readonly mintFunctionName: string,
    /** Every mint-token execution environment (the first is `mint`). */
    readonly mintInstances: readonly WarmLambda[],
    private readonly proxy: RecordingAwsProxy,
    private readonly standIn: LambdaInvokeEmulator,
  ) {}

  static async createFrom(
    sources: WorldSources,
    options: {
      readonly tokenServer: FakeTokenServer;
      readonly standIn: LambdaInvokeEmulator;
      readonly proxy: RecordingAwsProxy;
      /** Changes to mint-token's settings (upstream, token, gate). */
      readonly mintSettings?: SettingsPatch;
      /** @default none, as deployed by default */
      readonly mintReservedConcurrency?: number;
      /**
       * mint-token execution environments, each its own process, invocations spread round-robin (as
       * Lambda may run concurrent invocations in different environments; nothing in memory is shared).
       * @default 1
       */
      readonly mintInstances?: number;
    },
  ): Promise<ServeTokenBroker> {
    const credentials = makeCredentials();
    const fixture = await MotoBroker.createIn(sources.localEnv, credentials);
    const env = fixture.functionEnv(bundledFrom(sources, 'MintToken').environment, (s) => {
      s.upstream = {
        ...s.upstream,
        tokenUrl: options.tokenServer.url,
        requestTimeoutMs: 1_000,
        totalBudgetMs: 5_000,
        maxAttempts: 2,
        backoffBaseMs: 10,
        backoffCapMs: 50,
      };
      options.mintSettings?.(s);
    });
    const mints = await Promise.all(
      Array.from({ length: options.mintInstances ?? 1 }, () =>
        WarmLambda.start({
          bundle: bundledFrom(sources, 'MintToken').bundle,
          env: { ...env, AWS_LAMBDA_FUNCTION_NAME: 'mint-token' },
        }),
      ),
    );
    const mint = mints[0] as WarmLambda;
    let next = 0;
    const mintFunctionName = `mint-token-${randomUUID().slice(0, 8)}`;
    options.standIn.register(mintFunctionName, {
      // As deployed by default: no reserved concurrency (the upstream gate's lease serialises mints).
      ...(options.mintReservedConcurrency !== undefined
        ? { reservedConcurrency: options.mintReservedConcurrency }
        : {}),
      aliases: [OPERATOR_ALIAS],
      handler: (payload, invocation) =>
        (mints[next++ % mints.length] as WarmLambda).invoke(payload, {
          invokedFunctionArn: invocation.invokedFunctionArn,
        }),
    });
    return new ServeTokenBroker(
      sources,
      fixture,
      credentials,
      mint,
      mintFunctionName,
      mints,
      options.proxy,
      options.standIn,
    );
  }

  /**
   * Invokes mint-token as the operator does (CLI, runbooks): through its `operator` alias, the only
   * entry point that may force, flush or override the gate.
   */
  operatorInvoke<T = unknown>(payload: unknown) {
    return this.mint.invoke<T>(payload, {
      invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${this.mintFunctionName}:${OPERATOR_ALIAS}`,
    });
  }

  /**
   * The environment of one serve-token instance as deployed, wired to this world: its AWS calls go
   * through the recording proxy (labelled with `accessKeyId`), its mint-token calls to the stand-in.
   */
  serveEnv(
    options: { readonly settings?: Partial<ServeTokenSettings>; readonly accessKeyId?: string } = {},
  ): Record<string, string> {
    return serveTokenEnv(bundledFrom(this.sources, 'ServeToken').environment, {
      broker: this.fixture,
      mintFunctionName: this.mintFunctionName,
      awsEndpoint: this.proxy.endpoint,
      lambdaEndpoint: this.standIn.url,
      ...options,
    });
  }

  /**
   * Starts one cold serve-token instance. `accessKeyId` labels its AWS calls (the proxy and the
   * stand-in record it), so tests can count calls per instance.
   */
  async startServe(
    options: { readonly settings?: Partial<ServeTokenSettings>; readonly accessKeyId?: string } = {},
  ): Promise<WarmLambda> {
    const instance = await WarmLambda.start({
      bundle: bundledFrom(this.sources, 'ServeToken').bundle,
      env: this.serveEnv(options),
    });
    this.instances.push(instance);
    return instance;
  }

  /**
   * Starts one cold proxy-throughline instance (proxy mode) as deployed, wired like serve-token, its
   * ThroughLine API at `upstreamBaseUrl` (a local HTTPS stand-in the test's CA trusts).
   */
  async startProxy(options: {
    readonly upstreamBaseUrl: string;
    readonly proxySettings?: Partial<ProxySettings>;
    readonly settings?: Partial<ServeTokenSettings>;
    readonly accessKeyId?: string;
  }): Promise<WarmLambda> {
    const template = bundledFrom(this.sources, 'Proxy');
    const deployed = templateStrings(template.environment);
    const proxySettings: ProxySettings = {
      ...(JSON.parse(deployed[EnvVar.ProxySettings] as string) as ProxySettings),
      upstreamBaseUrl: options.upstreamBaseUrl,
      ...options.proxySettings,
    };
    const instance = await WarmLambda.start({
      bundle: template.bundle,
      env: {
        ...serveTokenEnv(template.environment, {
          broker: this.fixture,
          mintFunctionName: this.mintFunctionName,
          awsEndpoint: this.proxy.endpoint,
          lambdaEndpoint: this.standIn.url,
          ...(options.settings ? { settings: options.settings } : {}),
          ...(options.accessKeyId ? { accessKeyId: options.accessKeyId } : {}),
        }),
        [EnvVar.ProxySettings]: JSON.stringify(proxySettings),
        AWS_LAMBDA_FUNCTION_NAME: 'proxy-throughline',
        NODE_EXTRA_CA_CERTS: this.sources.localEnv.trustedCaFile,
      },
    });
    this.instances.push(instance);
    return instance;
  }

  /** Everything every function of this broker logged. */
  get logLines(): string[] {
    return [...this.mintInstances.flatMap((m) => m.logLines), ...this.instances.flatMap((i) => i.logLines)];
  }

  get serveInstances(): readonly WarmLambda[] {
    return this.instances;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.mintInstances.map((m) => m.stop()), ...this.instances.map((i) => i.stop())]);
  }
}
