import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TlsMaterial } from '../local-aws/tls';

/** What the fake ThroughLine token endpoint does with one request. */
export type TokenBehaviour =
  | {
      readonly kind: 'token';
      readonly accessToken?: string;
      readonly expiresIn?: unknown;
      readonly extra?: Record<string, unknown>;
    }
  | {
      readonly kind: 'json';
      readonly status: number;
      readonly body: unknown;
      readonly headers?: Record<string, string>;
    }
  | {
      readonly kind: 'raw';
      readonly status: number;
      readonly body: string;
      readonly headers?: Record<string, string>;
    }
  | { readonly kind: 'delay'; readonly ms: number; readonly followedBy: TokenBehaviour }
  | { readonly kind: 'reset' };

export interface RecordedRequest {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly form: Record<string, string>;
}

let tokenCounter = 0;
/** A unique, recognisable token value, so tests can search logs for it. */
export function makeAccessToken(): string {
  tokenCounter += 1;
  return `tl-at-${process.pid}-${tokenCounter}-${Math.random().toString(36).slice(2)}`;
}

/**
 * A local HTTPS stand-in for ThroughLine's token endpoint. Scripted behaviours are consumed in
 * order; when the script is empty, `fallback` answers. Every request is recorded.
 */
export class FakeTokenServer {
  readonly requests: RecordedRequest[] = [];
  readonly issuedTokens: string[] = [];
  /** TCP connections accepted, including ones whose TLS handshake the client abandoned. */
  connections = 0;
  fallback: TokenBehaviour = { kind: 'token', expiresIn: 3600 };
  private script: TokenBehaviour[] = [];
  private server: Server;

  private constructor(tls: TlsMaterial) {
    this.server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        this.requests.push({
          at: Date.now(),
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          form: Object.fromEntries(new URLSearchParams(body)),
        });
        const behaviour = this.script.shift() ?? this.fallback;
        this.respond(behaviour, req.socket, res);
      });
    });
  }

  static async start(tls: TlsMaterial): Promise<FakeTokenServer> {
    const s = new FakeTokenServer(tls);
    s.server.on('connection', () => {
      s.connections += 1;
    });
    s.server.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  get url(): string {
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}/oauth/token`;
  }

  enqueue(...behaviours: TokenBehaviour[]): void {
    this.script.push(...behaviours);
  }

  reset(): void {
    this.script = [];
    this.requests.length = 0;
    this.issuedTokens.length = 0;
    this.connections = 0;
    this.fallback = { kind: 'token', expiresIn: 3600 };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private respond(
    behaviour: TokenBehaviour,
    socket: import('node:net').Socket,
    res: import('node:http').ServerResponse,
  ): void {
    switch (behaviour.kind) {
      case 'reset':
        socket.destroy();
        return;
      case 'delay':
        setTimeout(() => {
          if (!socket.destroyed) this.respond(behaviour.followedBy, socket, res);
        }, behaviour.ms);
        return;
      case 'token': {
        const accessToken = behaviour.accessToken ?? makeAccessToken();
        this.issuedTokens.push(accessToken);
        const body: Record<string, unknown> = {
          access_token: accessToken,
          token_type: 'Bearer',
          ...behaviour.extra,
        };
        if (behaviour.expiresIn !== undefined) body.expires_in = behaviour.expiresIn;
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify(body));
        return;
      }
      case 'json':
        res.writeHead(behaviour.status, { 'content-type': 'application/json', ...behaviour.headers });
        res.end(JSON.stringify(behaviour.body));
        return;
      case 'raw':
        res.writeHead(behaviour.status, { 'content-type': 'text/plain', ...behaviour.headers });
        res.end(behaviour.body);
        return;
    }
  }
}
