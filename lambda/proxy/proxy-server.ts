import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { parseRetryAfter } from '../../contract/backoff';
import type { ProxySettings } from '../../contract/broker-settings';
import { MetricName } from '../../contract/metric-names';
import {
  CACHE_STATUS_HEADER,
  type CacheStatus,
  ProxyErrorCode,
  SHARE_HEADER,
} from '../../contract/proxy-api';
import type { TokenRecord } from '../../contract/token-cache-schema';
import { tokenFingerprint } from '../../contract/token-fingerprint';
import type { CachedResponse } from '../aws/response-cache-store';
import type { ServeOutcome, TokenRequestOptions } from '../serving/token-server';
import { type ApiHold, heldUntilMs, holdDecision } from './api-hold';
import type { CallerPrincipal } from './caller-principal';
import {
  checkRequestBody,
  MAX_UPSTREAM_RESPONSE_BYTES,
  selectRequestHeaders,
  selectResponseHeaders,
} from './proxy-headers';
import { type ProxyRequestInput, type ProxyTarget, resolveProxyRequest } from './proxy-request';
import { decideQuota, shareOf, type UsageSnapshot } from './quota-ledger';

/**
 * Proxy mode's one call: a caller's request to ThroughLine's API, sent with the cached token so the
 * caller never holds one. In order, each step able to refuse without spending quota:
 *
 * 1. the path, query, headers and body pass the proxy's rules (proxy-request.ts, proxy-headers.ts);
 * 2. the quota ledger admits the call: the customer is below the reserve and the caller below its
 *    daily share (quota-ledger.ts);
 * 3. a token is at hand (the cached one, as serve-token gets it: tokens never leave the broker);
 * 4. a slot in the fleet-wide per-second limit is free, waiting for the next second if the budget allows;
 * 5. the call is counted in the ledger, then sent.
 *
 * Between 2 and 3, the fleet-wide hold (api-hold.ts): after ThroughLine's API failed (5xx, 429,
 * unreachable), no call goes out until the backoff or its Retry-After has passed, and then one probe.
 *
 * With the shared response cache on for the route (off by default), a GET answered within its TTL
 * comes from the cache before step 2 (no quota spent), and the last good answer is served, marked
 * `stale`, in place of a failure — ThroughLine down, throttling, the reserve reached, no token — for
 * `staleIfErrorSeconds` past its TTL (RFC 5861 §4, stale-if-error).
 *
 * A 401 reports the token rejected (mint-token decides, through the upstream gate, whether to replace
 * it) and the call is sent once more with the replacement, through steps 4 and 5 again. ThroughLine's
 * status and body come back unchanged; the broker's own refusals use the token API's error shape and
 * carry an honest Retry-After. Nothing here logs or returns a token or a query value.
 */
export interface ProxyCall extends ProxyRequestInput {
  readonly headers: Readonly<Record<string, string | undefined>> | null | undefined;
  readonly body: string | null | undefined;
  readonly isBase64Encoded: boolean;
  readonly caller: CallerPrincipal;
}

export interface ProxyAnswer {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** What the audit line records about the call (never a token, never a query value). */
  readonly audit: Record<string, unknown>;
}

export interface ProxyServerDeps {
  readonly settings: ProxySettings;
  readonly target: ProxyTarget;
  /** The token source: serve-token's TokenServer (L1 → L2 → mint-token `ensure`). */
  readonly tokens: { getToken(options: TokenRequestOptions, deadlineMs: number): Promise<ServeOutcome> };
  readonly minTtlSeconds: number;
  readonly ledger: {
    read(caller: CallerPrincipal, nowMs: number): Promise<UsageSnapshot>;
    record(caller: CallerPrincipal, nowMs: number): Promise<void>;
  };
  readonly rateSlots: { take(nowMs: number, limit: number): Promise<boolean> };
  /** The fleet-wide hold on ThroughLine's API (api-hold.ts); its state comes with the ledger read. */
  readonly apiHold: {
    takeProbe(read: ApiHold, nowMs: number, probeUntilMs: number): Promise<boolean>;
    recordFailure(read: ApiHold, untilMs: number): Promise<boolean>;
    recordSuccess(read: ApiHold): Promise<boolean>;
  };
  /** The shared response cache; absent (or no route with a TTL) when the cache is off. */
  readonly responseCache?: {
    get(key: string): Promise<CachedResponse | undefined>;
    put(key: string, response: CachedResponse): Promise<boolean>;
  };
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** Headers on every answer the broker writes itself. */
const BROKER_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'application/json',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
};

