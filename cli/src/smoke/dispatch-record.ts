import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { LEDGER_TABLE, LedgerKey } from '../../../lambdas/tables';

/** A ledger dispatch record, as far as the smoke test reads it. */
export interface DispatchRecordView {
  readonly state: string;
  readonly reason?: string;
  readonly sesMessageId?: string;
  /** How many times the record went to `sent` (its history). */
  readonly sentCount: number;
  /** What SES reported after accepting it (delivered, bounced, complained, …), once feedback arrived. */
  readonly fate?: string;
}

/** Reads one dispatch record (consistent read); `undefined` while there is none. */
export async function readDispatchRecord(
  client: DynamoDBClient,
  ledgerTable: string,
  dispatchId: string,
): Promise<DispatchRecordView | undefined> {
  const { Item } = await client.send(
    new GetItemCommand({
      TableName: ledgerTable,
      Key: { [LEDGER_TABLE.partitionKey]: { S: LedgerKey.dispatch(dispatchId) } },
      ConsistentRead: true,
    }),
  );
  if (!Item) return undefined;
  const item = unmarshall(Item);
  const history = Array.isArray(item.history) ? (item.history as { state?: unknown }[]) : [];
  return {
    state: String(item.state),
    reason: typeof item.reason === 'string' ? item.reason : undefined,
    sesMessageId: typeof item.sesMessageId === 'string' ? item.sesMessageId : undefined,
    sentCount: history.filter((entry) => entry?.state === 'sent').length,
    fate: typeof item.fate === 'string' ? item.fate : undefined,
  };
}
