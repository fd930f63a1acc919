import { parse } from 'csv-parse/sync';
import { DynamoDbMemberRegistry, type RowResult } from '../../lambdas/adapters/dynamodb-member-registry';
import { hashAddress, normaliseAddress } from '../../lambdas/core/address';
import type { MemberRow, RegistryRefusal } from '../../lambdas/core/registry-guard';
import { UsageError } from './errors';
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
}

export interface MemberView {
  readonly memberId: string;
  readonly status: unknown;
  readonly suppressed: boolean;
  readonly version: unknown;
  readonly updatedAt: unknown;
  readonly addresses: readonly MemberAddressView[];
  readonly fanInLimit: number;
}

/** One member with its addresses (hashed unless `reveal`) and how shared each one is. */
export async function getMemberView(target: OpsTarget, memberId: string, options: { readonly reveal?: boolean } = {}): Promise<MemberView | undefined> {
  const registry = await registryFor(target);
  const stored = await registry.get(memberId);
  if (!stored) return undefined;
  const key = await target.hashKey();
  const email = typeof stored.email === 'string' ? normaliseAddress(stored.email) : undefined;
  const proxies = Array.isArray(stored.proxies) ? stored.proxies.filter((p): p is string => typeof p === 'string').map(normaliseAddress) : [];
  const roles: { role: 'email' | 'proxy'; address: string }[] = [
    ...(email ? [{ role: 'email' as const, address: email }] : []),
    ...proxies.map((address) => ({ role: 'proxy' as const, address })),
  ];
  const addresses = await Promise.all(
    roles.map(async ({ role, address }) => ({
      role,
      addressHash: hashAddress(address, key),
      ...(options.reveal ? { address } : {}),
      membersOnAddress: (await registry.holdersOf(address)).members.length,
    })),
  );
  return {
    memberId: stored.memberId,
    status: stored.status,
    suppressed: stored.suppressed === true || stored.suppressed === 'true',
    version: stored.version,
    updatedAt: stored.updatedAt,
    addresses,
    fanInLimit: target.fanInLimit,
  };
}

export const CSV_COLUMNS = { required: ['memberId', 'email', 'status'], optional: ['proxies', 'suppressed'] } as const;

/** One CSV data row, with the line it started on (for the operator's report). */
export interface CsvMemberRow {
  readonly line: number;
  readonly row: MemberRow;
}

/**
 * Parses a members CSV: a header with `memberId,email,status` and optionally `proxies` (addresses
 * separated by `;` or spaces) and `suppressed` (`true`/`false`, empty = keep what is stored).
 */
export function parseMembersCsv(text: string): CsvMemberRow[] {
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true, info: true }) as typeof records;
  } catch (error) {
    throw new UsageError(`The CSV file cannot be read (${(error as { code?: string }).code ?? 'parse error'} ${lineOf(error)})`.trim(), { cause: error });
  }
  const header = Object.keys(records[0]?.record ?? {});
  const known: readonly string[] = [...CSV_COLUMNS.required, ...CSV_COLUMNS.optional];
  const missing = CSV_COLUMNS.required.filter((column) => records.length > 0 && !header.includes(column));
  const unknown = header.filter((column) => !known.includes(column));
  if (missing.length > 0 || unknown.length > 0) {
    throw new UsageError(
      [missing.length ? `missing column(s) ${missing.join(', ')}` : '', unknown.length ? `unknown column(s) ${unknown.join(', ')}` : '', `expected ${known.join(',')}`]
        .filter(Boolean)
        .join('; '),
    );
  }
  return records.map(({ record, info }) => ({
    line: info.lines,
    row: {
      memberId: record.memberId,
      email: record.email,
      status: record.status,
      proxies: record.proxies ? record.proxies.split(/[;\s]+/).filter(Boolean) : [],
      suppressed: parseFlag(record.suppressed),
    },
  }));
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
  readonly refused: readonly { readonly line: number; readonly memberId: string; readonly reason: RegistryRefusal; readonly detail: string }[];
  readonly failed: readonly { readonly line: number; readonly memberId: string; readonly error: string }[];
}

/** Registers every row through the guard; a refused or failed row is reported and the rest go on. */
export async function importMembers(
  target: OpsTarget,
  rows: readonly CsvMemberRow[],
  options: RegistryWriteOptions & { readonly onRow?: (done: number, total: number) => void } = {},
): Promise<ImportReport> {
  const registry = await registryFor(target, options);
  const report: { [K in keyof ImportReport]: ImportReport[K] extends readonly (infer T)[] ? T[] : ImportReport[K] } = {
    rows: rows.length,
    registered: [],
    refused: [],
    failed: [],
  };
  for (const [i, { line, row }] of rows.entries()) {
    const result = await registry.register(row);
    if (result.outcome === 'registered') report.registered.push({ line, memberId: result.memberId });
    else if (result.outcome === 'refused') report.refused.push({ line, memberId: result.memberId, reason: result.reason, detail: result.detail });
    else report.failed.push({ line, memberId: result.memberId, error: result.error.message });
    options.onRow?.(i + 1, rows.length);
  }
  return report;
}
