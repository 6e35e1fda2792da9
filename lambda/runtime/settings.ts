/**
 * Runtime settings of the broker's functions. The CDK stack writes them from the validated stage
 * config into environment variables (names and numbers only — never a credential or a token);
 * this module reads them back and fails loudly if a deployment wired them wrong.
 */
import type { BrokerSettings, ClientAuthentication, QuotaSettings } from '../../contract/broker-settings';
import { EnvVar } from '../../contract/env-vars';

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

export function requireEnv(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) {
    throw new SettingsError(
      `Environment variable ${name} is not set: the function was deployed without it — redeploy the stack`,
    );
  }
  return value;
}

export function parseSettings(raw: string): BrokerSettings {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new SettingsError(`${EnvVar.Settings} is not JSON: redeploy the stack`);
  }
  const problems: string[] = [];
  const obj = (v: unknown, path: string): Record<string, unknown> => {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    problems.push(`${path} must be an object`);
    return {};
  };
  const root = obj(parsed, EnvVar.Settings);
  const upstream = obj(root.upstream, 'upstream');
  const token = obj(root.token, 'token');
  const gate = obj(root.gate, 'gate');
  const num = (o: Record<string, unknown>, key: string, path: string): number => {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      problems.push(`${path}.${key} must be a non-negative number`);
      return 0;
    }
    return v;
  };
  const tokenUrl = upstream.tokenUrl;
  if (typeof tokenUrl !== 'string' || !tokenUrl.startsWith('https://'))
    problems.push('upstream.tokenUrl must be an https:// URL');
  const auth = upstream.clientAuthentication;
  if (auth !== 'client_secret_post' && auth !== 'client_secret_basic') {
    problems.push('upstream.clientAuthentication must be client_secret_post or client_secret_basic');
  }
  if (upstream.scope !== undefined && typeof upstream.scope !== 'string')
    problems.push('upstream.scope must be a string');
  const settings: BrokerSettings = {
    upstream: {
      tokenUrl: tokenUrl as string,
      clientAuthentication: auth as ClientAuthentication,
      ...(typeof upstream.scope === 'string' ? { scope: upstream.scope } : {}),
      requestTimeoutMs: num(upstream, 'requestTimeoutMs', 'upstream'),
      totalBudgetMs: num(upstream, 'totalBudgetMs', 'upstream'),
      maxAttempts: num(upstream, 'maxAttempts', 'upstream'),
      backoffBaseMs: num(upstream, 'backoffBaseMs', 'upstream'),
      backoffCapMs: num(upstream, 'backoffCapMs', 'upstream'),
    },
    token: {
      defaultLifetimeSeconds: num(token, 'defaultLifetimeSeconds', 'token'),
      maxLifetimeSeconds: num(token, 'maxLifetimeSeconds', 'token'),
      refreshAtFraction: num(token, 'refreshAtFraction', 'token'),
      minTtlSeconds: num(token, 'minTtlSeconds', 'token'),
      maxMinTtlSeconds: num(token, 'maxMinTtlSeconds', 'token'),
    },
    gate: {
      backoffBaseSeconds: num(gate, 'backoffBaseSeconds', 'gate'),
      backoffCapSeconds: num(gate, 'backoffCapSeconds', 'gate'),
      credentialsRejectedWaitSeconds: num(gate, 'credentialsRejectedWaitSeconds', 'gate'),
      maxRetryAfterSeconds: num(gate, 'maxRetryAfterSeconds', 'gate'),
      dailyRequestBudget: num(gate, 'dailyRequestBudget', 'gate'),
      leaseSeconds: num(gate, 'leaseSeconds', 'gate'),
    },
    ...(root.quota !== undefined ? { quota: quotaOf(obj(root.quota, 'quota'), problems) } : {}),
  };
  if (settings.token.refreshAtFraction <= 0 || settings.token.refreshAtFraction >= 1) {
    problems.push('token.refreshAtFraction must be between 0 and 1');
  }
  if (problems.length > 0) {
    throw new SettingsError(`${EnvVar.Settings} is invalid (${problems.join('; ')}): redeploy the stack`);
  }
  return settings;
}

/**
 * Proxy mode's quota rules (present only with proxy mode on): whole numbers of calls, the reserve
 * within the quota, shares as maps of whole numbers. Problems are named, keys and values never echoed.
 */
function quotaOf(quota: Record<string, unknown>, problems: string[]): QuotaSettings {
  const whole = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1;
  const counts = (v: unknown): v is Record<string, number> =>
    typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every(whole);
  for (const key of ['dailyQuotaCalls', 'reserveCalls'] as const) {
    if (!whole(quota[key])) problems.push(`quota.${key} must be a positive whole number`);
  }
  if (
    whole(quota.dailyQuotaCalls) &&
    whole(quota.reserveCalls) &&
    quota.reserveCalls > quota.dailyQuotaCalls
  ) {
    problems.push('quota.reserveCalls must be at most quota.dailyQuotaCalls');
  }
  const shares = quota.shares as Record<string, unknown> | undefined;
  if (
    typeof shares !== 'object' ||
    shares === null ||
    Array.isArray(shares) ||
    !whole(shares.defaultDailyCalls) ||
    !counts(shares.byPrincipalArn) ||
    !counts(shares.byAccountId)
  ) {
    problems.push(
      'quota.shares must hold defaultDailyCalls and byPrincipalArn/byAccountId maps of positive whole numbers',
    );
  }
  const valid = shares ?? {};
  return {
    dailyQuotaCalls: quota.dailyQuotaCalls as number,
    reserveCalls: quota.reserveCalls as number,
    shares: {
      defaultDailyCalls: valid.defaultDailyCalls as number,
      byPrincipalArn: valid.byPrincipalArn as Record<string, number>,
      byAccountId: valid.byAccountId as Record<string, number>,
    },
  };
}
