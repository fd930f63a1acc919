import { batchGetItems } from '../../../lambdas/adapters/dynamodb-batch-get';
import { DynamoDbMemberRegistry } from '../../../lambdas/adapters/dynamodb-member-registry';
import { hashAddress, parseRecipient } from '../../../lambdas/core/address';
import { DISPATCH_ID_PATTERN } from '../../../lambdas/core/message';
import { storedAddresses } from '../../../lambdas/core/registry-guard';
import { LedgerState } from '../../../lambdas/core/outcomes';
import { AuditDay, LEDGER_TABLE, LedgerKey } from '../../../lambdas/tables';
import { UsageError } from './errors';
import { auditDays, forEachLedgerRecord, type TimeRange } from './ledger-query';
import type { OpsTarget } from './target';

export type AuditSelector =
  | { readonly by: 'address'; readonly address: string }
  /** The hash itself, as the pause flag, logs and metrics carry it. */
  | { readonly by: 'address-hash'; readonly addressHash: string }
  | { readonly by: 'member'; readonly memberId: string }
  | { readonly by: 'time' };

export interface AuditRequest {
  readonly selector: AuditSelector;
  readonly since?: Date;
  /** @default now */
  readonly until?: Date;
  /** Show addresses in clear (the typed one, or the member's registered one whose hash matches). @default false */
  readonly reveal?: boolean;
  readonly now: Date;
}

/** One dispatch as the ledger recorded it. */
export interface AuditRow {
  readonly claimedAt: string;
  /** `null` for a rejected body without a usable dispatchId. */
  readonly dispatchId: string | null;
  readonly state: string;
  readonly reason: string | null;
  readonly memberId: string | null;
  readonly addressHash: string | null;
  /** Only with `reveal`: `null` when the hash is none of the member's registered addresses. */
  readonly address?: string | null;
  readonly template: string | null;
  readonly sesMessageId: string | null;
  readonly sentAt: string | null;
  /** When the recipient confirmed on the "not for me" page that the e-mail was not theirs. */
  readonly reportedNotMineAt: string | null;
}

export interface AuditReport {
  /** What was asked; an address only as its hash. */
  readonly selector: { readonly by: 'address'; readonly addressHash: string } | Exclude<AuditSelector, { by: 'address' }>;
  readonly range: TimeRange;
  readonly rows: readonly AuditRow[];
  /** What a privacy officer needs first: how many e-mails left, to how many members and addresses. */
  readonly summary: { readonly dispatches: number; readonly sent: number; readonly members: number; readonly addresses: number };
}

/** The longest `--since` range: each day is 9 queries (its 8 `by-day` shards and the pre-sharding key). */
export const MAX_AUDIT_DAYS = 400;

export const AUDIT_COLUMNS = [
  'claimedAt',
  'dispatchId',
  'state',
  'reason',
  'memberId',
  'addressHash',
  'address',
  'template',
  'sesMessageId',
  'sentAt',
  'reportedNotMineAt',
] as const;

