import type { APIGatewayProxyResult } from 'aws-lambda';
import { tokenRequestEvent } from '../test/kit/builders/api-gateway-event';
import { ServeTokenBroker } from '../test/kit/builders/serve-token-world';
import { LambdaInvokeEmulator } from '../test/kit/emulators/lambda-invoke';
import { RecordingAwsProxy } from '../test/kit/emulators/recording-aws-proxy';
import { FakeTokenServer, type TokenBehaviour } from '../test/kit/fakes/token-server';
import type { WarmLambda } from '../test/kit/runners/warm-lambda';
import type { BenchEnv } from './support/bench-env';
import { startNaiveInstances } from './support/naive-fleet';
import type { ReportSection } from './support/report';

export interface OutageShape {
  /** Simulated outage length (minutes of broker time). */
  readonly simulatedMinutes: number;
  /** Broker time runs this many times faster than the wall clock (the gate's waits are divided by it). */
  readonly compression: number;
  /** Wall-clock seconds the baselines are measured for (they have no memory: their rate is constant). */
  readonly baselineSeconds: number;
  readonly instances: number;
  readonly askEveryMs: number;
}

/** The deployed gate defaults (lib/config/schema.ts), scaled by the compression. */
const GATE_DEFAULTS = { backoffBaseSeconds: 5, backoffCapSeconds: 300 };
const OUTAGE: TokenBehaviour = { kind: 'json', status: 503, body: { error: 'temporarily_unavailable' } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Tally {
  readonly requests: number;
  readonly answered503: number;
  readonly served: number;
  readonly slowestMs: number;
}

/** Every instance asks every `askEveryMs` for `seconds`, without waiting for its previous answer. */
async function askEvery(
  instances: readonly WarmLambda[],
  askEveryMs: number,
  seconds: number,
  query?: Record<string, string>,
): Promise<Tally> {
  const pending: Promise<{ status: number; ms: number }>[] = [];
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    for (const instance of instances) {
      const started = Date.now();
      pending.push(
        instance
          .invoke<APIGatewayProxyResult>(tokenRequestEvent(query ? { query } : {}))
          .then((r) => ({ status: r.ok ? r.value.statusCode : 502, ms: Date.now() - started })),
      );
    }
    await sleep(askEveryMs);
  }
  const answers = await Promise.all(pending);
  return {
    requests: answers.length,
    answered503: answers.filter((a) => a.status === 503).length,
    served: answers.filter((a) => a.status === 200).length,
    slowestMs: Math.max(...answers.map((a) => a.ms)),
  };
}

async function withBroker<T>(
  env: BenchEnv,
  server: FakeTokenServer,
  gateScale: number,
  run: (broker: ServeTokenBroker) => Promise<T>,
): Promise<T> {
  const standIn = await LambdaInvokeEmulator.start();
  const proxy = await RecordingAwsProxy.start(env.localAws.motoEndpoint);
  const broker = await ServeTokenBroker.createFrom(
    { bundles: env.bundles, localEnv: env.localAws },
    {
      tokenServer: server,
      standIn,
      proxy,
      mintInstances: 3,
      mintSettings: (s) => {
        s.gate = {
          ...s.gate,
          backoffBaseSeconds: GATE_DEFAULTS.backoffBaseSeconds / gateScale,
          backoffCapSeconds: GATE_DEFAULTS.backoffCapSeconds / gateScale,
        };
      },
    },
  );
  try {
    return await run(broker);
  } finally {
    await broker.stop();
    await standIn.stop();
    await proxy.stop();
  }
}

/**
 * Upstream token requests while ThroughLine is down, for the whole fleet: the number that decides
 * whether one outage spends the customer's daily allowance (~1,000 calls, all applications).
 */
