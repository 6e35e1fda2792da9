import { userInfo } from 'node:os';
import {
  type GateView,
  type MintTokenResponse,
  type ObtainedToken,
  OPERATOR_ALIAS,
  type QuotaUsageReport,
} from '../../contract/mint-token-payload';
import type { TokenMetadata } from '../../contract/token-cache-schema';
import { MintFailedError, type MintTokenInvoker } from '../../lambda/aws/mint-token-invoker';

/** Who asked, for mint-token's audit log: the operator's OS user (never a credential). */
export function operatorLabel(): string {
  try {
    return `cli:${userInfo().username}`.slice(0, 256);
  } catch {
    return 'cli';
  }
}

export interface RefreshOptions {
  /** Mint even if the cached token is fresh. */
  readonly force?: boolean;
  /** Pass the upstream gate's wait and daily budget, for this reason (logged and counted by mint-token). */
  readonly overrideReason?: string;
}

/**
 * Operator actions on the token cache, all through mint-token's `operator` alias (the only entry
 * point that may force a mint, flush the cache or override the gate; IAM lets only operators
 * invoke it). The operator's identity cannot read the table or the tokens in it.
 */
export class TokenAdmin {
  constructor(
    private readonly mintToken: MintTokenInvoker,
    private readonly requestedBy: string = operatorLabel(),
  ) {}

  /**
   * Brings the cache up to date; with `force`, mints even if the cached token is fresh. Throws
   * MintDeferredError (when ThroughLine may be asked again, and why) if the upstream gate is closed.
   */
  async refresh(options: RefreshOptions | boolean = {}): Promise<ObtainedToken> {
    const { force, overrideReason } =
      typeof options === 'boolean' ? { force: options, overrideReason: undefined } : options;
    return this.mintToken.obtain(
      {
        action: 'refresh',
        ...(force ? { force: true } : {}),
        ...(overrideReason !== undefined ? { overrideReason } : {}),
        requestedBy: this.requestedBy,
      },
      OPERATOR_ALIAS,
    );
  }

  /** Deletes the cached token. Returns whether there was one. */
  async flush(): Promise<boolean> {
    const result = await this.mintToken.invoke<Extract<MintTokenResponse, { outcome: 'flushed' }>>(
      { action: 'flush', requestedBy: this.requestedBy },
      undefined,
      OPERATOR_ALIAS,
    );
    return result.removed;
  }

  /** The cached token's metadata (never the token), or null when the cache is empty. */
  async describe(): Promise<TokenMetadata | null> {
    return (await this.status()).cached;
  }

  /** The cached token's metadata and the upstream gate's state. */
  async status(): Promise<{ readonly cached: TokenMetadata | null; readonly gate: GateView | undefined }> {
    const result = await this.mintToken.invoke<Extract<MintTokenResponse, { outcome: 'described' }>>(
      { action: 'describe', requestedBy: this.requestedBy },
      undefined,
      OPERATOR_ALIAS,
    );
    return { cached: result.cached, gate: result.gate };
  }

  /**
   * Proxy mode's quota ledger against the daily quota and shares (counts and ARNs; mint-token
   * neither mints nor calls ThroughLine for it). Throws ProxyModeOffError on a stack without proxy mode.
   */
  async usage(): Promise<QuotaUsageReport> {
    let result: Extract<MintTokenResponse, { outcome: 'usage' | 'usage_unavailable' }>;
    try {
      result = await this.mintToken.invoke<typeof result>(
        { action: 'usage', requestedBy: this.requestedBy },
        undefined,
        OPERATOR_ALIAS,
      );
    } catch (error) {
      if (error instanceof MintFailedError && error.errorType === 'MintTokenRequestError') {
        throw new Error(
          `${error.message} — the deployed mint-token predates \`usage\`: deploy this version of the broker`,
        );
      }
      throw error;
    }
    if (result.outcome === 'usage_unavailable') throw new ProxyModeOffError();
    if (result.outcome !== 'usage') {
      throw new MintFailedError('mint-token answered `usage` with an unknown outcome', 'BadResponse', false);
    }
    return result;
  }
}

/** `usage` on a stack without proxy mode: nothing meters calls per consumer. */
export class ProxyModeOffError extends Error {
  override readonly name = 'ProxyModeOffError';
  constructor() {
    super(
      'Proxy mode is off on this broker: only proxied calls are metered per consumer, so there is no usage to show. To meter them, set proxy.enabled to true in the stage config (cdk.json: context.stages.<stage>.proxy) and deploy; `token status` shows the token requests of the last 24 h meanwhile.',
    );
  }
}

/** "2026-11-30T10:00:00Z (in 3540 s)" — expiry times as operators read them. */
export function describeTime(epochSeconds: number, nowMs: number = Date.now()): string {
  const iso = new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const delta = epochSeconds - Math.floor(nowMs / 1000);
  return `${iso} (${delta >= 0 ? `in ${delta} s` : `${-delta} s ago`})`;
}

/** The gate in one line for operators: open, or closed until when and why; the day's request count. */
export function describeGate(gate: GateView, nowMs: number = Date.now()): string {
  const budget = `${gate.requestsLast24Hours} of ${gate.dailyRequestBudget} upstream requests used in the last 24 h`;
  if (gate.open) {
    return `Upstream gate open (${gate.consecutiveFailures > 0 ? `${gate.consecutiveFailures} failure(s) in a row, the next request is the probe` : 'no recent failures'}); ${budget}.`;
  }
  const why = gate.lastFailure
    ? `after ${gate.consecutiveFailures} failure(s), last: ${gate.lastFailure.replace(/_/g, ' ')}`
    : 'budget';
  return `Upstream gate closed until ${describeTime(gate.closedUntil ?? 0, nowMs)} (${why}); ${budget}.`;
}
