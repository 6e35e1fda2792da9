import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedAwsCall {
  readonly at: number;
  /** e.g. "dynamodb:GetItem", "kms:Decrypt" (from the JSON protocol's X-Amz-Target). */
  readonly operation: string;
  /** Access key id from the SigV4 Authorization header: tells simulated instances apart. */
  readonly accessKeyId: string | undefined;
}

const TARGET_PREFIX: Record<string, string> = {
  DynamoDB_20120810: 'dynamodb',
  TrentService: 'kms',
  secretsmanager: 'secretsmanager',
};

/**
 * A transparent HTTP proxy in front of moto_server that records every AWS call passing through:
 * how a test proves that an answer from memory made no AWS call at all.
 */
export class RecordingAwsProxy {
  readonly calls: RecordedAwsCall[] = [];
  private readonly server: Server;

  private constructor(target: URL) {
    this.server = createServer((req, res) => {
      const target_ = String(req.headers['x-amz-target'] ?? '');
      const [prefix, action] = target_.split('.');
      this.calls.push({
        at: Date.now(),
        operation:
          prefix && action ? `${TARGET_PREFIX[prefix] ?? prefix}:${action}` : `${req.method} ${req.url}`,
        accessKeyId: /Credential=([^/]+)\//.exec(String(req.headers.authorization))?.[1],
      });
      const upstream = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (upstreamRes) => {
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
          upstreamRes.pipe(res);
        },
      );
      upstream.on('error', (error) => {
        res.writeHead(502);
        res.end(String(error));
      });
      req.pipe(upstream);
    });
  }

  static async start(targetEndpoint: string): Promise<RecordingAwsProxy> {
    const proxy = new RecordingAwsProxy(new URL(targetEndpoint));
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Calls of `operation`, optionally only those signed with `accessKeyId`. */
  count(operation: string, accessKeyId?: string): number {
    return this.calls.filter(
      (c) => c.operation === operation && (accessKeyId === undefined || c.accessKeyId === accessKeyId),
    ).length;
  }

  reset(): void {
    this.calls.length = 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