const MESSAGES = {
  quotaShare: (share: number) =>
    `This caller has used its daily share of ThroughLine's quota (${share} calls in a rolling 24 hours). Retry after the seconds in Retry-After, or ask the broker's operators for a larger share.`,
  reserve:
    "ThroughLine's daily quota for this organisation is nearly spent: the broker is keeping the rest in reserve. Retry after the seconds in Retry-After; the broker's operators have been paged.",
  held: "ThroughLine's API is failing or asked the broker to wait: the broker holds every caller's calls until then, so the organisation's quota is not spent on failures. Retry after the seconds in Retry-After.",
  rateLimited:
    "The broker's calls to ThroughLine are at ThroughLine's per-second limit. Retry after the seconds in Retry-After.",
  tokenUnavailable:
    'No ThroughLine access token can be had right now. Retry after the seconds in Retry-After; if this persists, tell the token broker operators.',
  upstreamUnavailable:
    'ThroughLine could not be reached or did not answer in time. Retry later; if this persists, tell the token broker operators.',
  upstreamTooLarge: `ThroughLine answered more than the broker passes on (${MAX_UPSTREAM_RESPONSE_BYTES} bytes): narrow the request (e.g. by country or topic).`,
  internal:
    'The token broker failed unexpectedly. Retry later; if this persists, tell the token broker operators.',
} as const;

/** Time kept for the answer after the last step: writing the response and the audit line. */
const ANSWER_MARGIN_MS = 250;

export class ProxyServer {
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly fetch: typeof fetch;

  constructor(private readonly deps: ProxyServerDeps) {
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? delay;
    this.fetch = deps.fetch ?? fetch;
  }

