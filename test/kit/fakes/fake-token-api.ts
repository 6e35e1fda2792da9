import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  CACHE_STATUS_HEADER,
  type CacheStatus,
  PROXY_METHODS,
  PROXY_PATH,
  type ProxyErrorCode,
} from '../../../contract/proxy-api';

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

/**
 * What the fake's proxy route (`/v1/throughline/<ThroughLine path>`) answers to one request, as the
 * broker would present it (contract/proxy-api.ts).
 */
export type ProxyBehaviour =
  /** ThroughLine's answer, passed through unchanged, with `X-Broker-Cache` (default `miss`). */
  | {
      readonly kind: 'upstream';
      readonly status: number;
      /** JSON, or a string sent as is. @default {} */
      readonly body?: unknown;
      readonly headers?: Record<string, string>;
      readonly cache?: Exclude<CacheStatus, 'none'>;
    }
  /** The broker's own refusal: `{"error": code, "message"}`, `X-Broker-Cache: none`, Retry-After if given. */
  | {
      readonly kind: 'refusal';
      readonly status: number;
      readonly code: ProxyErrorCode;
      readonly message?: string;
      readonly retryAfterSeconds?: number;
      readonly headers?: Record<string, string>;
    }
  /** API Gateway's own answer (throttling, integration failure): no X-Broker-Cache. */
  | {
      readonly kind: 'gateway';
      readonly status: number;
      readonly body: unknown;
      readonly headers?: Record<string, string>;
    };

export interface RecordedApiRequest {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  /** The query string as received (without `?`): its percent-encoding, exactly. */
  readonly rawQuery: string;
  readonly headers: IncomingHttpHeaders;
  /** The request body as received (UTF-8); `''` for none. */
  readonly body: string;
  /** For the proxy route: the ThroughLine path after `/v1/throughline` (`/v2/helplines`). */
  readonly throughLinePath?: string;
  /** Whether the SigV4 signature verified against the fake's credentials, service and region. */
  readonly signatureValid: boolean;
}

/**
 * A local stand-in for the token API as API Gateway presents it (`GET /v1/token`): it verifies
 * each request's SigV4 signature by re-signing the received request with the credentials it
 * trusts (service execute-api, its region) and comparing, like API Gateway's IAM authorisation.
 * Unsigned or mis-signed requests get API Gateway's 403. Scripted behaviours answer in order.
 *
 * It also serves proxy mode's route, `GET|POST /v1/throughline/<ThroughLine path>`
 * (contract/proxy-api.ts), with its own script (`enqueueThroughLine`, `throughLineFallback`): it
 * stands in for the broker, not for ThroughLine, so it checks nothing beyond the signature. The body
 * is part of the signature (its SHA-256; an `X-Amz-Content-Sha256` header must match the body). The
 * canonical query is built from the raw query string, each part percent-decoded once (a `+` stays a
 * plus): a client that sends `+` for a space but signs `%20` fails, as it may at API Gateway.
 * Every request is recorded with its raw query and body.
 */
export class FakeTokenApi {
  readonly requests: RecordedApiRequest[] = [];
  readonly issuedTokens: string[] = [];
  fallback: ApiBehaviour = { kind: 'token' };
  private script: ApiBehaviour[] = [];
  throughLineFallback: ProxyBehaviour = { kind: 'upstream', status: 200, body: { ok: true } };
  private throughLineScript: ProxyBehaviour[] = [];
  private readonly server: Server;
  private counter = 0;

