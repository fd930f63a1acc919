import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { wrapStoreError } from '../../../lambdas/adapters/dynamodb-errors';
import { LedgerState } from '../../../lambdas/core/outcomes';
import { AuditDay, LEDGER_TABLE, LedgerKey } from '../../../lambdas/tables';
import { auditDays, forEachLedgerRecord } from './ledger-query';
import { queueName, type AlarmStatus, type OpsTarget } from './target';

export interface QueueStatus {
  readonly name: string;
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
  /** Seconds; `null` when the target cannot tell. */
  readonly oldestMessageAgeSeconds: number | null;
}

/** The pause flag item, as stored (who paused, why, when; who resumed last). */
export interface PauseFlagStatus {
  readonly paused: boolean;
  readonly reason?: string;
  readonly by?: string;
  readonly at?: string;
  readonly alarmName?: string;
  readonly addressHash?: string;
  readonly resumedBy?: string;
  readonly resumedAt?: string;
  /** How many times the flag was set since the table was created. */
  readonly pauses?: number;
}

export interface StatusReport {
  readonly target: { readonly kind: OpsTarget['kind']; readonly name: string };
  readonly at: string;
  readonly queue: QueueStatus;
  readonly deadLetterQueue: QueueStatus;
  /** Is the dispatcher fed? `enabled: null` when the target has no mapping the CLI can reach. */
  readonly mapping: { readonly enabled: boolean | null; readonly note?: string };
  readonly pause: PauseFlagStatus;
  /** `null` where there is no CloudWatch (local). */
  readonly alarms: readonly AlarmStatus[] | null;
  /** Ledger records decided in the last hour, by state (from the by-day index). */
  readonly lastHour: { readonly since: string; readonly total: number; readonly byState: Record<LedgerState, number> };
}

/** Everything on-call looks at first, read in parallel. */
export async function readStatus(target: OpsTarget, now: Date = new Date()): Promise<StatusReport> {
  const [queue, deadLetterQueue, mapping, pause, alarms, lastHour] = await Promise.all([
    queueStatus(target, target.queueUrl),
    queueStatus(target, target.deadLetterQueueUrl),
    mappingStatus(target),
    readPauseFlag(target),
    target.alarms().then((a) => a ?? null),
    countLastHour(target, now),
  ]);
  return {
    target: { kind: target.kind, name: target.name },
    at: now.toISOString(),
    queue,
    deadLetterQueue,
    mapping,
    pause,
    alarms,
    lastHour,
  };
}

async function queueStatus(target: OpsTarget, queueUrl: string): Promise<QueueStatus> {
  const [{ Attributes: a = {} }, age] = await Promise.all([
    target.clients.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }),
    ),
    target.oldestMessageAgeSeconds(queueUrl).catch(() => undefined),
  ]);
  return {
    name: queueName(queueUrl),
    visible: Number(a.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
    oldestMessageAgeSeconds: age ?? null,
  };
}

async function mappingStatus(target: OpsTarget): Promise<StatusReport['mapping']> {
  if (!target.eventSource)
    return {
      enabled: null,
      note: 'no local control endpoint (MAIL_DISPATCH_LOCAL_CONTROL_URL): the pause flag alone holds the dispatcher',
    };
  return { enabled: await target.eventSource.isEnabled() };
}

/** The whole pause flag item (PauseSwitch.read() gives only the live cause). */
export async function readPauseFlag(target: OpsTarget): Promise<PauseFlagStatus> {
  try {
    const { Item } = await target.clients.dynamodb.send(
      new GetItemCommand({
        TableName: target.tables.ledger,
        Key: { [LEDGER_TABLE.partitionKey]: { S: LedgerKey.pauseFlag } },
        ConsistentRead: true,
      }),
    );
    if (!Item) return { paused: false };
    const item = unmarshall(Item);
    const text = (key: string) => (typeof item[key] === 'string' ? (item[key] as string) : undefined);
    return {
      paused: item.paused === true,
      reason: text('reason'),
      by: text('by'),
      at: text('at'),
      alarmName: text('alarmName'),
      addressHash: text('addressHash'),
      resumedBy: text('resumedBy'),
      resumedAt: text('resumedAt'),
      pauses: typeof item.pauses === 'number' ? item.pauses : undefined,
    };
  } catch (error) {
    throw wrapStoreError('read pause flag', error);
  }
}

async function countLastHour(target: OpsTarget, now: Date): Promise<StatusReport['lastHour']> {
  const since = new Date(now.getTime() - 3_600_000);
  const byState = Object.fromEntries(Object.values(LedgerState).map((state) => [state, 0])) as Record<LedgerState, number>;
  let total = 0;
  // An hour that spans midnight (UTC) touches yesterday's partition too.
  for (const day of auditDays(since, now)) {
    const query = {
      index: LEDGER_TABLE.byDayIndex,
      partitions: AuditDay.partitions(day),
      range: { from: since.toISOString() },
      attributes: ['state'],
    };
    await forEachLedgerRecord(target.clients.dynamodb, target.tables.ledger, query, (records) => {
      for (const record of records) {
        const state = record.state as LedgerState;
        if (state in byState) byState[state] += 1;
        total += 1;
      }
    });
  }
  return { since: since.toISOString(), total, byState };
}
