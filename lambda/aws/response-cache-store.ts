import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { CACHE_KEY_ATTRIBUTE, RESPONSE_KEY_PREFIX, TTL_ATTRIBUTE } from '../../contract/token-cache-schema';

/** A GET answer as the shared cache keeps it. */
export interface CachedResponse {
  readonly status: number;
  /** The response headers the proxy passes on (already selected). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly storedAtMs: number;
  /** Served as a hit until then. */
  readonly freshUntilMs: number;
  /** Served, marked stale, until then when ThroughLine fails or the reserve is reached. */
  readonly staleUntilMs: number;
}

/**
 * DynamoDB's item limit: "The maximum item size in DynamoDB is 400 KB, which includes both attribute
 * name binary length (UTF-8 length) and attribute value lengths" (Service, account, and table quotas
 * in Amazon DynamoDB, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html).
 * The gzipped body must leave room for the key, headers and numbers.
 */
const MAX_STORED_BODY_BYTES = 380 * 1024;

/**
 * Proxy mode's shared response cache (off by default): one item per answer in the token table,
 * `response#<SHA-256 of the key>`, the body gzipped (helpline lists are JSON and shrink about tenfold,
 * so the largest directory answer fits the item limit). Reads are eventually consistent — a cache
 * may be a moment behind — and writes are plain PutItems: the last answer wins. Items expire through
 * the table's TTL once their stale-if-error window has passed.
 */
export class ResponseCacheStore {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async get(key: string): Promise<CachedResponse | undefined> {
    const result = await this.dynamo.send(
      new GetItemCommand({ TableName: this.tableName, Key: itemKey(key) }),
    );
    return parseItem(result.Item);
  }

  /** Stores `response`; false when its gzipped body is too large for an item (it is then not cached). */
  async put(key: string, response: CachedResponse): Promise<boolean> {
    const body = gzipSync(Buffer.from(response.body, 'utf8'));
    if (body.length > MAX_STORED_BODY_BYTES) return false;
    await this.dynamo.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          ...itemKey(key),
          status: { N: String(response.status) },
          headers: { S: JSON.stringify(response.headers) },
          body: { B: body },
          storedAtMs: { N: String(response.storedAtMs) },
          freshUntilMs: { N: String(response.freshUntilMs) },
          staleUntilMs: { N: String(response.staleUntilMs) },
          [TTL_ATTRIBUTE]: { N: String(Math.ceil(response.staleUntilMs / 1000)) },
        },
      }),
    );
    return true;
  }
}

function itemKey(key: string): Record<string, AttributeValue> {
  return {
    [CACHE_KEY_ATTRIBUTE]: {
      S: `${RESPONSE_KEY_PREFIX}${createHash('sha256').update(key, 'utf8').digest('hex')}`,
    },
  };
}

/** Defensive read: anything unusable is a miss (the next good answer replaces it). */
function parseItem(item: Record<string, AttributeValue> | undefined): CachedResponse | undefined {
  if (!item?.body?.B) return undefined;
  const num = (v: AttributeValue | undefined) => {
    const n = Number(v?.N);
    return Number.isFinite(n) ? n : undefined;
  };
  const status = num(item.status);
  const storedAtMs = num(item.storedAtMs);
  const freshUntilMs = num(item.freshUntilMs);
  const staleUntilMs = num(item.staleUntilMs);
  if (
    status === undefined ||
    storedAtMs === undefined ||
    freshUntilMs === undefined ||
    staleUntilMs === undefined
  )
    return undefined;
  try {
    const headers = JSON.parse(item.headers?.S ?? '{}') as Record<string, string>;
    return {
      status,
      headers,
      body: gunzipSync(item.body.B).toString('utf8'),
      storedAtMs,
      freshUntilMs,
      staleUntilMs,
    };
  } catch {
    return undefined;
  }
}
