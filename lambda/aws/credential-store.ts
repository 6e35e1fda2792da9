import {
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { ClientCredentials } from '../../contract/credentials-secret';
import { PLACEHOLDER_FIELD } from '../../contract/credentials-secret';
import { ForeignError, safeErrorName } from '../errors/boundary-errors';
import { CredentialsMalformedError, CredentialsNotSetError } from '../errors/broker-errors';

export interface StoredCredentials extends ClientCredentials {
  /** Secrets Manager version id: the cache records it so a rotation forces a new token. */
  readonly versionId: string;
  readonly createdDate: Date | undefined;
}

export type VersionSelector =
  | { readonly stage: 'AWSCURRENT' | 'AWSPENDING' | 'AWSPREVIOUS' }
  | { readonly versionId: string };

const HOW_TO_SET =
  'put {"client_id","client_secret"} JSON into it as described in README.md, "Putting the credentials in"';

/**
 * Reads and validates the ThroughLine client credentials. Error messages name the secret and the
 * problem (missing field, not JSON…) and never contain any part of the value.
 */
export class CredentialStore {
  constructor(
    private readonly secrets: SecretsManagerClient,
    private readonly secretId: string,
  ) {}

  async read(selector: VersionSelector = { stage: 'AWSCURRENT' }): Promise<StoredCredentials> {
    const which = 'versionId' in selector ? `version ${selector.versionId}` : selector.stage;
    let result: GetSecretValueCommandOutput;
    try {
      result = await this.secrets.send(
        new GetSecretValueCommand({
          SecretId: this.secretId,
          ...('versionId' in selector ? { VersionId: selector.versionId } : { VersionStage: selector.stage }),
        }),
      );
    } catch (error) {
      if (error instanceof ResourceNotFoundException) {
        throw new CredentialsNotSetError(
          `The credentials secret ${this.secretId} has no ${which} value: ${HOW_TO_SET}`,
        );
      }
      // An SDK error's message (and hidden fields) can quote the response — e.g. a mangled answer
      // that JSON.parse choked on, secret and all: only its class name goes on.
      throw new ForeignError(
        safeErrorName(error),
        `reading the credentials secret ${this.secretId} (${which})`,
      );
    }
    return parseCredentials(result.SecretString, {
      secretId: this.secretId,
      which,
      versionId: result.VersionId,
      createdDate: result.CreatedDate,
    });
  }
}

export function parseCredentials(
  secretString: string | undefined,
  meta: { secretId: string; which: string; versionId: string | undefined; createdDate: Date | undefined },
): StoredCredentials {
  const where = `The credentials secret ${meta.secretId} (${meta.which})`;
  if (secretString === undefined) {
    throw new CredentialsMalformedError(
      `${where} holds no SecretString (binary secrets are not supported): ${HOW_TO_SET}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    throw new CredentialsMalformedError(`${where} is not valid JSON: ${HOW_TO_SET}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CredentialsMalformedError(`${where} is JSON but not an object: ${HOW_TO_SET}`);
  }
  const fields = parsed as Record<string, unknown>;
  if (PLACEHOLDER_FIELD in fields) {
    throw new CredentialsNotSetError(`${where} still holds the deploy-time placeholder: ${HOW_TO_SET}`);
  }
  const problems: string[] = [];
  for (const field of ['client_id', 'client_secret'] as const) {
    const value = fields[field];
    if (value === undefined) problems.push(`"${field}" is missing`);
    else if (typeof value !== 'string')
      problems.push(`"${field}" is a ${Array.isArray(value) ? 'array' : typeof value}, not a string`);
    else if (value.trim().length === 0) problems.push(`"${field}" is empty`);
    else if (value !== value.trim()) problems.push(`"${field}" has leading or trailing whitespace`);
  }
  if (problems.length > 0) {
    throw new CredentialsMalformedError(`${where} is malformed: ${problems.join(', ')}. Fix: ${HOW_TO_SET}`);
  }
  if (!meta.versionId) {
    throw new CredentialsMalformedError(
      `${where} has no VersionId; Secrets Manager always sets one — check the endpoint`,
    );
  }
  return {
    clientId: fields.client_id as string,
    clientSecret: fields.client_secret as string,
    versionId: meta.versionId,
    createdDate: meta.createdDate,
  };
}
