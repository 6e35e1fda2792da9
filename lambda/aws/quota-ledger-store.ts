import {
  type AttributeValue,
  BatchGetItemCommand,
  type DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CACHE_KEY_ATTRIBUTE,
  TTL_ATTRIBUTE,
  UPSTREAM_API_HOLD_KEY,
  UPSTREAM_GATE_KEY,
  USAGE_ACCOUNT_ATTRIBUTE_PREFIX,
  USAGE_KEY_PREFIX,
  USAGE_PRINCIPAL_ATTRIBUTE_PREFIX,
  USAGE_TOTAL_ATTRIBUTE,
} from '../../contract/token-cache-schema';
import { TokenCacheError } from '../errors/broker-errors';
import { OPEN_HOLD } from '../proxy/api-hold';
import type { CallerPrincipal } from '../proxy/caller-principal';
import type { UsageSnapshot } from '../proxy/quota-ledger';
import { HOUR_MS, type HourlyCounts, hourOf, WINDOW_HOURS, windowHours } from '../upstream/hourly-window';
import { parseApiHold } from './api-hold-store';
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
 * - `readAll` reads the same items for operators (mint-token's `usage`): every principal and account.
 */
export class QuotaLedgerStore {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async read(caller: CallerPrincipal, nowMs: number): Promise<UsageSnapshot> {
    const principal = `${USAGE_PRINCIPAL_ATTRIBUTE_PREFIX}${caller.principalArn}`;
    const account = caller.accountId ? `${USAGE_ACCOUNT_ATTRIBUTE_PREFIX}${caller.accountId}` : undefined;
    const items = await this.windowItems(nowMs);
    const apiCalls: Record<string, number> = {};
    const principalCalls: Record<string, number> = {};
    const accountCalls: Record<string, number> = {};
    let tokenRequests: Readonly<Record<string, number>> = {};
    let hold = OPEN_HOLD;
    for (const item of items) {
      const pk = item[CACHE_KEY_ATTRIBUTE]?.S ?? '';
      if (pk === UPSTREAM_GATE_KEY) {
        tokenRequests = gateHourlyRequests(item);
        continue;
      }
      if (pk === UPSTREAM_API_HOLD_KEY) {
        hold = parseApiHold(item);
        continue;
      }
      const hour = usageHourOf(pk);
      if (hour === undefined) continue;
      apiCalls[hour] = count(item[USAGE_TOTAL_ATTRIBUTE]);
      principalCalls[hour] = count(item[principal]);
      if (account) accountCalls[hour] = count(item[account]);
    }
    return { apiCalls, tokenRequests, principalCalls, accountCalls, hold };
  }

  /**
   * The whole ledger of the window ending now, every principal and account in it (the operators'
   * `usage` report): the same one BatchGetItem as `read`.
   */
  async readAll(nowMs: number): Promise<QuotaLedger> {
    return aggregateLedgerItems(await this.windowItems(nowMs));
  }

  /** The window's hour items and the gate's item, strongly consistent; unprocessed keys asked for again, boundedly. */
  private async windowItems(nowMs: number): Promise<Record<string, AttributeValue>[]> {
    let keys: Record<string, AttributeValue>[] = [
      ...windowHours(nowMs).map((hour) => usageKey(hour)),
      { [CACHE_KEY_ATTRIBUTE]: { S: UPSTREAM_GATE_KEY } },
      { [CACHE_KEY_ATTRIBUTE]: { S: UPSTREAM_API_HOLD_KEY } },
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
    return items;
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

/** The whole ledger: hourly counts of all calls, of token requests, and of each principal and account. */
export interface QuotaLedger {
  /** Proxied API calls, all callers. */
  readonly apiCalls: HourlyCounts;
  /** Token requests (the upstream gate's own hourly count). */
  readonly tokenRequests: HourlyCounts;
  /** By principal ARN (as the proxy counts it: sessions normalised to their role, or `unknown`). */
  readonly byPrincipal: Readonly<Record<string, HourlyCounts>>;
  /** By account id. */
  readonly byAccount: Readonly<Record<string, HourlyCounts>>;
}

/**
 * The ledger in the items BatchGetItem returned (any order): each `usage#<hour>` item's `total` and
 * every `principal:<arn>` and `account:<id>` attribute, by hour; the gate item's token requests.
 * Items of other keys, malformed hours and counts that are not positive whole numbers are ignored.
 */
export function aggregateLedgerItems(items: readonly Record<string, AttributeValue>[]): QuotaLedger {
  const apiCalls: Record<string, number> = {};
  const byPrincipal: Record<string, Record<string, number>> = {};
  const byAccount: Record<string, Record<string, number>> = {};
  let tokenRequests: HourlyCounts = {};
  const add = (into: Record<string, Record<string, number>>, who: string, hour: string, n: number) => {
    if (who.length === 0 || n === 0) return;
    const hours = into[who] ?? {};
    hours[hour] = (hours[hour] ?? 0) + n;
    into[who] = hours;
  };
  for (const item of items) {
    const pk = item[CACHE_KEY_ATTRIBUTE]?.S ?? '';
    if (pk === UPSTREAM_GATE_KEY) {
      tokenRequests = gateHourlyRequests(item);
      continue;
    }
    const hour = usageHourOf(pk);
    if (hour === undefined) continue;
    const total = count(item[USAGE_TOTAL_ATTRIBUTE]);
    if (total > 0) apiCalls[hour] = (apiCalls[hour] ?? 0) + total;
    for (const [name, value] of Object.entries(item)) {
      if (name.startsWith(USAGE_PRINCIPAL_ATTRIBUTE_PREFIX)) {
        add(byPrincipal, name.slice(USAGE_PRINCIPAL_ATTRIBUTE_PREFIX.length), hour, count(value));
      } else if (name.startsWith(USAGE_ACCOUNT_ATTRIBUTE_PREFIX)) {
        add(byAccount, name.slice(USAGE_ACCOUNT_ATTRIBUTE_PREFIX.length), hour, count(value));
      }
    }
  }
  return { apiCalls, tokenRequests, byPrincipal, byAccount };
}

/** The hour number of a `usage#<hour>` key, or undefined for any other key. */
function usageHourOf(pk: string): string | undefined {
  const hour = pk.startsWith(USAGE_KEY_PREFIX) ? pk.slice(USAGE_KEY_PREFIX.length) : undefined;
  return hour && /^\d{1,9}$/.test(hour) ? hour : undefined;
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
