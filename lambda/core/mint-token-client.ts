import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { MintTokenResponse } from '../handlers/mint-token';
import type { MintTokenRequest } from './mint-token-request';

/** mint-token failed: `errorType` is its error class (e.g. InvalidClientError), as Lambda reports it. */
export class MintTokenInvocationError extends Error {
  override readonly name = 'MintTokenInvocationError';
  constructor(
    readonly errorType: string,
    readonly errorMessage: string,
  ) {
    super(`mint-token failed with ${errorType}: ${errorMessage}`);
  }
}

/**
 * Invokes mint-token synchronously with any request (operators, rotation) and returns its result.
 * serve-token uses MintTokenInvoker (mint-token-invoker.ts) instead, which adds throttle handling for the hot path. Lambda's throttle (mint-token has reserved
 * concurrency 1, so a concurrent mint throttles us) is retried by the SDK's standard retry strategy
 * with jittered backoff; configure the client's maxAttempts to suit the caller.
 */
export class MintTokenClient {
  constructor(
    private readonly lambda: LambdaClient,
    private readonly functionName: string,
  ) {}

  async invoke<R extends MintTokenResponse = MintTokenResponse>(request: MintTokenRequest): Promise<R> {
    const result = await this.lambda.send(
      new InvokeCommand({
        FunctionName: this.functionName,
        InvocationType: 'RequestResponse',
        Payload: new TextEncoder().encode(JSON.stringify(request)),
      }),
    );
    const text = result.Payload ? new TextDecoder().decode(result.Payload) : '';
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (result.FunctionError) {
      const error = (body ?? {}) as { errorType?: unknown; errorMessage?: unknown };
      throw new MintTokenInvocationError(
        typeof error.errorType === 'string' ? error.errorType : result.FunctionError,
        typeof error.errorMessage === 'string' ? error.errorMessage : 'no error message',
      );
    }
    if (typeof body !== 'object' || body === null) {
      throw new MintTokenInvocationError('BadResponse', 'mint-token returned no JSON object');
    }
    return body as R;
  }
}
