import {
  type AttributeValue,
  BatchGetItemCommand,
  type DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CACHE_KEY_ATTRIBUTE,
  TTL_ATTRIBUTE,
  UPSTREAM_GATE_KEY,
  USAGE_ACCOUNT_ATTRIBUTE_PREFIX,
  USAGE_KEY_PREFIX,
  USAGE_PRINCIPAL_ATTRIBUTE_PREFIX,
  USAGE_TOTAL_ATTRIBUTE,
} from '../../contract/token-cache-schema';
import { TokenCacheError } from '../errors/broker-errors';
import type { CallerPrincipal } from '../proxy/caller-principal';
import type { UsageSnapshot } from '../proxy/quota-ledger';
import { HOUR_MS, hourOf, WINDOW_HOURS, windowHours } from '../upstream/hourly-window';
import { parseGateItem } from './gate-store';

/** How many times unprocessed keys of a BatchGetItem are asked for again before the read fails. */
const MAX_BATCH_ROUNDS = 3;

/**
 * The quota ledger's items in the token table (contract/token-cache-schema.ts): one per hour.
 *
 * - Counting is UpdateItem `ADD` on the hour's item: "ADD … If the existing attribute is a number,
 *   and if Value is also a number, then Value is mathematically added to the existing attribute …
 *   If no item matches the specified primary key, UpdateItem creates a new item" (UpdateItem API
 *   reference, https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html),
 *   and every UpdateItem is atomic on its item, so concurrent instances never lose a count.
 * - Reading is one BatchGetItem of the window's 24 hour items plus the gate's item (its token
 *   requests), strongly consistent ("ConsistentRead … If set to true, then a strongly consistent read
 *   is used"); keys DynamoDB leaves unprocessed are asked for again, as the BatchGetItem reference
 *   says to ("If DynamoDB returns any unprocessed items, you should retry the batch operation on
 *   those items"), a bounded number of times.
 * - Items expire through the table's TTL a day after their hour leaves the window.
 */
export class QuotaLedgerStore {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async read(caller: CallerPrincipal, nowMs: number): Promise<UsageSnapshot> {
    const principal = `${USAGE_PRINCIPAL_ATTRIBUTE_PREFIX}${caller.principalArn}`;
    const account = caller.accountId ? `${USAGE_ACCOUNT_ATTRIBUTE_PREFIX}${caller.accountId}` : undefined;
    let keys: Record<string, AttributeValue>[] = [
      ...windowHours(nowMs).map((hour) => usageKey(hour)),
      { [CACHE_KEY_ATTRIBUTE]: { S: UPSTREAM_GATE_KEY } },
    ];
    const items: Record<string, AttributeValue>[] = [];
    for (let round = 0; keys.length > 0; round++) {
      if (round === MAX_BATCH_ROUNDS) {
        throw new TokenCacheError(
          'The quota ledger could not be read: DynamoDB left keys unprocessed (throttled)',
        );
      }
      const result = await this.dynamo.send(
        new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }),
      );
      items.push(...(result.Responses?.[this.tableName] ?? []));
      keys = (result.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, AttributeValue>[];
    }
    const apiCalls: Record<string, number> = {};
    const principalCalls: Record<string, number> = {};
    const accountCalls: Record<string, number> = {};
    let tokenRequests: Readonly<Record<string, number>> = {};
    for (const item of items) {
      const pk = item[CACHE_KEY_ATTRIBUTE]?.S ?? '';
      if (pk === UPSTREAM_GATE_KEY) {
        tokenRequests = gateHourlyRequests(item);
        continue;
      }
      const hour = pk.startsWith(USAGE_KEY_PREFIX) ? pk.slice(USAGE_KEY_PREFIX.length) : undefined;
      if (!hour || !/^\d{1,9}$/.test(hour)) continue;
      apiCalls[hour] = count(item[USAGE_TOTAL_ATTRIBUTE]);
      principalCalls[hour] = count(item[principal]);
      if (account) accountCalls[hour] = count(item[account]);
    }
    return { apiCalls, tokenRequests, principalCalls, accountCalls };
  }

  /** Counts one call to ThroughLine's API by `caller` in the current hour (before it is sent). */
  async record(caller: CallerPrincipal, nowMs: number): Promise<void> {
    const hour = hourOf(nowMs);
    const names: Record<string, string> = {
      '#total': USAGE_TOTAL_ATTRIBUTE,
      '#principal': `${USAGE_PRINCIPAL_ATTRIBUTE_PREFIX}${caller.principalArn}`,
      '#ttl': TTL_ATTRIBUTE,
    };
    if (caller.accountId) names['#account'] = `${USAGE_ACCOUNT_ATTRIBUTE_PREFIX}${caller.accountId}`;
    await this.dynamo.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: usageKey(hour),
        UpdateExpression: `ADD #total :one, #principal :one${caller.accountId ? ', #account :one' : ''} SET #ttl = :ttl`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: {
          ':one': { N: '1' },
          // A day after the hour has left the window: TTL deletes lazily, and readers ignore old hours anyway.
          ':ttl': { N: String(Math.floor(((hour + 2 * WINDOW_HOURS) * HOUR_MS) / 1000)) },
        },
      }),
    );
  }
}

function usageKey(hour: number): Record<string, AttributeValue> {
  return { [CACHE_KEY_ATTRIBUTE]: { S: `${USAGE_KEY_PREFIX}${hour}` } };
}

function count(value: AttributeValue | undefined): number {
  const n = Number(value?.N);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/** The gate's token requests per hour; an unreadable gate item counts none (mint-token reports and replaces it). */
function gateHourlyRequests(item: Record<string, AttributeValue>): Readonly<Record<string, number>> {
  try {
    return parseGateItem(item).state.hourlyRequests;
  } catch {
    return {};
  }
}
