import {
  DynamoDBClient,
  GetItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { SuppressionReason } from '../core/suppression';
import { LEDGER_TABLE, LedgerKey, MEMBERS_TABLE } from '../tables';
import type { NotForMeReport, NotForMeStore, ReportableDispatch, ReportResult } from '../ports';
import { batchGetItems } from './dynamodb-batch-get';
import { isConditionalCheckFailed, wrapStoreError } from './dynamodb-errors';
import { createDynamoDbClient } from './sdk-clients';

export interface DynamoDbNotForMeStoreOptions {
  readonly membersTable: string;
  readonly ledgerTable: string;
  /** @default a client built from the environment */
  readonly client?: DynamoDBClient;
}

/** The suppression reason a report writes (the lead's contract: `suppressions[toHash].reason`). */
export const REPORTED_NOT_MINE = SuppressionReason.ReportedNotMine;
/** The history entry a report appends to the dispatch record. */
export const REPORT_HISTORY_EVENT = 'reported-not-mine';

/**
 * The "not for me" page's writes. The member's suppression comes first and is idempotent, the
 * dispatch mark second: a crash between them leaves the pair blocked and the report repeatable,
 * never a report marked "done" whose block is missing.
 */
export class DynamoDbNotForMeStore implements NotForMeStore {
  private readonly client: DynamoDBClient;

  constructor(private readonly options: DynamoDbNotForMeStoreOptions) {
    this.client = options.client ?? createDynamoDbClient();
  }

  async findDispatch(dispatchId: string): Promise<ReportableDispatch | undefined> {
    try {
      const { Item } = await this.client.send(
        new GetItemCommand({
          TableName: this.options.ledgerTable,
          Key: { [LEDGER_TABLE.partitionKey]: { S: LedgerKey.dispatch(dispatchId) } },
          ProjectionExpression: 'memberId, toHash, reportedNotMineAt',
          ConsistentRead: true,
        }),
      );
      if (!Item) return undefined;
      const item = unmarshall(Item);
      const text = (key: string) => (typeof item[key] === 'string' ? (item[key] as string) : undefined);
      return { dispatchId, memberId: text('memberId'), toHash: text('toHash'), reportedAt: text('reportedNotMineAt') };
    } catch (error) {
      throw wrapStoreError('read dispatch', error);
    }
  }

  async recordReport(report: NotForMeReport): Promise<ReportResult> {
    const at = report.at.toISOString();
    const memberBlocked = await this.suppress(report.memberId, report.toHash, at);
    const bucket = Math.floor(report.at.getTime() / 1000 / report.windowSeconds);
    try {
      await this.client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.options.ledgerTable,
                Key: { [LEDGER_TABLE.partitionKey]: { S: LedgerKey.dispatch(report.dispatchId) } },
                UpdateExpression:
                  'SET reportedNotMineAt = :at, updatedAt = :at, history = list_append(if_not_exists(history, :empty), :entry)',
                ConditionExpression: 'attribute_exists(pk) AND toHash = :hash AND attribute_not_exists(reportedNotMineAt)',
                ExpressionAttributeValues: marshall({
                  ':at': at,
                  ':hash': report.toHash,
                  ':empty': [],
                  ':entry': [{ event: REPORT_HISTORY_EVENT, at, by: 'recipient' }],
                }),
              },
            },
            {
              Update: {
                TableName: this.options.ledgerTable,
                Key: { [LEDGER_TABLE.partitionKey]: { S: LedgerKey.reportWindow(bucket) } },
                UpdateExpression: 'ADD reports :report SET expiresAt = if_not_exists(expiresAt, :exp)',
                ExpressionAttributeValues: {
                  ':report': { SS: [`${at}|${report.dispatchId}`] },
                  ':exp': { N: String((bucket + 2) * report.windowSeconds) },
                },
              },
            },
          ],
        }),
      );
    } catch (error) {
      const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons;
      if (reasons?.[0]?.Code === 'ConditionalCheckFailed') return { recorded: false };
      throw wrapStoreError('record report', error);
    }
    return { recorded: true, reportsInWindow: await this.countReports(bucket, report), memberBlocked };
  }

  async takeRateSlot(key: { kind: 'token' | 'source'; id: string }, limit: number, windowSeconds: number, now: Date): Promise<boolean> {
    const bucket = Math.floor(now.getTime() / 1000 / windowSeconds);
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.options.ledgerTable,
          Key: { [LEDGER_TABLE.partitionKey]: { S: LedgerKey.rateLimit(key.kind, key.id, bucket) } },
          UpdateExpression: 'ADD hits :one SET expiresAt = if_not_exists(expiresAt, :exp)',
          ConditionExpression: 'attribute_not_exists(hits) OR hits < :limit',
          ExpressionAttributeValues: {
            ':one': { N: '1' },
            ':limit': { N: String(limit) },
            ':exp': { N: String((bucket + 1) * windowSeconds) },
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw wrapStoreError('rate limit', error);
    }
  }

  /**
   * `suppressions[toHash] = { reason, at }`, keeping an entry already there (its first reason and
   * time). A document path cannot be set inside a map that does not exist, so a member without a
   * `suppressions` map (or with a raw non-map value, which suppresses nothing) gets a new map.
   * Returns false when the member item does not exist.
   */
  private async suppress(memberId: string, toHash: string, at: string): Promise<boolean> {
    const key = { [MEMBERS_TABLE.partitionKey]: { S: memberId } };
    const entry: AttributeValue = { M: { reason: { S: REPORTED_NOT_MINE }, at: { S: at } } };
    const update = (expression: string, condition: string, names: Record<string, string>, values: Record<string, AttributeValue>) =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.options.membersTable,
          Key: key,
          UpdateExpression: `${expression}, updatedAt = :at`,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ...values, ':at': { S: at } },
        }),
      );
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await update(
            'SET #sup.#hash = if_not_exists(#sup.#hash, :entry)',
            'attribute_exists(memberId) AND attribute_type(#sup, :map)',
            { '#sup': 'suppressions', '#hash': toHash },
            {
              ':entry': entry,
              ':map': { S: 'M' },
            },
          );
          return true;
        } catch (error) {
          if (!isConditionalCheckFailed(error)) throw error;
        }
        try {
          await update(
            'SET #sup = :sup',
            'attribute_exists(memberId) AND (attribute_not_exists(#sup) OR NOT attribute_type(#sup, :map))',
            { '#sup': 'suppressions' },
            {
              ':sup': { M: { [toHash]: entry } },
              ':map': { S: 'M' },
            },
          );
          return true;
        } catch (error) {
          if (!isConditionalCheckFailed(error)) throw error;
        }
        // Either the member is gone, or a concurrent writer created the map between the two: look.
        const { Item } = await this.client.send(
          new GetItemCommand({ TableName: this.options.membersTable, Key: key, ProjectionExpression: 'memberId', ConsistentRead: true }),
        );
        if (!Item) return false;
      }
    } catch (error) {
      throw wrapStoreError('suppress address', error);
    }
    throw wrapStoreError('suppress address', new Error('the suppressions map kept changing'));
  }

  /** Distinct dispatches reported in the last `windowSeconds`: this bucket and the one before. */
  private async countReports(bucket: number, report: NotForMeReport): Promise<number> {
    const since = report.at.getTime() - report.windowSeconds * 1000;
    const keys = [bucket, bucket - 1].map((b) => ({
      table: this.options.ledgerTable,
      key: { [LEDGER_TABLE.partitionKey]: { S: LedgerKey.reportWindow(b) } },
    }));
    const items = (await batchGetItems(this.client, keys, { attributes: ['reports'] })).get(this.options.ledgerTable) ?? [];
    const dispatches = new Set<string>();
    for (const item of items) {
      const reports = item.reports instanceof Set ? [...(item.reports as Set<string>)] : [];
      for (const entry of reports) {
        const bar = entry.indexOf('|');
        if (Date.parse(entry.slice(0, bar)) > since) dispatches.add(entry.slice(bar + 1));
      }
    }
    return dispatches.size;
  }
}
