import { InvokeCommand, LambdaClient, TooManyRequestsException } from '@aws-sdk/client-lambda';
import { tokenRequestEvent } from '../test/kit/builders/api-gateway-event';
import { ServeTokenBroker } from '../test/kit/builders/serve-token-world';
import { LambdaInvokeEmulator } from '../test/kit/emulators/lambda-invoke';
import { RecordingAwsProxy } from '../test/kit/emulators/recording-aws-proxy';
import { FakeTokenServer } from '../test/kit/fakes/token-server';
import { MOTO_CREDENTIALS, MOTO_REGION } from '../test/kit/local-aws/moto';
import type { WarmLambda } from '../test/kit/runners/warm-lambda';
import type { BenchEnv } from './support/bench-env';
import { type NaiveMode, startNaiveInstances } from './support/naive-fleet';
import type { ReportSection } from './support/report';

export interface LoadShape {
  readonly instances: number;
  readonly concurrencyPerInstance: number;
  readonly durationSeconds: number;
  /** Lifetime of the tokens the local token server issues. */
  readonly tokenLifetimeSeconds: number;
  /** How often the simulated EventBridge Scheduler → Step Functions refresh invokes mint-token. */
  readonly refreshScheduleSeconds: number;
}

interface LoadResult {
  readonly requests: number;
  readonly failures: number;
  readonly upstream: number;
  /** The first failure, so a broken run explains itself instead of reporting a misleading count. */
  readonly firstFailure?: string;
}

const REFRESH_AT_FRACTION = 0.75;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every instance runs `concurrency` request loops back to back until the deadline. */
async function drive(
  instances: readonly WarmLambda[],
  shape: LoadShape,
): Promise<{ requests: number; failures: number }> {
  const deadline = Date.now() + shape.durationSeconds * 1000;
  let requests = 0;
  let failures = 0;
  const loop = async (instance: WarmLambda) => {
    while (Date.now() < deadline) {
      const result = await instance.invoke<{ statusCode: number }>(tokenRequestEvent());
      requests += 1;
      if (!result.ok || result.value.statusCode !== 200) failures += 1;
    }
  };
  await Promise.all(
    instances.flatMap((i) => Array.from({ length: shape.concurrencyPerInstance }, () => loop(i))),
  );
  return { requests, failures };
}

async function runBroker(env: BenchEnv, shape: LoadShape): Promise<LoadResult> {
  const server = await FakeTokenServer.start(env.tls);
  server.fallback = { kind: 'token', expiresIn: shape.tokenLifetimeSeconds };
  const standIn = await LambdaInvokeEmulator.start();
  const proxy = await RecordingAwsProxy.start(env.localAws.motoEndpoint);
  const broker = await ServeTokenBroker.createFrom(
    { bundles: env.bundles, localEnv: env.localAws },
    {
      tokenServer: server,
      standIn,
      proxy,
      mintSettings: (s) => {
        s.token = { ...s.token, refreshAtFraction: REFRESH_AT_FRACTION, minTtlSeconds: 2 };
      },
    },
  );
  try {
    const instances = [];
    for (let i = 0; i < shape.instances; i++) {
      instances.push(
        await broker.startServe({
          settings: { defaultMinTtlSeconds: 2, l1MaxAgeSeconds: 5 },
          accessKeyId: `INSTANCE${i}`,
        }),
      );
    }
    // The scheduled refresh: Scheduler → Step Functions → Lambda Invoke (retrying a throttle once).
    const lambda = new LambdaClient({
      endpoint: standIn.url,
      region: MOTO_REGION,
      credentials: MOTO_CREDENTIALS,
    });
    let refreshing = true;
    const refreshLoop = (async () => {
      while (refreshing) {
        const payload = Buffer.from(JSON.stringify({ action: 'refresh', requestedBy: 'schedule' }));
        for (let attempt = 0; attempt < 2; attempt++) {
          try {
            await lambda.send(new InvokeCommand({ FunctionName: broker.mintFunctionName, Payload: payload }));
            break;
          } catch (error) {
            if (!(error instanceof TooManyRequestsException)) throw error;
            await sleep(200);
          }
        }
        await sleep(shape.refreshScheduleSeconds * 1000);
      }
    })();
    const counts = await drive(instances, shape);
    refreshing = false;
    await refreshLoop;
    return { ...counts, upstream: server.requests.length };
  } finally {
    await broker.stop();
    await standIn.stop();
    await proxy.stop();
    await server.stop();
  }
}

