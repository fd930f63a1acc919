import { parse } from 'csv-parse/sync';
import { DynamoDbMemberRegistry, type RowResult } from '../../../lambdas/adapters/dynamodb-member-registry';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { hashAddress, normaliseAddress } from '../../../lambdas/core/address';
import { MEMBER_ID_PATTERN } from '../../../lambdas/core/message';
import { isSuppressed, SUPPRESSION_RULE } from '../../../lambdas/core/suppression';
import { MEMBERS_TABLE } from '../../../lambdas/tables';
import type { MemberRow, RegistryRefusal } from '../../../lambdas/core/registry-guard';
import { marshall } from '@aws-sdk/util-dynamodb';
import { REPORTED_NOT_MINE } from '../../../lambdas/adapters/dynamodb-not-for-me-store';
import { wrapStoreError } from '../../../lambdas/adapters/dynamodb-errors';
import { PausedBy } from '../../../lambdas/core/outcomes';
import { OperationRefusedError, UsageError } from './errors';
import type { OpsTarget } from './target';

export interface RegistryWriteOptions {
  /** Let an own e-mail be another member's own e-mail too (never past the fan-in limit). @default false */
  readonly allowShared?: boolean;
}

async function registryFor(target: OpsTarget, options: RegistryWriteOptions = {}): Promise<DynamoDbMemberRegistry> {
  return new DynamoDbMemberRegistry({
    tables: target.tables,
    hashKey: await target.hashKey(),
    fanInLimit: target.fanInLimit,
    allowShared: options.allowShared,
    client: target.clients.dynamodb,
  });
}

/** Creates or updates one member through the registry guard. */
export async function putMember(target: OpsTarget, row: MemberRow, options: RegistryWriteOptions = {}): Promise<RowResult> {
  return (await registryFor(target, options)).register(row);
}

export interface MemberAddressView {
  readonly role: 'email' | 'proxy';
  readonly addressHash: string;
  /** Only with `reveal`. */
  readonly address?: string;
  /** Distinct members the registry counts on this address (the guard's fan-in). */
  readonly membersOnAddress: number;
  /** Why mail to this address is suppressed for this member (a `suppressions` entry), if it is. */
  readonly suppressed?: string;
}

/** One entry of the member's per-address `suppressions` map. */
export interface SuppressionView {
  readonly addressHash: string;
  readonly reason: string;
  readonly at?: string;
}

export interface MemberView {
  readonly memberId: string;
  readonly status: unknown;
  /** The legacy member-wide flag: true when it blocks every address of the member (it fails closed). */
  readonly suppressed: boolean;
  /** Per-address suppressions, including those of addresses the member no longer has. */
  readonly suppressions: readonly SuppressionView[];
  readonly version: unknown;
  readonly updatedAt: unknown;
  readonly addresses: readonly MemberAddressView[];
  readonly fanInLimit: number;
}

/** One member with its addresses (hashed unless `reveal`) and how shared each one is. */
export async function getMemberView(
  target: OpsTarget,
  memberId: string,
  options: { readonly reveal?: boolean } = {},
): Promise<MemberView | undefined> {
  const registry = await registryFor(target);
  const stored = await registry.get(memberId);
  if (!stored) return undefined;
  const key = await target.hashKey();
  const email = typeof stored.email === 'string' ? normaliseAddress(stored.email) : undefined;
  const proxies = Array.isArray(stored.proxies)
    ? stored.proxies.filter((p): p is string => typeof p === 'string').map(normaliseAddress)
    : [];
  const roles: { role: 'email' | 'proxy'; address: string }[] = [
    ...(email ? [{ role: 'email' as const, address: email }] : []),
    ...proxies.map((address) => ({ role: 'proxy' as const, address })),
  ];
  const suppressions = suppressionsOf(stored[SUPPRESSION_RULE.perAddress.attribute]);
  const addresses = await Promise.all(
    roles.map(async ({ role, address }) => {
      const addressHash = hashAddress(address, key);
      const suppressed = suppressions.find((s) => s.addressHash === addressHash)?.reason;
      return {
        role,
        addressHash,
        ...(options.reveal ? { address } : {}),
        membersOnAddress: (await registry.holdersOf(address)).members.length,
        ...(suppressed ? { suppressed } : {}),
      };
    }),
  );
  return {
    memberId: stored.memberId,
    status: stored.status,
    suppressed: isSuppressed(stored.suppressed),
    suppressions,
    version: stored.version,
    updatedAt: stored.updatedAt,
    addresses,
    fanInLimit: target.fanInLimit,
  };
}

