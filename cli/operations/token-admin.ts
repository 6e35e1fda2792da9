import { userInfo } from 'node:os';
import type { MintTokenInvoker } from '../../lambda/core/mint-token-invoker';
import type { EnsureTokenResult } from '../../lambda/core/token-minter';
import type { TokenMetadata } from '../../lambda/core/token-record';
import type { MintTokenResponse } from '../../lambda/handlers/mint-token';

/** Who asked, for mint-token's audit log: the operator's OS user (never a credential). */
export function operatorLabel(): string {
  try {
    return `cli:${userInfo().username}`.slice(0, 256);
  } catch {
    return 'cli';
  }
}

/**
 * Operator actions on the token cache, all through mint-token (the only writer of the cache; the
 * operator's identity cannot read the table or the tokens in it).
 */
export class TokenAdmin {
  constructor(
    private readonly mintToken: MintTokenInvoker,
    private readonly requestedBy: string = operatorLabel(),
  ) {}

  /** Brings the cache up to date; with `force`, mints even if the cached token is fresh. */
  async refresh(force: boolean): Promise<EnsureTokenResult> {
    return this.mintToken.invoke<EnsureTokenResult>({
      action: 'refresh',
      ...(force ? { force: true } : {}),
      requestedBy: this.requestedBy,
    });
  }

  /** Deletes the cached token. Returns whether there was one. */
  async flush(): Promise<boolean> {
    const result = await this.mintToken.invoke<Extract<MintTokenResponse, { outcome: 'flushed' }>>({
      action: 'flush',
      requestedBy: this.requestedBy,
    });
    return result.removed;
  }

  /** The cached token's metadata (never the token), or null when the cache is empty. */
  async describe(): Promise<TokenMetadata | null> {
    const result = await this.mintToken.invoke<Extract<MintTokenResponse, { outcome: 'described' }>>({
      action: 'describe',
      requestedBy: this.requestedBy,
    });
    return result.cached;
  }
}

/** "2026-11-30T10:00:00Z (in 3540 s)" — expiry times as operators read them. */
export function describeTime(epochSeconds: number, nowMs: number = Date.now()): string {
  const iso = new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const delta = epochSeconds - Math.floor(nowMs / 1000);
  return `${iso} (${delta >= 0 ? `in ${delta} s` : `${-delta} s ago`})`;
}
