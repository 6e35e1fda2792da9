import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { tokenFingerprint } from '../../../contract/token-fingerprint';
import type { TlsMaterial } from '../local-aws/tls';

/**
 * A local HTTPS stand-in of ThroughLine's helpline API, for the proxy's integration tests: the
 * helplines, countries and topics lists and the two event endpoints, behind `Authorization: Bearer`.
 *
 * It follows what ThroughLine documents (docs/throughline-api.md) and says where it must guess:
 * - Paths: `/<version>/…` with version `v2` by default. **Guess**: no v2 path is documented; these
 *   are the documented v1 paths with the version replaced (`version: 'v1'` serves those).
 * - Shapes: `{"helplines":[…]}`, `{"countries":[…]}`, `{"topics":[…]}` with camelCase helpline
 *   fields, as third-party fixtures captured from v1 show. **Guess** for v2.
 * - Query: `country_code` (case-insensitive), `topic` (name or code), `priority_only=true` (the
 *   first helpline of the answer: a stand-in for the curated list), `limit`. Unknown parameters
 *   are ignored.
 * - Events: JSON bodies with `helpline_id`, `session_id`, `timestamp` (ISO 8601) and, for clicks,
 *   `contact_method`; 400 when one is missing. **Guess**: the body format, the `contact_method`
 *   values (any non-empty string is taken), the success answer (`202 {}`) are not documented.
 * - Tokens: only tokens the test accepts pass; anything else gets 401 with
 *   `WWW-Authenticate: Bearer` (RFC 6750 §3; ThroughLine's 401 is not documented).
 * - Not sent unless a test asks (ThroughLine does not document them): `Retry-After`, `ETag`,
 *   `Cache-Control`, gzip. The options below switch each on.
 *
 * Scripted answers (`enqueue`, `enqueueWhen`) are taken in order by requests whose token is
 * accepted; a request with a missing or refused token gets its 401 and takes nothing. Every
 * request is recorded with its arrival time; the bearer token itself never is — a record holds its
 * fingerprint (contract/token-fingerprint.ts) and `tokenOf()` gives the value to a test that asks.
 */

export interface Helpline {
  readonly id: string;
  readonly name: string;
  readonly description?: string;
  readonly website?: string;
  readonly country: { readonly name: string; readonly code: string; readonly emergencyNumber: string };
  readonly timezone: string;
  readonly topics: readonly string[];
  readonly phoneNumber?: string;
  readonly smsNumber?: string;
  readonly webChatUrl?: string;
  readonly whatsappUrl?: string;
}

export interface Country {
  readonly name: string;
  readonly code: string;
  readonly emergencyNumber: string;
}

export interface Topic {
  readonly name: string;
  readonly code: string;
}

export interface Directory {
  readonly helplines: readonly Helpline[];
  readonly countries: readonly Country[];
  readonly topics: readonly Topic[];
}

const NZ: Country = { name: 'New Zealand', code: 'NZ', emergencyNumber: '111' };
const US: Country = { name: 'United States', code: 'US', emergencyNumber: '988' };

