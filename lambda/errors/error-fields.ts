import { FOREIGN_MESSAGE_WITHHELD, isBrokerBuilt, safeErrorName } from './boundary-errors';

/** What of an error is logged: class, message (secret-free by construction) and HTTP facts. No cause, no body. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { name: 'NonError', message: typeof error };
  // A foreign message may quote the data that caused it (lambda/errors/boundary-errors.ts): only its class is logged.
  const fields: Record<string, unknown> = isBrokerBuilt(error)
    ? { name: error.name, message: error.message }
    : { name: safeErrorName(error), message: FOREIGN_MESSAGE_WITHHELD };
  const { status, oauthError, retryAfterSeconds } = error as {
    status?: unknown;
    oauthError?: unknown;
    retryAfterSeconds?: unknown;
  };
  if (status !== undefined) fields.status = status;
  if (oauthError !== undefined) fields.oauthError = oauthError;
  if (retryAfterSeconds !== undefined) fields.retryAfterSeconds = retryAfterSeconds;
  return fields;
}
