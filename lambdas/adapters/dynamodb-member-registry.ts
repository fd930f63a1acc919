import {
  BatchGetItemCommand,
  DynamoDBClient,
  GetItemCommand,
  TransactWriteItemsCommand,
  type AttributeValue,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { hashAddress } from '../core/address';
import { MailDispatchError } from '../core/errors';
import {
  addressesToRead,
  decideRegistration,
  validateMemberRow,
  type AddressChange,
  type AddressHolders,
  type MemberRow,
  type RegistryMember,
  type RegistryRefusal,
} from '../core/registry-guard';
import { LEDGER_TABLE, LedgerKey, MEMBERS_TABLE } from '../tables';
import { classifyCancellation, contentionDelayMs, wrapStoreError } from './dynamodb-errors';
import { setTimeout as sleep } from 'node:timers/promises';

/** Physical table names (stack outputs, or the local pipeline's). */
export interface MemberRegistryTables {
  readonly members: string;
  /** Holds the address index items (`registry#<addressHash>`). */
  readonly ledger: string;
}

export interface DynamoDbMemberRegistryOptions {
  readonly tables: MemberRegistryTables;
  /** Key of the address hash (the same key the dispatcher uses). */
  readonly hashKey: string | Buffer;
  /** Most distinct members one address may serve. */
  readonly fanInLimit: number;
  /** Let an own e-mail be another member's own e-mail too. @default false */
  readonly allowShared?: boolean;
  /** @default a client built from the environment */
  readonly client?: DynamoDBClient;
  /** Tries of one row that lost a race with a concurrent registry write. @default 5 */
  readonly conflictRetries?: number;
  /**
   * Tries of one transaction cancelled by contention alone (`TransactionConflict`,
   * `ThrottlingError`: nothing written), with back-off, before the row fails as unavailable. @default 8
   */
  readonly contentionRetries?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** A member item as stored; fields other than `memberId` may be anything (raw writes). */
export interface StoredMember {
  readonly memberId: string;
  readonly email?: unknown;
  readonly status?: unknown;
  readonly proxies?: unknown;
  readonly suppressed?: unknown;
  readonly updatedAt?: unknown;
  readonly version?: unknown;
  readonly [attribute: string]: unknown;
}

/** What happened to one row. `detail` and `error` never carry an address or a name. */
export type RowResult =
  | { readonly outcome: 'registered'; readonly memberId: string; readonly version: number }
  | { readonly outcome: 'refused'; readonly memberId: string; readonly reason: RegistryRefusal; readonly detail: string }
  | { readonly outcome: 'failed'; readonly memberId: string; readonly error: Error };

export interface RegistrationResult {
  readonly registered: string[];
  /** Rows the guard refused: the write was not made, the rest went on. */
  readonly refused: { readonly memberId: string; readonly reason: RegistryRefusal }[];
  /** Rows whose write failed for another reason (store unavailable): not written, safe to retry. */
  readonly failed: { readonly memberId: string; readonly error: string }[];
}

/** The registry could not finish one row (store error, too many concurrent writers). */
export class RegistryWriteError extends MailDispatchError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RegistryWriteError';
  }
}

/** Most items in one TransactWriteItems call. */
const MAX_TRANSACTION_ITEMS = 100;

/**
 * The member registry on DynamoDB, with its guard. One row is one transaction: the member Put
 * (conditional on the version read) and one Update per address index item it joins or leaves
 * (conditional on the limit and the owners), so two concurrent imports cannot both take the
 * last place on an address.
 */
export class DynamoDbMemberRegistry {
  private readonly client: DynamoDBClient;
  private readonly conflictRetries: number;
  private readonly now: () => Date;

  constructor(private readonly options: DynamoDbMemberRegistryOptions) {
    this.client = options.client ?? new DynamoDBClient({});
    this.conflictRetries = options.conflictRetries ?? 5;
    this.now = options.now ?? (() => new Date());
  }