function suppressionsOf(map: unknown): SuppressionView[] {
  if (map === null || typeof map !== 'object' || Array.isArray(map) || map instanceof Set) return [];
  return Object.entries(map as Record<string, unknown>).map(([addressHash, entry]) => {
    const { reason, at } = (entry ?? {}) as { reason?: unknown; at?: unknown };
    return { addressHash, reason: typeof reason === 'string' ? reason : 'unknown', ...(typeof at === 'string' ? { at } : {}) };
  });
}

export interface UnsuppressRequest {
  /** The address hashes to lift (as `members get` shows them). */
  readonly addressHashes?: readonly string[];
  /** Lift every per-address suppression and the legacy member-wide flag. @default false */
  readonly all?: boolean;
}

export interface UnsuppressResult {
  readonly memberId: string;
  /** Address hashes whose suppression was lifted (those that had none are not listed). */
  readonly lifted: readonly string[];
  /** The legacy member-wide flag was set and is removed. */
  readonly liftedMemberFlag: boolean;
  /** Address hashes reported "not for me": kept, since only `members clear-report --reason <ticket>` lifts those. */
  readonly keptReports?: readonly string[];
}

/**
 * Lifts suppressions of a member (after the address was confirmed to work again). The member's
 * `version` goes up, so a registry write racing this one reads again rather than restoring them.
 */
export async function unsuppressMember(
  target: OpsTarget,
  memberId: string,
  request: UnsuppressRequest,
): Promise<UnsuppressResult | undefined> {
  const registry = await registryFor(target);
  const stored = await registry.get(memberId);
  if (!stored) return undefined;
  // A recipient's "not for me" report is lifted only with a ticket (`clearReport`), never here.
  const entries = suppressionsOf(stored[SUPPRESSION_RULE.perAddress.attribute]);
  const present = entries.filter((s) => s.reason !== REPORTED_NOT_MINE).map((s) => s.addressHash);
  const asked = request.all ? entries.map((s) => s.addressHash) : (request.addressHashes ?? []);
  const keptReports = entries.filter((s) => s.reason === REPORTED_NOT_MINE && asked.includes(s.addressHash)).map((s) => s.addressHash);
  if (!request.all && (request.addressHashes ?? []).length === 0)
    throw new UsageError('Say which suppressions to lift: --address-hash HASH… or --all');
  // Only entries that exist: a document path into a missing map is an error, not a no-op.
  const hashes = request.all ? present : [...new Set(request.addressHashes)].filter((hash) => present.includes(hash));
  const flag = SUPPRESSION_RULE.legacyFlag.attribute;
  const names: Record<string, string> = {};
  const removes = hashes.map((hash, i) => {
    names['#map'] = SUPPRESSION_RULE.perAddress.attribute;
    names[`#h${i}`] = hash;
    return `#map.#h${i}`;
  });
  if (request.all && stored[flag] !== undefined) {
    names['#flag'] = flag;
    removes.push('#flag');
  }
  if (removes.length === 0) return { memberId, lifted: [], liftedMemberFlag: false, ...(keptReports.length ? { keptReports } : {}) };
  const { Attributes } = await target.clients.dynamodb.send(
    new UpdateItemCommand({
      TableName: target.tables.members,
      Key: { [MEMBERS_TABLE.partitionKey]: { S: memberId } },
      UpdateExpression: `REMOVE ${removes.join(', ')} ADD version :one`,
      ConditionExpression: 'attribute_exists(memberId)',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ':one': { N: '1' } },
      ReturnValues: 'ALL_OLD',
    }),
  );
  const old = Attributes ? unmarshall(Attributes) : {};
  const before = suppressionsOf(old[SUPPRESSION_RULE.perAddress.attribute]).map((s) => s.addressHash);
  return {
    memberId,
    lifted: hashes.filter((h) => before.includes(h)),
    liftedMemberFlag: request.all === true && isSuppressed(old[flag]),
    ...(keptReports.length ? { keptReports } : {}),
  };
}

