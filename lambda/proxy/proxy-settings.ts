import type { ProxySettings } from '../../contract/broker-settings';
import { EnvVar } from '../../contract/env-vars';
import { SettingsError } from '../runtime/settings';

/**
 * The proxy function's settings (contract/broker-settings.ts) read back from PROXY_SETTINGS: every
 * problem named at once, nothing echoed. The routes and base URL are checked again, more strictly,
 * by parseProxyTarget (proxy-request.ts).
 */
const WHOLE_NUMBERS = [
  'requestBudgetMs',
  'upstreamTimeoutMs',
  'maxRequestsPerSecond',
  'dailyQuotaCalls',
  'reserveCalls',
] as const;

export function parseProxySettings(raw: string): ProxySettings {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new SettingsError(`${EnvVar.ProxySettings} is not JSON: redeploy the stack`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SettingsError(`${EnvVar.ProxySettings} must be a JSON object: redeploy the stack`);
  }
  const s = parsed as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of WHOLE_NUMBERS) {
    const v = s[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
      problems.push(`${key} must be a positive whole number`);
  }
  if (typeof s.upstreamBaseUrl !== 'string') problems.push('upstreamBaseUrl must be a string');
  if (!Array.isArray(s.routes)) problems.push('routes must be a list');
  const shares = s.shares as Record<string, unknown> | undefined;
  const counts = (v: unknown) =>
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.values(v).every((n) => Number.isInteger(n) && (n as number) >= 1);
  if (
    typeof shares !== 'object' ||
    shares === null ||
    !Number.isInteger(shares.defaultDailyCalls) ||
    (shares.defaultDailyCalls as number) < 1 ||
    !counts(shares.byPrincipalArn) ||
    !counts(shares.byAccountId)
  ) {
    problems.push(
      'shares must hold defaultDailyCalls and byPrincipalArn/byAccountId maps of positive whole numbers',
    );
  }
  const cache = s.cache as Record<string, unknown> | undefined;
  const ttls = cache?.ttlSecondsByPrefix;
  if (
    typeof cache !== 'object' ||
    cache === null ||
    !Number.isInteger(cache.staleIfErrorSeconds) ||
    (cache.staleIfErrorSeconds as number) < 0 ||
    !counts(ttls)
  ) {
    problems.push(
      'cache must hold ttlSecondsByPrefix (positive whole seconds by prefix) and staleIfErrorSeconds',
    );
  }
  if (problems.length === 0 && (s.reserveCalls as number) > (s.dailyQuotaCalls as number)) {
    problems.push('reserveCalls must be at most dailyQuotaCalls');
  }
  if (problems.length > 0) {
    throw new SettingsError(
      `${EnvVar.ProxySettings} is invalid (${problems.join('; ')}): redeploy the stack`,
    );
  }
  return parsed as ProxySettings;
}