  /** Reads one member (consistent read); `undefined` when there is none. */
  async get(memberId: string): Promise<StoredMember | undefined> {
    try {
      const { Item } = await this.client.send(
        new GetItemCommand({
          TableName: this.options.tables.members,
          Key: { [MEMBERS_TABLE.partitionKey]: { S: memberId } },
          ConsistentRead: true,
        }),
      );
      return Item ? (unmarshall(Item) as StoredMember) : undefined;
    } catch (error) {
      throw wrapStoreError('read member', error);
    }
  }

  /** Counts of members on an address, from the index (what the guard will compare to the limit). */
  async holdersOf(address: string): Promise<AddressHolders> {
    return (await this.readHolders([address])).get(address) ?? { members: [], owners: [] };
  }

  /** Registers (creates or updates) one row; never throws. */
  async register(row: MemberRow): Promise<RowResult> {
    const validation = validateMemberRow(row);
    const memberId = typeof row.memberId === 'string' ? row.memberId : String(row.memberId ?? '');
    if (!validation.ok) return { outcome: 'refused', memberId, reason: validation.reason, detail: validation.detail };
    const member = validation.member;
    try {
      for (let attempt = 1; attempt <= this.conflictRetries; attempt++) {
        const stored = await this.get(member.memberId);
        const addresses = addressesToRead(member, stored);
        if (addresses.length + 1 > MAX_TRANSACTION_ITEMS) {
          throw new RegistryWriteError(`member ${member.memberId} touches ${addresses.length} addresses, more than one transaction holds`);
        }
        const decision = decideRegistration(member, await this.readHolders(addresses), this.options);
        if (!decision.ok) {
          return { outcome: 'refused', memberId, reason: decision.reason, detail: `address ${this.hash(decision.address)}: ${decision.reason}` };
        }
        const version = typeof stored?.version === 'number' ? stored.version + 1 : 1;
        if (await this.write(member, stored, version, decision.changes)) return { outcome: 'registered', memberId, version };
      }
      throw new RegistryWriteError(`member ${member.memberId} lost ${this.conflictRetries} races with concurrent registry writes`);
    } catch (error) {
      return { outcome: 'failed', memberId, error: error instanceof Error ? error : new RegistryWriteError(String(error)) };
    }
  }

  private hash(address: string): string {
    return hashAddress(address, this.options.hashKey);
  }

