import { PauseReason, PausedBy } from '../../lambdas/core/outcomes';
import type { PauseCause } from '../../lambdas/ports';

export { PausedBy };

/**
 * Explains a pause cause in words for on-call, or returns `undefined` when the cause is not one
 * this version knows: then nobody can say what stopped the pipeline, and `resume` wants `--force`.
 */
export function explainPause(cause: PauseCause | undefined, knownAlarmNames: readonly string[] | undefined): string | undefined {
  if (!cause) return undefined;
  if (cause.by === PausedBy.Dispatcher && cause.reason === PauseReason.FanInLimit) {
    return `the dispatcher blocked a message past the fan-in limit${cause.addressHash ? ` for address ${cause.addressHash}` : ''}: audit that address before resuming`;
  }
  if (cause.by === PausedBy.Dispatcher && cause.reason === PauseReason.SesAccountPaused) {
    return 'SES refused to send for the whole account (sending paused): check the SES account status before resuming';
  }
  if (cause.by === PausedBy.Breaker && cause.reason === PauseReason.Alarm && cause.alarmName) {
    // Locally there is no CloudWatch: any alarm name the breaker recorded is taken as given.
    if (knownAlarmNames === undefined || knownAlarmNames.includes(cause.alarmName)) return `alarm ${cause.alarmName} fired and the breaker paused the queue`;
    return undefined;
  }
  if (cause.by.startsWith(PausedBy.OperatorPrefix) && cause.by.length > PausedBy.OperatorPrefix.length && cause.reason) {
    return `paused by ${cause.by.slice(PausedBy.OperatorPrefix.length)}: ${cause.reason}`;
  }
  return undefined;
}
