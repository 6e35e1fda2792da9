import { FINGERPRINT_PATTERN } from './token-fingerprint';

/**
 * The payload mint-token accepts. Callers: serve-token (ensure, with the caller's min_ttl, a
 * rejected token's fingerprint or a request to verify the cache), the refresh workflow (refresh),
 * the rotation function (ensure), operators through the `operator` alias (ensure with force or a
 * gate override, flush, describe).
 */
export interface MintTokenRequest {
  /**
   * ensure (default) and refresh: make the cache hold a fresh token. flush: delete the cached token.
   * describe: return the cached token's metadata (never the token) and the gate's state, without minting.
   */
  readonly action: 'ensure' | 'refresh' | 'flush' | 'describe';
  /** Operator entry point only. */
  readonly force?: boolean;
  readonly minTtlSeconds?: number;
  /** Free-text caller label for the audit log (e.g. "serve-token", "schedule", an operator's name). */
  readonly requestedBy?: string;
  /** Operator entry point only: pass the gate's wait and daily budget, for this reason (logged, counted). */
  readonly overrideReason?: string;
  /** A token a consumer reports ThroughLine rejected, by fingerprint (lambda/core/token-fingerprint.ts). */
  readonly rejectedFingerprint?: string;
  /** The caller could not decrypt the cached token: check it and replace it if it is unusable. */
  readonly verifyCache?: boolean;
  /** How long the caller will wait for an answer (ms): mint-token does not wait for the gate beyond it. */
  readonly waitBudgetMs?: number;
}

/**
 * Which way mint-token was invoked. `operator`: through its `operator` alias, which only operator
 * principals may invoke (IAM); everything else is the serving entry point (serve-token, schedule,
 * rotation), which may only ask for a token, never force one, flush the cache or override the gate.
 */
export type MintEntryPoint = 'serving' | 'operator';

/** The alias name of mint-token's operator entry point: shared by the stack, the handler and the CLI. */
export const OPERATOR_ALIAS = 'operator';

/**
 * The entry point of an invocation, from the ARN Lambda invoked: "The ARN used to invoke this
 * function. It can be a function ARN or an alias ARN" (AWS Lambda context object in Node.js,
 * https://docs.aws.amazon.com/lambda/latest/dg/nodejs-prog-model-context.html). Lambda sets it,
 * not the caller's payload.
 */
export function entryPointOf(invokedFunctionArn: string | undefined): MintEntryPoint {
  const parts = (invokedFunctionArn ?? '').split(':');
  // arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
  return parts.length === 8 && parts[7] === OPERATOR_ALIAS ? 'operator' : 'serving';
}

export class MintTokenRequestError extends Error {
  override readonly name = 'MintTokenRequestError';
}

const ACTIONS = new Set(['ensure', 'refresh', 'flush', 'describe']);
const KEYS = new Set([
  'action',
  'force',
  'minTtlSeconds',
  'requestedBy',
  'overrideReason',
  'rejectedFingerprint',
  'verifyCache',
  'waitBudgetMs',
]);

export function parseMintTokenRequest(
  event: unknown,
  entryPoint: MintEntryPoint,
  limits: { readonly maxMinTtlSeconds: number },
): MintTokenRequest {
  if (event === undefined || event === null) return { action: 'ensure' };
  if (typeof event !== 'object' || Array.isArray(event)) {
    throw new MintTokenRequestError('mint-token payload must be a JSON object such as {"action":"ensure"}');
  }
  const e = event as Record<string, unknown>;
  const problems: string[] = [];
  const unknown = Object.keys(e).filter((k) => !KEYS.has(k));
  if (unknown.length > 0)
    problems.push(`unknown field(s) ${unknown.length}; allowed: ${[...KEYS].join(', ')}`);
  if (e.action !== undefined && !ACTIONS.has(e.action as string))
    problems.push('"action" must be ensure, refresh, flush or describe');
  if (e.force !== undefined && typeof e.force !== 'boolean') problems.push('"force" must be true or false');
  if (e.verifyCache !== undefined && typeof e.verifyCache !== 'boolean')
    problems.push('"verifyCache" must be true or false');
  const maxMinTtl = entryPoint === 'operator' ? 86_400 : limits.maxMinTtlSeconds;
  if (
    e.minTtlSeconds !== undefined &&
    (typeof e.minTtlSeconds !== 'number' ||
      !Number.isInteger(e.minTtlSeconds) ||
      e.minTtlSeconds < 0 ||
      e.minTtlSeconds > maxMinTtl)
  ) {
    problems.push(`"minTtlSeconds" must be a whole number of seconds between 0 and ${maxMinTtl}`);
  }
  if (
    e.waitBudgetMs !== undefined &&
    (typeof e.waitBudgetMs !== 'number' ||
      !Number.isInteger(e.waitBudgetMs) ||
      e.waitBudgetMs < 0 ||
      e.waitBudgetMs > 900_000)
  ) {
    problems.push('"waitBudgetMs" must be a whole number of milliseconds between 0 and 900000');
  }
  if (e.requestedBy !== undefined && (typeof e.requestedBy !== 'string' || e.requestedBy.length > 256)) {
    problems.push('"requestedBy" must be a string of at most 256 characters');
  }
  if (
    e.overrideReason !== undefined &&
    (typeof e.overrideReason !== 'string' ||
      e.overrideReason.trim().length < 3 ||
      e.overrideReason.length > 256)
  ) {
    problems.push('"overrideReason" must be a reason of 3 to 256 characters');
  }
  if (
    e.rejectedFingerprint !== undefined &&
    (typeof e.rejectedFingerprint !== 'string' || !FINGERPRINT_PATTERN.test(e.rejectedFingerprint))
  ) {
    problems.push('"rejectedFingerprint" must be 16 lower-case hex digits');
  }
  if (entryPoint === 'serving') {
    // Enforced here and by IAM: only operator principals may invoke the operator alias.
    if (e.force === true) problems.push('"force" is for operators: invoke the operator alias');
    if (e.overrideReason !== undefined)
      problems.push('"overrideReason" is for operators: invoke the operator alias');
    if (e.action === 'flush') problems.push('"flush" is for operators: invoke the operator alias');
  }
  if (problems.length > 0)
    throw new MintTokenRequestError(`Invalid mint-token payload: ${problems.join('; ')}`);
  return {
    action: (e.action as MintTokenRequest['action'] | undefined) ?? 'ensure',
    ...(e.force !== undefined ? { force: e.force as boolean } : {}),
    ...(e.minTtlSeconds !== undefined ? { minTtlSeconds: e.minTtlSeconds as number } : {}),
    ...(e.requestedBy !== undefined ? { requestedBy: e.requestedBy as string } : {}),
    ...(e.overrideReason !== undefined ? { overrideReason: e.overrideReason as string } : {}),
    ...(e.rejectedFingerprint !== undefined ? { rejectedFingerprint: e.rejectedFingerprint as string } : {}),
    ...(e.verifyCache !== undefined ? { verifyCache: e.verifyCache as boolean } : {}),
    ...(e.waitBudgetMs !== undefined ? { waitBudgetMs: e.waitBudgetMs as number } : {}),
  };
}