  async handle(call: ProxyCall, deadlineMs: number): Promise<ProxyAnswer> {
    const { metrics, settings } = this.deps;
    metrics.addMetric(MetricName.ProxyRequest, MetricUnit.Count, 1);
    const audit: Record<string, unknown> = {
      caller: call.caller.principalArn,
      accountId: call.caller.accountId,
      method: call.method,
    };

    const resolved = resolveProxyRequest(call, this.deps.target);
    if (!resolved.ok) {
      const { refusal } = resolved;
      metrics.addMetric(MetricName.ProxyRequestRefused, MetricUnit.Count, 1);
      const code =
        refusal.status === 404
          ? ProxyErrorCode.PathNotAllowed
          : refusal.status === 405
            ? ProxyErrorCode.MethodNotAllowed
            : ProxyErrorCode.InvalidRequest;
      return this.refuse(
        refusal.status,
        code,
        refusal.message,
        { ...audit, reason: refusal.reason },
        {
          ...(refusal.allow ? { Allow: refusal.allow.join(', ') } : {}),
        },
      );
    }
    audit.pathTemplate = resolved.pathTemplate;
    const contentType = headerOf(call.headers, 'content-type');
    const body = checkRequestBody({
      method: call.method,
      body: call.body,
      isBase64Encoded: call.isBase64Encoded,
      contentType,
    });
    if (!body.ok) {
      metrics.addMetric(MetricName.ProxyRequestRefused, MetricUnit.Count, 1);
      const code =
        body.refusal.status === 413
          ? ProxyErrorCode.RequestTooLarge
          : body.refusal.status === 415
            ? ProxyErrorCode.UnsupportedMediaType
            : ProxyErrorCode.InvalidRequest;
      return this.refuse(body.refusal.status, code, body.refusal.message, {
        ...audit,
        reason: body.refusal.reason,
      });
    }
    const ttlSeconds =
      call.method === 'GET' && this.deps.responseCache
        ? settings.cache.ttlSecondsByPrefix[resolved.route.prefix]
        : undefined;
    // A caller's conditional GET would get a 304 from ThroughLine, which is no body to cache or share.
    const forwarded = selectRequestHeaders(call.headers, {
      method: call.method,
      conditional: ttlSeconds === undefined,
    });
    const cacheKey =
      ttlSeconds === undefined ? undefined : responseCacheKey(resolved.cacheKey, forwarded.headers);
    const cached = cacheKey ? await this.readCache(cacheKey) : undefined;
    if (cached && this.now() < cached.freshUntilMs) {
      metrics.addMetric(MetricName.ProxyCacheHit, MetricUnit.Count, 1);
      return this.fromCache(cached, 'hit', audit);
    }
    /** The last good answer in place of a failure, while its stale-if-error window lasts. */
    const staleOr = (failure: ProxyAnswer): ProxyAnswer => {
      if (!cached || this.now() >= cached.staleUntilMs) return failure;
      metrics.addMetric(MetricName.ProxyCacheStaleServed, MetricUnit.Count, 1);
      return this.fromCache(cached, 'stale', {
        ...audit,
        instead: failure.audit.error ?? failure.statusCode,
      });
    };

    // 2. The quota: refused here, ThroughLine is not asked and nothing is counted.
    const share = shareOf(call.caller, settings.shares);
    const snapshot = await this.deps.ledger.read(call.caller, this.now());
    const decision = decideQuota(snapshot, share, settings, this.now());
    metrics.addMetric(MetricName.QuotaCallsLast24Hours, MetricUnit.Count, decision.callsLast24Hours);
    metrics.addMetric(
      MetricName.QuotaUsedPercent,
      MetricUnit.Percent,
      Math.round((decision.callsLast24Hours / settings.dailyQuotaCalls) * 1000) / 10,
    );
    audit.callsLast24Hours = decision.callsLast24Hours;
    if (!decision.admit && decision.reason === 'quota_reserve_reached') {
      metrics.addMetric(MetricName.QuotaReserveReached, MetricUnit.Count, 1);
      return staleOr(
        this.refuse(
          503,
          ProxyErrorCode.QuotaReserveReached,
          MESSAGES.reserve,
          audit,
          {},
          decision.retryAfterSeconds,
        ),
      );
    }
    audit.share = decision.share.dailyCalls;
    audit.shareScope = decision.share.scope;
    audit.usedByCaller = decision.usedByCaller;
    if (!decision.admit) {
      metrics.addMetric(MetricName.QuotaShareExhausted, MetricUnit.Count, 1);
      return this.refuse(
        429,
        ProxyErrorCode.QuotaShareExhausted,
        MESSAGES.quotaShare(decision.share.dailyCalls),
        audit,
        { [SHARE_HEADER]: `remaining=0; daily=${decision.share.dailyCalls}` },
        decision.retryAfterSeconds,
      );
    }

    // The fleet-wide hold: ThroughLine's API failing or throttling is asked at most once per wait.
    const heldAnswer = (retryAfterSeconds: number) => {
      metrics.addMetric(MetricName.UpstreamApiHeld, MetricUnit.Count, 1);
      return staleOr(
        this.refuse(
          503,
          ProxyErrorCode.UpstreamUnavailable,
          MESSAGES.held,
          { ...audit, reason: 'upstream_held' },
          {},
          retryAfterSeconds,
        ),
      );
    };
    const hold = holdDecision(snapshot.hold, this.now());
    if (hold.send === 'no') return heldAnswer(hold.retryAfterSeconds);

    // 3–5 and the one retry after a 401.
    let rejected: string | undefined;
    for (let attempt = 1; ; attempt++) {
      const token = await this.deps.tokens.getToken(
        { minTtlSeconds: this.deps.minTtlSeconds, ...(rejected ? { rejectedFingerprint: rejected } : {}) },
        deadlineMs,
      );
      if (!token.ok) {
        return staleOr(
          this.refuse(
            503,
            ProxyErrorCode.TokenUnavailable,
            MESSAGES.tokenUnavailable,
            { ...audit, attempts: attempt - 1, reason: token.reason },
            {},
            'retryAfterSeconds' in token ? token.retryAfterSeconds : settings.upstreamTimeoutMs / 1000,
          ),
        );
      }
      if (rejected && tokenFingerprint(token.record.accessToken) === rejected) {
        // mint-token kept the rejected token (the gate held ThroughLine back): no replacement to try.
        return staleOr(
          this.refuse(
            503,
            ProxyErrorCode.TokenUnavailable,
            MESSAGES.tokenUnavailable,
            {
              ...audit,
              attempts: attempt - 1,
              reason: 'token_rejected_not_replaced',
            },
            {},
            60,
          ),
        );
      }
      if (hold.send === 'as_probe' && attempt === 1) {
        const probeUntilMs = this.now() + settings.upstreamTimeoutMs + ANSWER_MARGIN_MS;
        if (
          !(await this.holdWrite(() => this.deps.apiHold.takeProbe(snapshot.hold, this.now(), probeUntilMs)))
        ) {
          return heldAnswer((probeUntilMs - this.now()) / 1000);
        }
        audit.probe = true;
      }
      const slot = await this.takeRateSlot(deadlineMs);
      if (!slot) {
        metrics.addMetric(MetricName.ProxyRateLimited, MetricUnit.Count, 1);
        return staleOr(
          this.refuse(
            503,
            ProxyErrorCode.RateLimited,
            MESSAGES.rateLimited,
            { ...audit, attempts: attempt - 1 },
            {},
            1,
          ),
        );
      }
      // Sent at once after its slot (a delay here would move the call into a later second), and
      // counted while it is in flight: the count is written before ThroughLine's answer is used.
      const [, sent] = await Promise.all([
        this.deps.ledger.record(call.caller, this.now()),
        this.send(resolved.url, call.method, forwarded.headers, body.body, token.record, deadlineMs),
      ]);
      audit.attempts = attempt;
      audit.upstreamLatencyMs = sent.latencyMs;
      const failed =
        sent.kind === 'failed' || (sent.kind === 'answered' && (sent.status >= 500 || sent.status === 429));
      if (failed) {
        const retryAfter =
          sent.kind === 'answered' ? parseRetryAfter(sent.headers['retry-after'], this.now()) : undefined;
        const untilMs = heldUntilMs(snapshot.hold.failures + 1, this.now(), retryAfter);
        await this.holdWrite(() => this.deps.apiHold.recordFailure(snapshot.hold, untilMs));
      } else if (snapshot.hold.failures > 0 && sent.kind === 'answered') {
        await this.holdWrite(() => this.deps.apiHold.recordSuccess(snapshot.hold));
      }
      if (sent.kind === 'failed') {
        metrics.addMetric(MetricName.UpstreamApiFailed, MetricUnit.Count, 1);
        const timedOut = sent.reason === 'timeout';
        return staleOr(
          this.refuse(
            timedOut ? 504 : 502,
            ProxyErrorCode.UpstreamUnavailable,
            MESSAGES.upstreamUnavailable,
            {
              ...audit,
              reason: sent.reason,
            },
          ),
        );
      }
      if (sent.kind === 'too_large') {
        return this.refuse(502, ProxyErrorCode.UpstreamResponseTooLarge, MESSAGES.upstreamTooLarge, {
          ...audit,
          upstreamStatus: sent.status,
          reason: 'upstream_response_too_large',
        });
      }
      audit.upstreamStatus = sent.status;
      if (sent.status === 401 && attempt === 1) {
        metrics.addMetric(MetricName.UpstreamApiTokenRejected, MetricUnit.Count, 1);
        this.deps.logger.warn(
          'ThroughLine rejected the cached token: reported, and the call is sent once more',
          {
            pathTemplate: resolved.pathTemplate,
          },
        );
        rejected = tokenFingerprint(token.record.accessToken);
        continue;
      }
      if (sent.status >= 500) metrics.addMetric(MetricName.UpstreamApiFailed, MetricUnit.Count, 1);
      if (sent.status === 429) metrics.addMetric(MetricName.UpstreamApiThrottled, MetricUnit.Count, 1);
      const answer: ProxyAnswer = {
        statusCode: sent.status,
        headers: { ...sent.headers, [CACHE_STATUS_HEADER]: 'miss' satisfies CacheStatus },
        body: sent.body,
        audit: { ...audit, status: sent.status, outcome: 'forwarded', cache: 'miss' },
      };
      if (sent.status >= 500 || sent.status === 429) return staleOr(answer);
      if (cacheKey && ttlSeconds !== undefined && sent.status === 200) {
        await this.storeInCache(cacheKey, sent.headers, sent.body, ttlSeconds);
      }
      return answer;
    }
  }

