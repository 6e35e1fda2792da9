import type { ServeTokenSettings } from '../../contract/broker-settings';
import { EnvVar } from '../../contract/env-vars';
import { SettingsError } from '../runtime/settings';

const KEYS: readonly (keyof ServeTokenSettings)[] = [
  'defaultMinTtlSeconds',
  'maxMinTtlSeconds',
  'l1MaxAgeSeconds',
  'requestBudgetMs',
  'retryAfterSeconds',
  'mintThrottleBackoffBaseMs',
  'mintThrottleBackoffCapMs',
];

export function parseServeTokenSettings(raw: string): ServeTokenSettings {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new SettingsError(`${EnvVar.ServeSettings} is not JSON: redeploy the stack`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SettingsError(`${EnvVar.ServeSettings} must be a JSON object: redeploy the stack`);
  }
  const source = parsed as Record<string, unknown>;
  const problems = KEYS.filter((key) => {
    const v = source[key];
    return typeof v !== 'number' || !Number.isInteger(v) || v < 0;
  }).map((key) => `${key} must be a non-negative whole number`);
  if (problems.length > 0) {
    throw new SettingsError(
      `${EnvVar.ServeSettings} is invalid (${problems.join('; ')}): redeploy the stack`,
    );
  }
  const settings = Object.fromEntries(KEYS.map((k) => [k, source[k]])) as unknown as ServeTokenSettings;
  if (settings.maxMinTtlSeconds < settings.defaultMinTtlSeconds) {
    throw new SettingsError(
      `${EnvVar.ServeSettings} is invalid (maxMinTtlSeconds below defaultMinTtlSeconds): redeploy the stack`,
    );
  }
  return settings;
}
