import type { ClientCredentials } from '../contract/credentials-secret';

/** The credentials given to the CLI could not be used. The message never repeats any part of them. */
export class CredentialsInputError extends Error {
  override readonly name = 'CredentialsInputError';
}

const FORMAT_HELP =
  'give the new ThroughLine credentials on standard input, either as JSON {"client_id":"…","client_secret":"…"} ' +
  'or as two lines (client id, then client secret), e.g. from a password manager: `pm-show throughline | npm run -s broker -- credentials rotate`';

/**
 * Parses credentials read from standard input: JSON with exactly client_id and client_secret, or
 * two non-empty lines. Problems are named by field and line number only.
 */
export function parseCredentialsInput(text: string): ClientCredentials {
  const trimmed = text.trim();
  if (trimmed.length === 0)
    throw new CredentialsInputError(`Nothing was read from standard input: ${FORMAT_HELP}`);
  if (trimmed.startsWith('{')) return parseJson(trimmed);
  const lines = trimmed
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  if (lines.length !== 2) {
    throw new CredentialsInputError(
      `Expected two non-empty lines (client id, then client secret) but read ${lines.length}: ${FORMAT_HELP}`,
    );
  }
  return checked({ clientId: lines[0] as string, clientSecret: lines[1] as string });
}

function parseJson(text: string): ClientCredentials {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CredentialsInputError(`Standard input starts with "{" but is not valid JSON: ${FORMAT_HELP}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CredentialsInputError(`Standard input is JSON but not an object: ${FORMAT_HELP}`);
  }
  const fields = parsed as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((k) => k !== 'client_id' && k !== 'client_secret');
  const problems: string[] = [];
  if (unknown.length > 0)
    problems.push(`unexpected field(s) ${unknown.map((k) => JSON.stringify(k.slice(0, 40))).join(', ')}`);
  for (const field of ['client_id', 'client_secret'] as const) {
    if (fields[field] === undefined) problems.push(`"${field}" is missing`);
    else if (typeof fields[field] !== 'string') problems.push(`"${field}" is not a string`);
  }
  if (problems.length > 0)
    throw new CredentialsInputError(`The JSON on standard input: ${problems.join(', ')}. ${FORMAT_HELP}`);
  return checked({ clientId: fields.client_id as string, clientSecret: fields.client_secret as string });
}

function checked(credentials: ClientCredentials): ClientCredentials {
  const problems: string[] = [];
  for (const [label, value] of [
    ['client id', credentials.clientId],
    ['client secret', credentials.clientSecret],
  ] as const) {
    if (value.trim().length === 0) problems.push(`the ${label} is empty`);
    else if (value !== value.trim()) problems.push(`the ${label} has leading or trailing whitespace`);
    else if (hasControlCharacter(value)) problems.push(`the ${label} contains control characters`);
    else if (value.length > 1024) problems.push(`the ${label} is longer than 1024 characters`);
  }
  if (credentials.clientId === credentials.clientSecret && problems.length === 0)
    problems.push('the client id and client secret are the same: was one pasted twice?');
  if (problems.length > 0) throw new CredentialsInputError(`${problems.join('; ')}. ${FORMAT_HELP}`);
  return credentials;
}

/** The secret value the broker stores: the shape lambda/aws/credential-store.ts reads. */
export function toSecretString(credentials: ClientCredentials): string {
  return JSON.stringify({ client_id: credentials.clientId, client_secret: credentials.clientSecret });
}

function hasControlCharacter(value: string): boolean {
  for (const char of value) {
    const code = char.charCodeAt(0);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
