import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InvocationResult } from '../runners/invoke-bundled';
import { invokedFunctionArn, invokeTargetOf } from './lambda-qualifier';

/** What a registered function does with an invocation's payload (e.g. run it in a WarmLambda). */
export type InvokeHandler = (
  payload: unknown,
  invocation: { readonly invokedFunctionArn: string; readonly qualifier: string | undefined },
) => Promise<InvocationResult>;

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
}

interface RegisteredFunction {
  readonly handler: InvokeHandler;
  readonly aliases: ReadonlySet<string>;
  readonly reservedConcurrency: number;
  inFlight: number;
  scriptedThrottles: number;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/**
 * A local stand-in for the Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`),
 * speaking the REST-JSON wire format the AWS SDK expects, so serve-token's real LambdaClient can
 * be pointed at it with AWS_ENDPOINT_URL_LAMBDA (moto's Lambda needs Docker). It enforces reserved
 * concurrency the way Lambda does — an invocation beyond it is refused with 429
 * TooManyRequestsException — and can be told to throttle the next N invocations.
 */
export class LambdaInvokeStandIn {
  readonly invocations: RecordedInvocation[] = [];
  private readonly functions = new Map<string, RegisteredFunction>();
  private readonly server: Server;

  private constructor() {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: Error) => {
        res.writeHead(500, { 'content-type': 'application/json', 'x-amzn-errortype': 'ServiceException' });
        res.end(JSON.stringify({ Type: 'Service', message: error.message }));
      });
    });
  }

  static async start(): Promise<LambdaInvokeStandIn> {
    const standIn = new LambdaInvokeStandIn();
    await new Promise<void>((resolve) => standIn.server.listen(0, '127.0.0.1', resolve));
    return standIn;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  register(
    name: string,
    options: { handler: InvokeHandler; reservedConcurrency?: number; aliases?: readonly string[] },
  ): void {
    this.functions.set(name, {
      handler: options.handler,
      aliases: new Set(options.aliases ?? []),
      reservedConcurrency: options.reservedConcurrency ?? Number.POSITIVE_INFINITY,
      inFlight: 0,
      scriptedThrottles: 0,
    });
  }

  /** The next `count` invocations of `name` are throttled whatever the concurrency. */
  throttleNext(name: string, count: number): void {
    const fn = this.functions.get(name);
    if (!fn) throw new Error(`No function ${name} registered`);
    fn.scriptedThrottles += count;
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
      result = await fn.handler(invocation.payload, {
        invokedFunctionArn: invokedFunctionArn(target),
        qualifier: target.qualifier,
      });
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
