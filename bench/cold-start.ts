import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { EnvVar } from '../contract/env-vars';
import { BROKER_BUNDLING } from '../lib/constructs/broker-function';
import { TEST_API, tokenRequestEvent } from '../test/kit/builders/api-gateway-event';
import { PROJECT_ROOT } from '../test/kit/builders/cdk-context';
import { FakeTokenServer } from '../test/kit/fakes/token-server';
import { MotoBroker, makeCredentials } from '../test/kit/local-aws/moto-broker';
import { invokeBundled } from '../test/kit/runners/invoke-bundled';
import type { BenchEnv } from './support/bench-env';
import type { ReportSection } from './support/report';
import { fmt, median } from './support/stats';

/** The esbuild options BrokerFunction gives NodejsFunction (BROKER_BUNDLING), for building comparison variants. */
export const SHIPPED_OPTIONS = {
  bundle: true,
  minify: BROKER_BUNDLING.minify,
  platform: 'node',
  target: BROKER_BUNDLING.target,
  format: 'cjs',
  mainFields: [...BROKER_BUNDLING.mainFields],
  logLevel: 'silent',
} as const;

async function buildVariant(
  outRoot: string,
  name: string,
  entry: string,
  external: string[] = [],
): Promise<string> {
  const outfile = path.join(outRoot, 'variants', name, 'index.js');
  await build({
    ...SHIPPED_OPTIONS,
    mainFields: ['module', 'main'],
    entryPoints: [path.join(PROJECT_ROOT, entry)],
    outfile,
    external,
  });
  return outfile;
}

export interface ColdStartTarget {
  readonly name: string;
  readonly bundle: string;
  readonly env: Record<string, string>;
  readonly event: unknown;
  /** What a successful first response looks like, so a failed run is never counted as fast. */
  readonly isExpected: (value: unknown) => boolean;
}

/** serve-token answering GET /token from the shared cache (L2) on its first request. */
function serveTokenTargets(env: BenchEnv, mintEnv: Record<string, string>): ColdStartTarget[] {
  const serve = env.bundles.ServeToken;
  if (!serve) return [];
  const serveEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(serve.environment))
    if (typeof value === 'string') serveEnv[name] = value;
  const aws = Object.fromEntries(
    Object.entries(mintEnv).filter(([k]) => k.startsWith('AWS_') || k === 'NODE_EXTRA_CA_CERTS'),
  );
  return [
    {
      name: 'serve-token (shipped: SDK bundled, minified)',
      bundle: serve.bundle,
      env: {
        ...serveEnv,
        ...aws,
        [EnvVar.TokenTableName]: mintEnv[EnvVar.TokenTableName] as string,
        [EnvVar.TokenKeyArn]: mintEnv[EnvVar.TokenKeyArn] as string,
        // Not invoked: the first request is an L2 hit.
        [EnvVar.MintTokenFunctionName]: 'mint-token-not-invoked',
        // The API the event comes from: serve-token answers only its own API's events as API calls.
        [EnvVar.TokenApiId]: TEST_API.apiId,
        [EnvVar.TokenApiStage]: TEST_API.stage,
      },
      event: tokenRequestEvent(),
      isExpected: (v) => (v as { statusCode?: number }).statusCode === 200,
    },
  ];
}

function sizes(file: string): { raw: number; gzip: number } {
  return { raw: statSync(file).size, gzip: gzipSync(readFileSync(file)).length };
}

/**
 * Cold start: a fresh Node process loads a bundle and answers its first request, which finds the
 * token in the shared cache (L2 hit). Variants run interleaved so machine noise hits all alike.
 */
export async function benchColdStart(
  env: BenchEnv,
  runs: number,
  extraTargets: ColdStartTarget[] = [],
): Promise<ReportSection> {
  const server = await FakeTokenServer.start(env.tls);
  try {
    const mint = env.bundles.MintToken;
    if (!mint) throw new Error('MintToken bundle missing');
    const broker = await MotoBroker.createIn(env.localAws, makeCredentials());
    const mintEnv = broker.functionEnv(mint.environment, (s) => {
      s.upstream = { ...s.upstream, tokenUrl: server.url };
    });
    const primed = await invokeBundled({ bundle: mint.bundle, env: mintEnv, events: [{}] });
    if (!primed.results[0]?.ok)
      throw new Error(`priming the cache failed: ${JSON.stringify(primed.results)}`);

    const isFresh = (v: unknown) => (v as { outcome?: string }).outcome === 'fresh';
    const targets: ColdStartTarget[] = [
      {
        name: 'mint-token (shipped: SDK bundled, minified)',
        bundle: mint.bundle,
        env: mintEnv,
        event: {},
        isExpected: isFresh,
      },
      {
        name: 'mint-token, SDK not bundled (runtime-provided)',
        bundle: await buildVariant(env.outRoot, 'mint-sdk-external', 'lambda/handlers/mint-token.ts', [
          '@aws-sdk/*',
          '@smithy/*',
        ]),
        env: mintEnv,
        event: {},
        isExpected: isFresh,
      },
      {
        name: 'mint-token + Powertools Tracer (X-Ray SDK)',
        bundle: await buildVariant(env.outRoot, 'mint-tracer', 'bench/variants/mint-token-with-tracer.ts'),
        env: { ...mintEnv, POWERTOOLS_TRACE_ENABLED: 'true' },
        event: {},
        isExpected: isFresh,
      },
      ...serveTokenTargets(env, mintEnv),
      ...extraTargets,
    ];

    const samples = new Map<string, { wall: number[]; init: number[]; invoke: number[] }>();
    for (const t of targets) samples.set(t.name, { wall: [], init: [], invoke: [] });
    for (let run = 0; run < runs; run++) {
      for (const t of targets) {
        const started = process.hrtime.bigint();
        const outcome = await invokeBundled({ bundle: t.bundle, env: t.env, events: [t.event] });
        const wall = Number(process.hrtime.bigint() - started) / 1e6;
        const result = outcome.results[0];
        if (!result?.ok || !t.isExpected(result.value)) {
          throw new Error(`${t.name}: unexpected first response ${JSON.stringify(result)}`);
        }
        const s = samples.get(t.name);
        s?.wall.push(wall);
        s?.init.push(result.timing?.initMs ?? Number.NaN);
        s?.invoke.push(result.timing?.invokeMs ?? Number.NaN);
      }
    }
    if (server.requests.length !== 1)
      throw new Error(`expected only the priming upstream call, saw ${server.requests.length}`);

    return {
      title: 'Cold start (fresh process, first request is an L2 hit)',
      method: `Median of ${runs} runs per row, rows interleaved. "init" is loading the bundle (module scope), "first request" the handler's first invocation (includes creating SDK clients' connections to moto_server), "process" is spawn to answer, including Node's own start-up.`,
      columns: ['bundle', 'raw KB', 'gzip KB', 'init ms', 'first request ms', 'process ms'],
      rows: targets.map((t) => {
        const s = samples.get(t.name) as { wall: number[]; init: number[]; invoke: number[] };
        const size = sizes(t.bundle);
        return [
          t.name,
          fmt(size.raw / 1024),
          fmt(size.gzip / 1024),
          fmt(median(s.init)),
          fmt(median(s.invoke)),
          fmt(median(s.wall)),
        ];
      }),
      notes: [
        "The SDK-not-bundled variant resolves @aws-sdk/* from node_modules here; in Lambda it would load the runtime's copy (a version the tests never ran).",
      ],
    };
  } finally {
    await server.stop();
  }
}
