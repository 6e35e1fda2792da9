import type {
  BrokerSettings,
  GateSettings,
  ProxySettings,
  QuotaSettings,
  ServeTokenSettings,
} from '../../contract/broker-settings';
import type { StageConfig } from './schema';

/**
 * Where the validated stage config (schema.ts) meets the runtime settings the functions read
 * (contract/broker-settings.ts). Both functions are typed on both sides, so a field renamed in the
 * schema or in the settings fails `tsc` here instead of reaching a function as `undefined`.
 */

/** Margin of the gate's lease beyond one token request's timeout (reading the gate, writing the outcome). */
const LEASE_MARGIN_SECONDS = 5;

/**
 * What mint-token and the rotation function read (lambda/runtime/settings.ts). With proxy mode on,
 * the quota rules too: mint-token's `usage` action reports the ledger against them.
 */
export function brokerSettingsOf(config: StageConfig): BrokerSettings {
  const gate: GateSettings = {
    ...config.gate,
    leaseSeconds: Math.ceil(config.upstream.requestTimeoutMs / 1000) + LEASE_MARGIN_SECONDS,
  };
  return {
    upstream: config.upstream,
    token: config.token,
    gate,
    ...(config.proxy.enabled ? { quota: quotaSettingsOf(config.proxy) } : {}),
  };
}

/** Proxy mode's daily quota, reserve and shares: what the proxy decides by and mint-token reports against. */
export function quotaSettingsOf(proxy: StageConfig['proxy']): QuotaSettings {
  return {
    dailyQuotaCalls: proxy.dailyQuotaCalls,
    reserveCalls: reserveCallsOf(proxy),
    shares: proxy.shares,
  };
}

/** What serve-token reads (lambda/serving/serve-token-settings.ts). */
export function serveTokenSettingsOf(config: StageConfig): ServeTokenSettings {
  return {
    defaultMinTtlSeconds: config.token.minTtlSeconds,
    maxMinTtlSeconds: config.token.maxMinTtlSeconds,
    l1MaxAgeSeconds: config.api.l1MaxAgeSeconds,
    requestBudgetMs: config.api.requestBudgetMs,
    retryAfterSeconds: config.api.retryAfterSeconds,
    mintThrottleBackoffBaseMs: config.api.mintThrottleBackoffBaseMs,
    mintThrottleBackoffCapMs: config.api.mintThrottleBackoffCapMs,
  };
}

/** The calls at which only cached answers are served: `reservePercent` of the daily quota, rounded down. */
export function reserveCallsOf(proxy: StageConfig['proxy']): number {
  return Math.max(1, Math.floor((proxy.dailyQuotaCalls * proxy.reservePercent) / 100));
}

/** What the proxy function reads (lambda/proxy/proxy-settings.ts). */
export function proxySettingsOf(config: StageConfig): ProxySettings {
  const { proxy } = config;
  return {
    upstreamBaseUrl: proxy.upstreamBaseUrl,
    routes: proxy.routes,
    requestBudgetMs: proxy.requestBudgetMs,
    upstreamTimeoutMs: proxy.upstreamTimeoutMs,
    maxRequestsPerSecond: proxy.maxRequestsPerSecond,
    dailyQuotaCalls: proxy.dailyQuotaCalls,
    reserveCalls: reserveCallsOf(proxy),
    shares: proxy.shares,
    cache: {
      ttlSecondsByPrefix: proxy.cache.enabled ? proxy.cache.ttlSecondsByPrefix : {},
      staleIfErrorSeconds: proxy.cache.staleIfErrorSeconds,
    },
  };
}
