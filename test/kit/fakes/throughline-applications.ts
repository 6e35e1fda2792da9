import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TestCredentials } from '../local-aws/moto-broker';
import type { TlsMaterial } from '../local-aws/tls';
import { makeAccessToken } from './token-server';

/**
 * ThroughLine's token endpoint as rotation tests need it: it knows client applications (created and
 * destroyed in its dashboard), issues a token only for an active application's exact pair
 * (client_secret_post), answers `401 {"error":"invalid_client"}` otherwise, and remembers which
 * application each token was issued to — so a test can tell which pair minted the token a caller got.
 */
export class ThroughLineApplications {
  /** client_id of every token request, in order. */
  readonly requests: string[] = [];
  private readonly apps = new Map<string, { secret: string; active: boolean }>();
  private readonly issued = new Map<string, string>();
  private unavailable = 0;
  private readonly server: Server;

  private constructor(tls: TlsMaterial) {
    this.server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const clientId = form.get('client_id') ?? '';
        this.requests.push(clientId);
        const json = (status: number, value: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
          res.end(JSON.stringify(value));
        };
        if (this.unavailable > 0) {
          this.unavailable -= 1;
          return json(503, { error: 'temporarily_unavailable' });
        }
        const app = this.apps.get(clientId);
        if (
          form.get('grant_type') !== 'client_credentials' ||
          !app?.active ||
          app.secret !== form.get('client_secret')
        ) {
          return json(401, { error: 'invalid_client' });
        }
        const accessToken = makeAccessToken();
        this.issued.set(accessToken, clientId);
        return json(200, { access_token: accessToken, token_type: 'Bearer', expires_in: 3600 });
      });
    });
  }

  static async start(tls: TlsMaterial): Promise<ThroughLineApplications> {
    const s = new ThroughLineApplications(tls);
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  get url(): string {
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}/oauth/token`;
  }

  /** "Create a client application in the dashboard". */
  create(credentials: TestCredentials): TestCredentials {
    this.apps.set(credentials.client_id, { secret: credentials.client_secret, active: true });
    return credentials;
  }

  /** "Destroy the application in the dashboard": its pair is rejected from now on. */
  destroy(credentials: TestCredentials): void {
    const app = this.apps.get(credentials.client_id);
    if (app) app.active = false;
  }

  /** The next `count` token requests answer 503. */
  failNext(count: number): void {
    this.unavailable += count;
  }

  /** The client_id a token was issued to, if this endpoint issued it. */
  issuedTo(accessToken: string): string | undefined {
    return this.issued.get(accessToken);
  }

  get issuedTokens(): string[] {
    return [...this.issued.keys()];
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
