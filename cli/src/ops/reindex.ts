import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { BreakerTrippingPauseSwitch } from '../../../lambdas/adapters/breaker-tripping-pause-switch';
import { DynamoDbRegistryIndex } from '../../../lambdas/adapters/dynamodb-registry-index';
import type { PauseSwitch } from '../../../lambdas/ports';
import { watchMember } from '../../../lambdas/registry-watch/handler';
import { MEMBERS_TABLE } from '../../../lambdas/tables';
import { MailDispatchError } from '../../../lambdas/core/errors';
import type { OpsTarget } from './target';

export interface ReindexOptions {
  /** Resume after this memberId (the `lastMemberId` a previous, interrupted run reported). */
  readonly startAfter?: string;
  /** Members per Scan page. @default 100 */
  readonly pageSize?: number;
  /** Stop after this many pages (the run can be resumed from `lastMemberId`). @default all */
  readonly maxPages?: number;
  /** Called after each page with the members placed so far and the last memberId. */
  readonly onPage?: (placed: number, lastMemberId: string | undefined) => void;
  readonly now?: () => Date;
}

export interface ReindexReport {
  /** Members placed on their mailboxes in this run. */
  readonly placed: number;
  /** The last member placed: `--start-after` it to resume. */
  readonly lastMemberId?: string;
  /** False when the run stopped at `maxPages` before the end of the table. */
  readonly complete: boolean;
  /** Mailboxes (by hash, never an address) holding more than `fanInLimit` members. */
  readonly overLimitMailboxHashes: string[];
  /** Whether the pipeline is paused after the run (the watch pauses on the first mailbox past the limit). */
  readonly paused: boolean;
}

/**
 * Backfills the registry's address index (issue 12.2c) for members written before the registry
 * watch existed: scans the members table (keys only, paginated, resumable) and places every member
 * through the watch's own code (`watchMember`: its current item, every mailbox it holds, idempotent
 * set writes). A mailbox past `fanInLimit` pauses the pipeline as the watch would (the flag with the
 * mailbox hash, the dispatcher's event source disabled) and is reported by its hash only.
 */
export async function reindexMembers(target: OpsTarget, options: ReindexOptions = {}): Promise<ReindexReport> {
  const pageSize = options.pageSize ?? 100;
  const index = new DynamoDbRegistryIndex({
    membersTable: target.tables.members,
    ledgerTable: target.tables.ledger,
    hashKey: await target.hashKey(),
    client: target.clients.dynamodb,
  });
  const eventSource = target.eventSource;
  // As deployed, the watch's pause trips the breaker, which disables the dispatcher's mapping.
  const pauseSwitch: PauseSwitch = eventSource
    ? new BreakerTrippingPauseSwitch(target.pauseSwitch, { trip: () => eventSource.disable() }, (error) => {
        throw new MailDispatchError('The pause flag is set, but the event source could not be disabled: run `pause`', { cause: error });
      })
    : target.pauseSwitch;
  const deps = { index, pauseSwitch, fanInLimit: target.fanInLimit, countFanIn: () => undefined, logger: SILENT, now: options.now };
  const overLimit = new Set<string>();
  let placed = 0;
  let lastMemberId = options.startAfter;
  let startKey: Record<string, AttributeValue> | undefined = lastMemberId
    ? { [MEMBERS_TABLE.partitionKey]: { S: lastMemberId } }
    : undefined;
  for (let page = 0; ; page++) {
    if (options.maxPages !== undefined && page >= options.maxPages) {
      return {
        placed,
        lastMemberId,
        complete: false,
        overLimitMailboxHashes: [...overLimit].sort(),
        paused: (await pauseSwitch.read()).paused,
      };
    }
    const { Items, LastEvaluatedKey } = await target.clients.dynamodb.send(
      new ScanCommand({
        TableName: target.tables.members,
        ProjectionExpression: '#id',
        ExpressionAttributeNames: { '#id': MEMBERS_TABLE.partitionKey },
        ConsistentRead: true,
        Limit: pageSize,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of Items ?? []) {
      const memberId = item[MEMBERS_TABLE.partitionKey]?.S;
      if (memberId === undefined) continue;
      const { overLimitMailboxHashes } = await watchMember(memberId, deps);
      for (const hash of overLimitMailboxHashes) overLimit.add(hash);
      placed++;
      lastMemberId = memberId;
    }
    options.onPage?.(placed, lastMemberId);
    if (!LastEvaluatedKey) break;
    startKey = LastEvaluatedKey;
  }
  return { placed, lastMemberId, complete: true, overLimitMailboxHashes: [...overLimit].sort(), paused: (await pauseSwitch.read()).paused };
}

/** The watch's log lines (mailbox hash, memberIds) are the report's business here: the CLI prints the report. */
const SILENT = { warn: () => undefined, error: () => undefined };
