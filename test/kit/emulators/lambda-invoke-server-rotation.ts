import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type InvokeOutcome, invokeBundled } from '../runners/invoke-bundled';
import { invokedFunctionArn, invokeTargetOf } from './lambda-qualifier';

/** A function the server can run: a bundled handler and the environment it runs with. */
export interface LocalFunction {
  readonly bundle: string;
  readonly env: Record<string, string>;
  /** Aliases the function has (e.g. mint-token's "operator"); other qualifiers are not found. */
  readonly aliases?: readonly string[];
}

export interface RecordedInvocation {
  readonly functionName: string;
  readonly payload: unknown;
  readonly outcome: InvokeOutcome | undefined;
  /** The invocation was refused because the function was busy (reserved concurrency 1). */
  readonly throttled: boolean;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/**
 * A local stand-in for the Lambda Invoke API (POST /2015-03-31/functions/{name}/invocations), which
 * moto cannot serve without Docker. Each invocation runs the bundled handler in a fresh Node process
 * (invokeBundled) and answers as Lambda does: 200 with the result, 200 with X-Amz-Function-Error and
 * {"errorType","errorMessage"} for a function error, 429 TooManyRequestsException while the function
 * is already running (mint-token's reserved concurrency is 1). Point the AWS SDK at it with
 * AWS_ENDPOINT_URL_LAMBDA. Every invocation is recorded, logs included, for leak checks.
 */
export class LambdaInvokeServer {
  readonly invocations: RecordedInvocation[] = [];
  private readonly functions = new Map<string, LocalFunction>();
  private readonly running = new Set<string>();
  private throttles = 0;
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

  static async start(): Promise<LambdaInvokeServer> {
    const s = new LambdaInvokeServer();
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  register(functionName: string, fn: LocalFunction): void {
    this.functions.set(functionName, fn);
  }

  /** Every line any invocation logged, and every result: for leak checks. */
  allText(): string[] {
    return this.invocations.flatMap((i) =>
      i.outcome ? [...i.outcome.logLines, JSON.stringify(i.outcome.results)] : [],
    );
  }

  /** Answers the next `count` invocations with Lambda's throttle, as if another caller held the concurrency. */
  throttleNext(count: number): void {
    this.throttles = count;
  }

  reset(): void {
    this.invocations.length = 0;
    this.functions.clear();
    this.throttles = 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://local');
    const match = INVOKE_PATH.exec(url.pathname);
    // FunctionName may be a name or an ARN (Step Functions passes the ARN), with an alias suffix.
    const target = match ? invokeTargetOf(match[1] as string, url.searchParams.get('Qualifier')) : undefined;
    const name = target?.name;
    const found = name ? this.functions.get(name) : undefined;
    const fn =
      found && (target?.qualifier === undefined || (found.aliases ?? []).includes(target.qualifier))
        ? found
        : undefined;
    if (req.method !== 'POST' || !name || !fn) {
      res.writeHead(404, {
        'content-type': 'application/json',
        'x-amzn-errortype': 'ResourceNotFoundException',
      });
      res.end(JSON.stringify({ Type: 'User', message: `Function not found: ${name ?? req.url}` }));
      return;
    }
    const payload = body.length > 0 ? JSON.parse(body) : undefined;
    if (this.running.has(name) || this.throttles > 0) {
      this.throttles = Math.max(0, this.throttles - 1);
      this.invocations.push({ functionName: name, payload, outcome: undefined, throttled: true });
      res.writeHead(429, {
        'content-type': 'application/json',
        'x-amzn-errortype': 'TooManyRequestsException',
      });
      res.end(
        JSON.stringify({
          Type: 'User',
          message: 'Rate Exceeded.',
          Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
        }),
      );
      return;
    }
    this.running.add(name);
    let outcome: InvokeOutcome;
    try {
      outcome = await invokeBundled({
        bundle: fn.bundle,
        env: {
          ...fn.env,
          LOCAL_INVOKED_FUNCTION_ARN: invokedFunctionArn(target as NonNullable<typeof target>),
        },
        events: [payload],
      });
    } finally {
      this.running.delete(name);
    }
    this.invocations.push({ functionName: name, payload, outcome, throttled: false });
    const result = outcome.results[0];
    const headers = { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST' };
    if (!result) {
      res.writeHead(200, { ...headers, 'x-amz-function-error': 'Unhandled' });
      res.end(JSON.stringify({ errorType: 'Runtime.ExitError', errorMessage: 'no result' }));
    } else if (result.ok) {
      res.writeHead(200, headers);
      res.end(JSON.stringify(result.value ?? null));
    } else {
      res.writeHead(200, { ...headers, 'x-amz-function-error': 'Unhandled' });
      res.end(JSON.stringify({ errorType: result.error.name, errorMessage: result.error.message }));
    }
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}
