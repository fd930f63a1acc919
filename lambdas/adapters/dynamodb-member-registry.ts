import {
  BatchGetItemCommand,
  DynamoDBClient,
  GetItemCommand,
  TransactWriteItemsCommand,
  type AttributeValue,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { hashAddress, mailboxOf } from '../core/address';
import { MailDispatchError } from '../core/errors';
import {
  addressesToRead,
  decideRegistration,
  storedProxyFor,
  validateMemberRow,
  type RegistrationDecision,
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

/** What a registration that passed the guard writes and asserts. */
type RegistrationPlan = Extract<RegistrationDecision, { ok: true }>;

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
    const mailbox = mailboxOf(address);
    return (await this.readHolders([mailbox])).get(mailbox) ?? { members: [], owners: [] };
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
          return {
            outcome: 'refused',
            memberId,
            reason: decision.reason,
            detail: `address ${this.hash(decision.address)}: ${decision.reason}`,
          };
        }
        const version = typeof stored?.version === 'number' ? stored.version + 1 : 1;
        if (await this.write(member, stored, version, decision)) return { outcome: 'registered', memberId, version };
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
    const all: Record<string, AttributeValue>[] = [...byKey.keys()].map((pk) => ({ [LEDGER_TABLE.partitionKey]: { S: pk } }));
    // BatchGetItem takes at most 100 keys: an import reads many rows' addresses at once.
    for (let start = 0; start < all.length; start += 100) await this.readHolderKeys(all.slice(start, start + 100), byKey, holders);
    // The owners' consent (their `proxyFor`), for a row that proxies onto their mailbox.
    const owners = await this.getMany([...new Set([...holders.values()].flatMap((h) => h.owners))]);
    for (const [address, h] of holders) {
      if (h.owners.length === 0) continue;
      holders.set(address, { ...h, consents: Object.fromEntries(h.owners.map((id) => [id, storedProxyFor(owners.get(id)?.proxyFor)])) });
    }
    return holders;
  }

  private async readHolderKeys(
    first: Record<string, AttributeValue>[],
    byKey: ReadonlyMap<string, string>,
    holders: Map<string, AddressHolders>,
  ): Promise<void> {
    let keys = first;
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
  }

  /** One transaction; `false` when a condition failed (a concurrent write: read again and decide again). */
  private async write(
    member: RegistryMember,
    stored: StoredMember | undefined,
    version: number,
    decision: RegistrationPlan,
  ): Promise<boolean> {
    return this.transact(this.writeItems(member, stored, version, decision), 'register member');
  }

  /** Sends one transaction, again while it only meets contention; `false` when one of its conditions failed. */
  private async transact(items: readonly TransactWriteItem[], what: string): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(new TransactWriteItemsCommand({ TransactItems: [...items] }));
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
        throw wrapStoreError(what, error);
      }
    }
  }

  /** The member Put (conditional on the version read) and one conditional Update per address index item. */
  private writeItems(
    member: RegistryMember,
    stored: StoredMember | undefined,
    version: number,
    decision: RegistrationPlan,
  ): TransactWriteItem[] {
    const item: Record<string, unknown> = {
      // Attributes other writers keep on the member (suppression details from SES feedback) survive.
      ...stored,
      memberId: member.memberId,
      email: member.email,
      status: member.status,
      proxies: [...member.proxies],
      proxyFor: [...member.proxyFor],
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
    return [
      put,
      ...decision.changes.map((change) => this.indexUpdate(member.memberId, change)),
      ...decision.checks.map((check) => this.indexCheck(check.address, check.expectMembers)),
      // 12.3: each owner of a mailbox this member proxies onto still consents (its proxyFor lists it).
      ...decision.changes.flatMap((change) => (change.consent?.from ?? []).map((owner) => this.consentCheck(owner, member.memberId))),
    ];
  }

  private indexCheck(address: string, expectMembers: readonly string[]): TransactWriteItem {
    const values: Record<string, AttributeValue> = {};
    return {
      ConditionCheck: {
        TableName: this.options.tables.ledger,
        Key: { [LEDGER_TABLE.partitionKey]: { S: LedgerKey.registry(this.hash(address)) } },
        ConditionExpression: exactSet('members', expectMembers, 'em', values),
        ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
      },
    };
  }

  private consentCheck(owner: string, ward: string): TransactWriteItem {
    return {
      ConditionCheck: {
        TableName: this.options.tables.members,
        Key: { [MEMBERS_TABLE.partitionKey]: { S: owner } },
        ConditionExpression: 'contains(proxyFor, :ward)',
        ExpressionAttributeValues: { ':ward': { S: ward } },
      },
    };
  }

  /**
   * Registers many rows (a file import) with the same guard and the same answers as `register`
   * row by row in order, in far fewer calls: members and address index items are read in batches,
   * and rows that touch disjoint items are written together in one transaction. A transaction is
   * all or nothing, so every condition of every row in it held; when one fails, its rows are
   * registered one by one (fresh reads, same retries). A row that touches an item an earlier row of
   * the same batch touches waits for it and goes one by one too, so file order decides as before.
   */
  async registerMany(rows: readonly MemberRow[]): Promise<RowResult[]> {
    const results: (RowResult | undefined)[] = rows.map(() => undefined);
    const valid: { index: number; member: RegistryMember }[] = [];
    rows.forEach((row, index) => {
      const validation = validateMemberRow(row);
      const memberId = typeof row.memberId === 'string' ? row.memberId : String(row.memberId ?? '');
      if (validation.ok) valid.push({ index, member: validation.member });
      else results[index] = { outcome: 'refused', memberId, reason: validation.reason, detail: validation.detail };
    });
    let stored: Map<string, StoredMember>;
    let holders: Map<string, AddressHolders>;
    try {
      stored = await this.getMany(valid.map((v) => v.member.memberId));
      holders = await this.readHolders([...new Set(valid.flatMap((v) => addressesToRead(v.member, stored.get(v.member.memberId))))]);
    } catch {
      // The batch reads failed: row by row, each row reports its own outcome.
      return Promise.all(rows.map(async (row, index) => results[index] ?? this.register(row)));
    }
    const touched = new Set<string>();
    const later: number[] = [];
    const groups: { indexes: number[]; items: TransactWriteItem[] }[] = [];
    for (const { index, member } of valid) {
      const before = stored.get(member.memberId);
      const addresses = addressesToRead(member, before);
      const keys = [`member#${member.memberId}`, ...addresses.map((address) => `address#${address}`)];
      if (keys.some((key) => touched.has(key))) {
        later.push(index);
        keys.forEach((key) => touched.add(key));
        continue;
      }
      keys.forEach((key) => touched.add(key));
      const decision = decideRegistration(
        member,
        new Map(addresses.map((a) => [a, holders.get(a) ?? { members: [], owners: [] }])),
        this.options,
      );
      if (!decision.ok) {
        results[index] = {
          outcome: 'refused',
          memberId: member.memberId,
          reason: decision.reason,
          detail: `address ${this.hash(decision.address)}: ${decision.reason}`,
        };
        continue;
      }
      // A consent check reads another member's item, which a row of the same batch may write: alone.
      if (decision.changes.some((change) => change.consent)) {
        later.push(index);
        continue;
      }
      const items = this.writeItems(member, before, typeof before?.version === 'number' ? before.version + 1 : 1, decision);
      let group = groups.at(-1);
      if (!group || group.items.length + items.length > MAX_TRANSACTION_ITEMS) groups.push((group = { indexes: [], items: [] }));
      group.indexes.push(index);
      group.items.push(...items);
    }
    await Promise.all(
      groups.map(async (group) => {
        let written = false;
        try {
          written = await this.transact(group.items, 'register members');
        } catch {
          written = false;
        }
        if (written) {
          for (const index of group.indexes) {
            const before = stored.get(String(rows[index].memberId));
            const version = typeof before?.version === 'number' ? before.version + 1 : 1;
            results[index] = { outcome: 'registered', memberId: String(rows[index].memberId), version };
          }
        } else {
          for (const index of group.indexes) results[index] = await this.register(rows[index]);
        }
      }),
    );
    for (const index of later) results[index] = await this.register(rows[index]);
    return results as RowResult[];
  }

  /** Reads members in batches of 100 (consistent reads). */
  private async getMany(memberIds: readonly string[]): Promise<Map<string, StoredMember>> {
    const found = new Map<string, StoredMember>();
    const table = this.options.tables.members;
    for (let start = 0; start < memberIds.length; start += 100) {
      let keys: Record<string, AttributeValue>[] = memberIds
        .slice(start, start + 100)
        .map((id) => ({ [MEMBERS_TABLE.partitionKey]: { S: id } }));
      for (let round = 0; keys.length > 0; round++) {
        if (round > 8) throw new RegistryWriteError('member reads kept coming back unprocessed');
        if (round > 0) await sleep(25 * 2 ** round);
        try {
          const response = await this.client.send(
            new BatchGetItemCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }),
          );
          for (const raw of response.Responses?.[table] ?? []) {
            const item = unmarshall(raw) as StoredMember;
            found.set(item.memberId, item);
          }
          keys = (response.UnprocessedKeys?.[table]?.Keys as Record<string, AttributeValue>[] | undefined) ?? [];
        } catch (error) {
          throw wrapStoreError('read members', error);
        }
      }
    }
    return found;
  }

  private indexUpdate(memberId: string, change: AddressChange): TransactWriteItem {
    const add = [change.member && 'members :m', change.owner && 'owners :m'].filter(Boolean);
    const remove = [!change.member && 'members :m', !change.owner && 'owners :m'].filter(Boolean);
    const values: Record<string, AttributeValue> = { ':m': { SS: [memberId] } };
    const conditions: string[] = [];
    if (change.expectMembers) conditions.push(exactSet('members', change.expectMembers, 'em', values));
    if (change.consent) conditions.push(exactSet('owners', change.consent.owners, 'eo', values));
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
        UpdateExpression: [add.length ? `ADD ${add.join(', ')}` : '', remove.length ? `DELETE ${remove.join(', ')}` : '']
          .filter(Boolean)
          .join(' '),
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
  const registry = new DynamoDbMemberRegistry({
    tables: { members: options.tables.members, ledger: '' },
    hashKey: '',
    fanInLimit: 1,
    client: options.client,
  });
  return registry.get(memberId);
}

/**
 * A condition that a string set holds exactly `expected` (the decision's snapshot): DynamoDB has
 * no set equality in conditions, so size plus membership of each expected element.
 */
function exactSet(attribute: string, expected: readonly string[], prefix: string, values: Record<string, AttributeValue>): string {
  if (expected.length === 0) return `attribute_not_exists(${attribute})`;
  values[`:${prefix}n`] = { N: String(expected.length) };
  expected.forEach((id, i) => (values[`:${prefix}${i}`] = { S: id }));
  return `(size(${attribute}) = :${prefix}n AND ${expected.map((_, i) => `contains(${attribute}, :${prefix}${i})`).join(' AND ')})`;
}

function setValues(value: unknown): string[] {
  return value instanceof Set ? [...value].map(String) : [];
}
