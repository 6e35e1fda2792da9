import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CACHE_KEY_ATTRIBUTE,
  RATE_COUNT_ATTRIBUTE,
  RATE_KEY_PREFIX,
  TTL_ATTRIBUTE,
} from '../../contract/token-cache-schema';

/**
 * The fleet-wide per-second limit on calls to ThroughLine's API: one item per epoch second in the
 * token table, whose counter is raised only while it is below the limit — one conditional UpdateItem
 * (`ADD` with `ConditionExpression`). DynamoDB evaluates the condition and applies the update
 * atomically ("Condition expressions": "If the condition expression evaluates to true, the operation
 * succeeds; otherwise, the operation fails" with ConditionalCheckFailedException,
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html),
 * so however many proxy instances run, a second's item never counts past the limit. Seconds come
 * from each instance's clock (Lambda's are NTP-synchronised; a skew shifts a bucket, it does not
 * widen it).
 */
export class RateSlotStore {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /** Takes one of the `limit` slots of the second `nowMs` falls in; false when they are all taken. */
  async take(nowMs: number, limit: number): Promise<boolean> {
    const second = Math.floor(nowMs / 1000);
    try {
      await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [CACHE_KEY_ATTRIBUTE]: { S: `${RATE_KEY_PREFIX}${second}` } },
          UpdateExpression: 'ADD #calls :one SET #ttl = :ttl',
          ConditionExpression: 'attribute_not_exists(#calls) OR #calls < :limit',
          ExpressionAttributeNames: { '#calls': RATE_COUNT_ATTRIBUTE, '#ttl': TTL_ATTRIBUTE },
          ExpressionAttributeValues: {
            ':one': { N: '1' },
            ':limit': { N: String(limit) },
            ':ttl': { N: String(second + 3_600) },
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
