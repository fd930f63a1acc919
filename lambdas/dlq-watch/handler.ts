import type { Context } from 'aws-lambda';
import { MailDispatchError } from '../core/errors';
import { type DepsOrStart, depsOf, lambdaEntry } from '../handler-kit';
import { createDlqWatchDeps } from './dependencies';
import { sweepDeadLetters, type DlqWatchDeps, type SweepSummary } from './sweep-dead-letters';

/** Some dead-lettered messages could not be looked at: the invocation fails, so its alarm pages on-call. */
export class DlqWatchError extends MailDispatchError {
  constructor(
    message: string,
    readonly summary: SweepSummary,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'DlqWatchError';
  }
}

/**
 * The DLQ watch (issue 14): on a schedule, every message in the DLQ without a recorded end gets
 * one (`failed(dead-lettered)`, `rejected`, or `in-doubt` for an abandoned claim), so the outcome
 * feed tells the portal its fate. The messages stay in the DLQ for `ops redrive`.
 */
export function createDlqWatchHandler(deps: DepsOrStart<DlqWatchDeps>) {
  const ready = depsOf(deps);
  return async (_event?: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<SweepSummary> => {
    const built = await ready();
    const summary = await sweepDeadLetters(built, context ? () => context.getRemainingTimeInMillis() : undefined);
    built.logger.info('dlq sweep', { ...summary });
    if (summary.errors > 0) throw new DlqWatchError(`${summary.errors} dead-lettered message(s) could not be handled`, summary);
    return summary;
  };
}

/** The deployed entry point (an EventBridge schedule invokes it). */
export const handler = lambdaEntry(async () => createDlqWatchHandler(createDlqWatchDeps()));
