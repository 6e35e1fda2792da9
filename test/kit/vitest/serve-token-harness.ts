import { inject } from 'vitest';
import type { WorldSources } from '../builders/world-sources';
import { localAwsEnv } from './broker-fixture';

export { ServeTokenBroker, type SettingsPatch } from '../builders/serve-token-world';

/** This test run's bundles and moto_server, for ServeTokenBroker.createFrom. */
export const worldSources = (): WorldSources => ({
  bundles: inject('bundledFunctions'),
  localEnv: localAwsEnv(),
});
