import {
  DynamoDBClient,
  GetItemCommand,
  TransactWriteItemsCommand,
  type AttributeValue,
  type TransactWriteItem,
  type Update,
} from '@aws-sdk/client-dynamodb';
import { EMPTY_FAN_IN, type FanInState } from '../core/fan-in';
import { marshall } from '@aws-sdk/util-dynamodb';
import { CLAIMABLE_LEDGER_STATES, DispatchState, LedgerState } from '../core/outcomes';
import { AuditDay, LEDGER_TABLE, LedgerKey, MEMBERS_TABLE } from '../tables';
import type {
  ClaimRequest,
  ClaimResult,
  DispatchLedger,
  DispatchRecord,
  DispatchSnapshot,
  MailboxOwners,
  MemberRecord,
  Settlement,
  SnapshotKey,
  UnsentRecord,
} from '../ports';
import { snapshotId } from '../ports';
import { batchGetItems } from './dynamodb-batch-get';
import { groupClaims } from './claim-groups';
import { classifyCancellation, contentionDelayMs, wrapStoreError } from './dynamodb-errors';
import { notSuppressedCondition } from './suppression-condition';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDynamoDbClient } from './sdk-clients';
import { updateLedgerItem } from './ledger-update';

export interface DynamoDbDispatchLedgerOptions {
  readonly membersTable: string;
  readonly ledgerTable: string;
  /** @default a client built from the environment */
  readonly client?: DynamoDBClient;
  /** Tries of a transaction that lost to a concurrent one on the same item. @default 6 */
  readonly conflictRetries?: number;
}

const CLAIMABLE = CLAIMABLE_LEDGER_STATES.map((state, i) => [`:claimable${i}`, state] as const);
const CLAIMABLE_IN = `(${CLAIMABLE.map(([name]) => name).join(', ')})`;
/**
 * The items of one claim, in transaction order: always these three, then on a proxy send (12.3)
 * the mailbox's index item and each consenting owner's member item (`proxy-consent`).
 */
const CLAIM_ITEMS = ['member', 'ledger', 'fan-in'] as const;
type ClaimItem = (typeof CLAIM_ITEMS)[number] | 'proxy-consent';
const itemsOf = (r: ClaimRequest): ClaimItem[] => [
  ...CLAIM_ITEMS,
  ...(r.proxyConsent ? ['proxy-consent' as const, ...r.proxyConsent.consentingOwners.map(() => 'proxy-consent' as const)] : []),
];
const UNAVAILABLE: ClaimResult = { claimed: false, unavailable: true };
/**
 * What the decision reads of a member (`MemberRecord`): a projection, because the role may read
 * only these (issue 12.11, `TABLE_ACCESS.dispatcher.memberAttributes`), never a name or the rest.
 */
const MEMBER_SNAPSHOT_ATTRIBUTES = [MEMBERS_TABLE.partitionKey, 'email', 'status', 'proxies', 'suppressed', 'suppressions'] as const;

/** Ledger, registry reads and fan-in counters on DynamoDB. */
export class DynamoDbDispatchLedger implements DispatchLedger {
  private readonly client: DynamoDBClient;
  private readonly conflictRetries: number;

  constructor(private readonly options: DynamoDbDispatchLedgerOptions) {
    this.client = options.client ?? createDynamoDbClient();
    this.conflictRetries = options.conflictRetries ?? 6;
  }

  async readSnapshots(keys: readonly SnapshotKey[]): Promise<Map<string, DispatchSnapshot>> {
    const memberIds = unique(keys.map((k) => k.memberId));
    const ledgerKeys = unique(keys.flatMap((k) => [LedgerKey.dispatch(k.dispatchId), k.fanInKey]));
    const items = await batchGetItems(
      this.client,
      [
        ...memberIds.map((id) => ({ table: this.options.membersTable, key: { [MEMBERS_TABLE.partitionKey]: { S: id } } })),
        ...ledgerKeys.map((pk) => ({ table: this.options.ledgerTable, key: { [LEDGER_TABLE.partitionKey]: { S: pk } } })),
      ],
      { attributesByTable: { [this.options.membersTable]: MEMBER_SNAPSHOT_ATTRIBUTES } },
    );
    const members = new Map<string, MemberRecord>();
    const ledger = new Map<string, Record<string, unknown>>();
    for (const item of items.get(this.options.membersTable) ?? []) members.set(String(item.memberId), item as unknown as MemberRecord);
    for (const item of items.get(this.options.ledgerTable) ?? []) ledger.set(String(item.pk), item);

    const snapshots = new Map<string, DispatchSnapshot>();
    for (const key of keys) {
      snapshots.set(snapshotId(key), {
        member: members.get(key.memberId),
        record: toDispatchRecord(ledger.get(LedgerKey.dispatch(key.dispatchId))),
        // TTL deletes late: the core compares each member's instant with now, so an expired
        // counter counts nobody; its version still guards the next join.
        fanIn: toFanInState(ledger.get(key.fanInKey)),
      });
    }
    return snapshots;
  }

