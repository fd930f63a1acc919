import { PauseReason, PausedBy } from '../../../lambdas/core/outcomes';
import type { PauseCause } from '../../../lambdas/ports';

export { PausedBy };

/** What on-call must have checked before resuming after "not for me" reports paused the pipeline. */
export const NOT_FOR_ME_CHECKS =
  "the registry may point members at someone else's mailbox (the 2000 pattern). Before resuming: " +
  '(1) list the reported dispatches (`audit --since <the pause time>`, column reportedNotMineAt); ' +
  "(2) for each, check the member's registered address with the member (`members get <memberId> --reveal`) and fix it; " +
  '(3) audit every other member on the same addresses (`audit --address-hash <hash>`): the same fault may hold them too; ' +
  '(4) only then resume (`resume --force`). Each reported (member, address) pair stays blocked until `members clear-report <memberId> --reason <ticket>`';

/** What on-call must do before resuming after the registry watch paused the pipeline (docs/runbook.md "RegistryFanIn"). */
export const REGISTRY_FAN_IN_CHECKS =
  'a registry write (guarded or raw) left one mailbox with more members than fanInLimit. Before resuming: ' +
  '(1) find the members on it (`audit --address-hash <hash>` for what was sent; the writer of the registry for what was imported); ' +
  '(2) fix or close the wrong rows (`members import` through the guard); ' +
  '(3) resume: `resume` refuses while the index still counts more than fanInLimit members on that mailbox (`--force` overrides)';

/** What on-call must check before resuming after the reputation guard paused the pipeline. */
export const REPUTATION_CHECKS =
  'SES reviews an account at a 5 % bounce or 0.1 % complaint rate and may pause it at 10 % / 0.5 %. Before resuming: ' +
  '(1) find what changed (a registry import, a stale list, a new template: `audit --since <an hour before the pause>`, then `audit --dispatch <id>` for the bounced ones); ' +
  '(2) check the account in the SES console (Reputation metrics) and fix the source; ' +
  '(3) only then resume (`resume`); bounced and complaining (member, address) pairs are already suppressed';

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
  if (cause.by === PausedBy.NotForMePage && cause.reason === PauseReason.NotForMeReports) {
    return `recipients reported e-mails as not theirs, past the threshold within the window: ${NOT_FOR_ME_CHECKS}`;
  }
  if (cause.by === PausedBy.RegistryWatch && cause.reason === PauseReason.RegistryFanIn) {
    return `the registry points more than fanInLimit members at mailbox ${cause.addressHash ?? 'unknown'}: ${REGISTRY_FAN_IN_CHECKS}`;
  }
  if (
    cause.by === PausedBy.Breaker &&
    (cause.reason === PauseReason.BounceRate || cause.reason === PauseReason.ComplaintRate) &&
    cause.alarmName
  ) {
    if (knownAlarmNames !== undefined && !knownAlarmNames.includes(cause.alarmName)) return undefined;
    const what = cause.reason === PauseReason.BounceRate ? 'hard-bounce' : 'complaint';
    const whose = /-SesAccount\w+$/.test(cause.alarmName) ? "SES's account-level" : "the pipeline's own (over its last sends)";
    return `reputation guard: alarm ${cause.alarmName} fired on ${whose} ${what} rate, at or above the guard's threshold, and the breaker paused the queue: ${REPUTATION_CHECKS}`;
  }
  if (cause.by === PausedBy.Breaker && cause.reason === PauseReason.Alarm && cause.alarmName) {
    // Locally there is no CloudWatch: any alarm name the breaker recorded is taken as given.
    if (knownAlarmNames === undefined || knownAlarmNames.includes(cause.alarmName))
      return `alarm ${cause.alarmName} fired and the breaker paused the queue`;
    return undefined;
  }
  if (cause.by.startsWith(PausedBy.OperatorPrefix) && cause.by.length > PausedBy.OperatorPrefix.length && cause.reason) {
    return `paused by ${cause.by.slice(PausedBy.OperatorPrefix.length)}: ${cause.reason}`;
  }
  return undefined;
}
