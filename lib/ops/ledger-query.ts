import { QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { wrapStoreError } from '../../lambdas/adapters/dynamodb-errors';
import { LEDGER_TABLE } from '../../lambdas/tables';

export type LedgerIndex = typeof LEDGER_TABLE.byMemberIndex | typeof LEDGER_TABLE.byAddressIndex | typeof LEDGER_TABLE.byDayIndex;

/** Inclusive ISO-8601 bounds on `claimedAt` (the sort key of every audit index). */
export interface TimeRange {
  readonly from?: string;
  readonly to?: string;
}

/** Every ledger item of one index partition, oldest first, page by page: a Query, never a Scan. */
export async function* queryLedgerIndex(
  client: DynamoDBClient,
  table: string,
  index: LedgerIndex,
  partitionValue: string,
  range: TimeRange = {},
  /** Attributes to read (all when absent): a count needs only `state`. */
  attributes?: readonly string[],
): AsyncGenerator<Record<string, unknown>> {
  const values: Record<string, { S: string }> = { ':p': { S: partitionValue } };
  let condition = '#p = :p';
  if (range.from && range.to) {
    condition += ' AND #s BETWEEN :from AND :to';
    values[':from'] = { S: range.from };
    values[':to'] = { S: range.to };
  } else if (range.from) {
    condition += ' AND #s >= :from';
    values[':from'] = { S: range.from };
  } else if (range.to) {
    condition += ' AND #s <= :to';
    values[':to'] = { S: range.to };
  }
  let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    let page;
    try {
      page = await client.send(
        new QueryCommand({
          TableName: table,
          IndexName: index.name,
          KeyConditionExpression: condition,
          ExpressionAttributeNames: { '#p': index.partitionKey, '#s': index.sortKey, ...Object.fromEntries((attributes ?? []).map((a, i) => [`#a${i}`, a])) },
          ...(attributes ? { ProjectionExpression: attributes.map((_, i) => `#a${i}`).join(', ') } : {}),
          ExpressionAttributeValues: values,
          ExclusiveStartKey,
        }),
      );
    } catch (error) {
      throw wrapStoreError(`query ${index.name}`, error);
    }
    for (const item of page.Items ?? []) yield unmarshall(item);
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
}

/** The UTC days (`YYYY-MM-DD`, the `auditDay` partitions) a time range touches. */
export function auditDays(from: Date, to: Date): string[] {
  const days: string[] = [];
  const day = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()));
  for (; day.getTime() <= to.getTime(); day.setUTCDate(day.getUTCDate() + 1)) days.push(day.toISOString().slice(0, 10));
  return days;
}