  async claimAll(requests: readonly ClaimRequest[]): Promise<ClaimResult[]> {
    const results: ClaimResult[] = new Array(requests.length);
    let pending = requests.map((_, index) => index);
    while (pending.length > 0) {
      const [group] = groupClaims(pending.map((index) => requests[index]));
      const indexes = group.map((g) => pending[g]);
      const outcome = await this.claimGroup(indexes.map((index) => requests[index]));
      // Claims in a cancelled transaction that failed no condition of their own were not written:
      // they go into the next transaction.
      const retry = new Set<number>();
      indexes.forEach((index, i) => (outcome[i] === undefined ? retry.add(index) : (results[index] = outcome[i]!)));
      pending = pending.filter((index) => !indexes.includes(index) || retry.has(index));
    }
    return results;
  }

  /**
   * One transaction for claims on distinct items. Returns, per claim, its result, or undefined
   * when the transaction was cancelled only by other claims' conditions. A cancellation for
   * contention alone (`TransactionConflict`, `ThrottlingError`: nothing written) is tried again
   * with back-off, then reported unavailable; any other reason is never read as a condition.
   */
  private async claimGroup(group: readonly ClaimRequest[]): Promise<(ClaimResult | undefined)[]> {
    const items = group.flatMap((request) => this.claimItems(request));
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
        return group.map(() => ({ claimed: true }));
      } catch (error) {
        const cancellation = classifyCancellation(error);
        // Not a cancellation (the SDK's own retries ran out) or a reason we cannot act on: unavailable.
        if (!cancellation || cancellation.kind === 'other') return group.map(() => UNAVAILABLE);
        if (cancellation.kind === 'condition') {
          const { codes } = cancellation;
          let offset = 0;
          const conflicts = group.map((request) => {
            const kinds = itemsOf(request);
            const failed = kinds.filter((_, i) => codes[offset + i] === 'ConditionalCheckFailed');
            offset += kinds.length;
            return [...new Set(failed)];
          });
          return conflicts.map((list) => (list.length > 0 ? { claimed: false, conflicts: list } : undefined));
        }
        // Lost to a concurrent transaction on the same item (two batches for one address) or
        // throttled: nothing was written, so trying the same transaction again is safe.
        if (attempt >= this.conflictRetries) return group.map(() => UNAVAILABLE);
        await sleep(contentionDelayMs(attempt, cancellation.throttled));
      }
    }
  }

  async readMailboxOwners(registryKey: string): Promise<MailboxOwners> {
    let owners: string[];
    try {
      const { Item } = await this.client.send(
        new GetItemCommand({
          TableName: this.options.ledgerTable,
          Key: { [LEDGER_TABLE.partitionKey]: { S: registryKey } },
          ConsistentRead: true,
          ProjectionExpression: 'owners',
        }),
      );
      owners = Item?.owners?.SS ?? [];
    } catch (error) {
      throw wrapStoreError('read mailbox owners', error);
    }
    if (owners.length === 0) return { owners, consents: {} };
    const items = await batchGetItems(
      this.client,
      owners.map((id) => ({ table: this.options.membersTable, key: { [MEMBERS_TABLE.partitionKey]: { S: id } } })),
      { attributes: [MEMBERS_TABLE.partitionKey, 'proxyFor'] },
    );
    const consents: Record<string, string[]> = {};
    for (const item of items.get(this.options.membersTable) ?? []) consents[String(item.memberId)] = stringList(item.proxyFor);
    return { owners, consents };
  }

  async settle(dispatchId: string, claimToken: string, settlement: Settlement, now: Date): Promise<void> {
    const at = now.toISOString();
    const set: Record<string, unknown> = { ':state': settlement.kind, ':token': claimToken, ':claimed': LedgerState.Claimed, ':at': at };
    let update = 'SET #state = :state, updatedAt = :at';
    let condition = 'claimToken = :token AND #state = :claimed';
    const entry: Record<string, unknown> = { state: settlement.kind, at };
    if (settlement.kind === 'sent') {
      update += ', sesMessageId = :sesId, sentAt = :at';
      set[':sesId'] = settlement.sesMessageId;
      // An attempt that outlived its lease may find its claim marked in-doubt: it knows better.
      condition = 'claimToken = :token AND #state IN (:claimed, :inDoubt)';
      set[':inDoubt'] = LedgerState.InDoubt;
    } else if (settlement.kind === 'released' || settlement.kind === 'failed') {
      update += ', reason = :reason';
      set[':reason'] = settlement.reason;
      entry.reason = settlement.reason;
    }
    set[':entry'] = [entry];
    set[':empty'] = [];
    update += ', history = list_append(if_not_exists(history, :empty), :entry)';
    await this.conditionalUpdate('settle', dispatchId, update, condition, set);
  }

  async recordUnsent(record: UnsentRecord): Promise<void> {
    const at = record.now.toISOString();
    // Rejected bodies get a record per SQS message; blocked and failed ones share the dispatchId's record.
    const pk =
      record.state === LedgerState.Rejected ? LedgerKey.rejected(record.sqsMessageId) : LedgerKey.dispatch(record.dispatchId ?? '');
    const fields: Record<string, unknown> = {
      ':state': record.state,
      ':reason': record.reason,
      ':at': at,
      ':day': AuditDay.of(at, pk),
      ':sqs': record.sqsMessageId,
      ':entry': [{ state: record.state, reason: record.reason, at, sqsMessageId: record.sqsMessageId }],
      ':empty': [],
    };
    const sets = ['#state = :state', 'reason = :reason', 'claimedAt = :at', 'auditDay = :day', 'lastMessageId = :sqs', 'updatedAt = :at'];
    const optional = {
      dispatchId: record.dispatchId,
      memberId: record.memberId,
      toHash: record.toHash,
      template: record.template,
      field: record.field,
    };
    for (const [name, value] of Object.entries(optional)) {
      if (value === undefined) continue;
      sets.push(`#${name} = :${name}`);
      fields[`:${name}`] = value;
    }
    const names = Object.fromEntries(
      Object.keys(optional)
        .filter((n) => optional[n as keyof typeof optional] !== undefined)
        .map((n) => [`#${n}`, n]),
    );
    const update = `SET ${sets.join(', ')}, history = list_append(if_not_exists(history, :empty), :entry)`;
    if (record.state === LedgerState.Rejected) {
      await this.conditionalUpdate('record', pk, update, undefined, fields, names);
      return;
    }
    // A blocked or failed outcome must never overwrite a claim, a send or an in-doubt outcome: only
    // records that prove nothing was sent, so no live claim ever becomes claimable again.
    Object.assign(fields, Object.fromEntries(CLAIMABLE));
    await this.conditionalUpdate('record', pk, update, `attribute_not_exists(pk) OR #state IN ${CLAIMABLE_IN}`, fields, names);
  }

  async recordDuplicate(dispatchId: string, sqsMessageId: string, now: Date): Promise<void> {
    const at = now.toISOString();
    // The ledger is the outbox of the outcome feed: a re-publish the portal should hear about is a
    // record change. A second copy of the claiming SQS message is not a re-publish.
    await this.conditionalUpdate(
      'record-duplicate',
      LedgerKey.dispatch(dispatchId),
      'SET updatedAt = :at, history = list_append(if_not_exists(history, :empty), :entry) ADD duplicateMessageIds :sqsSet',
      '#state = :sent AND claimMessageId <> :sqs AND NOT contains(duplicateMessageIds, :sqs)',
      {
        ':at': at,
        ':empty': [],
        ':entry': [{ state: DispatchState.Duplicate, at, sqsMessageId }],
        ':sent': LedgerState.Sent,
        ':sqs': sqsMessageId,
        ':sqsSet': new Set([sqsMessageId]),
      },
    );
  }

  private claimItems(r: ClaimRequest): TransactWriteItem[] {
    const at = r.now.toISOString();
    // One suppression rule, shared with the decision (core/suppression.ts).
    const notSuppressed = notSuppressedCondition(r.toHash);
    const memberCondition =
      `#status = :active AND ${notSuppressed.expression} AND ` +
      (r.matched.via === 'email'
        ? 'email = :value'
        : '(attribute_type(proxies, :typeL) OR attribute_type(proxies, :typeSS)) AND contains(proxies, :value)');
    const memberValues: Record<string, unknown> = { ':active': 'active', ':value': r.matched.value };
    if (r.matched.via === 'proxy') Object.assign(memberValues, { ':typeL': 'L', ':typeSS': 'SS' });
    return [
      {
        ConditionCheck: {
          TableName: this.options.membersTable,
          Key: { [MEMBERS_TABLE.partitionKey]: { S: r.message.memberId } },
          ConditionExpression: memberCondition,
          ExpressionAttributeNames: { '#status': 'status', ...notSuppressed.names },
          ExpressionAttributeValues: { ...marshall(memberValues), ...notSuppressed.values },
        },
      },
      {
        Update: {
          TableName: this.options.ledgerTable,
          Key: { [LEDGER_TABLE.partitionKey]: { S: LedgerKey.dispatch(r.message.dispatchId) } },
          UpdateExpression:
            'SET #state = :claimed, dispatchId = :d, memberId = :m, toHash = :h, template = :t, claimedAt = :at, auditDay = :day, ' +
            'updatedAt = :at, claimToken = :token, claimMessageId = :sqs, claimReceiveCount = :rc, ' +
            'history = list_append(if_not_exists(history, :empty), :entry) REMOVE reason, #field, sentAt, sesMessageId',
          ConditionExpression: `attribute_not_exists(pk) OR #state IN ${CLAIMABLE_IN}`,
          ExpressionAttributeNames: { '#state': 'state', '#field': 'field' },
          ExpressionAttributeValues: marshall({
            ':claimed': LedgerState.Claimed,
            ':d': r.message.dispatchId,
            ':m': r.message.memberId,
            ':h': r.toHash,
            ':t': r.message.template,
            ':at': at,
            ':day': AuditDay.of(at, LedgerKey.dispatch(r.message.dispatchId)),
            ':token': r.claimToken,
            ':sqs': r.sqsMessageId,
            ':rc': r.receiveCount,
            ':empty': [],
            ':entry': [{ state: LedgerState.Claimed, at, sqsMessageId: r.sqsMessageId }],
            ...Object.fromEntries(CLAIMABLE),
          }),
        },
      },
      { Update: { TableName: this.options.ledgerTable, Key: { [LEDGER_TABLE.partitionKey]: { S: r.fanInKey } }, ...fanInUpdate(r) } },
      ...(r.proxyConsent ? this.proxyConsentItems(r.message.memberId, r.proxyConsent) : []),
    ];
  }

  /**
   * 12.3: the mailbox's owners are exactly those the consent was decided on (none: still nobody),
   * and each owner other than the ward still lists it in `proxyFor`. One more item per owner, on
   * proxy sends only.
   */
  private proxyConsentItems(ward: string, check: NonNullable<ClaimRequest['proxyConsent']>): TransactWriteItem[] {
    const values: Record<string, AttributeValue> = {};
    check.owners.forEach((owner, i) => (values[`:o${i}`] = { S: owner }));
    if (check.owners.length > 0) values[':on'] = { N: String(check.owners.length) };
    const owners =
      check.owners.length === 0
        ? 'attribute_not_exists(owners)'
        : `size(owners) = :on AND ${check.owners.map((_, i) => `contains(owners, :o${i})`).join(' AND ')}`;
    return [
      {
        ConditionCheck: {
          TableName: this.options.ledgerTable,
          Key: { [LEDGER_TABLE.partitionKey]: { S: check.registryKey } },
          ConditionExpression: owners,
          ...(check.owners.length > 0 ? { ExpressionAttributeValues: values } : {}),
        },
      },
      ...check.consentingOwners.map((owner) => ({
        ConditionCheck: {
          TableName: this.options.membersTable,
          Key: { [MEMBERS_TABLE.partitionKey]: { S: owner } },
          ConditionExpression: 'contains(proxyFor, :ward)',
          ExpressionAttributeValues: { ':ward': { S: ward } },
        },
      })),
    ];
  }

  private async conditionalUpdate(
    operation: string,
    pk: string,
    update: string,
    condition: string | undefined,
    values: Record<string, unknown>,
    names: Record<string, string> = {},
  ): Promise<void> {
    // A failed condition: the record moved on (a concurrent attempt settled it), and the ledger
    // already holds the truth.
    await updateLedgerItem(this.client, this.options.ledgerTable, { operation, pk, update, condition, values, names });
  }
}

