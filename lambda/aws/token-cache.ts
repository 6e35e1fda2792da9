import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { TokenMetadata, TokenRecord } from '../../contract/token-cache-schema';
import { CACHE_KEY_ATTRIBUTE, CURRENT_TOKEN_KEY, TTL_ATTRIBUTE } from '../../contract/token-cache-schema';
import { TokenCacheError } from '../errors/broker-errors';
import type { EncryptedToken, TokenCipher } from './token-cipher';

/**
 * The shared (L2) token cache: one DynamoDB item holding the encrypted token and its metadata.
 * Metadata reads need no KMS call, so mint-token can decide "fresh, nothing to do" cheaply.
 */
export class TokenCache {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
    private readonly cipher: TokenCipher,
  ) {}

  async readMetadata(): Promise<TokenMetadata | undefined> {
    const item = await this.getItem();
    return item ? toMetadata(item) : undefined;
  }

  async read(): Promise<TokenRecord | undefined> {
    const item = await this.getItem();
    if (!item) return undefined;
    const metadata = toMetadata(item);
    let accessToken: string;
    try {
      accessToken = await this.cipher.decrypt(toEncrypted(item));
    } catch (error) {
      throw new TokenCacheError(
        `Cached token could not be decrypted (${(error as Error).name}); a forced mint replaces it`,
      );
    }
    return { ...metadata, accessToken };
  }

  /**
   * Writes the token unless a newer one (later mintedAt) is already there. An item whose mintedAt
   * is missing or not a number (unreadable: it could never be served) is replaced. Returns false
   * when it was not written because a newer token won.
   */
  async write(record: TokenRecord): Promise<boolean> {
    const encrypted = await this.cipher.encrypt(record.accessToken);
    try {
      await this.dynamo.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            [CACHE_KEY_ATTRIBUTE]: { S: CURRENT_TOKEN_KEY },
            tokenType: { S: record.tokenType },
            mintedAt: { N: String(record.mintedAt) },
            expiresAt: { N: String(record.expiresAt) },
            refreshAt: { N: String(record.refreshAt) },
            credentialVersionId: { S: record.credentialVersionId },
            [TTL_ATTRIBUTE]: { N: String(record.expiresAt) },
            encryptedKey: { S: encrypted.encryptedKey },
            iv: { S: encrypted.iv },
            ciphertext: { S: encrypted.ciphertext },
            tag: { S: encrypted.tag },
          },
          ConditionExpression:
            'attribute_not_exists(#pk) OR NOT attribute_type(#mintedAt, :number) OR #mintedAt <= :mintedAt',
          ExpressionAttributeNames: { '#pk': CACHE_KEY_ATTRIBUTE, '#mintedAt': 'mintedAt' },
          ExpressionAttributeValues: { ':mintedAt': { N: String(record.mintedAt) }, ':number': { S: 'N' } },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Removes the cached token (breach response, operator flush). Returns whether one was there. */
  async flush(): Promise<boolean> {
    const result = await this.dynamo.send(
      new DeleteItemCommand({
        TableName: this.tableName,
        Key: { [CACHE_KEY_ATTRIBUTE]: { S: CURRENT_TOKEN_KEY } },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return result.Attributes !== undefined;
  }

  private async getItem(): Promise<Record<string, AttributeValue> | undefined> {
    const result = await this.dynamo.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { [CACHE_KEY_ATTRIBUTE]: { S: CURRENT_TOKEN_KEY } },
        ConsistentRead: true,
      }),
    );
    return result.Item;
  }
}

function str(item: Record<string, AttributeValue>, name: string): string {
  const value = item[name]?.S;
  if (value === undefined)
    throw new TokenCacheError(`Cached token item lacks "${name}"; a forced mint replaces it`);
  return value;
}

function num(item: Record<string, AttributeValue>, name: string): number {
  const value = Number(item[name]?.N);
  if (!Number.isFinite(value))
    throw new TokenCacheError(`Cached token item lacks numeric "${name}"; a forced mint replaces it`);
  return value;
}

function toMetadata(item: Record<string, AttributeValue>): TokenMetadata {
  const tokenType = str(item, 'tokenType');
  if (tokenType !== 'Bearer') throw new TokenCacheError('Cached token item has an unexpected tokenType');
  return {
    tokenType,
    mintedAt: num(item, 'mintedAt'),
    expiresAt: num(item, 'expiresAt'),
    refreshAt: num(item, 'refreshAt'),
    credentialVersionId: str(item, 'credentialVersionId'),
  };
}

function toEncrypted(item: Record<string, AttributeValue>): EncryptedToken {
  return {
    encryptedKey: str(item, 'encryptedKey'),
    iv: str(item, 'iv'),
    ciphertext: str(item, 'ciphertext'),
    tag: str(item, 'tag'),
  };
}
