import { BatchGetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import pLimit from 'p-limit';
import { LEDGER_TABLE, LedgerKey } from '../../lambdas/tables';
import type { LocalPipeline } from '../local-pipeline';

/** The part of a dispatch's ledger record the report reads. */
export interface LedgerRecord {
  readonly state?: string;
  readonly claimMessageId?: string;
  readonly memberId?: string;
}

/** The ledger records of these dispatchIds (consistent reads), keyed by the record's `pk`. */
export async function readLedger(pipeline: LocalPipeline, dispatchIds: readonly string[]): Promise<Map<string, LedgerRecord>> {
  const { aws } = pipeline;
  const records = new Map<string, LedgerRecord>();
  const limit = pLimit(4);
  const chunks: string[][] = [];
  for (let i = 0; i < dispatchIds.length; i += 100) chunks.push(dispatchIds.slice(i, i + 100));
  await Promise.all(
    chunks.map((chunk) =>
      limit(async () => {
        let keys = chunk.map((id) => ({ [LEDGER_TABLE.partitionKey]: { S: LedgerKey.dispatch(id) } }));
        while (keys.length > 0) {
          const result = await aws.clients.dynamodb.send(
            new BatchGetItemCommand({
              RequestItems: {
                [aws.tables.ledger]: {
                  Keys: keys,
                  ConsistentRead: true,
                  ProjectionExpression: 'pk, #s, claimMessageId, memberId',
                  ExpressionAttributeNames: { '#s': 'state' },
                },
              },
            }),
          );
          for (const item of result.Responses?.[aws.tables.ledger] ?? []) {
            const record = unmarshall(item) as LedgerRecord & { pk: string };
            records.set(record.pk, record);
          }
          keys = (result.UnprocessedKeys?.[aws.tables.ledger]?.Keys ?? []) as typeof keys;
        }
      }),
    ),
  );
  return records;
}
