import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Lambda's GetAccountSettings, which moto_server does not implement.
 * Follows "GetAccountSettings" in the AWS Lambda API Reference: `GET /2016-08-19/account-settings/`
 * answers 200 with `{"AccountLimit": {..., "ConcurrentExecutions", "UnreservedConcurrentExecutions"},
 * "AccountUsage": {...}}`. Signatures are not checked; any other request is a 404 with Lambda's
 * error shape, so a test that strays fails loudly.
 */
export class LambdaAccountSettingsStandIn {
  /** The account's concurrency quota and what is left unreserved. */
  limits = { concurrentExecutions: 1000, unreservedConcurrentExecutions: 1000 };
  readonly requests: string[] = [];

  private constructor(private readonly server: Server) {}

  static async start(): Promise<LambdaAccountSettingsStandIn> {
    let standIn: LambdaAccountSettingsStandIn | undefined;
    const server = createServer((request, response) => {
      standIn?.requests.push(`${request.method} ${request.url}`);
      const reply = (status: number, body: unknown) => {
        response.writeHead(status, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      if (request.method === 'GET' && /^\/2016-08-19\/account-settings\/?$/.test(request.url ?? '')) {
        const limits = standIn?.limits ?? { concurrentExecutions: 0, unreservedConcurrentExecutions: 0 };
        reply(200, {
          AccountLimit: {
            TotalCodeSize: 80_530_636_800,
            CodeSizeUnzipped: 262_144_000,
            CodeSizeZipped: 52_428_800,
            ConcurrentExecutions: limits.concurrentExecutions,
            UnreservedConcurrentExecutions: limits.unreservedConcurrentExecutions,
          },
          AccountUsage: { TotalCodeSize: 0, FunctionCount: 0 },
        });
        return;
      }
      response.setHeader('x-amzn-ErrorType', 'ResourceNotFoundException');
      reply(404, { Type: 'User', message: `stand-in: no route for ${request.method} ${request.url}` });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    standIn = new LambdaAccountSettingsStandIn(server);
    return standIn;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
