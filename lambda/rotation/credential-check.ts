import type { BrokerSettings } from '../../contract/broker-settings';
import type { ClientCredentials } from '../../contract/credentials-secret';
import { validateTokenResponse } from '../token/token-response';
import { requestClientCredentialsToken } from '../upstream/oauth-client';
import { withRetries } from '../upstream/retry';

export interface CredentialCheckResult {
  readonly lifetimeSeconds: number;
  readonly attempts: number;
}

/**
 * Proves that ThroughLine accepts `credentials` by minting a real token with them, through the same
 * OAuth client, validation and retry policy as mint-token. The token is dropped at once: it is never
 * cached, returned or logged, so a test of staged credentials cannot change what callers are served.
 * Throws the broker's error (InvalidClientError, UpstreamUnavailableError, …) when no token is issued.
 */
export async function checkCredentials(
  credentials: ClientCredentials,
  settings: BrokerSettings,
  deadlineMs: number,
  now: () => number = Date.now,
): Promise<CredentialCheckResult> {
  let attempts = 0;
  const validated = await withRetries(
    async (attempt, remainingMs) => {
      attempts = attempt;
      const timeoutMs = Math.max(1, Math.min(settings.upstream.requestTimeoutMs, remainingMs));
      const body = await requestClientCredentialsToken(credentials, settings.upstream, timeoutMs);
      return validateTokenResponse(body, settings.token);
    },
    { ...settings.upstream, deadlineMs: Math.min(deadlineMs, now() + settings.upstream.totalBudgetMs) },
    { now },
  );
  return { lifetimeSeconds: validated.lifetimeSeconds, attempts };
}