/** A small directory in the shape third-party v1 fixtures show (invented entries, not real data). */
export const SMALL_DIRECTORY: Directory = {
  countries: [NZ, US],
  topics: [
    { name: 'Abuse & domestic violence', code: 'abuse-domestic-violence' },
    { name: 'Anxiety', code: 'anxiety' },
    { name: 'Suicidal thoughts', code: 'suicidal-thoughts' },
  ],
  helplines: [
    {
      id: '5b0c2a52-4a0e-4d8c-9d0e-6a1f2b3c4d01',
      name: 'Example Crisis Line',
      description: 'Free, confidential support by phone, text and chat, 24 hours a day.',
      website: 'https://crisis.example.org',
      country: US,
      timezone: 'America/New_York',
      topics: ['Suicidal thoughts', 'Anxiety'],
      phoneNumber: '988',
      smsNumber: '988',
      webChatUrl: 'https://crisis.example.org/chat',
    },
    {
      id: '5b0c2a52-4a0e-4d8c-9d0e-6a1f2b3c4d02',
      name: 'Example Safety Line',
      description: 'Support for anyone affected by abuse or domestic violence.',
      website: 'https://safety.example.org',
      country: US,
      timezone: 'America/Los_Angeles',
      topics: ['Abuse & domestic violence'],
      phoneNumber: '(800) 555-0100',
    },
    {
      id: '5b0c2a52-4a0e-4d8c-9d0e-6a1f2b3c4d03',
      name: 'Example Aotearoa Helpline',
      description: 'Kōrero mai: talk or text with a trained counsellor.',
      website: 'https://helpline.example.nz',
      country: NZ,
      timezone: 'Pacific/Auckland',
      topics: ['Suicidal thoughts', 'Anxiety', 'Abuse & domestic violence'],
      phoneNumber: '1737',
      smsNumber: '1737',
    },
  ],
};

/**
 * `count` invented helplines for one country, each about 1.5 KB of JSON like a real one (a long
 * description, several topics and contact methods): `syntheticHelplines(300)` makes a US list of
 * about 450 KB, for the proxy's size limits and compression.
 */
export function syntheticHelplines(count: number, country: Country = US): Helpline[] {
  const sentence =
    'We offer free, confidential support by phone, text message and online chat, 24 hours a day, every day. ';
  return Array.from({ length: count }, (_, i) => {
    const n = String(i).padStart(12, '0');
    return {
      id: `00000000-0000-4000-8000-${n}`,
      name: `Synthetic Helpline ${i}`,
      description: sentence.repeat(9).trim(),
      website: `https://helpline-${i}.example.org/`,
      country,
      timezone: 'America/Chicago',
      topics: ['Suicidal thoughts', 'Anxiety', 'Abuse & domestic violence'],
      phoneNumber: `(800) 555-${String(i % 10_000).padStart(4, '0')}`,
      smsNumber: String(100_000 + i),
      webChatUrl: `https://helpline-${i}.example.org/chat`,
    };
  });
}

/** Which requests a scripted answer is for: by method and/or path (exact, or a prefix ending in "/"). */
export interface RequestMatch {
  readonly method?: string;
  readonly path?: string;
}

/** What the stand-in does with one request. */
export type ApiBehaviour =
  /** Answer as documented (the default when nothing is scripted). */
  | { readonly kind: 'documented' }
  | {
      readonly kind: 'json';
      readonly status: number;
      readonly body: unknown;
      readonly headers?: Readonly<Record<string, string>>;
    }
  | {
      readonly kind: 'raw';
      readonly status: number;
      readonly body: string | Buffer;
      readonly headers?: Readonly<Record<string, string>>;
    }
  /** 401 as for a refused token, without revoking it: "ThroughLine rejected this token once". */
  | { readonly kind: 'unauthorized' }
  | { readonly kind: 'delay'; readonly ms: number; readonly followedBy: ApiBehaviour }
  /** Close the connection without an answer. */
  | { readonly kind: 'reset' };

/** ThroughLine's documented answer past its limits, with a Retry-After (which it does not document). */
export function tooManyRequests(retryAfter?: string | number): ApiBehaviour {
  return {
    kind: 'json',
    status: 429,
    body: { error: 'too_many_requests' },
    ...(retryAfter === undefined ? {} : { headers: { 'retry-after': String(retryAfter) } }),
  };
}

export type AuthorizationState = 'missing' | 'malformed' | 'refused' | 'accepted';

