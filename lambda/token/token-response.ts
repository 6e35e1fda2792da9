import type { TokenSettings } from '../../contract/broker-settings';
import { BadTokenResponseError } from '../errors/broker-errors';

export interface ValidatedTokenResponse {
  readonly accessToken: string;
  readonly lifetimeSeconds: number;
  /** Where the lifetime came from: the response, the configured default, or the cap. */
  readonly lifetimeSource: 'expires_in' | 'default' | 'capped';
}

/** Visible ASCII only (RFC 6750 b64token and friends): anything else could not travel in a header. */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;
const MAX_TOKEN_LENGTH = 16_384;

/**
 * Validates a 200 response body from the token endpoint, defensively: ThroughLine documents only
 * `access_token` and (by every known client) `expires_in`. Errors name the field and the problem,
 * never the value, since the body holds the token.
 */
export function validateTokenResponse(body: unknown, settings: TokenSettings): ValidatedTokenResponse {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadTokenResponseError('Token endpoint returned 200 but the body is not a JSON object');
  }
  const json = body as Record<string, unknown>;

  const accessToken = json.access_token;
  if (typeof accessToken !== 'string' || accessToken.length === 0) {
    throw new BadTokenResponseError(
      `Token endpoint returned 200 without a non-empty "access_token" (${accessToken === undefined ? 'missing' : `a ${typeof accessToken}`})`,
    );
  }
  if (accessToken.length > MAX_TOKEN_LENGTH || !TOKEN_CHARS.test(accessToken)) {
    throw new BadTokenResponseError(
      `Token endpoint returned an "access_token" of ${accessToken.length} characters that is not a printable token`,
    );
  }

  if (json.token_type !== undefined) {
    if (typeof json.token_type !== 'string' || json.token_type.toLowerCase() !== 'bearer') {
      throw new BadTokenResponseError(
        `Token endpoint returned "token_type" ${typeof json.token_type === 'string' ? JSON.stringify(json.token_type.slice(0, 20)) : `of type ${typeof json.token_type}`}; the broker only serves Bearer tokens`,
      );
    }
  }

  return { accessToken, ...lifetimeOf(json.expires_in, settings) };
}

/** expires_in may be a number or a numeric string; missing or not a number → default; below 1 → bad response; absurd → capped. */
export function lifetimeOf(
  expiresIn: unknown,
  settings: Pick<TokenSettings, 'defaultLifetimeSeconds' | 'maxLifetimeSeconds'>,
): Pick<ValidatedTokenResponse, 'lifetimeSeconds' | 'lifetimeSource'> {
  const value =
    typeof expiresIn === 'number'
      ? expiresIn
      : typeof expiresIn === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(expiresIn)
        ? Number(expiresIn)
        : Number.NaN;
  if (!Number.isFinite(value)) {
    return { lifetimeSeconds: settings.defaultLifetimeSeconds, lifetimeSource: 'default' };
  }
  // A stated lifetime below one second is a token that is already expired: a bad response, not
  // "no lifetime given" (serving it for the default hour would hand out a dead token).
  if (value < 1) {
    throw new BadTokenResponseError(
      'Token endpoint returned "expires_in" below 1 second: the token is already expired',
    );
  }
  if (value > settings.maxLifetimeSeconds) {
    return { lifetimeSeconds: settings.maxLifetimeSeconds, lifetimeSource: 'capped' };
  }
  return { lifetimeSeconds: Math.floor(value), lifetimeSource: 'expires_in' };
}