export const CSV_COLUMNS = { required: ['memberId', 'email', 'status'], optional: ['proxies', 'proxyFor', 'suppressed'] } as const;

/** Why the import refused a row before the registry guard saw it. */
export const ImportRefusal = {
  /** Two or more rows of one file carry the same memberId: which one is meant is unknown, so none is imported. */
  DuplicateMemberId: 'duplicate-member-id',
  /** The row cannot be read as a record of the header's columns (a field too many or too few, a stray quote). */
  MalformedRow: 'malformed-row',
} as const;
export type ImportRefusal = (typeof ImportRefusal)[keyof typeof ImportRefusal];

/** One CSV data row, with the line it started on (for the operator's report). */
export interface CsvMemberRow {
  readonly line: number;
  readonly row: MemberRow;
}

/** A row refused by the import itself (never registered), with its line. */
export interface RefusedRow {
  readonly line: number;
  readonly memberId: string;
  readonly reason: RegistryRefusal | ImportRefusal;
  readonly detail: string;
}

/** A members CSV as read: the rows to register and the rows that could not be read. */
export interface MembersCsv {
  readonly rows: readonly CsvMemberRow[];
  readonly malformed: readonly RefusedRow[];
}

/**
 * Parses a members CSV: a header with `memberId,email,status` and optionally `proxies` (addresses
 * separated by `;` or spaces), `proxyFor` (the wards' memberIds, likewise) and `suppressed` (`true`/`false`, empty = keep what is stored).
 * A file that is empty, has a wrong header or no rows is refused whole (UsageError); a row that
 * cannot be read is returned in `malformed` and the rest are read.
 */
export function parseMembersCsv(text: string): MembersCsv {
  if (text.replace(/^\ufeff/, '').trim() === '') {
    throw new UsageError(
      `The CSV file is empty: nothing to import (expected a header ${CSV_COLUMNS.required.join(',')} and one row per member)`,
    );
  }
  let header: string[] = [];
  const malformed: RefusedRow[] = [];
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parse(text, {
      columns: (names: string[]) => (header = names.map((name) => name.trim())),
      skip_empty_lines: true,
      trim: true,
      bom: true,
      info: true,
      skip_records_with_error: true,
      on_skip: (error: unknown) => {
        // An unclosed quote swallows the rest of the file: nothing after it can be told apart, so refuse it whole.
        if ((error as { code?: string }).code === 'CSV_QUOTE_NOT_CLOSED') throw error;
        malformed.push(malformedRow(error, header.length));
      },
    }) as typeof records;
  } catch (error) {
    throw new UsageError(`The CSV file cannot be read (${(error as { code?: string }).code ?? 'parse error'} ${lineOf(error)})`.trim(), {
      cause: error,
    });
  }
  const known: readonly string[] = [...CSV_COLUMNS.required, ...CSV_COLUMNS.optional];
  const missing = CSV_COLUMNS.required.filter((column) => !header.includes(column));
  const unknown = header.filter((column) => !known.includes(column));
  if (missing.length > 0 || unknown.length > 0) {
    throw new UsageError(
      [
        missing.length ? `missing column(s) ${missing.join(', ')}` : '',
        unknown.length ? `unknown column(s) ${unknown.join(', ')}` : '',
        `expected ${known.join(',')}`,
      ]
        .filter(Boolean)
        .join('; '),
    );
  }
  if (records.length + malformed.length === 0) throw new UsageError('The CSV file has a header but no rows: nothing to import');
  const rows = records.map(({ record, info }) => ({
    line: info.lines,
    row: {
      memberId: record.memberId,
      email: record.email,
      status: record.status,
      proxies: record.proxies ? record.proxies.split(/[;\s]+/).filter(Boolean) : [],
      proxyFor: record.proxyFor ? record.proxyFor.split(/[;\s]+/).filter(Boolean) : [],
      suppressed: parseFlag(record.suppressed),
    },
  }));
  return { rows, malformed };
}