/**
 * The claim's write on the mailbox's counter (core/fan-in.ts). A member in the span moves its
 * own instant forward, conditioned on still being in it; a member joining the span is
 * conditioned on the version the count was made from, so two concurrent joins cannot both take
 * the last place, and a join onto an empty (or pre-span, versionless) counter writes it whole.
 */
function fanInUpdate(
  r: ClaimRequest,
): Pick<Update, 'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> {
  const claim = r.fanIn;
  const at = { N: String(claim.atMs) };
  const exp = { N: String(r.fanInExpiresAt) };
  if (claim.kind === 'refresh') {
    return {
      UpdateExpression: 'SET seen.#m = :at, expiresAt = :exp',
      ConditionExpression: 'seen.#m > :cutoff',
      ExpressionAttributeNames: { '#m': r.message.memberId },
      ExpressionAttributeValues: { ':at': at, ':exp': exp, ':cutoff': { N: String(claim.cutoffMs) } },
    };
  }
  if (claim.version === 0) {
    return {
      UpdateExpression: 'SET seen = :seen, version = :next, expiresAt = :exp REMOVE members',
      ConditionExpression: 'attribute_not_exists(version)',
      ExpressionAttributeValues: { ':seen': { M: { [r.message.memberId]: at } }, ':next': { N: '1' }, ':exp': exp },
    };
  }
  const names: Record<string, string> = { '#m': r.message.memberId };
  claim.prune.forEach((id, i) => (names[`#p${i}`] = id));
  const remove = claim.prune.length > 0 ? ` REMOVE ${claim.prune.map((_, i) => `seen.#p${i}`).join(', ')}` : '';
  return {
    UpdateExpression: `SET seen.#m = :at, version = :next, expiresAt = :exp${remove}`,
    ConditionExpression: 'version = :version',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: {
      ':at': at,
      ':exp': exp,
      ':version': { N: String(claim.version) },
      ':next': { N: String(claim.version + 1) },
    },
  };
}

