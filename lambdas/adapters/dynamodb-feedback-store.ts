import {
  DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { DeliveryFate, LedgerState } from '../core/outcomes';
import { LEDGER_TABLE, LedgerKey, MEMBERS_TABLE } from '../tables';
import { StoreUnavailableError } from '../core/errors';
import { SUPPRESSION_RULE, type SuppressionEntry } from '../core/suppression';
import type { ReputationCounts } from '../core/reputation';
import type { FateRecord, FateResult, FeedbackStore, ReputationEvent, SuppressionResult, TransientBounce } from '../ports';
import { isConditionalCheckFailed, wrapStoreError } from './dynamodb-errors';
import { createDynamoDbClient } from './sdk-clients';

export interface DynamoDbFeedbackStoreOptions {
  readonly membersTable: string;
  readonly ledgerTable: string;
  /** @default a client built from the environment */
  readonly client?: DynamoDBClient;
  /** How long a run of transient bounces is remembered without a new one. @default 30 days */
  readonly transientBounceMemorySeconds?: number;
}

/**
 * Applies SES feedback to the ledger and the registry (the member's `suppressions` map, never its
 * `email`/`proxies`); every write is conditional, so replays are no-ops.
 */
export class DynamoDbFeedbackStore implements FeedbackStore {
  private readonly client: DynamoDBClient;

  constructor(private readonly options: DynamoDbFeedbackStoreOptions) {
    this.client = options.client ?? createDynamoDbClient();
  }

  async reconcileSent(dispatchId: string, sesMessageId: string, at: Date, by = 'ses-send-event'): Promise<'reconciled' | 'unchanged'> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.options.ledgerTable,
          Key: { [LEDGER_TABLE.partitionKey]: { S: LedgerKey.dispatch(dispatchId) } },
          UpdateExpression:
            'SET #state = :sent, sesMessageId = :id, sentAt = if_not_exists(sentAt, :at), reconciledAt = :at, ' +
            'history = list_append(if_not_exists(history, :empty), :entry)',
          // `released` too: an operator may have released an e-mail that did go out (ops in-doubt
          // release); SES's word that it was accepted wins, so a re-publish is a duplicate.
          ConditionExpression: '#state IN (:claimed, :inDoubt, :released)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: marshall({
            ':sent': LedgerState.Sent,
            ':claimed': LedgerState.Claimed,
            ':inDoubt': LedgerState.InDoubt,
            ':released': LedgerState.Released,
            ':id': sesMessageId,
            ':at': at.toISOString(),
            ':empty': [],
            ':entry': [{ state: LedgerState.Sent, at: at.toISOString(), by }],
          }),
        }),
      );
      return 'reconciled';
    } catch (error) {
      if (isConditionalCheckFailed(error)) return 'unchanged';
      throw wrapStoreError('reconcile', error);
    }
  }

  async recordFate(f: FateRecord): Promise<FateResult> {
    const now = f.now.toISOString();
    const entry: Record<string, unknown> = { fate: f.fate, at: f.at ?? now, recordedAt: now, ...f.detail };
    if (f.treatedAsPermanent) entry.treatedAsPermanent = true;
    // A late delay report never hides the delivery or bounce that came before it.
    const fate = f.fate === DeliveryFate.Delayed ? 'fate = if_not_exists(fate, :fate)' : 'fate = :fate';
    const key = { [LEDGER_TABLE.partitionKey]: { S: LedgerKey.dispatch(f.dispatchId) } };
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.options.ledgerTable,
          Key: key,
          UpdateExpression: `SET ${fate}, fateAt = :at, updatedAt = :now, history = list_append(if_not_exists(history, :empty), :entry) ADD feedbackKeys :keys`,
          ConditionExpression: 'sesMessageId = :sesId AND NOT contains(feedbackKeys, :key)',
          ExpressionAttributeValues: {
            ...marshall(
              {
                ':fate': f.fate,
                ':at': f.at ?? now,
                ':now': now,
                ':empty': [],
                ':entry': [entry],
                ':sesId': f.sesMessageId,
                ':key': f.eventKey,
              },
              { removeUndefinedValues: true },
            ),
            ':keys': { SS: [f.eventKey] },
          },
          // No ALL_NEW / ALL_OLD: the role may not see whole records (12.11); what is needed is read back, projected.
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw wrapStoreError('record-fate', error);
      const item = await this.readRecord(key, ['sesMessageId', 'feedbackKeys'], 'record-fate');
      const replayed = item?.sesMessageId === f.sesMessageId && item.feedbackKeys instanceof Set && item.feedbackKeys.has(f.eventKey);
      return replayed ? { result: 'replayed' } : { result: 'unknown-message-id' };
    }
    // A recorded fate's record names the member and the address hash, which never change after the claim.
    const item = (await this.readRecord(key, ['memberId', 'toHash'], 'record-fate')) ?? {};
    return { result: 'recorded', memberId: stringOrUndefined(item.memberId), toHash: stringOrUndefined(item.toHash) };
  }

  /** A consistent, projected read of one ledger item (the role may read only named attributes). */
  private async readRecord(
    key: Record<string, AttributeValue>,
    attributes: readonly string[],
    operation: string,
  ): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.send(operation, () =>
      this.client.send(
        new GetItemCommand({
          TableName: this.options.ledgerTable,
          Key: key,
          ProjectionExpression: attributes.map((_, i) => `#p${i}`).join(', '),
          ExpressionAttributeNames: Object.fromEntries(attributes.map((name, i) => [`#p${i}`, name])),
          ConsistentRead: true,
        }),
      ),
    );
    return Item ? unmarshall(Item) : undefined;
  }

  /**
   * One item, `ADD` only (no read-modify-write race): the window's counters go up by one, and a
   * window that reached `windowSends` sends is moved to `previous` by subtracting exactly what was
   * moved, on the condition that the counters still hold at least that, so two concurrent closers
   * cannot lose a count (the second one's condition fails, and the next event closes it again).
   */
  async countForReputation(event: ReputationEvent, windowSends: number, now: Date): Promise<ReputationCounts> {
    const key = { [LEDGER_TABLE.partitionKey]: { S: LedgerKey.reputationWindow } };
    const field = { send: 'curSends', bounce: 'curBounces', complaint: 'curComplaints' }[event];
    // Every counter is named in the update (ADD 0, SET if_not_exists) so that UPDATED_NEW returns
    // them all: the role may not ask for ALL_NEW (12.11).
    const add = ['curSends', 'curBounces', 'curComplaints'].map((name) => `${name} ${name === field ? ':one' : ':zero'}`).join(', ');
    const keep = ['prevSends', 'prevBounces', 'prevComplaints'].map((name) => `${name} = if_not_exists(${name}, :zero)`).join(', ');
    const { Attributes } = await this.send('count-reputation', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.options.ledgerTable,
          Key: key,
          UpdateExpression: `SET updatedAt = :now, ${keep} ADD ${add}`,
          ExpressionAttributeValues: marshall({ ':now': now.toISOString(), ':one': 1, ':zero': 0 }),
          ReturnValues: 'UPDATED_NEW',
        }),
      ),
    );
    const item = Attributes ? unmarshall(Attributes) : {};
    const n = (name: string) => (typeof item[name] === 'number' ? (item[name] as number) : 0);
    const counts: ReputationCounts = {
      sends: n('curSends'),
      bounces: n('curBounces'),
      complaints: n('curComplaints'),
      previous: { sends: n('prevSends'), bounces: n('prevBounces'), complaints: n('prevComplaints') },
    };
    if (counts.sends < windowSends) return counts;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.options.ledgerTable,
          Key: key,
          UpdateExpression:
            'SET prevSends = :s, prevBounces = :b, prevComplaints = :c, closedAt = :now ADD curSends :ms, curBounces :mb, curComplaints :mc',
          ConditionExpression: 'curSends >= :s AND curBounces >= :b AND curComplaints >= :c',
          ExpressionAttributeValues: marshall({
            ':s': counts.sends,
            ':b': counts.bounces,
            ':c': counts.complaints,
            ':ms': -counts.sends,
            ':mb': -counts.bounces,
            ':mc': -counts.complaints,
            ':now': now.toISOString(),
          }),
        }),
      );
    } catch (error) {
      // Another event closed the window first: the counts above are still what this event measured.
      if (!isConditionalCheckFailed(error)) throw wrapStoreError('count-reputation', error);
    }
    return counts;
  }

  async countTransientBounce(bounce: TransientBounce): Promise<number | undefined> {
    const { Item } = await this.send('count-transient-bounce', () =>
      this.client.send(
        new GetItemCommand({
          TableName: this.options.ledgerTable,
          Key: { [LEDGER_TABLE.partitionKey]: { S: LedgerKey.dispatch(bounce.dispatchId) } },
          ProjectionExpression: 'memberId, toHash, sesMessageId',
          ConsistentRead: true,
        }),
      ),
    );
    const record = Item ? unmarshall(Item) : undefined;
    if (!record || record.sesMessageId !== bounce.sesMessageId || typeof record.memberId !== 'string' || typeof record.toHash !== 'string')
      return undefined;
    const key = { [LEDGER_TABLE.partitionKey]: { S: LedgerKey.transientBounces(record.toHash, record.memberId) } };
    try {
      const { Attributes } = await this.client.send(
        new UpdateItemCommand({
          TableName: this.options.ledgerTable,
          Key: key,
          UpdateExpression: 'ADD bounces :one, eventKeys :keys SET updatedAt = :at, expiresAt = :exp',
          // A replayed bounce is not one more in the row.
          ConditionExpression: 'NOT contains(eventKeys, :key)',
          ExpressionAttributeValues: {
            ...marshall({
              ':one': 1,
              ':at': bounce.now.toISOString(),
              ':exp': this.expiresAt(bounce.now),
              ':key': `${bounce.dispatchId}/${bounce.eventKey}`,
            }),
            ':keys': { SS: [`${bounce.dispatchId}/${bounce.eventKey}`] },
          },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(Attributes?.bounces?.N ?? 1);
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw wrapStoreError('count-transient-bounce', error);
    }
    // A replay: the count as it stands, read projected (no ALL_OLD on a failed condition, 12.11).
    const counter = await this.readRecord(key, ['bounces'], 'count-transient-bounce');
    return typeof counter?.bounces === 'number' ? counter.bounces : 1;
  }

  async resetTransientBounces(memberId: string, toHash: string, now: Date): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.options.ledgerTable,
          Key: { [LEDGER_TABLE.partitionKey]: { S: LedgerKey.transientBounces(toHash, memberId) } },
          UpdateExpression: 'SET bounces = :zero, updatedAt = :at REMOVE eventKeys',
          ConditionExpression: 'attribute_exists(pk) AND bounces > :zero',
          ExpressionAttributeValues: marshall({ ':zero': 0, ':at': now.toISOString() }),
        }),
      );
    } catch (error) {
      // No run of transient bounces to end: nothing to do.
      if (isConditionalCheckFailed(error)) return;
      throw wrapStoreError('reset-transient-bounces', error);
    }
  }

  private expiresAt(now: Date): number {
    return Math.floor(now.getTime() / 1000) + (this.options.transientBounceMemorySeconds ?? 30 * 86_400);
  }

  private async send<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw wrapStoreError(operation, error);
    }
  }

  async suppressAddressOf(dispatchId: string, reason: 'bounce' | 'complaint', at: Date): Promise<SuppressionResult> {
    try {
      const { Item } = await this.client.send(
        new GetItemCommand({
          TableName: this.options.ledgerTable,
          Key: { [LEDGER_TABLE.partitionKey]: { S: LedgerKey.dispatch(dispatchId) } },
          ProjectionExpression: 'memberId, toHash',
          ConsistentRead: true,
        }),
      );
      const memberId = Item?.memberId?.S;
      const toHash = Item?.toHash?.S;
      if (!memberId || !toHash) return { outcome: 'unknown', memberId };
      return { ...(await this.suppressPair(memberId, toHash, { reason, at: at.toISOString() })), memberId, toHash };
    } catch (error) {
      if (error instanceof StoreUnavailableError) throw error;
      throw wrapStoreError('suppress', error);
    }
  }

  /**
   * Adds `suppressions[toHash]` to the member, keeping an entry already there (its first reason).
   * A document path cannot be SET inside a map that does not exist yet, so the map is created by
   * a second conditional write when the first finds none; a race between the two is tried again.
   * `version` goes up so that a registry write that read the member before this one is refused
   * by its version condition and reads again, instead of putting the old item back.
   */
  private async suppressPair(
    memberId: string,
    toHash: string,
    entry: SuppressionEntry,
  ): Promise<{ outcome: 'suppressed' | 'already-suppressed' | 'unknown' }> {
    const map = SUPPRESSION_RULE.perAddress.attribute;
    const key = { [MEMBERS_TABLE.partitionKey]: { S: memberId } };
    const writes: Omit<UpdateItemCommandInput, 'TableName' | 'Key'>[] = [
      {
        UpdateExpression: 'SET #map.#hash = :entry ADD version :one',
        ConditionExpression: 'attribute_exists(memberId) AND attribute_type(#map, :typeM) AND attribute_not_exists(#map.#hash)',
        ExpressionAttributeNames: { '#map': map, '#hash': toHash },
        ExpressionAttributeValues: marshall({ ':entry': entry, ':one': 1, ':typeM': 'M' }),
      },
      {
        // No map yet (or a raw write left something that is not one, which suppresses nothing).
        UpdateExpression: 'SET #map = :map ADD version :one',
        ConditionExpression: 'attribute_exists(memberId) AND (attribute_not_exists(#map) OR NOT attribute_type(#map, :typeM))',
        ExpressionAttributeNames: { '#map': map },
        ExpressionAttributeValues: marshall({ ':map': { [toHash]: entry }, ':one': 1, ':typeM': 'M' }),
      },
    ];
    for (let round = 0; round < 3; round++) {
      for (const write of writes) {
        try {
          await this.client.send(new UpdateItemCommand({ TableName: this.options.membersTable, Key: key, ...write }));
          return { outcome: 'suppressed' };
        } catch (error) {
          if (!isConditionalCheckFailed(error)) throw error;
        }
      }
      // Neither applied: the member is gone, or the pair is suppressed already, or a concurrent
      // write created the map between the two: look.
      const { Item } = await this.client.send(
        new GetItemCommand({
          TableName: this.options.membersTable,
          Key: key,
          ProjectionExpression: 'memberId, #map.#hash',
          ExpressionAttributeNames: { '#map': map, '#hash': toHash },
          ConsistentRead: true,
        }),
      );
      if (!Item) return { outcome: 'unknown' };
      if (Item[map]?.M && toHash in Item[map].M) return { outcome: 'already-suppressed' };
    }
    throw new StoreUnavailableError('suppression kept racing concurrent writes');
  }
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
