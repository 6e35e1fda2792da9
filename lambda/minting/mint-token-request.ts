import {
  type MintEntryPoint,
  type MintTokenRequest,
  OPERATOR_ALIAS,
} from '../../contract/mint-token-payload';
import { FINGERPRINT_PATTERN } from '../../contract/token-fingerprint';

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

const ACTIONS = new Set(['ensure', 'refresh', 'flush', 'describe', 'usage']);
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
    problems.push('"action" must be ensure, refresh, flush, describe or usage');
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
    if (e.action === 'usage') problems.push('"usage" is for operators: invoke the operator alias');
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