function toFanInState(item: Record<string, unknown> | undefined): FanInState {
  if (!item || typeof item.version !== 'number') return EMPTY_FAN_IN;
  const seen = typeof item.seen === 'object' && item.seen !== null ? (item.seen as Record<string, unknown>) : {};
  return {
    version: item.version,
    seen: Object.fromEntries(Object.entries(seen).filter((e): e is [string, number] => typeof e[1] === 'number')),
  };
}

function toDispatchRecord(item: Record<string, unknown> | undefined): DispatchRecord | undefined {
  if (!item) return undefined;
  return {
    dispatchId: String(item.pk),
    state: item.state as DispatchRecord['state'],
    claimedAt: typeof item.claimedAt === 'string' ? item.claimedAt : undefined,
    claimMessageId: typeof item.claimMessageId === 'string' ? item.claimMessageId : undefined,
    claimReceiveCount: typeof item.claimReceiveCount === 'number' ? item.claimReceiveCount : undefined,
    claimToken: typeof item.claimToken === 'string' ? item.claimToken : undefined,
  };
}

/** A stored list or string set of strings, read leniently (raw writes). */
function stringList(value: unknown): string[] {
  const list = value instanceof Set ? [...value] : Array.isArray(value) ? value : [];
  return list.filter((v): v is string => typeof v === 'string');
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
