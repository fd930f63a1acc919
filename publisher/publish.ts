import { SQSClient } from '@aws-sdk/client-sqs';
import { ConfigurationError } from '../lambdas/core/errors';
import type { DispatchMessageInput } from '../lambdas/core/message';
import { batchEntries } from './batch-entries';
import { mapWithConcurrency } from './map-with-concurrency';
import { MAX_RETRY_DELAY_MS, PUBLISH_DEFAULTS, type PublishOptions } from './publish-options';
import { PublishFailure, type PublishResult } from './publish-result';
import { sendBatch, type EntryOutcome } from './send-batch';
import { serialiseDispatch, type SerialisedDispatch } from './serialise-dispatch';
import { setTimeout as sleep } from 'node:timers/promises';

let defaultClient: SQSClient | undefined;

/**
 * Publishes messages to the dispatch queue as the portal should: each one validated with the
 * dispatcher's own parser (a message it would reject is refused here, with the same reason and
 * field, and never queued), sent with SendMessageBatch (ten entries and 256 KiB at most per call),
 * and the entries SQS failed on its side tried again with backoff.
 *
 * Returns one result per input, in input order. Publishing is at-least-once: a retried call may
 * have reached SQS the first time, which is harmless, because the dispatcher sends one dispatchId
 * at most once.
 *
 * @throws ConfigurationError when the options are unusable (nothing is sent).
 */
export async function publishDispatches(messages: readonly DispatchMessageInput[], options: PublishOptions): Promise<PublishResult[]> {
  const settings = resolveOptions(options);
  const results = new Array<PublishResult>(messages.length);
  let pending: SerialisedDispatch[] = [];
  messages.forEach((message, index) => {
    const serialised = serialiseDispatch(message, index);
    if ('body' in serialised) pending.push(serialised);
    else results[index] = serialised;
  });

  const client = options.client ?? (defaultClient ??= new SQSClient({}));
  const lastRetry = new Map<number, string>();
  for (let attempt = 1; pending.length > 0 && attempt <= settings.maxAttempts; attempt++) {
    if (attempt > 1) await sleep(backoffMs(attempt - 1, settings.baseDelayMs));
    const outcomes = await mapWithConcurrency(batchEntries(pending), settings.concurrency, (batch) =>
      sendBatch(client, options.queueUrl, batch),
    );
    const merged = new Map<number, EntryOutcome>(outcomes.flatMap((byIndex) => [...byIndex]));
    const again: SerialisedDispatch[] = [];
    for (const entry of pending) {
      const outcome = merged.get(entry.index) as EntryOutcome;
      if (outcome.kind === 'accepted') {
        results[entry.index] = {
          index: entry.index,
          dispatchId: entry.dispatchId,
          ok: true,
          messageId: outcome.messageId,
          attempts: attempt,
        };
      } else if (outcome.kind === 'refused') {
        results[entry.index] = {
          index: entry.index,
          dispatchId: entry.dispatchId,
          ok: false,
          reason: PublishFailure.SqsRefused,
          detail: `SQS refused the message (${outcome.code})`,
          code: outcome.code,
          retryable: false,
          attempts: attempt,
        };
      } else {
        lastRetry.set(entry.index, outcome.code);
        again.push(entry);
      }
    }
    pending = again;
  }
  for (const entry of pending) {
    const code = lastRetry.get(entry.index) ?? 'Unknown';
    results[entry.index] = {
      index: entry.index,
      dispatchId: entry.dispatchId,
      ok: false,
      reason: PublishFailure.SqsUnavailable,
      detail: `SQS did not accept the message in ${settings.maxAttempts} attempts (${code})`,
      code,
      retryable: true,
      attempts: settings.maxAttempts,
    };
  }
  return results;
}

/** Publishes one message: `publishDispatches` with one entry. */
export async function publishDispatch(message: DispatchMessageInput, options: PublishOptions): Promise<PublishResult> {
  const [result] = await publishDispatches([message], options);
  return result as PublishResult;
}

function resolveOptions(options: PublishOptions): Required<Pick<PublishOptions, 'maxAttempts' | 'baseDelayMs' | 'concurrency'>> {
  const settings = { ...PUBLISH_DEFAULTS, ...withoutUndefined(options) };
  const problems: string[] = [];
  if (typeof options?.queueUrl !== 'string' || options.queueUrl.trim() === '') problems.push('queueUrl is required');
  if (!Number.isInteger(settings.maxAttempts) || settings.maxAttempts < 1) problems.push('maxAttempts must be a positive integer');
  if (!Number.isFinite(settings.baseDelayMs) || settings.baseDelayMs < 0) problems.push('baseDelayMs must be a number of at least 0');
  if (!Number.isInteger(settings.concurrency) || settings.concurrency < 1) problems.push('concurrency must be a positive integer');
  if (problems.length > 0) throw new ConfigurationError(`Invalid publish options: ${problems.join('; ')}`);
  return settings;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Full jitter: a random delay up to base x 2^(retry-1), capped. */
function backoffMs(retry: number, baseDelayMs: number): number {
  return Math.random() * Math.min(MAX_RETRY_DELAY_MS, baseDelayMs * 2 ** (retry - 1));
}
