import { QueryCommand, type QueryCommandOutput, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { batchGetItems } from '../../../lambdas/adapters/dynamodb-batch-get';
import { wrapStoreError } from '../../../lambdas/adapters/dynamodb-errors';
import { LEDGER_TABLE, type LedgerIndex } from '../../../lambdas/tables';

/** Inclusive ISO-8601 bounds on `claimedAt` (the sort key of every audit index). */
export interface TimeRange {
  readonly from?: string;
  readonly to?: string;
}

export interface LedgerRecordQuery {
  readonly index: LedgerIndex;
  /** Index partitions to read, side by side (a day's `AuditDay.partitions`, or one member's id). */
  readonly partitions: readonly string[];
  readonly range?: TimeRange;
  /** Attributes to read (all when absent): a count needs only `state`. */
  readonly attributes?: readonly string[];
}

/**
 * Every ledger record in some partitions of an audit index: a Query, never a Scan. The indexes
 * hold keys only (`LEDGER_TABLE`), so each page of keys is followed by a `BatchGetItem` of the
 * records themselves. `onRecords` gets them page by page, in no particular order.
 */
export async function forEachLedgerRecord(
  client: DynamoDBClient,
  table: string,
  query: LedgerRecordQuery,
  onRecords: (records: Record<string, unknown>[]) => void,
): Promise<void> {
  const { index, range = {} } = query;
  // What the key condition needs, to check it again on the record itself (below).
  const attributes = query.attributes && [...new Set([...query.attributes, LEDGER_TABLE.partitionKey, index.partitionKey, index.sortKey])];
  await Promise.all(
    query.partitions.map(async (partition) => {
      for await (const keys of queryKeys(client, table, index, partition, range)) {
        const records =
          (
            await batchGetItems(
              client,
              keys.map((key) => ({ table, key })),
              { attributes },
            )
          ).get(table) ?? [];
        // The index is eventually consistent: a record read after it may have been claimed
        // again since (a new `claimedAt`, another day), or be gone. Keep what the index promised.
        onRecords(records.filter((record) => record[index.partitionKey] === partition && inRange(record[index.sortKey], range)));
      }
    }),
  );
}

/** The table keys (`pk`) of one index partition, a page at a time. */
async function* queryKeys(
  client: DynamoDBClient,
  table: string,
  index: LedgerIndex,
  partitionValue: string,
  range: TimeRange,
): AsyncGenerator<Record<string, AttributeValue>[]> {
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
    let page: QueryCommandOutput;
    try {
      page = await client.send(
        new QueryCommand({
          TableName: table,
          IndexName: index.name,
          KeyConditionExpression: condition,
          // DynamoDB refuses a name the expressions do not use: `#s` only with a range.
          ExpressionAttributeNames: {
            '#p': index.partitionKey,
            ...(range.from || range.to ? { '#s': index.sortKey } : {}),
            '#pk': LEDGER_TABLE.partitionKey,
          },
          ProjectionExpression: '#pk',
          ExpressionAttributeValues: values,
          ExclusiveStartKey,
        }),
      );
    } catch (error) {
      throw wrapStoreError(`query ${index.name}`, error);
    }
    const keys = (page.Items ?? []).flatMap((item) => {
      const pk = item[LEDGER_TABLE.partitionKey];
      return pk ? [{ [LEDGER_TABLE.partitionKey]: pk }] : [];
    });
    if (keys.length > 0) yield keys;
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
}

function inRange(value: unknown, range: TimeRange): boolean {
  return typeof value === 'string' && (!range.from || value >= range.from) && (!range.to || value <= range.to);
}

/** The UTC days (`YYYY-MM-DD`, the `auditDay` partitions) a time range touches. */
export function auditDays(from: Date, to: Date): string[] {
  const days: string[] = [];
  const day = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()));
  for (; day.getTime() <= to.getTime(); day.setUTCDate(day.getUTCDate() + 1)) days.push(day.toISOString().slice(0, 10));
  return days;
}
