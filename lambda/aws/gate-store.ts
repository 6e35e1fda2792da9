import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { CACHE_KEY_ATTRIBUTE, UPSTREAM_GATE_KEY } from '../../contract/token-cache-schema';
import { TokenCacheError } from '../errors/broker-errors';
import { EMPTY_GATE, type GateState } from '../upstream/gate-policy';

/** The stored gate could not be parsed; it is replaced by a fresh one on the next write. */
export interface GateRead {
  readonly state: GateState;
  /** The item held something unparseable (logged by the caller; the next write replaces it). */
  readonly corrupt: boolean;
}

/**
 * The gate's state as one item of the token table (key `upstream-gate`), beside the cached token.
 * Every change is a conditional PutItem on the version the writer read (optimistic concurrency):
 * DynamoDB evaluates the condition and the write atomically, so two instances can never both take
 * the lease ("Condition expressions", DynamoDB Developer Guide:
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html).
 * Reads are strongly consistent (GetItem ConsistentRead), so a reader sees every acknowledged write
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.ReadConsistency.html).
 */
export class GateStore {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async read(): Promise<GateRead> {
    const result = await this.dynamo.send(
      new GetItemCommand({ TableName: this.tableName, Key: key(), ConsistentRead: true }),
    );
    return parseGateItem(result.Item);
  }

  /** Writes `next` if the stored version is still `next.version`. False when another writer won. */
  async write(next: GateState): Promise<boolean> {
    const { version, ...rest } = next;
    try {
      await this.dynamo.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...key(),
            version: { N: String(version + 1) },
            state: { S: JSON.stringify(rest) },
          },
          ConditionExpression: version === 0 ? 'attribute_not_exists(#pk)' : '#version = :version',
          ExpressionAttributeNames:
            version === 0 ? { '#pk': CACHE_KEY_ATTRIBUTE } : { '#version': 'version' },
          ...(version === 0 ? {} : { ExpressionAttributeValues: { ':version': { N: String(version) } } }),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw new TokenCacheError(`Upstream gate could not be written (${(error as Error).name})`);
    }
  }
}

function key(): Record<string, AttributeValue> {
  return { [CACHE_KEY_ATTRIBUTE]: { S: UPSTREAM_GATE_KEY } };
}

const num = (v: unknown, fallback = 0): number =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : fallback;

/** Defensive parse: every field is checked; anything unusable makes the read "corrupt" with a usable version. */
export function parseGateItem(item: Record<string, AttributeValue> | undefined): GateRead {
  if (!item) return { state: EMPTY_GATE, corrupt: false };
  const version = Number(item.version?.N);
  if (!Number.isInteger(version) || version < 1) {
    // Without a version the item cannot be replaced conditionally; report it (operators flush it).
    throw new TokenCacheError(
      'Upstream gate item has no usable version: delete the item "upstream-gate" from the token table (it only holds backoff state)',
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(item.state?.S ?? '');
  } catch {
    return { state: { ...EMPTY_GATE, version }, corrupt: true };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { state: { ...EMPTY_GATE, version }, corrupt: true };
  }
  const r = raw as Record<string, unknown>;
  const hourly: Record<string, number> = {};
  if (typeof r.hourlyRequests === 'object' && r.hourlyRequests !== null) {
    for (const [hour, count] of Object.entries(r.hourlyRequests as Record<string, unknown>)) {
      if (/^\d{1,9}$/.test(hour) && typeof count === 'number' && Number.isInteger(count) && count > 0)
        hourly[hour] = count;
    }
  }
  const lease = r.lease as { owner?: unknown; untilMs?: unknown } | undefined;
  const failure = r.lastFailure as Record<string, unknown> | undefined;
  const closedBy = ['backoff', 'retry_after', 'credentials_rejected'].includes(r.closedBy as string)
    ? (r.closedBy as GateState['closedBy'])
    : undefined;
  const state: GateState = {
    version,
    consecutiveFailures: num(r.consecutiveFailures),
    closedUntilMs: num(r.closedUntilMs),
    ...(closedBy ? { closedBy } : {}),
    failingSinceMs: num(r.failingSinceMs),
    ...(failure && typeof failure.reason === 'string' && typeof failure.credentialVersionId === 'string'
      ? {
          lastFailure: {
            reason: failure.reason as NonNullable<GateState['lastFailure']>['reason'],
            ...(typeof failure.status === 'number' ? { status: failure.status } : {}),
            atMs: num(failure.atMs),
            credentialVersionId: failure.credentialVersionId,
          },
        }
      : {}),
    ...(lease && typeof lease.owner === 'string' && typeof lease.untilMs === 'number'
      ? { lease: { owner: lease.owner, untilMs: lease.untilMs } }
      : {}),
    hourlyRequests: hourly,
    ...(typeof r.issuedLifetimeSeconds === 'number' && r.issuedLifetimeSeconds > 0
      ? { issuedLifetimeSeconds: r.issuedLifetimeSeconds }
      : {}),
    overrides: num(r.overrides),
  };
  return { state, corrupt: false };
}
