import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { type DepsOrStart, depsOf } from '../handler-kit';
import { dispatchBatch, type BatchContext } from './dispatch-batch';
import { createDispatcherDeps } from './dependencies';

/**
 * The dispatcher Lambda: SQS batch in, partial batch failures out (`ReportBatchItemFailures`).
 * `createHandler` takes its dependencies so tests and the local pipeline run this same code
 * against emulators or fakes.
 */
export function createHandler(deps: DepsOrStart<BatchContext>) {
  // Built on first use (the hash key comes from Secrets Manager); a failed build is retried next time.
  const ready = depsOf(deps);
  return async (event: SQSEvent, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<SQSBatchResponse> => {
    const built = await ready();
    // The time left is checked before every claim (issue 12.6); without a context (tests), no limit.
    return dispatchBatch(event.Records, context ? { ...built, remainingMs: () => context.getRemainingTimeInMillis() } : built);
  };
}

export const handler = createHandler(() => createDispatcherDeps());
