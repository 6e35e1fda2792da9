import type { LocalAwsEnv } from '../local-aws/moto-broker';
import type { BundledFunction } from './synth';

/** Where a test world's pieces come from: the synthesized bundles and the local AWS (moto_server). */
export interface WorldSources {
  readonly bundles: Readonly<Record<string, BundledFunction>>;
  readonly localEnv: LocalAwsEnv;
}

/** The broker's functions, by construct id under the stack. */
export type BundleName = 'MintToken' | 'Proxy' | 'RotateCredentials' | 'ServeToken';

export function bundledFrom(sources: WorldSources, name: BundleName): BundledFunction {
  const fn = sources.bundles[name];
  if (!fn) throw new Error(`${name} bundle not found in the synthesized app`);
  return fn;
}
