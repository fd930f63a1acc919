import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { PauseCause } from '../../../lambdas/ports';
import { LEDGER_TABLE, LedgerKey } from '../../../lambdas/tables';
import { MailDispatchError } from '../../../lambdas/core/errors';
import { OperationRefusedError } from './errors';
import { PauseReason } from '../../../lambdas/core/outcomes';
import { explainPause, NOT_FOR_ME_CHECKS, PausedBy } from './pause-cause';
import type { OpsTarget } from './target';

export interface ResumeRequest {
  readonly operator: string;
  /** Resume despite the refusals below (each one is still reported). @default false */
  readonly force?: boolean;
  readonly now: Date;
}

export interface ResumeResult {
  /** The cause the flag held (absent when the flag was not set). */
  readonly previousCause?: PauseCause;
  readonly explanation?: string;
  /** Checks that would have refused, overridden by `force`. */
  readonly overridden: readonly string[];
  readonly resumedBy: string;
  /**
   * `resumed`, or `new-pause`: a pause landed while resuming (between the checks and the clear:
   * the flag was left set; or after the clear: the event source was disabled again). (12.9)
   */
  readonly outcome: 'resumed' | 'new-pause';
  /** The cause of the pause that stopped this resume. */
  readonly newCause?: PauseCause;
  /** `not-enabled`: left disabled because the flag changed first; `disabled-again`: enabled, then undone. */
  readonly mapping: 'enabled' | 'not-reachable' | 'not-enabled' | 'disabled-again';
}

/**
 * How long `resume` waits out a mapping transition (in-use answers) to enable the mapping, and to
 * disable it again after a pause arrived during the resume. Transitions of an SQS mapping take
 * seconds; an operator's command can afford minutes.
 */
export const RESUME_SWITCH_PATIENCE_MS = 120_000;

/** Why resuming now would be unsafe; empty when it is safe. */
export async function resumeRefusals(
  target: OpsTarget,
): Promise<{ refusals: string[]; cause?: PauseCause; explanation?: string; version?: number }> {
  const [state, alarms, mappingEnabled] = await Promise.all([target.pauseSwitch.read(), target.alarms(), target.eventSource?.isEnabled()]);
  const refusals: string[] = [];
  if (target.fanInAlarmName) {
    const fanIn = alarms?.find((alarm) => alarm.name === target.fanInAlarmName);
    if (!fanIn) refusals.push(`cannot read alarm ${target.fanInAlarmName}`);
    else if (fanIn.state === 'ALARM')
      refusals.push(`alarm ${fanIn.name} is in ALARM (since ${fanIn.since ?? 'unknown'}): fan-in is still being blocked`);
  }
  const explanation = state.paused
    ? explainPause(
        state.cause,
        alarms?.map((alarm) => alarm.name),
      )
    : undefined;
  if (state.paused && !explanation) {
    refusals.push(
      `the pause flag's cause is not understood (by ${state.cause?.by ?? 'unknown'}, reason ${state.cause?.reason ?? 'unknown'})`,
    );
  }
  // Recipients said the registry is wrong: nobody resumes without saying they checked it (--force).
  if (state.paused && state.cause?.by === PausedBy.NotForMePage && state.cause.reason === PauseReason.NotForMeReports) {
    refusals.push(`recipients reported e-mails as not theirs (paused at ${state.cause.at}): ${NOT_FOR_ME_CHECKS}`);
  }
  // The registry watch paused: each mailbox it paused for must hold no more than fanInLimit members
  // again, also when another cause holds the flag (an operator's pause during an import, 12.2c review).
  const byWatch = state.paused && state.cause?.by === PausedBy.RegistryWatch && state.cause.reason === PauseReason.RegistryFanIn;
  const mailboxes = state.paused
    ? [...new Set([...(byWatch ? [state.cause?.addressHash] : []), ...(state.registryFanInHashes ?? [])])]
    : [];
  for (const mailboxHash of mailboxes) {
    const members = await mailboxMembers(target, mailboxHash);
    if (members === undefined || members > target.fanInLimit) {
      refusals.push(
        `the registry still points ${members ?? 'an unknown number of'} members at mailbox ${mailboxHash ?? 'unknown'} ` +
          `(fanInLimit ${target.fanInLimit}): fix the registry first (docs/runbook.md "RegistryFanIn")`,
      );
    }
  }
  if (!state.paused && mappingEnabled === false) refusals.push('the event source is disabled but no pause flag says why');
  return { refusals, cause: state.paused ? state.cause : undefined, explanation, version: state.version };
}

