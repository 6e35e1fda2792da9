import { InvokeCommand, type InvokeCommandOutput, type LambdaClient } from '@aws-sdk/client-lambda';
import { PERMANENT_MINT_ERROR_NAMES } from '../../contract/error-registry';
import type { EnsureTokenResult, MintTokenRequest, ObtainedToken } from '../../contract/mint-token-payload';
import { NOT_CONFIGURED_MESSAGE } from '../errors/broker-errors';

/**
 * The way to ask mint-token for a token: a synchronous Lambda invocation. A throttle (429, when
 * reserved concurrency is configured) or a "deferred: request_in_flight" answer means another mint
 * is running: the signal to wait and re-read the shared cache, not a failure. mint-token never
 * returns the token; the caller reads it from the cache afterwards.
 */

/** mint-token is busy (reserved concurrency 1): another mint is in progress. */
export class MintThrottledError extends Error {
  override readonly name = 'MintThrottledError';
}

/** mint-token ran and failed, or could not be reached. `errorType` is mint-token's error class name. */
export class MintFailedError extends Error {
  override readonly name = 'MintFailedError';
  constructor(
    message: string,
    readonly errorType: string,
    /** Retrying soon cannot help (credentials rejected, not set, malformed…): on-call must act. */
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

/** mint-token's errors that no retry fixes (the registry's non-retryable ones: error-registry.ts). */
export const PERMANENT_MINT_ERRORS: ReadonlySet<string> = new Set(PERMANENT_MINT_ERROR_NAMES);

/** A Lambda error type is a class name; anything else is not repeated into logs. */
const safeErrorType = (value: unknown): string =>
  typeof value === 'string' && /^[A-Za-z][\w.]{0,99}$/.test(value) ? value : 'UnknownError';

export type MintInvocationResult =
  /** "minted", or "fresh" (another mint got there first). */
  | { readonly outcome: 'minted' | 'fresh' }
  /** The upstream gate held ThroughLine back: `retryAfterSeconds` is when it will let a request through. */
  | { readonly outcome: 'deferred'; readonly reason: string; readonly retryAfterSeconds: number };

/** What serve-token may ask for: a token, never a forced one (and IAM keeps it off the operator alias). */
export interface EnsureRequest {
  readonly minTtlSeconds: number;
  readonly rejectedFingerprint?: string;
  readonly verifyCache?: boolean;
}

/** mint-token deferred the request (upstream gate closed): operators and the rotation get this error. */
export class MintDeferredError extends Error {
  override readonly name = 'MintDeferredError';
  constructor(
    readonly reason: string,
    readonly retryAfterSeconds: number,
    readonly lastFailure: string | undefined,
    /** Whether this request reached ThroughLine (and failed) before the gate closed. */
    readonly attempted = false,
  ) {
    super(
      `${attempted ? 'ThroughLine was asked and failed, and the upstream gate closed' : 'ThroughLine was not asked: the upstream gate is closed'} (${reason.replace(/_/g, ' ')}${lastFailure ? `, last failure ${lastFailure.replace(/_/g, ' ')}` : ''}); it lets the next request through in ${retryAfterSeconds} s — see docs/runbooks/upstream-gate-closed.md`,
    );
  }
}

/**
 * mint-token's "not configured" answer (no credentials were ever put in) to anyone who needed a
 * token: the same permanent failure as before it was a value, so callers and operators see
 * CredentialsNotSetError and what to run; only the schedule treats it as a quiet state.
 */
const notConfiguredError = (): MintFailedError =>
  new MintFailedError(NOT_CONFIGURED_MESSAGE, 'CredentialsNotSetError', true);

/** Time kept back from the caller's deadline for the invocation's own round trip. */
const WAIT_MARGIN_MS = 500;

/** A reason or class name from mint-token's answer: repeated only if it looks like one. */
const safeWord = (value: unknown): string | undefined =>
  typeof value === 'string' && /^[a-z][a-z_]{0,40}$/.test(value) ? value : undefined;

export class MintTokenInvoker {
  constructor(
    private readonly lambda: LambdaClient,
    private readonly functionName: string,
  ) {}

  /** Asks mint-token to make the cache hold a fresh token (serve-token's only request). */
  async ensure(request: EnsureRequest, deadlineMs: number): Promise<MintInvocationResult> {
    const result = await this.invoke<{ outcome?: unknown; reason?: unknown; retryAfterSeconds?: unknown }>(
      {
        action: 'ensure',
        minTtlSeconds: request.minTtlSeconds,
        ...(request.rejectedFingerprint ? { rejectedFingerprint: request.rejectedFingerprint } : {}),
        ...(request.verifyCache ? { verifyCache: true } : {}),
        waitBudgetMs: Math.max(0, Math.floor(deadlineMs - Date.now() - WAIT_MARGIN_MS)),
        requestedBy: 'serve-token',
      },
      deadlineMs,
    );
    if (result.outcome === 'deferred') {
      const retryAfter = Number(result.retryAfterSeconds);
      return {
        outcome: 'deferred',
        reason: safeWord(result.reason) ?? 'unknown',
        retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter >= 1 ? Math.ceil(retryAfter) : 1,
      };
    }
    if (result.outcome === 'minted' || result.outcome === 'fresh') return { outcome: result.outcome };
    if (result.outcome === 'not_configured') throw notConfiguredError();
    throw new MintFailedError('mint-token answered with an unknown outcome', 'BadResponse', false);
  }

  /**
   * A token for operators and the rotation function: the minted or fresh token's metadata, or
   * MintDeferredError when the upstream gate holds ThroughLine back.
   */
  async obtain(request: MintTokenRequest, qualifier?: string): Promise<ObtainedToken> {
    const result = await this.invoke<EnsureTokenResult>(request, undefined, qualifier);
    if (result.outcome === 'not_configured') throw notConfiguredError();
    if (result.outcome === 'deferred') {
      throw new MintDeferredError(
        safeWord(result.reason) ?? 'unknown',
        Math.max(1, Math.ceil(Number(result.retryAfterSeconds) || 1)),
        safeWord(result.gate?.lastFailure),
        result.attempted === true,
      );
    }
    return result;
  }

  /**
   * Any mint-token request (operators, the rotation function) and mint-token's response, which
   * never holds the token. Throws MintThrottledError while another mint runs, MintFailedError otherwise.
   */
  async invoke<R>(request: MintTokenRequest, deadlineMs?: number, qualifier?: string): Promise<R> {
    let response: InvokeCommandOutput;
    try {
      response = await this.lambda.send(
        new InvokeCommand({
          FunctionName: this.functionName,
          ...(qualifier ? { Qualifier: qualifier } : {}),
          InvocationType: 'RequestResponse',
          Payload: new TextEncoder().encode(JSON.stringify(request)),
        }),
        deadlineMs === undefined
          ? {}
          : { abortSignal: AbortSignal.timeout(Math.max(1, deadlineMs - Date.now())) },
      );
    } catch (error) {
      throw classifyInvokeError(error);
    }
    const payload = decodePayload(response.Payload);
    if (response.FunctionError) {
      const { errorType, errorMessage } = (payload ?? {}) as { errorType?: unknown; errorMessage?: unknown };
      const type = safeErrorType(errorType);
      throw new MintFailedError(
        `mint-token failed with ${type}${typeof errorMessage === 'string' ? `: ${errorMessage.slice(0, 500)}` : ''}`,
        type,
        PERMANENT_MINT_ERRORS.has(type),
      );
    }
    if (typeof payload !== 'object' || payload === null) {
      throw new MintFailedError('mint-token returned no JSON object', 'BadResponse', false);
    }
    return payload as R;
  }
}

function decodePayload(payload: Uint8Array | undefined): unknown {
  if (!payload || payload.length === 0) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return undefined;
  }
}

function classifyInvokeError(error: unknown): Error {
  const name = (error as { name?: unknown })?.name;
  if (name === 'TooManyRequestsException') {
    return new MintThrottledError('mint-token is throttled: another mint is in progress');
  }
  if (name === 'AbortError' || name === 'TimeoutError') {
    return new MintFailedError('mint-token did not answer within the request budget', 'MintTimeout', false);
  }
  // Lambda service errors (5xx, network): transient. Access or configuration errors are not.
  const type = safeErrorType(name);
  const permanent = [
    'AccessDeniedException',
    'ResourceNotFoundException',
    'InvalidParameterValueException',
  ].includes(type);
  return new MintFailedError(`mint-token could not be invoked (${type})`, type, permanent);
}
