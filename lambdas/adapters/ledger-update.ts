import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { LEDGER_TABLE } from '../tables';
import { isConditionalCheckFailed, sendRetryingConflicts, wrapStoreError } from './dynamodb-errors';

/** One conditional write on a ledger item (its key, `#state` named as `state`). */
export interface LedgerUpdate {
  /** Names the write in a store error. */
  readonly operation: string;
  readonly pk: string;
  readonly update: string;
  readonly condition?: string;
  readonly values: Record<string, unknown>;
  readonly names?: Record<string, string>;
}

/**
 * Sends one UpdateItem on a ledger item. A claim transaction on the same item (a concurrent
 * duplicate's) refuses it with TransactionConflictException for the few milliseconds it runs: that
 * is waited out. Returns false when the condition failed (the record moved on since it was read);
 * any other failure is a store error.
 */
export async function updateLedgerItem(client: DynamoDBClient, ledgerTable: string, u: LedgerUpdate): Promise<boolean> {
  try {
    await sendRetryingConflicts(() =>
      client.send(
        new UpdateItemCommand({
          TableName: ledgerTable,
          Key: { [LEDGER_TABLE.partitionKey]: { S: u.pk } },
          UpdateExpression: u.update,
          ConditionExpression: u.condition,
          ExpressionAttributeNames: { '#state': 'state', ...u.names },
          ExpressionAttributeValues: marshall(u.values, { removeUndefinedValues: true }),
        }),
      ),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw wrapStoreError(u.operation, error);
  }
}