export interface RecordedApiRequest {
  /** Arrival, epoch milliseconds. */
  readonly at: number;
  /** Arrival on the monotonic clock (performance.now()), for rates. */
  readonly arrivedMs: number;
  readonly method: string;
  readonly path: string;
  /** Decoded query parameters, repeated names kept in order. */
  readonly query: Readonly<Record<string, readonly string[]>>;
  /** Lower-case names of the headers received, sorted. */
  readonly headerNames: readonly string[];
  /** Header values, with `authorization` replaced by "[redacted]". */
  readonly headers: Readonly<Record<string, string>>;
  readonly authorization: AuthorizationState;
  /** The bearer token's fingerprint, when there was one. */
  readonly tokenFingerprint?: string;
  /** The request body as text (event reports carry no token). */
  readonly body: string;
  /** What answered: the documented behaviour, a script entry, a 401, a limit. */
  readonly answeredBy: 'documented' | 'script' | 'unauthorized' | 'rate-limit' | 'daily-quota';
  /** Filled when the answer is sent; undefined for a reset or an answer still pending. */
  status?: number;
  /** Bytes of the response body as sent (after gzip, if any). */
  responseBytes?: number;
}

export interface ThroughLineApiOptions {
  /** The version segment of every path. @default 'v2' */
  readonly version?: string;
  /** @default SMALL_DIRECTORY */
  readonly directory?: Directory;
  /** Gzip a response when the request's Accept-Encoding allows it. @default false (not documented) */
  readonly gzip?: boolean;
  /**
   * Send `ETag` and this `Cache-Control` on 200 GET answers and answer `If-None-Match` with 304.
   * @default undefined: neither (not documented)
   */
  readonly cacheControl?: string;
  /**
   * Answer 429 to a request arriving when this many already arrived in the last second
   * (ThroughLine documents 30/s). @default undefined: no limit
   */
  readonly requestsPerSecond?: number;
  /** Answer 429 once this many calls have been accepted (ThroughLine documents 1,000 a day). */
  readonly dailyQuota?: number;
  /** Retry-After on the stand-in's own 429s. @default undefined: none (not documented) */
  readonly retryAfterSeconds?: number;
  /** The success answer to an event report. @default 202 */
  readonly eventStatus?: number;
}

/** Largest request body the stand-in reads; past it, 413. ThroughLine's limit is not documented. */
const MAX_BODY_BYTES = 1024 * 1024;

export class ThroughLineApi {
  readonly requests: RecordedApiRequest[] = [];
  /** Event reports accepted, in order: `{ type, body }`. */
  readonly events: { readonly type: 'helpline_display' | 'helpline_click'; readonly body: unknown }[] = [];
  private readonly options: Required<Pick<ThroughLineApiOptions, 'version' | 'directory' | 'eventStatus'>> &
    ThroughLineApiOptions;
  private readonly accepted = new Set<string>();
  private readonly revoked = new Set<string>();
  private issuers: { readonly issuedTokens: readonly string[] }[] = [];
  private script: { readonly when: RequestMatch; readonly then: ApiBehaviour }[] = [];
  private readonly tokens = new WeakMap<RecordedApiRequest, string>();
  private acceptedCalls = 0;
  private readonly server: Server;