/** Members on one mailbox of the registry's address index; `undefined` when it cannot be read. */
async function mailboxMembers(target: OpsTarget, mailboxHash: string | undefined): Promise<number | undefined> {
  if (!mailboxHash) return undefined;
  try {
    const { Item } = await target.clients.dynamodb.send(
      new GetItemCommand({
        TableName: target.tables.ledger,
        Key: { [LEDGER_TABLE.partitionKey]: { S: LedgerKey.registry(mailboxHash) } },
        ProjectionExpression: 'members',
        ConsistentRead: true,
      }),
    );
    return Item?.members?.SS?.length ?? 0;
  } catch {
    return undefined;
  }
}

/**
 * Resumes: refuses while the fan-in alarm fires or the pause cause is not understood (unless
 * `force`); then clears the flag (recording who) and re-enables the event source, in that order,
 * so a dispatcher never runs against a set flag and hands messages back towards the DLQ.
 *
 * A pause may land at any point of this (12.9). The clear is conditional on the flag version the
 * checks read, so a pause before it is never erased (the flag stays, the event source is not
 * enabled). After enabling, the flag is read again: a pause that landed after the clear (the
 * breaker's disable may have been overtaken by this enable) disables the event source again.
 * Either way the result says `new-pause`, with the new cause, and nothing is left enabled under a set flag.
 */
export async function resumePipeline(target: OpsTarget, request: ResumeRequest): Promise<ResumeResult> {
  const { refusals, cause, explanation, version } = await resumeRefusals(target);
  if (refusals.length > 0 && !request.force) {
    throw new OperationRefusedError(`Not resuming: ${refusals.join('; ')}. Check with \`status\` and \`audit\`; override with --force`);
  }
  const resumedBy = `${PausedBy.OperatorPrefix}${request.operator}`;
  const base = { previousCause: cause, explanation, overridden: request.force ? refusals : [], resumedBy };
  if ((await target.pauseSwitch.resume(resumedBy, request.now, { version })) === 'changed') {
    const now = await target.pauseSwitch.read();
    return { ...base, outcome: 'new-pause', newCause: now.cause, mapping: target.eventSource ? 'not-enabled' : 'not-reachable' };
  }
  if (!target.eventSource) return { ...base, outcome: 'resumed', mapping: 'not-reachable' };
  try {
    // The mapping may still be Disabling (the breaker's disable of the pause just cleared): wait it out.
    await target.eventSource.enable({ patienceMs: RESUME_SWITCH_PATIENCE_MS });
  } catch (error) {
    throw new MailDispatchError('The pause flag is cleared, but the event source could not be enabled: retry `resume`', { cause: error });
  }
  const after = await target.pauseSwitch.read();
  if (!after.paused) return { ...base, outcome: 'resumed', mapping: 'enabled' };
  try {
    // The mapping is usually still Enabling (this resume's own enable): wait the transition out
    // rather than give up after a few in-use answers and leave it enabled under a set flag, where
    // every delivery is handed back (paused) and walks towards the DLQ. Found by the harness (issue 13).
    await target.eventSource.disable({ patienceMs: RESUME_SWITCH_PATIENCE_MS });
  } catch (error) {
    throw new MailDispatchError('A new pause arrived while resuming and the event source could not be disabled again: run `pause` now', {
      cause: error,
    });
  }
  return { ...base, outcome: 'new-pause', newCause: after.cause, mapping: 'disabled-again' };
}
