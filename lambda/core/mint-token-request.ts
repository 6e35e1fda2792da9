/**
 * The payload mint-token accepts. Callers: serve-token (ensure, with the caller's min_ttl), the
 * refresh workflow (refresh), operators (ensure with force, flush).
 */
export interface MintTokenRequest {
  /**
   * ensure (default) and refresh: make the cache hold a fresh token. flush: delete the cached token.
   * describe: return the cached token's metadata (never the token) without minting — for operators.
   */
  readonly action: 'ensure' | 'refresh' | 'flush' | 'describe';
  readonly force?: boolean;
  readonly minTtlSeconds?: number;
  /** Free-text caller label for the audit log (e.g. "serve-token", "schedule", an operator's name). */
  readonly requestedBy?: string;
}

export class MintTokenRequestError extends Error {
  override readonly name = 'MintTokenRequestError';
}

const ACTIONS = new Set(['ensure', 'refresh', 'flush', 'describe']);
const KEYS = new Set(['action', 'force', 'minTtlSeconds', 'requestedBy']);

export function parseMintTokenRequest(event: unknown): MintTokenRequest {
  if (event === undefined || event === null) return { action: 'ensure' };
  if (typeof event !== 'object' || Array.isArray(event)) {
    throw new MintTokenRequestError('mint-token payload must be a JSON object such as {"action":"ensure"}');
  }
  const e = event as Record<string, unknown>;
  const problems: string[] = [];
  const unknown = Object.keys(e).filter((k) => !KEYS.has(k));
  if (unknown.length > 0)
    problems.push(`unknown field(s) ${unknown.join(', ')}; allowed: ${[...KEYS].join(', ')}`);
  if (e.action !== undefined && !ACTIONS.has(e.action as string))
    problems.push('"action" must be ensure, refresh, flush or describe');
  if (e.force !== undefined && typeof e.force !== 'boolean') problems.push('"force" must be true or false');
  if (
    e.minTtlSeconds !== undefined &&
    (typeof e.minTtlSeconds !== 'number' ||
      !Number.isInteger(e.minTtlSeconds) ||
      e.minTtlSeconds < 0 ||
      e.minTtlSeconds > 86_400)
  ) {
    problems.push('"minTtlSeconds" must be a whole number of seconds between 0 and 86400');
  }
  if (e.requestedBy !== undefined && (typeof e.requestedBy !== 'string' || e.requestedBy.length > 256)) {
    problems.push('"requestedBy" must be a string of at most 256 characters');
  }
  if (problems.length > 0)
    throw new MintTokenRequestError(`Invalid mint-token payload: ${problems.join('; ')}`);
  return {
    action: (e.action as MintTokenRequest['action'] | undefined) ?? 'ensure',
    ...(e.force !== undefined ? { force: e.force as boolean } : {}),
    ...(e.minTtlSeconds !== undefined ? { minTtlSeconds: e.minTtlSeconds as number } : {}),
    ...(e.requestedBy !== undefined ? { requestedBy: e.requestedBy as string } : {}),
  };
}