  private constructor(tls: TlsMaterial, options: ThroughLineApiOptions) {
    this.options = { version: 'v2', directory: SMALL_DIRECTORY, eventStatus: 202, ...options };
    this.server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => this.receive(req, res));
  }

  static async start(tls: TlsMaterial, options: ThroughLineApiOptions = {}): Promise<ThroughLineApi> {
    const api = new ThroughLineApi(tls, options);
    api.server.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
    return api;
  }

  /** The base URL (an origin, as the proxy's `upstreamBaseUrl` must be). */
  get url(): string {
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The path of an endpoint under the configured version: `path('helplines')` → `/v2/helplines`. */
  path(endpoint: string): string {
    return `/${this.options.version}/${endpoint}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- Tokens

  acceptToken(token: string): void {
    this.revoked.delete(token);
    this.accepted.add(token);
  }

  /** Accept every token this source has issued or will issue (a FakeTokenServer), unless revoked. */
  acceptTokensIssuedBy(source: { readonly issuedTokens: readonly string[] }): void {
    this.issuers.push(source);
  }

  /** From now on the token gets 401, as when ThroughLine revokes an application's credentials. */
  revokeToken(token: string): void {
    this.accepted.delete(token);
    this.revoked.add(token);
  }

  private isAccepted(token: string): boolean {
    if (this.revoked.has(token)) return false;
    return this.accepted.has(token) || this.issuers.some((s) => s.issuedTokens.includes(token));
  }

  /** The bearer token a recorded request carried: only for a test that asks, never in a summary. */
  tokenOf(request: RecordedApiRequest): string | undefined {
    return this.tokens.get(request);
  }

  // ---- Script

  /** Answers for the next accepted requests, whatever they are, in order. */
  enqueue(...behaviours: ApiBehaviour[]): void {
    for (const then of behaviours) this.script.push({ when: {}, then });
  }

  /** Answers for the next accepted requests that match, in order; other requests are answered as usual. */
  enqueueWhen(when: RequestMatch, ...behaviours: ApiBehaviour[]): void {
    for (const then of behaviours) this.script.push({ when, then });
  }

  /** Forgets the script, the records, the events and the call count (not the accepted tokens). */
  reset(): void {
    this.script = [];
    this.requests.length = 0;
    this.events.length = 0;
    this.acceptedCalls = 0;
  }

  // ---- Records

  /**
   * The most requests that arrived within any one second (a sliding 1,000 ms window over the
   * arrival times), optionally only those matching: the figure ThroughLine's 30/s is about.
   */
  peakRequestsPerSecond(filter: (request: RecordedApiRequest) => boolean = () => true): number {
    const times = this.requests
      .filter(filter)
      .map((r) => r.arrivedMs)
      .sort((a, b) => a - b);
    let peak = 0;
    let start = 0;
    for (let end = 0; end < times.length; end += 1) {
      while ((times[end] as number) - (times[start] as number) >= 1000) start += 1;
      peak = Math.max(peak, end - start + 1);
    }
    return peak;
  }

  /** One printable line per request: method, path and query, status, header names. No token. */
  summary(): string[] {
    return this.requests.map((r) => {
      const query = new URLSearchParams(
        Object.entries(r.query).flatMap(([k, vs]) => vs.map((v): [string, string] => [k, v])),
      ).toString();
      return `${r.method} ${r.path}${query ? `?${query}` : ''} → ${r.status ?? '-'} (${r.authorization}) [${r.headerNames.join(', ')}]`;
    });
  }

  // ---- Serving

  private receive(req: IncomingMessage, res: ServerResponse): void {
    // Arrival is when the request line and headers are in, as a rate limiter would count it.
    const arrivedMs = performance.now();
    const at = Date.now();
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'https://stand-in.invalid');
      const query: Record<string, string[]> = {};
      for (const [k, v] of url.searchParams) {
        query[k] = [...(query[k] ?? []), v];
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value === undefined) continue;
        headers[name] =
          name === 'authorization' ? '[redacted]' : Array.isArray(value) ? value.join(', ') : value;
      }
      const { state, token } = this.authorize(req.headers.authorization);
      const record: RecordedApiRequest = {
        at,
        arrivedMs,
        method: req.method ?? '',
        path: url.pathname,
        query,
        headerNames: Object.keys(headers).sort(),
        headers,
        authorization: state,
        ...(token ? { tokenFingerprint: tokenFingerprint(token) } : {}),
        body: Buffer.concat(chunks).toString('utf8'),
        answeredBy: 'documented',
      };
      if (token) this.tokens.set(record, token);
      this.requests.push(record);
      this.answer(record, req, res, url, tooLarge);
    });
  }

  private authorize(header: string | undefined): { state: AuthorizationState; token?: string } {
    if (header === undefined) return { state: 'missing' };
    const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(header);
    if (!match?.[1]) return { state: 'malformed' };
    return { state: this.isAccepted(match[1]) ? 'accepted' : 'refused', token: match[1] };
  }

  private answer(
    record: RecordedApiRequest,
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    tooLarge: boolean,
  ): void {
    const mutable = record as { answeredBy: RecordedApiRequest['answeredBy'] };
    if (record.authorization !== 'accepted') {
      mutable.answeredBy = 'unauthorized';
      this.behave({ kind: 'unauthorized' }, record, req, res, url, tooLarge);
      return;
    }
    const recent =
      this.options.requestsPerSecond === undefined
        ? 0
        : this.requests.filter(
            (r) => r !== record && r.authorization === 'accepted' && record.arrivedMs - r.arrivedMs < 1000,
          ).length;
    if (this.options.requestsPerSecond !== undefined && recent >= this.options.requestsPerSecond) {
      mutable.answeredBy = 'rate-limit';
      this.behave(tooManyRequests(this.options.retryAfterSeconds), record, req, res, url, tooLarge);
      return;
    }
    if (this.options.dailyQuota !== undefined && this.acceptedCalls >= this.options.dailyQuota) {
      mutable.answeredBy = 'daily-quota';
      this.behave(tooManyRequests(this.options.retryAfterSeconds), record, req, res, url, tooLarge);
      return;
    }
    this.acceptedCalls += 1;
    const index = this.script.findIndex(({ when }) => matches(when, record));
    const scripted = index >= 0 ? this.script.splice(index, 1)[0]?.then : undefined;
    if (scripted) mutable.answeredBy = 'script';
    this.behave(scripted ?? { kind: 'documented' }, record, req, res, url, tooLarge);
  }

  private behave(
    behaviour: ApiBehaviour,
    record: RecordedApiRequest,
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    tooLarge: boolean,
  ): void {
    switch (behaviour.kind) {
      case 'documented':
        this.send(record, req, res, this.documented(record, req, url, tooLarge));
        break;
      case 'json':
        this.send(record, req, res, {
          status: behaviour.status,
          body: JSON.stringify(behaviour.body),
          headers: { ...JSON_TYPE, ...behaviour.headers },
        });
        break;
      case 'raw':
        this.send(record, req, res, {
          status: behaviour.status,
          body: behaviour.body,
          headers: { 'content-type': 'text/plain; charset=utf-8', ...behaviour.headers },
        });
        break;
      case 'unauthorized': {
        // RFC 6750 §3: no error code when no token was sent; invalid_token for a refused one.
        const challenge = record.authorization === 'missing' ? 'Bearer' : 'Bearer error="invalid_token"';
        this.send(record, req, res, {
          status: 401,
          body: JSON.stringify({ error: 'unauthorized' }),
          headers: { ...JSON_TYPE, 'www-authenticate': challenge },
        });
        break;
      }
      case 'delay':
        setTimeout(() => {
          if (!req.socket.destroyed) this.behave(behaviour.followedBy, record, req, res, url, tooLarge);
        }, behaviour.ms);
        break;
      case 'reset':
        req.socket.destroy();
        break;
    }
  }

  /** The documented answer to a request whose token was accepted. */
  private documented(record: RecordedApiRequest, req: IncomingMessage, url: URL, tooLarge: boolean): Reply {
    const json = (status: number, body: unknown, extra: Record<string, string> = {}): Reply => ({
      status,
      body: JSON.stringify(body),
      headers: { ...JSON_TYPE, ...extra },
    });
    const get = (body: unknown): Reply =>
      record.method === 'GET'
        ? this.cacheable(req, JSON.stringify(body))
        : json(405, { error: 'method_not_allowed' }, { allow: 'GET' });
    const prefix = `/${this.options.version}/`;
    const endpoint = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : '';
    const { directory } = this.options;
    if (endpoint === 'countries') return get({ countries: directory.countries });
    if (endpoint === 'topics') return get({ topics: directory.topics });
    if (endpoint === 'helplines') return get({ helplines: this.helplines(url.searchParams) });
    if (endpoint.startsWith('helplines/')) {
      const helpline = directory.helplines.find((h) => h.id === endpoint.slice('helplines/'.length));
      return helpline ? get(helpline) : json(404, { error: 'not_found' });
    }
    if (endpoint === 'events/helpline_display' || endpoint === 'events/helpline_click') {
      if (record.method !== 'POST') return json(405, { error: 'method_not_allowed' }, { allow: 'POST' });
      if (tooLarge) return json(413, { error: 'payload_too_large' });
      const type = endpoint.slice('events/'.length) as 'helpline_display' | 'helpline_click';
      const missing = eventProblems(type, record.body);
      if (missing.length > 0) return json(400, { error: 'invalid_request', missing });
      this.events.push({ type, body: JSON.parse(record.body) });
      return json(this.options.eventStatus, {});
    }
    return json(404, { error: 'not_found' });
  }

  private helplines(params: URLSearchParams): readonly Helpline[] {
    const { helplines, topics } = this.options.directory;
    const country = params.get('country_code')?.toUpperCase();
    const topic = params.get('topic')?.toLowerCase();
    const topicName = topics.find((t) => t.code === topic || t.name.toLowerCase() === topic)?.name;
    let list = helplines.filter(
      (h) =>
        (country === undefined || h.country.code === country) &&
        (topic === undefined || (topicName !== undefined && h.topics.includes(topicName))),
    );
    if (params.get('priority_only') === 'true') list = list.slice(0, 1);
    const limit = Number(params.get('limit'));
    if (Number.isInteger(limit) && limit > 0) list = list.slice(0, limit);
    return list;
  }

  /** A 200 GET answer, with ETag / Cache-Control / 304 when the test turned them on. */
  private cacheable(req: IncomingMessage, body: string): Reply {
    if (this.options.cacheControl === undefined) return { status: 200, body, headers: { ...JSON_TYPE } };
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
    const headers = { ...JSON_TYPE, etag, 'cache-control': this.options.cacheControl };
    const ifNoneMatch = req.headers['if-none-match'];
    const fresh = ifNoneMatch?.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*');
    return fresh ? { status: 304, body: '', headers } : { status: 200, body, headers };
  }

  private send(record: RecordedApiRequest, req: IncomingMessage, res: ServerResponse, reply: Reply): void {
    let payload = typeof reply.body === 'string' ? Buffer.from(reply.body, 'utf8') : reply.body;
    const headers: Record<string, string> = { ...reply.headers };
    if (this.options.gzip && payload.length > 0 && acceptsGzip(req.headers['accept-encoding'])) {
      payload = gzipSync(payload);
      headers['content-encoding'] = 'gzip';
      headers.vary = 'Accept-Encoding';
    }
    if (reply.status === 304) payload = Buffer.alloc(0);
    else headers['content-length'] = String(payload.length);
    res.writeHead(reply.status, headers);
    res.end(payload);
    record.status = reply.status;
    record.responseBytes = payload.length;
  }
}

interface Reply {
  readonly status: number;
  readonly body: string | Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' } as const;

function matches(when: RequestMatch, request: RecordedApiRequest): boolean {
  if (when.method !== undefined && when.method !== request.method) return false;
  if (when.path === undefined) return true;
  return when.path.endsWith('/') ? request.path.startsWith(when.path) : request.path === when.path;
}

/** gzip allowed by an Accept-Encoding value (RFC 9110 §12.5.3): listed, or `*`, without q=0. */
function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return (coding === 'gzip' || coding === '*') && (q === undefined || Number(q.slice(2)) > 0);
  });
}

/** The documented required fields an event report lacks (docs/throughline-api.md, "Events"). */
function eventProblems(type: 'helpline_display' | 'helpline_click', text: string): string[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return ['body'];
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return ['body'];
  const fields = [
    'helpline_id',
    'session_id',
    'timestamp',
    ...(type === 'helpline_click' ? ['contact_method'] : []),
  ];
  const source = body as Record<string, unknown>;
  return fields.filter((field) => {
    const value = source[field];
    if (typeof value !== 'string' || value === '') return true;
    return field === 'timestamp' && Number.isNaN(Date.parse(value));
  });
}