/** The report line for a row csv-parse skipped: its line, its memberId if the first field is one, and why (never a field value). */
function malformedRow(error: unknown, columns: number): RefusedRow {
  const { code, lines, record } = error as { code?: string; lines?: number; record?: unknown };
  const fields = Array.isArray(record) ? record : undefined;
  const first = typeof fields?.[0] === 'string' ? fields[0].trim() : '';
  const detail =
    code === 'CSV_RECORD_INCONSISTENT_COLUMNS' && fields
      ? `the row has ${fields.length} fields, the header has ${columns}: quote a field that holds a comma`
      : `the row cannot be read (${code ?? 'parse error'})`;
  return { line: lines ?? 0, memberId: MEMBER_ID_PATTERN.test(first) ? first : '', reason: ImportRefusal.MalformedRow, detail };
}

/** Rows whose memberId is on more than one line of the file: every one of them is refused. */
function duplicateRows(rows: readonly CsvMemberRow[]): Map<CsvMemberRow, RefusedRow> {
  const linesOf = new Map<unknown, number[]>();
  for (const { line, row } of rows) linesOf.set(row.memberId, [...(linesOf.get(row.memberId) ?? []), line]);
  const refused = new Map<CsvMemberRow, RefusedRow>();
  for (const entry of rows) {
    const lines = linesOf.get(entry.row.memberId) ?? [];
    if (lines.length < 2) continue;
    const memberId = String(entry.row.memberId);
    const where = `${lines.slice(0, -1).join(', ')} and ${lines.at(-1)}`;
    const detail = `memberId ${memberId} is on lines ${where} of this file: fix the file and import ${lines.length > 2 ? 'them' : 'both'} again`;
    refused.set(entry, { line: entry.line, memberId, reason: ImportRefusal.DuplicateMemberId, detail });
  }
  return refused;
}

function parseFlag(value: string | undefined): unknown {
  if (value === undefined || value === '') return undefined;
  if (/^true$/i.test(value)) return true;
  if (/^false$/i.test(value)) return false;
  return value; // the guard refuses it (invalid-status) without echoing it
}

function lineOf(error: unknown): string {
  const lines = (error as { lines?: number }).lines;
  return typeof lines === 'number' ? `at line ${lines}` : '';
}

export interface ImportReport {
  readonly rows: number;
  readonly registered: readonly { readonly line: number; readonly memberId: string }[];
  readonly refused: readonly RefusedRow[];
  readonly failed: readonly { readonly line: number; readonly memberId: string; readonly error: string }[];
}

/** Rows read and written together (see `registerMany`): at most a few transactions of 100 items in flight at once. */
export const IMPORT_BATCH_ROWS = 200;

/**
 * Registers every row through the guard, a batch of {@link IMPORT_BATCH_ROWS} at a time (batched
 * reads, rows on disjoint items in one transaction); a refused or failed row is reported and the
 * rest go on. The answers are those of registering row by row in file order, and duplicate
 * memberIds and unreadable rows are refused before anything is written.
 */
export async function importMembers(
  target: OpsTarget,
  csv: MembersCsv,
  options: RegistryWriteOptions & { readonly onRow?: (done: number, total: number) => void; readonly batchRows?: number } = {},
): Promise<ImportReport> {
  const registry = await registryFor(target, options);
  const duplicates = duplicateRows(csv.rows);
  const total = csv.rows.length + csv.malformed.length;
  const registered: { line: number; memberId: string }[] = [];
  const refused: RefusedRow[] = [...csv.malformed, ...duplicates.values()];
  const failed: { line: number; memberId: string; error: string }[] = [];
  let done = refused.length;
  if (done > 0) options.onRow?.(done, total);

  const rows = csv.rows.filter((entry) => !duplicates.has(entry));
  const size = options.batchRows ?? IMPORT_BATCH_ROWS;
  for (let start = 0; start < rows.length; start += size) {
    const batch = rows.slice(start, start + size);
    const results = await registry.registerMany(batch.map((entry) => entry.row));
    results.forEach((result, i) => {
      const { line } = batch[i];
      if (result.outcome === 'registered') registered.push({ line, memberId: result.memberId });
      else if (result.outcome === 'refused')
        refused.push({ line, memberId: result.memberId, reason: result.reason, detail: result.detail });
      else failed.push({ line, memberId: result.memberId, error: result.error.message });
    });
    done += batch.length;
    options.onRow?.(done, total);
  }
  const byLine = (a: { line: number }, b: { line: number }) => a.line - b.line;
  return { rows: total, registered, refused: refused.sort(byLine), failed };
}

