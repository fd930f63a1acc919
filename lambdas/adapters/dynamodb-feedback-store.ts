import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { LedgerState } from '../core/outcomes';
import { LEDGER_TABLE, LedgerKey, MEMBERS_TABLE } from '../tables';
import type { FeedbackStore } from '../ports';
import { isConditionalCheckFailed, wrapStoreError } from './dynamodb-errors';

export interface DynamoDbFeedbackStoreOptions {
  readonly membersTable: string;
  readonly ledgerTable: string;
  /** @default a client built from the environment */
  readonly client?: DynamoDBClient;
}

/** Applies SES feedback to the ledger and the registry; every write is conditional, so replays are no-ops. */
export class DynamoDbFeedbackStore implements FeedbackStore {
  private readonly client: DynamoDBClient;

  constructor(private readonly options: DynamoDbFeedbackStoreOptions) {
    this.client = options.client ?? new DynamoDBClient({});
  }

  async reconcileSent(dispatchId: string, sesMessageId: string, at: Date): Promise<'reconciled' | 'unchanged'> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.options.ledgerTable,
          Key: { [LEDGER_TABLE.partitionKey]: { S: LedgerKey.dispatch(dispatchId) } },
          UpdateExpression:
            'SET #state = :sent, sesMessageId = :id, sentAt = if_not_exists(sentAt, :at), reconciledAt = :at, ' +
            'history = list_append(if_not_exists(history, :empty), :entry)',
          ConditionExpression: '#state IN (:claimed, :inDoubt)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: marshall({
            ':sent': LedgerState.Sent,
            ':claimed': LedgerState.Claimed,
            ':inDoubt': LedgerState.InDoubt,
            ':id': sesMessageId,
            ':at': at.toISOString(),
            ':empty': [],
            ':entry': [{ state: LedgerState.Sent, at: at.toISOString(), by: 'ses-send-event' }],
          }),
        }),
      );
      return 'reconciled';
    } catch (error) {
      if (isConditionalCheckFailed(error)) return 'unchanged';
      throw wrapStoreError('reconcile', error);
    }
  }

  async suppressMemberOf(dispatchId: string, reason: 'bounce' | 'complaint', at: Date): Promise<string | undefined> {
    let memberId: string | undefined;
    try {
      const { Item } = await this.client.send(
        new GetItemCommand({
          TableName: this.options.ledgerTable,
          Key: { [LEDGER_TABLE.partitionKey]: { S: LedgerKey.dispatch(dispatchId) } },
          ProjectionExpression: 'memberId',
          ConsistentRead: true,
        }),
      );
      memberId = Item?.memberId?.S;
      if (!memberId) return undefined;
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.options.membersTable,
          Key: { [MEMBERS_TABLE.partitionKey]: { S: memberId } },
          UpdateExpression: 'SET suppressed = :true, suppressedReason = :reason, suppressedAt = if_not_exists(suppressedAt, :at), updatedAt = :at',
          ConditionExpression: 'attribute_exists(memberId)',
          ExpressionAttributeValues: marshall({ ':true': true, ':reason': reason, ':at': at.toISOString() }),
        }),
      );
      return memberId;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw wrapStoreError('suppress', error);
    }
  }
}