  /** A hold write; false when another instance wrote first (or the write failed: logged, the call goes on). */
  private async holdWrite(write: () => Promise<boolean>): Promise<boolean> {
    try {
      return await write();
    } catch (error) {
      this.deps.logger.warn('Upstream API hold not written', { errorName: (error as Error).name });
      return false;
    }
  }

  private async readCache(key: string): Promise<CachedResponse | undefined> {
    try {
      return await this.deps.responseCache?.get(key);
    } catch (error) {
      // The cache is an optimisation: unreadable, the call goes to ThroughLine as if it were off.
      this.deps.logger.warn('Response cache unreadable; asking ThroughLine', {
        errorName: (error as Error).name,
      });
      return undefined;
    }
  }

  private async storeInCache(
    key: string,
    headers: Record<string, string>,
    body: string,
    ttlSeconds: number,
  ): Promise<void> {
    const storedAtMs = this.now();
    const freshUntilMs = storedAtMs + ttlSeconds * 1000;
    try {
      const stored = await this.deps.responseCache?.put(key, {
        status: 200,
        headers,
        body,
        storedAtMs,
        freshUntilMs,
        staleUntilMs: freshUntilMs + this.deps.settings.cache.staleIfErrorSeconds * 1000,
      });
      if (stored === false)
        this.deps.metrics.addMetric(MetricName.ProxyCacheStoreSkipped, MetricUnit.Count, 1);
    } catch (error) {
      this.deps.logger.warn('Response cache not written; the answer is served anyway', {
        errorName: (error as Error).name,
      });
    }
  }

