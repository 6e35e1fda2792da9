import { SettingsError } from './settings';

/**
 * Runtime settings of serve-token, written by the stack from the validated `api` and `token`
 * config. Its own module (not BrokerSettings): serve-token has no business with upstream settings.
 */
export interface ServeTokenSettings {
  /** min_ttl when the caller gives none. */
  readonly defaultMinTtlSeconds: number;
  /** The most a caller may ask for with min_ttl. */
  readonly maxMinTtlSeconds: number;
  /** Bound on how long the in-memory (L1) copy answers before the shared cache is read again. */
  readonly l1MaxAgeSeconds: number;
  /** Time one request may spend reading caches and waiting for a mint. */
  readonly requestBudgetMs: number;
  /** Retry-After of a 503 after a transient failure. */
  readonly retryAfterSeconds: number;
  /** Equal-jitter backoff between cache re-reads while another instance mints. */
  readonly mintThrottleBackoffBaseMs: number;
  readonly mintThrottleBackoffCapMs: number;
}

/** Environment variable names of serve-token (besides EnvVar.TokenTableName and EnvVar.TokenKeyArn). */
export const ServeEnvVar = {
  MintFunctionName: 'MINT_FUNCTION_NAME',
  Settings: 'SERVE_SETTINGS',
} as const;

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
    throw new SettingsError(`${ServeEnvVar.Settings} is not JSON: redeploy the stack`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SettingsError(`${ServeEnvVar.Settings} must be a JSON object: redeploy the stack`);
  }
  const source = parsed as Record<string, unknown>;
  const problems = KEYS.filter((key) => {
    const v = source[key];
    return typeof v !== 'number' || !Number.isInteger(v) || v < 0;
  }).map((key) => `${key} must be a non-negative whole number`);
  if (problems.length > 0) {
    throw new SettingsError(
      `${ServeEnvVar.Settings} is invalid (${problems.join('; ')}): redeploy the stack`,
    );
  }
  const settings = Object.fromEntries(KEYS.map((k) => [k, source[k]])) as unknown as ServeTokenSettings;
  if (settings.maxMinTtlSeconds < settings.defaultMinTtlSeconds) {
    throw new SettingsError(
      `${ServeEnvVar.Settings} is invalid (maxMinTtlSeconds below defaultMinTtlSeconds): redeploy the stack`,
    );
  }
  return settings;
}
