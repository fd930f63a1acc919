import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DeadLetterRecord } from '../core/dead-letter';
import { LedgerState } from '../core/outcomes';
import type { DeadLetterEnd, DeadLetterLedger } from '../ports';
import { AuditDay, LEDGER_TABLE, LedgerKey } from '../tables';
import { wrapStoreError } from './dynamodb-errors';
import { createDynamoDbClient } from './sdk-clients';
import { updateLedgerItem } from './ledger-update';

export interface DynamoDbDeadLetterLedgerOptions {
  readonly ledgerTable: string;
  /** @default a client built from the environment */
  readonly client?: DynamoDBClient;
}

/**
 * The attributes the watch reads: never `toHash` or anything address-like. The history only for
 * its length (the record's version); it holds states, reasons and times.
 */
export const DEAD_LETTER_READ_ATTRIBUTES = [
  'pk',
  'state',
  'claimedAt',
  'claimToken',
  'lastMessageId',
  'claimMessageId',
  'history',
] as const;
const READ = DEAD_LETTER_READ_ATTRIBUTES.map((name) => (name === 'state' ? '#state' : name)).join(', ');

/** The DLQ watch's reads and writes on the ledger table (see `DeadLetterLedger`). */
export class DynamoDbDeadLetterLedger implements DeadLetterLedger {
  private readonly client: DynamoDBClient;

  constructor(private readonly options: DynamoDbDeadLetterLedgerOptions) {
    this.client = options.client ?? createDynamoDbClient();
  }

  async read(key: { kind: 'dispatch' | 'rejected'; id: string }): Promise<DeadLetterRecord | undefined> {
    const pk = key.kind === 'dispatch' ? LedgerKey.dispatch(key.id) : LedgerKey.rejected(key.id);
    let item: Record<string, unknown> | undefined;
    try {
      const { Item } = await this.client.send(
        new GetItemCommand({
          TableName: this.options.ledgerTable,
          Key: { [LEDGER_TABLE.partitionKey]: { S: pk } },
          ConsistentRead: true,
          ProjectionExpression: READ,
          ExpressionAttributeNames: { '#state': 'state' },
        }),
      );
      item = Item ? unmarshall(Item) : undefined;
    } catch (error) {
      throw wrapStoreError('read dead-lettered record', error);
    }
    if (!item) return undefined;
    const text = (name: string) => (typeof item[name] === 'string' ? (item[name] as string) : undefined);
    return {
      state: text('state') ?? '',
      historyLength: Array.isArray(item.history) ? item.history.length : 0,
      ...(item.history !== undefined && !Array.isArray(item.history) ? { historyMalformed: true } : {}),
      claimedAt: text('claimedAt'),
      claimToken: text('claimToken'),
      lastMessageId: text('lastMessageId'),
      claimMessageId: text('claimMessageId'),
    };
  }

  recordFailed(end: DeadLetterEnd & { dispatchId: string }, seen: DeadLetterRecord | undefined): Promise<boolean> {
    // Only over the exact version decided on (none, or a state that proves nothing was sent, with
    // that many entries): a subset of the dispatcher's recordUnsent condition, and a second sweep
    // or a concurrent claim makes it fail instead of writing a second end.
    const condition =
      seen === undefined
        ? { expression: 'attribute_not_exists(pk)', values: {} }
        : {
            expression: `#state = :seen AND ${seen.historyLength === 0 ? 'attribute_not_exists(history)' : 'size(history) = :len'}`,
            values: { ':seen': seen.state, ...(seen.historyLength === 0 ? {} : { ':len': seen.historyLength }) },
          };
    return this.writeEnd(LedgerKey.dispatch(end.dispatchId), LedgerState.Failed, end, condition);
  }

  recordRejected(end: DeadLetterEnd): Promise<boolean> {
    return this.writeEnd(LedgerKey.rejected(end.sqsMessageId), LedgerState.Rejected, end, {
      expression: 'attribute_not_exists(pk)',
      values: {},
    });
  }

  async markInDoubt(dispatchId: string, claimToken: string, now: Date): Promise<boolean> {
    const at = now.toISOString();
    // What the dispatcher's settle(in-doubt) writes for an abandoned claim: the feed publishes `in-doubt`.
    return this.update(
      LedgerKey.dispatch(dispatchId),
      'SET #state = :inDoubt, updatedAt = :at, history = list_append(if_not_exists(history, :empty), :entry)',
      'claimToken = :token AND #state = :claimed',
      {
        ':inDoubt': LedgerState.InDoubt,
        ':at': at,
        ':token': claimToken,
        ':claimed': LedgerState.Claimed,
        ':empty': [],
        ':entry': [{ state: LedgerState.InDoubt, at }],
      },
    );
  }

  /** The fields `recordUnsent` writes for an unsent end, so audit, the feed and a later claim read it alike. */
  private writeEnd(
    pk: string,
    state: typeof LedgerState.Failed | typeof LedgerState.Rejected,
    end: DeadLetterEnd,
    condition: { expression: string; values: Record<string, unknown> },
  ): Promise<boolean> {
    const at = end.now.toISOString();
    const values: Record<string, unknown> = {
      ':state': state,
      ':reason': end.reason,
      ':at': at,
      ':day': AuditDay.of(at, pk),
      ':sqs': end.sqsMessageId,
      ':entry': [{ state, reason: end.reason, at, sqsMessageId: end.sqsMessageId, ...(end.field ? { field: end.field } : {}) }],
      ':empty': [],
      ...condition.values,
    };
    const sets = ['#state = :state', 'reason = :reason', 'claimedAt = :at', 'auditDay = :day', 'lastMessageId = :sqs', 'updatedAt = :at'];
    const names: Record<string, string> = {};
    for (const name of ['dispatchId', 'memberId', 'template', 'field'] as const) {
      if (end[name] === undefined) continue;
      sets.push(`#${name} = :${name}`);
      names[`#${name}`] = name;
      values[`:${name}`] = end[name];
    }
    const update = `SET ${sets.join(', ')}, history = list_append(if_not_exists(history, :empty), :entry)`;
    return this.update(pk, update, condition.expression, values, names);
  }

  private update(
    pk: string,
    update: string,
    condition: string,
    values: Record<string, unknown>,
    names: Record<string, string> = {},
  ): Promise<boolean> {
    // False: the record moved on since the read (a redriven claim, another sweep), and the next sweep decides again.
    return updateLedgerItem(this.client, this.options.ledgerTable, {
      operation: 'record dead-lettered end',
      pk,
      update,
      condition,
      values,
      names,
    });
  }
}
