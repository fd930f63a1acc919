/**
 * `ops in-doubt list` and `ops in-doubt release`: the way out of `in-doubt` besides the SES Send
 * event. A release is an operator's statement that the e-mail never went out (checked in SES and,
 * where possible, with the recipient): the record becomes `released`, which the claim accepts, so
 * a later publish or redrive of the dispatchId is sent through every check (registry, suppression,
 * fan-in). Releasing an e-mail that did go out sends it twice.
 */
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { isConditionalCheckFailed, wrapStoreError } from '../../../lambdas/adapters/dynamodb-errors';
import { DISPATCH_ID_PATTERN } from '../../../lambdas/core/message';
import { LedgerState, PausedBy } from '../../../lambdas/core/outcomes';
import { AuditDay, LEDGER_TABLE, LedgerKey } from '../../../lambdas/tables';
import { MAX_AUDIT_DAYS } from './audit';
import { UsageError } from './errors';
import { auditDays, forEachLedgerRecord, type TimeRange } from './ledger-query';
import type { OpsTarget } from './target';

/** How far back `list` looks by default (records are found by the day they were claimed). */
export const IN_DOUBT_DEFAULT_DAYS = 30;

/** The `reason` a released record carries (the ticket is kept beside it, in `releaseTicket`). */
export const OPERATOR_RELEASE_REASON = 'operator-release';

export interface InDoubtListRequest {
  /** @default `IN_DOUBT_DEFAULT_DAYS` before `now` */
  readonly since?: Date;
  /** @default now */
  readonly until?: Date;
  /** Also list records that were in doubt and that an SES event has since reconciled to `sent`. @default false */
  readonly includeReconciled?: boolean;
  readonly now: Date;
}

export interface InDoubtRow {
  readonly dispatchId: string;
  readonly state: string;
  readonly memberId: string | null;
  readonly addressHash: string | null;
  readonly template: string | null;
  readonly claimedAt: string;
  /** When the record became in-doubt (from its history), else its claim time. */
  readonly inDoubtSince: string;
  /** Seconds since `inDoubtSince`. */
  readonly ageSeconds: number;
  /**
   * Whether SES reported the e-mail (a Send, or a later Delivery/Bounce/Complaint that implies it):
   * the feedback function then reconciles the record to `sent`, with its SES message id.
   */
  readonly sesEvent: 'arrived' | 'none';
  readonly sesMessageId: string | null;
}

export interface InDoubtList {
  readonly range: TimeRange;
  readonly rows: readonly InDoubtRow[];
}

const READ = [
  'pk',
  'dispatchId',
  'state',
  'memberId',
  'toHash',
  'template',
  'claimedAt',
  'auditDay',
  'sesMessageId',
  'reconciledAt',
  'history',
];

/** Every record claimed in the range that is in doubt now (oldest first), from the by-day index (never a Scan). */
export async function listInDoubt(target: OpsTarget, request: InDoubtListRequest): Promise<InDoubtList> {
  const until = request.until ?? request.now;
  const since = request.since ?? new Date(until.getTime() - IN_DOUBT_DEFAULT_DAYS * 86_400_000);
  if (since.getTime() > until.getTime()) throw new UsageError('--since is after --until');
  const days = auditDays(since, until);
  if (days.length > MAX_AUDIT_DAYS) throw new UsageError(`At most ${MAX_AUDIT_DAYS} days at once`);
  const range = { from: since.toISOString(), to: until.toISOString() };
  const records: Record<string, unknown>[] = [];
  await forEachLedgerRecord(
    target.clients.dynamodb,
    target.tables.ledger,
    { index: LEDGER_TABLE.byDayIndex, partitions: days.flatMap(AuditDay.partitions), range, attributes: READ },
    (page) => records.push(...page),
  );
  const rows = records
    .filter((r) => r.state === LedgerState.InDoubt || (request.includeReconciled && r.state === LedgerState.Sent && wasInDoubt(r)))
    .map((r) => toRow(r, request.now))
    .sort((a, b) => a.inDoubtSince.localeCompare(b.inDoubtSince) || a.dispatchId.localeCompare(b.dispatchId));
  return { range, rows };
}

function history(record: Record<string, unknown>): Record<string, unknown>[] {
  return Array.isArray(record.history)
    ? (record.history.filter((e) => e !== null && typeof e === 'object') as Record<string, unknown>[])
    : [];
}

function wasInDoubt(record: Record<string, unknown>): boolean {
  return history(record).some((entry) => entry.state === LedgerState.InDoubt);
}

function toRow(record: Record<string, unknown>, now: Date): InDoubtRow {
  const text = (name: string) => (typeof record[name] === 'string' ? (record[name] as string) : null);
  const claimedAt = text('claimedAt') ?? '';
  const entries = history(record);
  const marked = entries.filter((e) => e.state === LedgerState.InDoubt && typeof e.at === 'string').pop();
  const inDoubtSince = (marked?.at as string | undefined) ?? claimedAt;
  const fromSes = entries.some((e) => typeof e.by === 'string' && e.by.startsWith('ses-')) || text('reconciledAt') !== null;
  const since = Date.parse(inDoubtSince);
  return {
    dispatchId: text('dispatchId') ?? String(record.pk),
    state: String(record.state),
    memberId: text('memberId'),
    addressHash: text('toHash'),
    template: text('template'),
    claimedAt,
    inDoubtSince,
    ageSeconds: Number.isNaN(since) ? 0 : Math.max(0, Math.round((now.getTime() - since) / 1000)),
    sesEvent: fromSes || text('sesMessageId') !== null ? 'arrived' : 'none',
    sesMessageId: text('sesMessageId'),
  };
}

