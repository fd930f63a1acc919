import { DynamoDbMemberRegistry } from '../../lambdas/adapters/dynamodb-member-registry';
import { hashAddress, parseRecipient } from '../../lambdas/core/address';
import { storedAddresses } from '../../lambdas/core/registry-guard';
import { LedgerState } from '../../lambdas/core/outcomes';
import { AuditDay, LEDGER_TABLE } from '../../lambdas/tables';
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

export const AUDIT_COLUMNS = ['claimedAt', 'dispatchId', 'state', 'reason', 'memberId', 'addressHash', 'address', 'template', 'sesMessageId', 'sentAt', 'reportedNotMineAt'] as const;

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
    if (!/^[0-9a-f]{32}$/.test(request.selector.addressHash)) throw new UsageError('--address-hash must be 32 hex digits (as `status` and the logs show it)');
    selector = request.selector;
    await forEachLedgerRecord(client, table, { index: LEDGER_TABLE.byAddressIndex, partitions: [request.selector.addressHash], range }, collect);
  } else if (request.selector.by === 'member') {
    selector = request.selector;
    await forEachLedgerRecord(client, table, { index: LEDGER_TABLE.byMemberIndex, partitions: [request.selector.memberId], range }, collect);
  } else {
    if (!request.since) throw new UsageError('Give --address, --address-hash, --member or --since');
    selector = request.selector;
    const days = auditDays(request.since, until);
    if (days.length > MAX_AUDIT_DAYS) throw new UsageError(`--since covers ${days.length} days; at most ${MAX_AUDIT_DAYS} at once`);
    for (const day of days) await forEachLedgerRecord(client, table, { index: LEDGER_TABLE.byDayIndex, partitions: AuditDay.partitions(day), range }, collect);
  }

  let rows = items.map(toRow).sort((a, b) => a.claimedAt.localeCompare(b.claimedAt) || String(a.dispatchId).localeCompare(String(b.dispatchId)));
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
  const registry = new DynamoDbMemberRegistry({ tables: target.tables, hashKey: key, fanInLimit: target.fanInLimit, client: target.clients.dynamodb });
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
