import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type InvocationResult, type InvokeOutcome, invokeBundled } from '../runners/invoke-bundled';
import { invokedFunctionArn, invokeTargetOf } from './lambda-qualifier';

/** What a registered function does with an invocation's payload (e.g. run it in a WarmLambda). */
export type InvokeHandler = (
  payload: unknown,
  invocation: { readonly invokedFunctionArn: string; readonly qualifier: string | undefined },
) => Promise<InvocationResult>;

/**
 * The code of a registered function: a handler, or a bundled handler run in a fresh Node process per
 * invocation (invokeBundled) with `env` — its logs are recorded with the invocation.
 */
export type FunctionCode =
  | { readonly handler: InvokeHandler }
  | { readonly bundle: string; readonly env: Record<string, string> };

export type FunctionOptions = FunctionCode & {
  /** Invocations beyond it are throttled, as Lambda does. @default none */
  readonly reservedConcurrency?: number;
  /** Aliases the function has (e.g. mint-token's "operator"); other qualifiers are not found. @default none */
  readonly aliases?: readonly string[];
};

export interface RecordedInvocation {
  readonly functionName: string;
  /** The alias invoked, if any (e.g. "operator"). */
  readonly qualifier: string | undefined;
  readonly startedAt: number;
  endedAt?: number;
  readonly payload: unknown;
  /** Access key id from the SigV4 Authorization header: tells simulated instances apart. */
  readonly accessKeyId: string | undefined;
  outcome?: 'ok' | 'function_error' | 'throttled';
  /** For a function registered by its bundle and not throttled: the process's results and log lines. */
  run?: InvokeOutcome;
}

interface RegisteredFunction {
  readonly options: FunctionOptions;
  readonly aliases: ReadonlySet<string>;
  readonly reservedConcurrency: number;
  inFlight: number;
  scriptedThrottles: number;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/**
 * A local Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`), which moto cannot serve
 * without Docker, speaking the REST-JSON wire format the AWS SDK expects: point a real LambdaClient
 * (or Step Functions local) at it with AWS_ENDPOINT_URL_LAMBDA. It answers as Lambda does: 200 with the
 * result; 200 with X-Amz-Function-Error and {"errorType","errorMessage","trace"} for a function error;
 * 404 ResourceNotFoundException for an unknown function or alias; 429 TooManyRequestsException for an
 * invocation beyond the function's reserved concurrency, or one the test scripted to be throttled.
 * Every invocation is recorded, and a bundled function's logs with it, for counts and leak checks.
 */
export class LambdaInvokeEmulator {
  readonly invocations: RecordedInvocation[] = [];
  private readonly functions = new Map<string, RegisteredFunction>();
  private readonly server: Server;

  private constructor() {
    this.server = createServer((req, res) => {
      // Lambda answers every request with a request id; SDKs (botocore among them) read it from errors too.
      res.setHeader('x-amzn-requestid', randomUUID());
      this.handle(req, res).catch((error: Error) => {
        res.writeHead(500, { 'content-type': 'application/json', 'x-amzn-errortype': 'ServiceException' });
        res.end(JSON.stringify({ Type: 'Service', message: error.message }));
      });
    });
  }

  static async start(): Promise<LambdaInvokeEmulator> {
    const emulator = new LambdaInvokeEmulator();
    await new Promise<void>((resolve) => emulator.server.listen(0, '127.0.0.1', resolve));
    return emulator;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  register(name: string, options: FunctionOptions): void {
    this.functions.set(name, {
      options,
      aliases: new Set(options.aliases ?? []),
      reservedConcurrency: options.reservedConcurrency ?? Number.POSITIVE_INFINITY,
      inFlight: 0,
      scriptedThrottles: 0,
    });
  }

  /** The next `count` invocations of `name` are throttled whatever the concurrency (as if another caller held it). */
  throttleNext(name: string, count: number): void {
    const fn = this.functions.get(name);
    if (!fn) throw new Error(`No function ${name} registered`);
    fn.scriptedThrottles += count;
  }

  /** Every line a bundled function logged, and every result it returned: for leak checks. */
  allText(): string[] {
    return this.invocations.flatMap((i) => (i.run ? [...i.run.logLines, JSON.stringify(i.run.results)] : []));
  }

  reset(): void {
    this.functions.clear();
    this.invocations.length = 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://x');
    const match = INVOKE_PATH.exec(url.pathname);
    if (req.method !== 'POST' || !match) {
      return sendError(res, 404, 'UnknownOperationException', 'Only Invoke is supported here');
    }
    // FunctionName may be a name or an ARN (Step Functions passes the ARN), with an alias suffix.
    const target = invokeTargetOf(match[1] ?? '', url.searchParams.get('Qualifier'));
    const functionName = target.name;
    const fn = this.functions.get(functionName);
    if (!fn || (target.qualifier !== undefined && !fn.aliases.has(target.qualifier))) {
      return sendError(
        res,
        404,
        'ResourceNotFoundException',
        `Function not found: ${invokedFunctionArn(target)}`,
      );
    }
    const text = Buffer.concat(chunks).toString('utf8');
    const invocation: RecordedInvocation = {
      functionName,
      qualifier: target.qualifier,
      startedAt: Date.now(),
      payload: text ? JSON.parse(text) : undefined,
      accessKeyId: /Credential=([^/]+)\//.exec(String(req.headers.authorization))?.[1],
    };
    this.invocations.push(invocation);

    if (fn.scriptedThrottles > 0 || fn.inFlight >= fn.reservedConcurrency) {
      if (fn.scriptedThrottles > 0) fn.scriptedThrottles -= 1;
      invocation.outcome = 'throttled';
      invocation.endedAt = Date.now();
      return sendError(res, 429, 'TooManyRequestsException', 'Rate Exceeded.', {
        Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
      });
    }
    fn.inFlight += 1;
    let result: InvocationResult;
    try {
      result = await this.run(fn.options, invocation, invokedFunctionArn(target));
    } finally {
      fn.inFlight -= 1;
    }
    invocation.endedAt = Date.now();
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-amz-executed-version': '$LATEST',
    };
    if (result.ok) {
      invocation.outcome = 'ok';
      res.writeHead(200, headers);
      res.end(JSON.stringify(result.value ?? null));
    } else {
      invocation.outcome = 'function_error';
      res.writeHead(200, { ...headers, 'x-amz-function-error': 'Unhandled' });
      res.end(
        JSON.stringify({ errorType: result.error.name, errorMessage: result.error.message, trace: [] }),
      );
    }
  }

  private async run(
    code: FunctionCode,
    invocation: RecordedInvocation,
    arn: string,
  ): Promise<InvocationResult> {
    if ('handler' in code) {
      return code.handler(invocation.payload, { invokedFunctionArn: arn, qualifier: invocation.qualifier });
    }
    invocation.run = await invokeBundled({
      bundle: code.bundle,
      env: { ...code.env, LOCAL_INVOKED_FUNCTION_ARN: arn },
      events: [invocation.payload],
    });
    return (
      invocation.run.results[0] ?? { ok: false, error: { name: 'Runtime.ExitError', message: 'no result' } }
    );
  }
}

function sendError(
  res: ServerResponse,
  status: number,
  type: string,
  message: string,
  extra: Record<string, unknown> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type });
  res.end(JSON.stringify({ Type: 'User', message, ...extra }));
}