/** A "not for me" report an operator cleared, as recorded on the member item (`clearedReports`). */
export interface ClearedReport {
  readonly addressHash: string;
  /** When the recipient reported it. */
  readonly reportedAt: string | null;
  readonly clearedAt: string;
  readonly clearedBy: string;
  /** The ticket that records the check. */
  readonly ticket: string;
}

export interface ClearReportRequest {
  readonly ticket: string;
  readonly operator: string;
  /** Only this address's report. @default every address of the member reported as not mine */
  readonly addressHash?: string;
  readonly now: Date;
}

/**
 * `members clear-report`: lifts the `reported-not-mine` block of a member's address(es) once an
 * operator has checked the address with the member. Only that reason is removed (a bounce or a
 * complaint stays); each removal is conditional on it still being that reason, and is kept on the
 * member item (`clearedReports`) with the ticket and who cleared it.
 */
export async function clearReport(
  target: OpsTarget,
  memberId: string,
  request: ClearReportRequest,
): Promise<{ memberId: string; cleared: ClearedReport[] }> {
  if (!request.ticket.trim()) throw new UsageError('--reason must name the ticket that records the check');
  const registry = await registryFor(target);
  const stored = (await registry.get(memberId)) as (Record<string, unknown> & { suppressions?: unknown }) | undefined;
  if (!stored) throw new OperationRefusedError(`No member ${memberId}`);
  const map =
    stored.suppressions !== null && typeof stored.suppressions === 'object' && !(stored.suppressions instanceof Set)
      ? (stored.suppressions as Record<string, unknown>)
      : {};
  const reported = Object.entries(map).filter(
    ([hash, entry]) =>
      (request.addressHash === undefined || hash === request.addressHash) &&
      (entry as { reason?: unknown } | null)?.reason === REPORTED_NOT_MINE,
  );
  if (reported.length === 0) {
    throw new OperationRefusedError(
      `Member ${memberId} has no "not for me" report to clear${request.addressHash ? ` for address ${request.addressHash}` : ''}`,
    );
  }
  const at = request.now.toISOString();
  const cleared: ClearedReport[] = reported.map(([addressHash, entry]) => ({
    addressHash,
    reportedAt: typeof (entry as { at?: unknown }).at === 'string' ? (entry as { at: string }).at : null,
    clearedAt: at,
    clearedBy: `${PausedBy.OperatorPrefix}${request.operator}`,
    ticket: request.ticket,
  }));
  const names: Record<string, string> = { '#sup': 'suppressions' };
  reported.forEach(([hash], i) => (names[`#h${i}`] = hash));
  try {
    await target.clients.dynamodb.send(
      new UpdateItemCommand({
        TableName: target.tables.members,
        Key: { [MEMBERS_TABLE.partitionKey]: { S: memberId } },
        UpdateExpression: `REMOVE ${reported.map((_, i) => `#sup.#h${i}`).join(', ')} SET clearedReports = list_append(if_not_exists(clearedReports, :empty), :cleared), updatedAt = :at`,
        ConditionExpression: reported.map((_, i) => `#sup.#h${i}.reason = :reported`).join(' AND '),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: marshall({ ':empty': [], ':cleared': cleared, ':at': at, ':reported': REPORTED_NOT_MINE }),
      }),
    );
  } catch (error) {
    if ((error as { name?: string }).name === 'ConditionalCheckFailedException') {
      throw new OperationRefusedError(`Member ${memberId}'s suppressions changed while clearing: run clear-report again`, { cause: error });
    }
    throw wrapStoreError('clear report', error);
  }
  return { memberId, cleared };
}