  private async readHolders(addresses: readonly string[]): Promise<Map<string, AddressHolders>> {
    const byKey = new Map(addresses.map((address) => [LedgerKey.registry(this.hash(address)), address]));
    const holders = new Map<string, AddressHolders>(addresses.map((address) => [address, { members: [], owners: [] }]));
    let keys: Record<string, AttributeValue>[] = [...byKey.keys()].map((pk) => ({ [LEDGER_TABLE.partitionKey]: { S: pk } }));
    try {
      for (let round = 0; keys.length > 0; round++) {
        if (round > 8) throw new RegistryWriteError('address index reads kept coming back unprocessed');
        if (round > 0) await sleep(25 * 2 ** round);
        const response = await this.client.send(
          new BatchGetItemCommand({ RequestItems: { [this.options.tables.ledger]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const raw of response.Responses?.[this.options.tables.ledger] ?? []) {
          const item = unmarshall(raw);
          const address = byKey.get(String(item.pk));
          if (address !== undefined) holders.set(address, { members: setValues(item.members), owners: setValues(item.owners) });
        }
        keys = (response.UnprocessedKeys?.[this.options.tables.ledger]?.Keys as Record<string, AttributeValue>[] | undefined) ?? [];
      }
    } catch (error) {
      if (error instanceof RegistryWriteError) throw error;
      throw wrapStoreError('read address index', error);
    }
    return holders;
  }

  /** One transaction; `false` when a condition failed (a concurrent write: read again and decide again). */
  private async write(member: RegistryMember, stored: StoredMember | undefined, version: number, changes: readonly AddressChange[]): Promise<boolean> {
    const item: Record<string, unknown> = {
      // Attributes other writers keep on the member (suppression details from SES feedback) survive.
      ...stored,
      memberId: member.memberId,
      email: member.email,
      status: member.status,
      proxies: [...member.proxies],
      updatedAt: this.now().toISOString(),
      version,
    };
    if (member.suppressed !== undefined) item.suppressed = member.suppressed;
    const put: TransactWriteItem = {
      Put: {
        TableName: this.options.tables.members,
        Item: marshall(item, { removeUndefinedValues: true }),
        ...(stored === undefined
          ? { ConditionExpression: 'attribute_not_exists(memberId)' }
          : typeof stored.version === 'number'
            ? { ConditionExpression: 'version = :version', ExpressionAttributeValues: { ':version': { N: String(stored.version) } } }
            : { ConditionExpression: 'attribute_exists(memberId) AND attribute_not_exists(version)' }),
      },
    };
    const items = [put, ...changes.map((change) => this.indexUpdate(member.memberId, change))];
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
        return true;
      } catch (error) {
        const cancellation = classifyCancellation(error);
        // A condition failed: a concurrent registry write got there first. Read again, decide again.
        if (cancellation?.kind === 'condition') return false;
        // Contention only: the reads still hold, the same transaction may go through once it clears.
        if (cancellation?.kind === 'contention' && attempt < (this.options.contentionRetries ?? 8)) {
          await sleep(contentionDelayMs(attempt, cancellation.throttled));
          continue;
        }
        throw wrapStoreError('register member', error);
      }
    }
  }

  private indexUpdate(memberId: string, change: AddressChange): TransactWriteItem {
    const add = [change.member && 'members :m', change.owner && 'owners :m'].filter(Boolean);
    const remove = [!change.member && 'members :m', !change.owner && 'owners :m'].filter(Boolean);
    const values: Record<string, AttributeValue> = { ':m': { SS: [memberId] } };
    const conditions: string[] = [];
    if (change.adds) {
      conditions.push('(attribute_not_exists(members) OR contains(members, :id) OR size(members) < :limit)');
      values[':id'] = { S: memberId };
      values[':limit'] = { N: String(this.options.fanInLimit) };
      if (change.owner && !this.options.allowShared) {
        conditions.push('(attribute_not_exists(owners) OR (size(owners) = :one AND contains(owners, :id)))');
        values[':one'] = { N: '1' };
      }
    }
    return {
      Update: {
        TableName: this.options.tables.ledger,
        Key: { [LEDGER_TABLE.partitionKey]: { S: LedgerKey.registry(this.hash(change.address)) } },
        UpdateExpression: [add.length ? `ADD ${add.join(', ')}` : '', remove.length ? `DELETE ${remove.join(', ')}` : ''].filter(Boolean).join(' '),
        ...(conditions.length ? { ConditionExpression: conditions.join(' AND ') } : {}),
        ExpressionAttributeValues: values,
      },
    };
  }
}

export interface RegisterMembersOptions extends DynamoDbMemberRegistryOptions {
  /** Called after each row (progress bars). */
  readonly onRow?: (result: RowResult, index: number) => void;
}

/**
 * Registers rows one after another through the guard. A refused or failed row never stops the
 * rest, and every row ends up in exactly one of `registered`, `refused`, `failed`.
 */
export async function registerMembers(rows: readonly MemberRow[], options: RegisterMembersOptions): Promise<RegistrationResult> {
  const registry = new DynamoDbMemberRegistry(options);
  const result: RegistrationResult = { registered: [], refused: [], failed: [] };
  for (const [index, row] of rows.entries()) {
    const outcome = await registry.register(row);
    if (outcome.outcome === 'registered') result.registered.push(outcome.memberId);
    else if (outcome.outcome === 'refused') result.refused.push({ memberId: outcome.memberId, reason: outcome.reason });
    else result.failed.push({ memberId: outcome.memberId, error: outcome.error.message });
    options.onRow?.(outcome, index);
  }
  return result;
}

/** Reads one member; `undefined` when there is none. */
export async function getMember(
  memberId: string,
  options: { readonly tables: Pick<MemberRegistryTables, 'members'>; readonly client?: DynamoDBClient },
): Promise<StoredMember | undefined> {
  const registry = new DynamoDbMemberRegistry({ tables: { members: options.tables.members, ledger: '' }, hashKey: '', fanInLimit: 1, client: options.client });
  return registry.get(memberId);
}

function setValues(value: unknown): string[] {
  return value instanceof Set ? [...value].map(String) : [];
}
