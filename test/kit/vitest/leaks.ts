import { expect } from 'vitest';

/**
 * Asserts that none of `secrets` (client secrets, access tokens) appears anywhere in `texts`:
 * log lines, error messages, handler results. Also checks common encodings of each value, since a
 * leak through base64 (e.g. a Basic auth header) is still a leak.
 */
export function expectNoSecretIn(texts: readonly string[], secrets: readonly string[]): void {
  const haystack = texts.join('\n');
  for (const secret of secrets) {
    if (!secret) continue;
    const forms = [secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')];
    for (const form of forms) {
      expect(haystack.includes(form), `a secret value (${secret.slice(0, 6)}…) leaked into output`).toBe(
        false,
      );
    }
  }
}