  private fromCache(
    cached: CachedResponse,
    status: 'hit' | 'stale',
    audit: Record<string, unknown>,
  ): ProxyAnswer {
    const ageSeconds = Math.max(0, Math.floor((this.now() - cached.storedAtMs) / 1000));
    return {
      statusCode: cached.status,
      // Age: RFC 9111 §5.1, seconds since the answer came from ThroughLine.
      headers: {
        ...cached.headers,
        Age: String(ageSeconds),
        [CACHE_STATUS_HEADER]: status satisfies CacheStatus,
      },
      body: cached.body,
      audit: { ...audit, status: cached.status, outcome: 'cached', cache: status, ageSeconds },
    };
  }

  /** A slot in this second's limit, or in a later second's while the deadline allows waiting for it. */
  private async takeRateSlot(deadlineMs: number): Promise<boolean> {
    const { settings } = this.deps;
    for (;;) {
      if (await this.deps.rateSlots.take(this.now(), settings.maxRequestsPerSecond)) return true;
      // The next second's bucket, plus a little jitter so waiting instances do not all arrive at once.
      const waitMs = 1000 - (this.now() % 1000) + Math.floor(Math.random() * 50);
      if (this.now() + waitMs + settings.upstreamTimeoutMs + ANSWER_MARGIN_MS > deadlineMs) return false;
      await this.sleep(waitMs);
    }
  }

