import { inject } from 'vitest';
import { localAwsEnv } from './broker-fixture';
import type { WorldSources } from './serve-token-world';

export { ServeTokenBroker, type SettingsPatch } from './serve-token-world';

/** This test run's bundles and moto_server, for ServeTokenBroker.createFrom. */
export const worldSources = (): WorldSources => ({
  bundles: inject('bundledFunctions'),
  localEnv: localAwsEnv(),
});
