import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { LEDGER_TABLE, LedgerKey } from '../tables';
import type { PauseCause, PauseState, PauseSwitch } from '../ports';
import { StoreUnavailableError } from '../core/errors';
import { PausedBy } from '../core/outcomes';
import { isConditionalCheckFailed, wrapStoreError } from './dynamodb-errors';
import { createDynamoDbClient } from './sdk-clients';

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
    this.client = options.client ?? createDynamoDbClient();
  }

  async read(): Promise<PauseState> {
    try {
      const { Item } = await this.client.send(new GetItemCommand({ TableName: this.options.ledgerTable, Key: KEY, ConsistentRead: true }));
      const item = Item ? unmarshall(Item) : undefined;
      // The flag's version: every pause (even one on a flag already set) and every resume moves it.
      const version = typeof item?.version === 'number' ? { version: item.version } : {};
      if (!item?.paused) return { paused: false, ...version };
      const { reason, by, at, alarmName, addressHash } = item as Record<string, string | undefined>;
      const hashes =
        item.registryFanInHashes instanceof Set ? { registryFanInHashes: [...(item.registryFanInHashes as Set<string>)].sort() } : {};
      return {
        paused: true,
        cause: { reason: reason ?? 'unknown', by: by ?? 'unknown', at: at ?? '', alarmName, addressHash },
        ...version,
        ...hashes,
      };
    } catch (error) {
      throw wrapStoreError('read pause flag', error);
    }
  }

  /**
   * Sets the flag with its first cause. On a flag already set the cause stays, but the pause is
   * still recorded (`repeatedPauses`, `lastPause*`) and the version moves, so a resume that read
   * the flag before this pause cannot clear it (12.9).
   */
  async pause(cause: PauseCause): Promise<void> {
    const values = {
      ':true': true,
      ':false': false,
      ':reason': cause.reason,
      ':by': cause.by,
      ':at': cause.at,
      ':alarm': cause.alarmName ?? null,
      ':hash': cause.addressHash ?? null,
      ':zero': 0,
      ':one': 1,
      ':hashes': new Set([cause.addressHash ?? '']),
    };
    // The registry watch's mailbox is kept even when another cause holds the flag: resume checks
    // every one (12.2c review; an operator's pause for an import must not hide what the import did).
    const registry = cause.by === PausedBy.RegistryWatch && cause.addressHash ? ' ADD registryFanInHashes :hashes' : '';
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.update(
          'SET paused = :true, reason = :reason, #by = :by, #at = :at, alarmName = :alarm, addressHash = :hash, ' +
            'pauses = if_not_exists(pauses, :zero) + :one, version = if_not_exists(version, :zero) + :one' +
            registry,
          // The first cause is the one on-call needs: a later pause does not overwrite it.
          'attribute_not_exists(paused) OR paused = :false',
          values,
        );
        return;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw wrapStoreError('set pause flag', error);
      }
      try {
        await this.update(
          'SET lastPauseReason = :reason, lastPauseBy = :by, lastPauseAt = :at, ' +
            'repeatedPauses = if_not_exists(repeatedPauses, :zero) + :one, version = if_not_exists(version, :zero) + :one' +
            registry,
          'paused = :true',
          values,
        );
        return;
      } catch (error) {
        // Cleared between the two writes: set it afresh.
        if (!isConditionalCheckFailed(error)) throw wrapStoreError('set pause flag', error);
      }
    }
    throw new StoreUnavailableError('the pause flag kept changing under a pause');
  }

  /**
   * Clears the flag. With `expected`, only if the flag still has the version that was read
   * (`ops resume` passes what its checks saw): a pause that landed since is never erased.
   */
  async resume(by: string, at: Date, expected?: { readonly version?: number }): Promise<'cleared' | 'changed'> {
    const values: Record<string, unknown> = { ':false': false, ':by': by, ':at': at.toISOString(), ':zero': 0, ':one': 1 };
    let condition: string | undefined;
    if (expected) {
      condition = expected.version === undefined ? 'attribute_not_exists(version)' : 'version = :version';
      if (expected.version !== undefined) values[':version'] = expected.version;
    }
    try {
      await this.update(
        'SET paused = :false, resumedBy = :by, resumedAt = :at, version = if_not_exists(version, :zero) + :one REMOVE registryFanInHashes',
        condition,
        values,
      );
      return 'cleared';
    } catch (error) {
      if (isConditionalCheckFailed(error)) return 'changed';
      throw wrapStoreError('clear pause flag', error);
    }
  }

  private async update(expression: string, condition: string | undefined, values: Record<string, unknown>): Promise<void> {
    const all = { '#by': 'by', '#at': 'at' };
    const names = Object.fromEntries(Object.entries(all).filter(([name]) => expression.includes(name) || condition?.includes(name)));
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.options.ledgerTable,
        Key: KEY,
        UpdateExpression: expression,
        ConditionExpression: condition,
        // DynamoDB refuses placeholders an expression does not use (and an empty map).
        ExpressionAttributeNames: Object.keys(names).length > 0 ? names : undefined,
        ExpressionAttributeValues: marshall(
          Object.fromEntries(Object.entries(values).filter(([name]) => new RegExp(`${name}\\b`).test(`${expression} ${condition ?? ''}`))),
        ),
      }),
    );
  }
}