  private constructor(
    private readonly credentials: FakeApiCredentials,
    readonly region: string,
  ) {
    this.server = createServer(async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://local');
      const query = Object.fromEntries(url.searchParams);
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const bodyBytes = Buffer.concat(chunks);
      const proxyPrefix = `/v1/${PROXY_PATH}/`;
      const isProxy = url.pathname.startsWith(proxyPrefix);
      this.verify(req.method ?? '', url, req.headers, bodyBytes).then((signatureValid) => {
        this.requests.push({
          at: Date.now(),
          method: req.method ?? '',
          path: url.pathname,
          query,
          rawQuery: url.search.slice(1),
          headers: req.headers,
          body: bodyBytes.toString('utf8'),
          ...(isProxy ? { throughLinePath: url.pathname.slice(proxyPrefix.length - 1) } : {}),
          signatureValid,
        });
        const send = (status: number, body: string, headers: Record<string, string> = {}) => {
          res.writeHead(status, { 'content-type': 'application/json', ...headers });
          res.end(body);
        };
        if (!signatureValid) {
          return send(403, JSON.stringify({ message: 'The request signature we calculated does not match' }));
        }
        if (isProxy && (PROXY_METHODS as readonly string[]).includes(req.method ?? '')) {
          return this.answerProxy(send);
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

  /** Answers for the proxy route, in order; then `throughLineFallback`. */
  enqueueThroughLine(...behaviours: ProxyBehaviour[]): void {
    this.throughLineScript.push(...behaviours);
  }

  /** Requests to the proxy route only. */
  get throughLineRequests(): RecordedApiRequest[] {
    return this.requests.filter((r) => r.throughLinePath !== undefined);
  }

  reset(): void {
    this.script = [];
    this.requests.length = 0;
    this.issuedTokens.length = 0;
    this.fallback = { kind: 'token' };
    this.throughLineScript = [];
    this.throughLineFallback = { kind: 'upstream', status: 200, body: { ok: true } };
  }

  private answerProxy(send: (status: number, body: string, headers?: Record<string, string>) => void) {
    const behaviour = this.throughLineScript.shift() ?? this.throughLineFallback;
    switch (behaviour.kind) {
      case 'upstream':
        return send(
          behaviour.status,
          typeof behaviour.body === 'string' ? behaviour.body : JSON.stringify(behaviour.body ?? {}),
          { ...behaviour.headers, [CACHE_STATUS_HEADER]: behaviour.cache ?? 'miss' },
        );
      case 'refusal':
        return send(
          behaviour.status,
          JSON.stringify({
            error: behaviour.code,
            message: behaviour.message ?? `The broker refused the call (${behaviour.code}).`,
          }),
          {
            ...behaviour.headers,
            [CACHE_STATUS_HEADER]: 'none',
            ...(behaviour.retryAfterSeconds !== undefined
              ? { 'retry-after': String(behaviour.retryAfterSeconds) }
              : {}),
          },
        );
      case 'gateway':
        return send(behaviour.status, JSON.stringify(behaviour.body), behaviour.headers);
    }
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async verify(
    method: string,
    url: URL,
    headers: IncomingHttpHeaders,
    body: Buffer,
  ): Promise<boolean> {
    const authorization = String(headers.authorization ?? '');
    const amzDate = String(headers['x-amz-date'] ?? '');
    const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';');
    const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
    if (!signedHeaders || !date || !signedHeaders.includes('host')) return false;
    // A declared payload hash must be the body's: the signer would otherwise trust the header.
    const declaredHash = headers['x-amz-content-sha256'];
    if (declaredHash !== undefined && declaredHash !== createHash('sha256').update(body).digest('hex')) {
      return false;
    }
    const query = rawQueryParameters(url.search.slice(1));
    if (!query) return false;
    const signingHeaders: Record<string, string> = {};
    for (const name of signedHeaders) signingHeaders[name] = String(headers[name] ?? '');
    const signer = new SignatureV4({
      service: 'execute-api',
      region: this.region,
      credentials: this.credentials,
      sha256: Sha256,
      // Sign exactly the client's signed headers: no X-Amz-Content-Sha256 of its own (botocore sends none).
      applyChecksum: false,
    });
    const expected = await signer.sign(
      new HttpRequest({
        method,
        protocol: 'http:',
        hostname: url.hostname,
        path: url.pathname,
        query,
        headers: signingHeaders,
        body: new Uint8Array(body),
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

/**
 * The query's parameters, each name and value percent-decoded once, `+` left a plus (SigV4 encodes
 * a space as %20, never `+`), repeated names kept; undefined for a malformed escape.
 */
function rawQueryParameters(raw: string): Record<string, string | string[]> | undefined {
  const query: Record<string, string | string[]> = {};
  if (raw === '') return query;
  try {
    for (const part of raw.split('&')) {
      const equals = part.indexOf('=');
      const name = decodeURIComponent(equals === -1 ? part : part.slice(0, equals));
      const value = equals === -1 ? '' : decodeURIComponent(part.slice(equals + 1));
      const previous = query[name];
      if (previous === undefined) query[name] = value;
      else query[name] = Array.isArray(previous) ? [...previous, value] : [previous, value];
    }
  } catch {
    return undefined;
  }
  return query;
}
