import { InvokeCommand, type InvokeCommandOutput, type LambdaClient } from '@aws-sdk/client-lambda';
import type { MintTokenRequest } from './mint-token-request';

/**
 * serve-token's way to ask mint-token for a token: a synchronous Lambda invocation. mint-token
 * runs with reserved concurrency 1, so while one instance's mint is running every other invocation
 * is throttled (429): that is the signal to wait and re-read the shared cache, not a failure.
 * mint-token never returns the token; the caller reads it from the cache afterwards.
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

/**
 * mint-token's errors that no retry fixes: the non-retryable classes of lambda/core/errors.ts, the
 * payload and settings errors. A unit test keeps this list in step with errors.ts.
 */
export const PERMANENT_MINT_ERRORS: ReadonlySet<string> = new Set([
  'CredentialsNotSetError',
  'CredentialsMalformedError',
  'InvalidClientError',
  'UpstreamRejectedError',
  'UntrustedUpstreamError',
  'BadTokenResponseError',
  'MintTokenRequestError',
  'SettingsError',
]);

/** A Lambda error type is a class name; anything else is not repeated into logs. */
const safeErrorType = (value: unknown): string =>
  typeof value === 'string' && /^[A-Za-z][\w.]{0,99}$/.test(value) ? value : 'UnknownError';

export interface MintInvocationResult {
  /** mint-token's outcome: "minted" or "fresh" (another mint got there first). */
  readonly outcome: string;
}

export class MintTokenInvoker {
  constructor(
    private readonly lambda: LambdaClient,
    private readonly functionName: string,
  ) {}

  /** Asks mint-token to make the cache hold a token with at least `minTtlSeconds` left. */
  async ensure(minTtlSeconds: number, deadlineMs: number): Promise<MintInvocationResult> {
    const result = await this.invoke<{ outcome?: unknown }>(
      { action: 'ensure', minTtlSeconds, requestedBy: 'serve-token' },
      deadlineMs,
    );
    return { outcome: typeof result.outcome === 'string' ? result.outcome : 'unknown' };
  }

  /**
   * Any mint-token request (operators, the rotation function) and mint-token's response, which
   * never holds the token. Throws MintThrottledError while another mint runs, MintFailedError otherwise.
   */
  async invoke<R>(request: MintTokenRequest, deadlineMs?: number): Promise<R> {
    let response: InvokeCommandOutput;
    try {
      response = await this.lambda.send(
        new InvokeCommand({
          FunctionName: this.functionName,
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
