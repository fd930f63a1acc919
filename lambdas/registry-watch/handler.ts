import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { PauseReason, PausedBy } from '../core/outcomes';
import { placementsFor, type MemberImage } from '../core/registry-watch';
import type { PauseSwitch } from '../ports';
import { MEMBERS_TABLE } from '../tables';
import { createRegistryWatchDeps, type RegistryWatchDeps } from './dependencies';
import { lambdaEntry } from '../handler-kit';

// The deps' type lives with its builder (./dependencies), which would otherwise import this file back.
export type { RegistryWatchDeps } from './dependencies';

/**
 * The registry watch (issue 12.2c): the members table's stream → the per-mailbox address index,
 * for every write, guarded or raw. A mailbox left with more than `fanInLimit` members raises
 * `RegistryFanIn` and sets the pause flag at once: the registry holds the 2000 pattern, and no
 * message should flow until a person has looked. A record that fails is reported by its sequence
 * number (`ReportBatchItemFailures`): the mapping retries from it, so nothing after it is skipped.
 */
export function createRegistryWatchHandler(deps: RegistryWatchDeps) {
  const logger = deps.logger ?? new Logger({ serviceName: 'mail-dispatch-registry-watch' });
  const now = deps.now ?? (() => new Date());
  return async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    for (const record of event.Records ?? []) {
      try {
        await watchRecord(record, deps, logger, now);
      } catch (error) {
        logger.error('registry watch failed on a stream record: the batch is retried from it', {
          errorName: (error as Error)?.name,
          sequenceNumber: record.dynamodb?.SequenceNumber,
        });
        return { batchItemFailures: [{ itemIdentifier: record.dynamodb?.SequenceNumber ?? '' }] };
      }
    }
    return { batchItemFailures: [] };
  };
}

async function watchRecord(record: DynamoDBRecord, deps: RegistryWatchDeps, logger: Pick<Logger, 'warn'>, now: () => Date): Promise<void> {
  const keys = image(record.dynamodb?.Keys) as Record<string, unknown> | undefined;
  const memberId = keys?.[MEMBERS_TABLE.partitionKey];
  if (typeof memberId !== 'string') return;
  await watchMember(memberId, deps, {
    oldImage: image(record.dynamodb?.OldImage),
    newImage: image(record.dynamodb?.NewImage),
    logger,
    now,
  });
}

/**
 * Moves the index to one member's current item (on every mailbox its images or its item name),
 * and pauses when a mailbox it holds is past `fanInLimit`, as for a stream record. Returns the
 * hashes of the member's mailboxes that are past the limit. `ops members reindex` places members
 * written before the watch existed through this same function.
 */
export async function watchMember(
  memberId: string,
  deps: RegistryWatchDeps,
  options: { oldImage?: MemberImage; newImage?: MemberImage; logger?: Pick<Logger, 'warn'>; now?: () => Date } = {},
): Promise<{ overLimitMailboxHashes: string[] }> {
  const logger = options.logger ?? deps.logger ?? new Logger({ serviceName: 'mail-dispatch-registry-watch' });
  const now = options.now ?? deps.now ?? (() => new Date());
  const current = await deps.index.currentMember(memberId);
  const overLimitMailboxHashes: string[] = [];
  let pause: Awaited<ReturnType<PauseSwitch['read']>> | undefined;
  for (const placement of placementsFor(options.oldImage, options.newImage, current)) {
    const count = await deps.index.place(memberId, placement);
    if (!placement.member || count.members <= deps.fanInLimit) continue;
    overLimitMailboxHashes.push(count.mailboxHash);
    // A redelivered record finds the member already there and the flag already set for this
    // mailbox: nothing to do. A first delivery that died before pausing is not so lucky: pause now.
    pause ??= await deps.pauseSwitch.read();
    const pausedForIt = pause.paused && pause.cause?.by === PausedBy.RegistryWatch && pause.cause.addressHash === count.mailboxHash;
    if (!count.joined && pausedForIt) continue;
    logger.warn('a mailbox holds more members than the fan-in limit: pausing', {
      mailboxHash: count.mailboxHash,
      members: count.members,
      fanInLimit: deps.fanInLimit,
      memberId,
    });
    deps.countFanIn();
    await deps.pauseSwitch.pause({
      reason: PauseReason.RegistryFanIn,
      by: PausedBy.RegistryWatch,
      at: now().toISOString(),
      addressHash: count.mailboxHash,
    });
    pause = await deps.pauseSwitch.read();
  }
  return { overLimitMailboxHashes };
}

function image(value: unknown): MemberImage | undefined {
  return value ? (unmarshall(value as Record<string, AttributeValue>) as MemberImage) : undefined;
}

/** The deployed entry point: adapters from the environment, built once (again after a failed start). */
export const handler = lambdaEntry(async () => createRegistryWatchHandler(await createRegistryWatchDeps()));
