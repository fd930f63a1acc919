import type { PauseCause } from '../../../lambdas/ports';
import { MailDispatchError } from '../../../lambdas/core/errors';
import { UsageError } from './errors';
import { PausedBy } from './pause-cause';
import type { OpsTarget } from './target';

export interface PauseRequest {
  readonly reason: string;
  /** The operator's name (recorded as `operator:<name>`). */
  readonly operator: string;
  readonly now: Date;
}

export interface PauseResult {
  /** False when the flag was already set: its first cause is kept (and reported here). */
  readonly newlyPaused: boolean;
  readonly cause: PauseCause;
  /** `disabled`, or `not-reachable` when the target has no mapping the CLI can reach. */
  readonly mapping: 'disabled' | 'not-reachable';
}

// Anything with a word on each side of an @: the reason is stored in the ledger and shown by `status`.
const ADDRESS_LIKE = /[^\s@<>]+@[^\s@<>]+/;

/**
 * The reason as it will be stored (trimmed), or a UsageError: an empty reason tells the next on-call
 * nothing (and `resume` would refuse it as not understood); an address must never be stored.
 */
export function checkPauseReason(reason: string): string {
  const trimmed = reason.trim();
  if (trimmed === '')
    throw new UsageError('--reason is empty: say why (a ticket number, "SES complaint spike"); resume shows it to the next on-call');
  if (ADDRESS_LIKE.test(trimmed)) {
    throw new UsageError(
      '--reason looks like an e-mail address: it is stored in the ledger and shown by status, so never put an address, a name or message content in it; use a ticket number',
    );
  }
  return trimmed;
}

/**
 * Pauses the pipeline as the breaker does: the flag first (the dispatcher stops claiming at its
 * next batch), then the event source (messages stay in the queue). Both are idempotent.
 */
export async function pausePipeline(target: OpsTarget, request: PauseRequest): Promise<PauseResult> {
  const reason = checkPauseReason(request.reason);
  const before = await target.pauseSwitch.read();
  const cause: PauseCause = { reason, by: `${PausedBy.OperatorPrefix}${request.operator}`, at: request.now.toISOString() };
  await target.pauseSwitch.pause(cause);
  const after = await target.pauseSwitch.read();
  if (target.eventSource) {
    try {
      await target.eventSource.disable();
    } catch (error) {
      throw new MailDispatchError(
        'The pause flag is set (the dispatcher sends nothing), but the event source could not be disabled: retry `pause`',
        { cause: error },
      );
    }
  }
  return { newlyPaused: !before.paused, cause: after.cause ?? cause, mapping: target.eventSource ? 'disabled' : 'not-reachable' };
}
