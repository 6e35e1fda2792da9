/**
 * Runtime settings of the broker's functions. The CDK stack writes them from the validated stage
 * config into environment variables (names and numbers only — never a credential or a token);
 * this module reads them back and fails loudly if a deployment wired them wrong.
 */
import type { BrokerSettings, ClientAuthentication } from '../../contract/broker-settings';
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
  };
  if (settings.token.refreshAtFraction <= 0 || settings.token.refreshAtFraction >= 1) {
    problems.push('token.refreshAtFraction must be between 0 and 1');
  }
  if (problems.length > 0) {
    throw new SettingsError(`${EnvVar.Settings} is invalid (${problems.join('; ')}): redeploy the stack`);
  }
  return settings;
}