async function runNaive(env: BenchEnv, shape: LoadShape, mode: NaiveMode): Promise<LoadResult> {
  const server = await FakeTokenServer.start(env.tls);
  server.fallback = { kind: 'token', expiresIn: shape.tokenLifetimeSeconds };
  try {
    const naive = await startNaiveInstances(env, {
      tokenUrl: server.url,
      mode,
      count: shape.instances,
      tokenSettings: { refreshAtFraction: REFRESH_AT_FRACTION },
    });
    try {
      const counts = await drive(naive.instances, shape);
      return { ...counts, upstream: server.requests.length };
    } finally {
      await naive.stop();
    }
  } finally {
    await server.stop();
  }
}

/**
 * Upstream token requests under load — the number that protects ThroughLine's daily quota.
 * Several serve-token instances (separate processes, independent L1 caches) hammer GET /token for
 * a fixed time while the scheduled refresh runs; baselines go through the same load driver.
 */
export async function benchUpstreamLoad(env: BenchEnv, shape: LoadShape): Promise<ReportSection> {
  const ideal = Math.ceil(shape.durationSeconds / (shape.tokenLifetimeSeconds * REFRESH_AT_FRACTION));
  const broker = await runBroker(env, shape);
  const perInstance = await runNaive(env, shape, 'instance-cache');
  const perRequest = await runNaive(env, shape, 'per-request');
  const row = (name: string, r: LoadResult | undefined, expected: string) => [
    name,
    r ? String(r.requests) : '—',
    r ? String(r.failures) : '—',
    r ? String(r.upstream) : String(ideal),
    expected,
    r ? (r.upstream / ideal).toFixed(1) : '1.0',
  ];
  const failuresNote = [
    ['this broker', broker],
    ['per-instance cache', perInstance],
    ['mint per request', perRequest],
  ]
    .filter(([, r]) => (r as LoadResult).firstFailure)
    .map(([name, r]) => `${name}: first failure: ${(r as LoadResult).firstFailure}`);
  const perDay = (upstream: number) => Math.round((upstream / shape.durationSeconds) * 86_400);
  return {
    title: 'Upstream token requests under load',
    method: `${shape.instances} serve-token instances (separate processes, each with its own L1) × ${shape.concurrencyPerInstance} concurrent request loops for ${shape.durationSeconds} s; tokens live ${shape.tokenLifetimeSeconds} s and are refreshed at ${REFRESH_AT_FRACTION * 100} %; the scheduled refresh runs every ${shape.refreshScheduleSeconds} s. Upstream = requests the local HTTPS token server received. Ideal = ceil(duration / refresh interval).`,
    columns: ['variant', 'requests served', 'failed', 'upstream requests', 'goal', '× ideal'],
    rows: [
      row('ideal', undefined, '—'),
      row(
        'this broker (L1 + shared encrypted L2 + serialised mint + scheduled refresh)',
        broker,
        `≤ ${ideal + 1}`,
      ),
      row('baseline: per-instance in-memory cache, no shared cache', perInstance, '—'),
      row('baseline: mint per request', perRequest, '—'),
    ],
    notes: [
      ...failuresNote,
      `Broker: ${broker.upstream <= ideal + 1 ? 'meets' : 'MISSES'} the goal (≤ ideal + 1).`,
      `Extrapolated to a day at this token lifetime: broker ≈ ${perDay(broker.upstream)}, per-instance cache ≈ ${perDay(perInstance.upstream)}, per request ≈ ${perDay(perRequest.upstream)} upstream calls (ThroughLine allows about 1,000 per day; real lifetimes are longer, so the broker's real figure is far lower).`,
    ],
  };
}
