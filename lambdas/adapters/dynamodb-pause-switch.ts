import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { LEDGER_TABLE, LedgerKey } from '../tables';
import type { PauseCause, PauseState, PauseSwitch } from '../ports';
import { isConditionalCheckFailed, wrapStoreError } from './dynamodb-errors';

export interface DynamoDbPauseSwitchOptions {
  readonly ledgerTable: string;
  /** @default a client built from the environment */
  readonly client?: DynamoDBClient;
}

const KEY = { [LEDGER_TABLE.partitionKey]: { S: LedgerKey.pauseFlag } };

/** The pause flag: one item in the ledger table, shared by the dispatcher, the breaker and ops. */
export class DynamoDbPauseSwitch implements PauseSwitch {
  private readonly client: DynamoDBClient;

  constructor(private readonly options: DynamoDbPauseSwitchOptions) {
    this.client = options.client ?? new DynamoDBClient({});
  }

  async read(): Promise<PauseState> {
    try {
      const { Item } = await this.client.send(new GetItemCommand({ TableName: this.options.ledgerTable, Key: KEY, ConsistentRead: true }));
      const item = Item ? unmarshall(Item) : undefined;
      if (!item?.paused) return { paused: false };
      const { reason, by, at, alarmName, addressHash } = item as Record<string, string | undefined>;
      return { paused: true, cause: { reason: reason ?? 'unknown', by: by ?? 'unknown', at: at ?? '', alarmName, addressHash } };
    } catch (error) {
      throw wrapStoreError('read pause flag', error);
    }
  }

  async pause(cause: PauseCause): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.options.ledgerTable,
          Key: KEY,
          UpdateExpression:
            'SET paused = :true, reason = :reason, #by = :by, #at = :at, alarmName = :alarm, addressHash = :hash, ' +
            'pauses = if_not_exists(pauses, :zero) + :one',
          // The first cause is the one on-call needs: a later pause does not overwrite it.
          ConditionExpression: 'attribute_not_exists(paused) OR paused = :false',
          ExpressionAttributeNames: { '#by': 'by', '#at': 'at' },
          ExpressionAttributeValues: marshall({
            ':true': true,
            ':false': false,
            ':reason': cause.reason,
            ':by': cause.by,
            ':at': cause.at,
            ':alarm': cause.alarmName ?? null,
            ':hash': cause.addressHash ?? null,
            ':zero': 0,
            ':one': 1,
          }),
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) return;
      throw wrapStoreError('set pause flag', error);
    }
  }

  async resume(by: string, at: Date): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.options.ledgerTable,
          Key: KEY,
          UpdateExpression: 'SET paused = :false, resumedBy = :by, resumedAt = :at',
          ExpressionAttributeValues: marshall({ ':false': false, ':by': by, ':at': at.toISOString() }),
        }),
      );
    } catch (error) {
      throw wrapStoreError('clear pause flag', error);
    }
  }
}
