import type { PauseCause } from '../../lambdas/ports';
import { MailDispatchError } from '../../lambdas/core/errors';
import { OperationRefusedError } from './errors';
import { explainPause, PausedBy } from './pause-cause';
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
  readonly mapping: 'enabled' | 'not-reachable';
}

/** Why resuming now would be unsafe; empty when it is safe. */
export async function resumeRefusals(target: OpsTarget): Promise<{ refusals: string[]; cause?: PauseCause; explanation?: string }> {
  const [state, alarms, mappingEnabled] = await Promise.all([
    target.pauseSwitch.read(),
    target.alarms(),
    target.eventSource?.isEnabled(),
  ]);
  const refusals: string[] = [];
  if (target.fanInAlarmName) {
    const fanIn = alarms?.find((alarm) => alarm.name === target.fanInAlarmName);
    if (!fanIn) refusals.push(`cannot read alarm ${target.fanInAlarmName}`);
    else if (fanIn.state === 'ALARM') refusals.push(`alarm ${fanIn.name} is in ALARM (since ${fanIn.since ?? 'unknown'}): fan-in is still being blocked`);
  }
  const explanation = state.paused ? explainPause(state.cause, alarms?.map((alarm) => alarm.name)) : undefined;
  if (state.paused && !explanation) {
    refusals.push(`the pause flag's cause is not understood (by ${state.cause?.by ?? 'unknown'}, reason ${state.cause?.reason ?? 'unknown'})`);
  }
  if (!state.paused && mappingEnabled === false) refusals.push('the event source is disabled but no pause flag says why');
  return { refusals, cause: state.paused ? state.cause : undefined, explanation };
}

/**
 * Resumes: refuses while the fan-in alarm fires or the pause cause is not understood (unless
 * `force`); then clears the flag (recording who) and re-enables the event source, in that order,
 * so a dispatcher never runs against a set flag and hands messages back towards the DLQ.
 */
export async function resumePipeline(target: OpsTarget, request: ResumeRequest): Promise<ResumeResult> {
  const { refusals, cause, explanation } = await resumeRefusals(target);
  if (refusals.length > 0 && !request.force) {
    throw new OperationRefusedError(`Not resuming: ${refusals.join('; ')}. Check with \`status\` and \`audit\`; override with --force`);
  }
  const resumedBy = `${PausedBy.OperatorPrefix}${request.operator}`;
  await target.pauseSwitch.resume(resumedBy, request.now);
  if (target.eventSource) {
    try {
      await target.eventSource.enable();
    } catch (error) {
      throw new MailDispatchError('The pause flag is cleared, but the event source could not be enabled: retry `resume`', { cause: error });
    }
  }
  return { previousCause: cause, explanation, overridden: request.force ? refusals : [], resumedBy, mapping: target.eventSource ? 'enabled' : 'not-reachable' };
}