/** Every dispatch for an address, a member or a time range, from the audit indexes (never a Scan). */
export async function auditDispatches(target: OpsTarget, request: AuditRequest): Promise<AuditReport> {
  const until = request.until ?? request.now;
  if (request.since && request.since.getTime() > until.getTime()) throw new UsageError('--since is after --until');
  const range: TimeRange = { from: request.since?.toISOString(), to: until.toISOString() };
  const { client, table } = { client: target.clients.dynamodb, table: target.tables.ledger };
  const items: Record<string, unknown>[] = [];
  const collect = (records: Record<string, unknown>[]) => {
    for (const record of records) items.push(record);
  };
  let selector: AuditReport['selector'];
  let typed: { address: string; hash: string } | undefined;

  if (request.selector.by === 'address') {
    const parsed = parseRecipient(request.selector.address);
    if (!parsed.ok) throw new UsageError(`--address ${parsed.why}`);
    const hash = hashAddress(parsed.address, await target.hashKey());
    typed = { address: parsed.address, hash };
    selector = { by: 'address', addressHash: hash };
    await forEachLedgerRecord(client, table, { index: LEDGER_TABLE.byAddressIndex, partitions: [hash], range }, collect);
  } else if (request.selector.by === 'address-hash') {
    if (!/^[0-9a-f]{32}$/.test(request.selector.addressHash))
      throw new UsageError('--address-hash must be 32 hex digits (as `status` and the logs show it)');
    selector = request.selector;
    await forEachLedgerRecord(
      client,
      table,
      { index: LEDGER_TABLE.byAddressIndex, partitions: [request.selector.addressHash], range },
      collect,
    );
  } else if (request.selector.by === 'member') {
    selector = request.selector;
    await forEachLedgerRecord(
      client,
      table,
      { index: LEDGER_TABLE.byMemberIndex, partitions: [request.selector.memberId], range },
      collect,
    );
  } else {
    if (!request.since) throw new UsageError('Give --address, --address-hash, --member or --since');
    selector = request.selector;
    const days = auditDays(request.since, until);
    if (days.length > MAX_AUDIT_DAYS) throw new UsageError(`--since covers ${days.length} days; at most ${MAX_AUDIT_DAYS} at once`);
    for (const day of days)
      await forEachLedgerRecord(client, table, { index: LEDGER_TABLE.byDayIndex, partitions: AuditDay.partitions(day), range }, collect);
  }

  let rows = items
    .map(toRow)
    .sort((a, b) => a.claimedAt.localeCompare(b.claimedAt) || String(a.dispatchId).localeCompare(String(b.dispatchId)));
  if (request.reveal) rows = await reveal(target, rows, typed);
  return {
    selector,
    range,
    rows,
    summary: {
      dispatches: rows.length,
      sent: rows.filter((row) => row.state === LedgerState.Sent).length,
      members: new Set(rows.map((row) => row.memberId).filter(Boolean)).size,
      addresses: new Set(rows.map((row) => row.addressHash).filter(Boolean)).size,
    },
  };
}

function toRow(item: Record<string, unknown>): AuditRow {
  const text = (key: string) => (typeof item[key] === 'string' ? (item[key] as string) : null);
  return {
    claimedAt: text('claimedAt') ?? '',
    dispatchId: text('dispatchId'),
    state: text('state') ?? 'unknown',
    reason: text('reason'),
    memberId: text('memberId'),
    addressHash: text('toHash'),
    template: text('template'),
    sesMessageId: text('sesMessageId'),
    sentAt: text('sentAt'),
    reportedNotMineAt: text('reportedNotMineAt'),
  };
}

/**
 * The ledger keeps only the keyed hash: the address in clear is the one the operator typed, or
 * one of the member's registered addresses (own e-mail, proxies) whose hash matches the row.
 */
async function reveal(target: OpsTarget, rows: AuditRow[], typed: { address: string; hash: string } | undefined): Promise<AuditRow[]> {
  const key = await target.hashKey();
  const registry = new DynamoDbMemberRegistry({
    tables: target.tables,
    hashKey: key,
    fanInLimit: target.fanInLimit,
    client: target.clients.dynamodb,
  });
  const byMember = new Map<string, Map<string, string>>();
  for (const memberId of new Set(rows.map((row) => row.memberId).filter((id): id is string => id !== null))) {
    const addresses = storedAddresses(await registry.get(memberId));
    byMember.set(memberId, new Map(addresses.map((address) => [hashAddress(address, key), address])));
  }
  return rows.map((row) => {
    if (typed && row.addressHash === typed.hash) return { ...row, address: typed.address };
    const address = row.memberId && row.addressHash ? byMember.get(row.memberId)?.get(row.addressHash) : undefined;
    return { ...row, address: address ?? null };
  });
}

/** The most dispatchIds one `audit --dispatch` looks up (one BatchGetItem). */
export const MAX_AUDIT_DISPATCH_IDS = 100;

export interface DispatchAuditRequest {
  readonly dispatchIds: readonly string[];
  /**
   * Also look in this window for rejected bodies that carried these dispatchIds: those are
   * recorded under their SQS message id (`rejected#…`), not under the dispatchId. @default not searched
   */
  readonly since?: Date;
  /** @default now */
  readonly until?: Date;
  /** As for `auditDispatches`. @default false */
  readonly reveal?: boolean;
  readonly now: Date;
}