  private async send(
    url: URL,
    method: string,
    headers: Readonly<Record<string, string>>,
    body: Buffer | undefined,
    token: TokenRecord,
    deadlineMs: number,
  ): Promise<
    | { kind: 'answered'; status: number; headers: Record<string, string>; body: string; latencyMs: number }
    | { kind: 'too_large'; status: number; latencyMs: number }
    | { kind: 'failed'; reason: 'timeout' | 'unreachable'; latencyMs: number }
  > {
    const { metrics, settings } = this.deps;
    const startedMs = this.now();
    const timeoutMs = Math.max(
      1,
      Math.min(settings.upstreamTimeoutMs, deadlineMs - startedMs - ANSWER_MARGIN_MS),
    );
    metrics.addMetric(MetricName.UpstreamApiCall, MetricUnit.Count, 1);
    try {
      const response = await this.fetch(url, {
        method,
        headers: { ...headers, authorization: `Bearer ${token.accessToken}` },
        ...(body ? { body: new Uint8Array(body) } : {}),
        // A redirect could lead the token to another host: never followed, passed back as it is.
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      const read = await readLimited(response, MAX_UPSTREAM_RESPONSE_BYTES);
      const latencyMs = this.now() - startedMs;
      metrics.addMetric(MetricName.UpstreamApiLatency, MetricUnit.Milliseconds, latencyMs);
      if (read === undefined) return { kind: 'too_large', status: response.status, latencyMs };
      return {
        kind: 'answered',
        status: response.status,
        headers: selectResponseHeaders(response.headers).headers,
        body: read,
        latencyMs,
      };
    } catch (error) {
      const latencyMs = this.now() - startedMs;
      const name = (error as Error | undefined)?.name;
      return {
        kind: 'failed',
        reason: name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'unreachable',
        latencyMs,
      };
    }
  }

  private refuse(
    status: number,
    error: ProxyErrorCode,
    message: string,
    audit: Record<string, unknown>,
    headers: Record<string, string> = {},
    retryAfterSeconds?: number,
  ): ProxyAnswer {
    const retryAfter =
      retryAfterSeconds === undefined ? undefined : Math.max(1, Math.ceil(retryAfterSeconds));
    return {
      statusCode: status,
      headers: {
        ...BROKER_HEADERS,
        ...headers,
        [CACHE_STATUS_HEADER]: 'none' satisfies CacheStatus,
        ...(retryAfter !== undefined ? { 'Retry-After': String(retryAfter) } : {}),
      },
      body: JSON.stringify({ error, message }),
      audit: {
        ...audit,
        status,
        outcome: 'refused',
        error,
        cache: 'none',
        ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}),
      },
    };
  }
}

/** The body as text if it is at most `limit` bytes, else undefined (the rest is not read). */
async function readLimited(response: Response, limit: number): Promise<string | undefined> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) {
      await response.body.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The cache key: the normalised path and query, and the forwarded headers an answer may vary on. */
export function responseCacheKey(pathAndQuery: string, forwarded: Readonly<Record<string, string>>): string {
  return [
    pathAndQuery,
    `accept:${forwarded.accept ?? ''}`,
    `accept-language:${forwarded['accept-language'] ?? ''}`,
  ].join('\n');
}

function headerOf(headers: ProxyCall['headers'], name: string): string | undefined {
  if (!headers) return undefined;
  for (const [key, value] of Object.entries(headers))
    if (key.toLowerCase() === name && value !== undefined) return value;
  return undefined;
}
