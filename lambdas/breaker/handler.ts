import type { SNSEvent } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDbPauseSwitch } from '../adapters/dynamodb-pause-switch';
import { LambdaEventSourceSwitch } from '../adapters/lambda-event-source-switch';
import { PausedBy } from '../core/outcomes';
import { pauseReasonOfAlarm } from '../core/reputation';
import { lambdaEntry, requiredEnv } from '../handler-kit';
import { Env } from '../tables';
import type { EventSourceSwitch, PauseSwitch } from '../ports';

export interface BreakerDeps {
  readonly pauseSwitch: PauseSwitch;
  readonly eventSource: EventSourceSwitch;
  readonly now?: () => Date;
  readonly logger?: Pick<Logger, 'info' | 'warn'>;
}

/** The part of a CloudWatch alarm notification (SNS message body) the breaker reads. */
interface AlarmNotification {
  readonly AlarmName?: string;
  readonly NewStateValue?: string;
  readonly NewStateReason?: string;
}

/**
 * The breaker: an alarm notification in ALARM state (fan-in, or a reputation alarm) pauses the pipeline. The pause flag
 * is written first (the dispatcher stops claiming at its next batch), then the event source
 * mapping is disabled (messages stay in the queue). Both are idempotent; resuming is an operator's
 * act (`ops resume`), never this function's.
 */
export function createBreakerHandler(deps: BreakerDeps) {
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger ?? new Logger({ serviceName: 'mail-dispatch-breaker' });
  return async (event: SNSEvent): Promise<{ paused: boolean }> => {
    const alarms = event.Records.map((record) => parseNotification(record.Sns.Message)).filter((n) => n.NewStateValue === 'ALARM');
    if (alarms.length === 0) {
      logger.info('no alarm in ALARM state: nothing to do');
      return { paused: false };
    }
    const alarm = alarms[0];
    // Both, even if one fails: either alone stops sending. A failure is rethrown so SNS retries.
    // The flag first, then the mapping (12.9): a disable never lands before its own flag, so an
    // `ops resume` that enables the mapping and then reads the flag always sees this pause, or
    // enabled before the disable, which then wins.
    const failures: unknown[] = [];
    await deps.pauseSwitch
      // A reputation alarm records its own reason (bounce-rate, complaint-rate), so `status` and `resume` say what to check.
      .pause({
        reason: pauseReasonOfAlarm(alarm.AlarmName ?? ''),
        by: PausedBy.Breaker,
        at: now().toISOString(),
        alarmName: alarm.AlarmName ?? 'unknown',
      })
      .catch((error: unknown) => failures.push(error));
    await deps.eventSource.disable().catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw new AggregateError(failures, 'The breaker could not fully pause the pipeline');
    logger.warn('pipeline paused by alarm', { alarmName: alarm.AlarmName });
    return { paused: true };
  };
}

function parseNotification(message: string): AlarmNotification {
  try {
    const parsed: unknown = JSON.parse(message);
    return typeof parsed === 'object' && parsed !== null ? (parsed as AlarmNotification) : {};
  } catch {
    return {};
  }
}

export const handler = lambdaEntry(() =>
  createBreakerHandler({
    pauseSwitch: new DynamoDbPauseSwitch({ ledgerTable: requiredEnv(Env.ledgerTable) }),
    eventSource: new LambdaEventSourceSwitch({ mappingId: requiredEnv(Env.eventSourceMappingId) }),
  }),
);
