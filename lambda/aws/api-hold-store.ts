import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { CACHE_KEY_ATTRIBUTE, TTL_ATTRIBUTE, UPSTREAM_API_HOLD_KEY } from '../../contract/token-cache-schema';
import { type ApiHold, OPEN_HOLD } from '../proxy/api-hold';

/**
 * The hold item (lambda/proxy/api-hold.ts) in the token table. Every change is one UpdateItem
 * conditioned on the `failures` the writer read, so two instances that read the same state cannot
 * both take the probe or both count the same failure twice: DynamoDB evaluates the condition and
 * applies the update atomically, or answers ConditionalCheckFailedException ("Condition
 * expressions", DynamoDB Developer Guide,
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html).
 * A lost race is not retried: the winner's write already says what the loser would have said.
 */
export class ApiHoldStore {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /** Takes the probe after the wait; false when another instance took it first. */
  takeProbe(read: ApiHold, nowMs: number, probeUntilMs: number): Promise<boolean> {
    return this.update(
      read,
      'SET #probeUntilMs = :probeUntilMs',
      {
        ':probeUntilMs': { N: String(probeUntilMs) },
        ':now': { N: String(nowMs) },
      },
      ' AND (attribute_not_exists(#probeUntilMs) OR #probeUntilMs < :now)',
    );
  }

  /** One more consecutive failure: closed until `untilMs`, the probe (if any) released. */
  recordFailure(read: ApiHold, untilMs: number): Promise<boolean> {
    return this.update(
      read,
      'SET #failures = :next, #untilMs = :untilMs, #probeUntilMs = :zero, #ttl = :ttl',
      {
        ':next': { N: String(read.failures + 1) },
        ':untilMs': { N: String(untilMs) },
        ':zero': { N: '0' },
        ':ttl': { N: String(Math.ceil(untilMs / 1000) + 86_400) },
      },
    );
  }

  /** A call succeeded after failures: open again. */
  recordSuccess(read: ApiHold): Promise<boolean> {
    return this.update(read, 'SET #failures = :zero, #untilMs = :zero, #probeUntilMs = :zero', {
      ':zero': { N: '0' },
    });
  }

  private async update(
    read: ApiHold,
    expression: string,
    values: Record<string, AttributeValue>,
    extraCondition = '',
  ): Promise<boolean> {
    try {
      await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [CACHE_KEY_ATTRIBUTE]: { S: UPSTREAM_API_HOLD_KEY } },
          UpdateExpression: expression,
          ConditionExpression: `${read.failures === 0 ? '(attribute_not_exists(#failures) OR #failures = :read)' : '#failures = :read'}${extraCondition}`,
          ExpressionAttributeNames: {
            '#failures': 'failures',
            ...(expression.includes('#untilMs') ? { '#untilMs': 'untilMs' } : {}),
            '#probeUntilMs': 'probeUntilMs',
            ...(expression.includes('#ttl') ? { '#ttl': TTL_ATTRIBUTE } : {}),
          },
          ExpressionAttributeValues: { ...values, ':read': { N: String(read.failures) } },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}

/** The hold as stored; anything unusable reads as open (the next failure rewrites it). */
export function parseApiHold(item: Record<string, AttributeValue> | undefined): ApiHold {
  if (!item) return OPEN_HOLD;
  const num = (v: AttributeValue | undefined) => {
    const n = Number(v?.N);
    return Number.isFinite(n) && n >= 0 ? n : 0;
  };
  return {
    failures: Math.floor(num(item.failures)),
    untilMs: num(item.untilMs),
    probeUntilMs: num(item.probeUntilMs),
  };
}