/** One entry of a record's history (its versions, oldest first), as the ledger holds it, minus anything address-like. */
export interface AuditHistoryEntry {
  /** The record version this entry made (1 = its first write): the outcome event's `version`. */
  readonly version: number;
  /** `state` for the dispatcher's and operators' writes, `fate` for SES's reports, `event` for others (a recipient's report). */
  readonly event: string;
  readonly at: string | null;
  /** The entry's other fields (reason, sqsMessageId, bounce type, operator, ticket, …). */
  readonly detail: Readonly<Record<string, unknown>>;
}

/** What SES reported after accepting the e-mail, as the record holds it now. */
export interface AuditFate {
  /** The latest of delivered / bounced / complained / ses-rejected (a later delay never hides one), or delayed. */
  readonly fate: string;
  readonly at: string | null;
  /** The entry that set it, with its details (bounce type and sub-type, treatedAsPermanent, …). */
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface DispatchAudit {
  readonly dispatchId: string;
  /** `null`: the ledger holds no record for it (never published, or only a rejected body: see `rejected`). */
  readonly record: (AuditRow & { readonly ledgerKey: string; readonly version: number; readonly updatedAt: string | null }) | null;
  readonly history: readonly AuditHistoryEntry[];
  /** `null` until SES reports something after accepting (and for records that were never sent). */
  readonly fate: AuditFate | null;
  /** Rejected bodies found in the `since` window that carried this dispatchId, each with its history. */
  readonly rejected: readonly {
    readonly record: AuditRow & { readonly ledgerKey: string };
    readonly history: readonly AuditHistoryEntry[];
  }[];
}

export interface DispatchAuditReport {
  readonly selector: { readonly by: 'dispatch'; readonly dispatchIds: readonly string[] };
  /** The window searched for rejected bodies; absent when not searched. */
  readonly range?: TimeRange;
  readonly dispatches: readonly DispatchAudit[];
  readonly summary: { readonly asked: number; readonly found: number; readonly sent: number; readonly notFound: readonly string[] };
}

/**
 * One or more dispatches by id (`audit --dispatch`): each record, its history version by version
 * (the same numbering as the outcome feed's `version`) and its delivery fate. Read by key with
 * one BatchGetItem; rejected bodies only in a window the operator gives (from the `by-day` index).
 */
export async function auditDispatchIds(target: OpsTarget, request: DispatchAuditRequest): Promise<DispatchAuditReport> {
  const dispatchIds = [...new Set(request.dispatchIds)];
  if (dispatchIds.length === 0) throw new UsageError('--dispatch needs at least one dispatchId');
  if (dispatchIds.length > MAX_AUDIT_DISPATCH_IDS)
    throw new UsageError(`--dispatch takes at most ${MAX_AUDIT_DISPATCH_IDS} dispatchIds at once`);
  // Never echo a malformed id: it may be an address pasted in the wrong place.
  const malformed = dispatchIds.filter((id) => !DISPATCH_ID_PATTERN.test(id)).length;
  if (malformed > 0) throw new UsageError(`${malformed} --dispatch value(s) are not dispatchIds (1-128 characters of [A-Za-z0-9._:-])`);
  const until = request.until ?? request.now;
  if (request.since && request.since.getTime() > until.getTime()) throw new UsageError('--since is after --until');
  const { client, table } = { client: target.clients.dynamodb, table: target.tables.ledger };

  const items =
    (
      await batchGetItems(
        client,
        dispatchIds.map((id) => ({ table, key: { [LEDGER_TABLE.partitionKey]: { S: LedgerKey.dispatch(id) } } })),
      )
    ).get(table) ?? [];
  const byId = new Map(items.map((item) => [String(item[LEDGER_TABLE.partitionKey]), item]));
  const rejected = new Map<string, Record<string, unknown>[]>();
  let range: TimeRange | undefined;
  if (request.since) {
    range = { from: request.since.toISOString(), to: until.toISOString() };
    const days = auditDays(request.since, until);
    if (days.length > MAX_AUDIT_DAYS) throw new UsageError(`--since covers ${days.length} days; at most ${MAX_AUDIT_DAYS} at once`);
    const wanted = new Set(dispatchIds);
    for (const day of days) {
      await forEachLedgerRecord(
        client,
        table,
        { index: LEDGER_TABLE.byDayIndex, partitions: AuditDay.partitions(day), range },
        (records) => {
          for (const record of records) {
            const pk = String(record[LEDGER_TABLE.partitionKey]);
            const id = record.dispatchId;
            if (!pk.startsWith('rejected#') || typeof id !== 'string' || !wanted.has(id)) continue;
            rejected.set(id, [...(rejected.get(id) ?? []), record]);
          }
        },
      );
    }
  }

  const records = dispatchIds
    .flatMap((id) => [byId.get(id), ...(rejected.get(id) ?? [])])
    .filter((item): item is Record<string, unknown> => item !== undefined);
  let rows = records.map(toRow);
  if (request.reveal) rows = await reveal(target, rows, undefined);
  // reveal() keeps the order: each row pairs back with its record.
  const rowOf = new Map(records.map((record, i) => [record, rows[i]]));

  const dispatches = dispatchIds.map((dispatchId): DispatchAudit => {
    const item = byId.get(dispatchId);
    const history = item ? historyOf(item) : [];
    return {
      dispatchId,
      record: item
        ? {
            ...(rowOf.get(item) as AuditRow),
            ledgerKey: String(item[LEDGER_TABLE.partitionKey]),
            version: history.length,
            updatedAt: typeof item.updatedAt === 'string' ? item.updatedAt : null,
          }
        : null,
      history,
      fate: item ? fateOf(item, history) : null,
      rejected: (rejected.get(dispatchId) ?? [])
        .map((record) => ({
          record: { ...(rowOf.get(record) as AuditRow), ledgerKey: String(record[LEDGER_TABLE.partitionKey]) },
          history: historyOf(record),
        }))
        .sort((a, b) => a.record.claimedAt.localeCompare(b.record.claimedAt)),
    };
  });
  const found = dispatches.filter((d) => d.record !== null || d.rejected.length > 0);
  return {
    selector: { by: 'dispatch', dispatchIds },
    ...(range ? { range } : {}),
    dispatches,
    summary: {
      asked: dispatchIds.length,
      found: found.length,
      sent: dispatches.filter((d) => d.record?.state === LedgerState.Sent).length,
      notFound: dispatches.filter((d) => !found.includes(d)).map((d) => d.dispatchId),
    },
  };
}

/** Keys of a history entry that name it rather than describe it. */
const ENTRY_NAMES = ['state', 'fate', 'event'] as const;

/**
 * The record's history, numbered as the outcome feed numbers versions. The ledger's writers put
 * no address in an entry; a value that looks like one (or like an address hash) is still shown
 * only as `[redacted]`, so a buggy writer cannot make the audit print one.
 */
function historyOf(item: Record<string, unknown>): AuditHistoryEntry[] {
  const history = Array.isArray(item.history) ? item.history : [];
  return history.map((raw, index) => {
    const entry = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
    const name = ENTRY_NAMES.map((key) => entry[key]).find((value) => typeof value === 'string');
    const detail = Object.fromEntries(
      Object.entries(entry)
        .filter(([key]) => key !== 'at' && !(ENTRY_NAMES as readonly string[]).includes(key))
        .map(([key, value]) => [key, redacted(value)]),
    );
    return {
      version: index + 1,
      event: typeof name === 'string' ? String(redacted(name)) : 'unknown',
      at: typeof entry.at === 'string' ? entry.at : null,
      detail,
    };
  });
}

function redacted(value: unknown): unknown {
  if (typeof value === 'string') return /@|[0-9a-fA-F]{32}/.test(value) ? '[redacted]' : value;
  if (value instanceof Set) return [...value].map(redacted);
  if (Array.isArray(value)) return value.map(redacted);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redacted(v)]));
  return value;
}

function fateOf(item: Record<string, unknown>, history: readonly AuditHistoryEntry[]): AuditFate | null {
  if (typeof item.fate !== 'string') return null;
  // The entry's own time: `fateAt` moves with a later delay report, which never replaces the fate.
  const entry = [...history].reverse().find((e) => e.event === item.fate && e.detail.recordedAt !== undefined);
  return { fate: item.fate, at: entry?.at ?? (typeof item.fateAt === 'string' ? item.fateAt : null), detail: entry?.detail ?? {} };
}