export async function benchUpstreamOutage(env: BenchEnv, shape: OutageShape): Promise<ReportSection> {
  const server = await FakeTokenServer.start(env.tls);
  try {
    const wallSeconds = (shape.simulatedMinutes * 60) / shape.compression;
    // This broker: gate waits divided by the compression, so `wallSeconds` of wall time is
    // `simulatedMinutes` of the gate's timeline (its request count depends only on that timeline).
    server.reset();
    server.fallback = OUTAGE;
    const broker = await withBroker(env, server, shape.compression, async (b) => {
      const instances = await Promise.all(Array.from({ length: shape.instances }, () => b.startServe()));
      return askEvery(instances, shape.askEveryMs, wallSeconds);
    });
    const brokerUpstream = server.requests.length;

    // Baselines: no memory of failures, so their upstream rate is constant; measured, then scaled.
    const baseline = async (mode: 'per-request' | 'instance-cache') => {
      server.reset();
      server.fallback = OUTAGE;
      const naive = await startNaiveInstances(env, { tokenUrl: server.url, mode, count: shape.instances });
      try {
        const tally = await askEvery(naive.instances, shape.askEveryMs, shape.baselineSeconds);
        return { tally, upstream: server.requests.length };
      } finally {
        await naive.stop();
      }
    };
    const perInstance = await baseline('instance-cache');
    const perRequest = await baseline('per-request');
    const perOutage = (upstream: number) =>
      Math.round((upstream / shape.baselineSeconds) * shape.simulatedMinutes * 60);

    // The min_ttl storm: 30 requests for more life than ThroughLine gives (900 s > 600 s).
    const storm = async (variant: 'broker' | 'instance-cache') => {
      server.reset();
      server.fallback = { kind: 'token', expiresIn: 600 };
      const ask = async (instances: WarmLambda[]) => {
        const statuses: number[] = [];
        for (let i = 0; i < 30; i++) {
          const r = await (instances[i % instances.length] as WarmLambda).invoke<APIGatewayProxyResult>(
            tokenRequestEvent({ query: { min_ttl: '900' } }),
          );
          statuses.push(r.ok ? r.value.statusCode : 502);
        }
        return statuses;
      };
      if (variant === 'broker') {
        const statuses = await withBroker(env, server, 1, async (b) =>
          ask(await Promise.all([b.startServe(), b.startServe(), b.startServe()])),
        );
        return { statuses, upstream: server.requests.length };
      }
      const naive = await startNaiveInstances(env, {
        tokenUrl: server.url,
        mode: 'instance-cache',
        count: 3,
      });
      try {
        return { statuses: await ask(naive.instances), upstream: server.requests.length };
      } finally {
        await naive.stop();
      }
    };
    const stormBroker = await storm('broker');
    const stormNaive = await storm('instance-cache');
    const describe = (statuses: number[]) => {
      const counts = new Map<number, number>();
      for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1);
      return [...counts].map(([status, n]) => `${n}× ${status}`).join(', ');
    };

    return {
      title: 'Upstream token requests during an outage',
      method: `ThroughLine answers every token request 503 for ${shape.simulatedMinutes} simulated minutes; ${shape.instances} warm serve-token instances each ask every ${shape.askEveryMs} ms, nothing cached. This broker runs with its deployed gate (backoff 5 s doubling to 300 s) with time compressed ×${shape.compression}: the gate's waits are divided by ${shape.compression} and the run lasts ${wallSeconds} s of wall time, which is ${shape.simulatedMinutes} minutes of the gate's timeline (3 mint-token environments, no reserved concurrency). The baselines have no memory of failures, so their rate is constant: they are measured for ${shape.baselineSeconds} s of wall time at the same asking rate and scaled to the outage. Then the min_ttl storm: 30 requests with min_ttl=900 while ThroughLine issues 600-s tokens, ThroughLine healthy.`,
      columns: ['situation', 'variant', 'upstream requests', 'goal', 'what callers saw'],
      rows: [
        [
          `${shape.simulatedMinutes}-min outage`,
          'this broker (fleet-wide upstream gate)',
          String(brokerUpstream),
          '≤ 30',
          `${broker.answered503} × 503 + Retry-After of ${broker.requests}; slowest answer ${broker.slowestMs} ms`,
        ],
        [
          `${shape.simulatedMinutes}-min outage`,
          'baseline: per-instance in-memory cache, no shared cache',
          `${perOutage(perInstance.upstream)} (${perInstance.upstream} in ${shape.baselineSeconds} s)`,
          '—',
          `${perInstance.tally.answered503} × 503 of ${perInstance.tally.requests}`,
        ],
        [
          `${shape.simulatedMinutes}-min outage`,
          'baseline: mint per request',
          `${perOutage(perRequest.upstream)} (${perRequest.upstream} in ${shape.baselineSeconds} s)`,
          '—',
          `${perRequest.tally.answered503} × 503 of ${perRequest.tally.requests}`,
        ],
        [
          'min_ttl 900 > 600-s tokens, 30 requests',
          'this broker (min_ttl answered from the remembered lifetime)',
          String(stormBroker.upstream),
          '≤ 1',
          describe(stormBroker.statuses),
        ],
        [
          'min_ttl 900 > 600-s tokens, 30 requests',
          'baseline: mint when the cached token has less than min_ttl left',
          String(stormNaive.upstream),
          '—',
          describe(stormNaive.statuses),
        ],
      ],
      notes: [
        `Broker: ${brokerUpstream <= 30 ? 'meets' : 'MISSES'} the outage goal (≤ 30 in ${shape.simulatedMinutes} min); ${stormBroker.upstream <= 1 ? 'meets' : 'MISSES'} the min_ttl goal (≤ 1).`,
        'At the backoff cap (300 s, equal jitter) the gate lets one request through per 150–300 s, 12–24 an hour; over a whole day the daily budget (200) stops it first.',
        "Compression only speeds up the gate's clock; request timeouts and the request budget stay real, so callers' waits in this table are real.",
      ],
    };
  } finally {
    await server.stop();
  }
}
