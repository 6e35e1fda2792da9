import * as path from 'node:path';
import { build } from 'esbuild';
import { PROJECT_ROOT } from '../../test/kit/builders/cdk-context';
import { MotoBroker, makeCredentials } from '../../test/kit/local-aws/moto-broker';
import { WarmLambda } from '../../test/kit/runners/warm-lambda';
import { SHIPPED_OPTIONS } from '../cold-start';
import type { BenchEnv } from './bench-env';

export type NaiveMode = 'per-request' | 'instance-cache';

/**
 * `count` warm processes of the naive baselines (bench/variants/naive-handlers.ts), bundled as the
 * shipped functions are, with their own credentials secret in moto and the token server at `tokenUrl`.
 */
export async function startNaiveInstances(
  env: BenchEnv,
  options: {
    readonly tokenUrl: string;
    readonly mode: NaiveMode;
    readonly count: number;
    readonly tokenSettings?: Record<string, unknown>;
  },
): Promise<{ readonly instances: WarmLambda[]; stop(): Promise<void> }> {
  const bundle = path.join(env.outRoot, 'variants', 'naive', 'index.js');
  await build({
    entryPoints: [path.join(PROJECT_ROOT, 'bench', 'variants', 'naive-handlers.ts')],
    outfile: bundle,
    ...SHIPPED_OPTIONS,
    mainFields: [...SHIPPED_OPTIONS.mainFields],
  });
  const fixture = await MotoBroker.createIn(env.localAws, makeCredentials());
  const mint = env.bundles.MintToken;
  if (!mint) throw new Error('MintToken bundle missing');
  const fnEnv = fixture.functionEnv(mint.environment, (s) => {
    s.upstream = { ...s.upstream, tokenUrl: options.tokenUrl };
    s.token = { ...s.token, ...options.tokenSettings };
  });
  const instances: WarmLambda[] = [];
  const stop = async () => void (await Promise.all(instances.map((i) => i.stop())));
  try {
    for (let i = 0; i < options.count; i++) {
      instances.push(await WarmLambda.start({ bundle, env: { ...fnEnv, NAIVE_MODE: options.mode } }));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { instances, stop };
}
