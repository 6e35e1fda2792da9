import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

export interface FakeApiCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** What the fake API answers to one request. */
export type ApiBehaviour =
  | { readonly kind: 'token'; readonly expiresIn?: number; readonly accessToken?: string }
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly body?: unknown;
      readonly headers?: Record<string, string>;
    }
  | { readonly kind: 'raw'; readonly status: number; readonly body: string };

export interface RecordedApiRequest {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly headers: IncomingHttpHeaders;
  /** Whether the SigV4 signature verified against the fake's credentials, service and region. */
  readonly signatureValid: boolean;
}

/**
 * A local stand-in for the token API as API Gateway presents it (`GET /v1/token`): it verifies
 * each request's SigV4 signature by re-signing the received request with the credentials it
 * trusts (service execute-api, its region) and comparing, like API Gateway's IAM authorisation.
 * Unsigned or mis-signed requests get API Gateway's 403. Scripted behaviours answer in order.
 */
export class FakeTokenApi {
  readonly requests: RecordedApiRequest[] = [];
  readonly issuedTokens: string[] = [];
  fallback: ApiBehaviour = { kind: 'token' };
  private script: ApiBehaviour[] = [];
  private readonly server: Server;
  private counter = 0;

  private constructor(
    private readonly credentials: FakeApiCredentials,
    readonly region: string,
  ) {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://local');
      const query = Object.fromEntries(url.searchParams);
      this.verify(req.method ?? '', url, req.headers).then((signatureValid) => {
        this.requests.push({
          at: Date.now(),
          method: req.method ?? '',
          path: url.pathname,
          query,
          headers: req.headers,
          signatureValid,
        });
        const send = (status: number, body: string, headers: Record<string, string> = {}) => {
          res.writeHead(status, { 'content-type': 'application/json', ...headers });
          res.end(body);
        };
        if (!signatureValid) {
          return send(403, JSON.stringify({ message: 'The request signature we calculated does not match' }));
        }
        if (url.pathname !== '/v1/token')
          return send(403, JSON.stringify({ message: 'Missing Authentication Token' }));
        const behaviour = this.script.shift() ?? this.fallback;
        switch (behaviour.kind) {
          case 'token': {
            this.counter += 1;
            const accessToken =
              behaviour.accessToken ??
              `api-at-${process.pid}-${this.counter}-${Math.random().toString(36).slice(2)}`;
            this.issuedTokens.push(accessToken);
            const expiresIn = behaviour.expiresIn ?? 3600;
            return send(
              200,
              JSON.stringify({
                access_token: accessToken,
                token_type: 'Bearer',
                expires_in: expiresIn,
                expires_at: Math.floor(Date.now() / 1000) + expiresIn,
              }),
              { 'cache-control': 'no-store', pragma: 'no-cache' },
            );
          }
          case 'status':
            return send(behaviour.status, JSON.stringify(behaviour.body ?? {}), behaviour.headers);
          case 'raw':
            return send(behaviour.status, behaviour.body);
        }
      });
    });
  }

  static async start(credentials: FakeApiCredentials, region = 'eu-west-2'): Promise<FakeTokenApi> {
    const api = new FakeTokenApi(credentials, region);
    await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
    return api;
  }

  /** The stage URL, as the TokenApiUrl stack output gives it. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/`;
  }

  enqueue(...behaviours: ApiBehaviour[]): void {
    this.script.push(...behaviours);
  }

  reset(): void {
    this.script = [];
    this.requests.length = 0;
    this.issuedTokens.length = 0;
    this.fallback = { kind: 'token' };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async verify(method: string, url: URL, headers: IncomingHttpHeaders): Promise<boolean> {
    const authorization = String(headers.authorization ?? '');
    const amzDate = String(headers['x-amz-date'] ?? '');
    const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';');
    const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
    if (!signedHeaders || !date || !signedHeaders.includes('host')) return false;
    const signingHeaders: Record<string, string> = {};
    for (const name of signedHeaders) signingHeaders[name] = String(headers[name] ?? '');
    const signer = new SignatureV4({
      service: 'execute-api',
      region: this.region,
      credentials: this.credentials,
      sha256: Sha256,
    });
    const expected = await signer.sign(
      new HttpRequest({
        method,
        protocol: 'http:',
        hostname: url.hostname,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: signingHeaders,
      }),
      {
        signingDate: new Date(`${date[1]}-${date[2]}-${date[3]}T${date[4]}:${date[5]}:${date[6]}Z`),
        unsignableHeaders: new Set(),
        signableHeaders: new Set(signedHeaders),
      },
    );
    return expected.headers.authorization === authorization;
  }
}