export interface ReleaseRequest {
  readonly dispatchIds: readonly string[];
  /** The ticket or reason (recorded on the record; no addresses or member data). */
  readonly reason: string;
  readonly operator: string;
  readonly now: Date;
}

export type ReleaseRefusal =
  /** No ledger record for this dispatchId. */
  | 'not-found'
  /** The record is not in doubt (any more): sent, released already, or claimed by a live attempt. */
  | 'not-in-doubt'
  /** SES accepted it (the record holds an SES message id): it went out; never release it. */
  | 'ses-accepted';

export interface ReleaseResult {
  readonly released: readonly string[];
  readonly refused: readonly { readonly dispatchId: string; readonly why: ReleaseRefusal; readonly state?: string }[];
  readonly releasedBy: string;
}

/** Checks the release reason the way the pause reason is checked: short, printable, no address. */
export function validateReleaseReason(reason: string): string {
  const trimmed = reason.trim();
  if (trimmed.length === 0)
    throw new UsageError('--reason is required: the ticket that records why these e-mails are known not to have gone out');
  if (trimmed.length > 200) throw new UsageError('--reason is longer than 200 characters');
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) throw new UsageError('--reason must be one line of printable text');
  if (trimmed.includes('@')) throw new UsageError('--reason must not contain an address: give the ticket, not the recipient');
  return trimmed;
}

/**
 * Releases in-doubt records: one conditional write each (still `in-doubt` and no SES message id),
 * so a record that the SES Send event reconciled meanwhile, or that was released already, is
 * refused and left as it is. The release is appended to the record's history with the operator
 * and the reason. Every id is tried; the result says which were released and why others were not.
 */
export async function releaseInDoubt(target: OpsTarget, request: ReleaseRequest): Promise<ReleaseResult> {
  const reason = validateReleaseReason(request.reason);
  if (request.dispatchIds.length === 0) throw new UsageError('Give at least one dispatchId');
  const invalid = request.dispatchIds.filter((id) => !DISPATCH_ID_PATTERN.test(id));
  if (invalid.length > 0) throw new UsageError(`Not a dispatchId: ${invalid.slice(0, 5).join(', ')}`);
  const releasedBy = `${PausedBy.OperatorPrefix}${request.operator}`;
  const at = request.now.toISOString();
  const released: string[] = [];
  const refused: { dispatchId: string; why: ReleaseRefusal; state?: string }[] = [];
  for (const dispatchId of new Set(request.dispatchIds)) {
    const key = { [LEDGER_TABLE.partitionKey]: { S: LedgerKey.dispatch(dispatchId) } };
    try {
      await target.clients.dynamodb.send(
        new UpdateItemCommand({
          TableName: target.tables.ledger,
          Key: key,
          UpdateExpression:
            'SET #state = :released, reason = :reason, releasedBy = :by, releasedAt = :at, releaseTicket = :ticket, updatedAt = :at, ' +
            'history = list_append(if_not_exists(history, :empty), :entry)',
          ConditionExpression: '#state = :inDoubt AND attribute_not_exists(sesMessageId)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: marshall({
            ':released': LedgerState.Released,
            ':inDoubt': LedgerState.InDoubt,
            ':reason': OPERATOR_RELEASE_REASON,
            ':by': releasedBy,
            ':at': at,
            ':ticket': reason,
            ':empty': [],
            ':entry': [{ state: LedgerState.Released, reason: OPERATOR_RELEASE_REASON, at, by: releasedBy, ticket: reason }],
          }),
        }),
      );
      released.push(dispatchId);
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw wrapStoreError('release in-doubt', error);
      refused.push({ dispatchId, ...(await whyNotReleased(target, key)) });
    }
  }
  return { released, refused, releasedBy };
}

async function whyNotReleased(target: OpsTarget, key: Record<string, { S: string }>): Promise<{ why: ReleaseRefusal; state?: string }> {
  let item: Record<string, unknown> | undefined;
  try {
    const { Item } = await target.clients.dynamodb.send(
      new GetItemCommand({
        TableName: target.tables.ledger,
        Key: key,
        ProjectionExpression: '#state, sesMessageId',
        ExpressionAttributeNames: { '#state': 'state' },
        ConsistentRead: true,
      }),
    );
    item = Item ? unmarshall(Item) : undefined;
  } catch (error) {
    throw wrapStoreError('read ledger record', error);
  }
  if (!item) return { why: 'not-found' };
  const state = String(item.state);
  if (state === LedgerState.InDoubt && typeof item.sesMessageId === 'string') return { why: 'ses-accepted', state };
  return { why: 'not-in-doubt', state };
}
