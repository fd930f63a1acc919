import { setTimeout as sleep } from 'node:timers/promises';
import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** SQS takes at most 10 entries per batch call (more fail the whole call: `TooManyEntriesInBatchRequest`). */
export const SQS_MAX_BATCH_ENTRIES = 10;

/** One entry SQS did not act on, by its index in the caller's list. `code` never carries message data. */
export interface BatchEntryFailure {
  readonly index: number;
  readonly code: string;
  /** SQS's `SenderFault`: true when trying the same entry again cannot help (a bad receipt handle). */
  readonly senderFault: boolean;
}

export interface BatchOutcome {
  /** Indexes of the entries SQS acted on. */
  readonly succeeded: readonly number[];
  readonly failed: readonly BatchEntryFailure[];
}

type BatchAnswer = {
  readonly Successful?: readonly { Id?: string }[];
  readonly Failed?: readonly { Id?: string; Code?: string; SenderFault?: boolean }[];
};

/**
 * Runs one SQS batch action over any number of entries, 10 per call, and reads every answer's
 * `Failed` list: a batch call answers HTTP 200 even when entries failed. Entries that failed
 * through no fault of the sender (`SenderFault: false`, or the whole call failed) are tried again
 * up to `tries` times; what still failed is returned, never dropped.
 */
export async function runSqsBatch(
  count: number,
  call: (indexes: readonly number[]) => Promise<BatchAnswer>,
  tries = 3,
): Promise<BatchOutcome> {
  const succeeded: number[] = [];
  const failed: BatchEntryFailure[] = [];
  let pending = Array.from({ length: count }, (_, i) => i);
  for (let attempt = 1; pending.length > 0; attempt++) {
    const round = await oneRound(pending, call, succeeded);
    failed.push(...round.filter((f) => f.senderFault));
    const retriable = round.filter((f) => !f.senderFault);
    if (attempt >= tries) {
      failed.push(...retriable);
      break;
    }
    pending = retriable.map((f) => f.index);
    if (pending.length > 0) await sleep(50 * 2 ** (attempt - 1));
  }
  return { succeeded: succeeded.sort((a, b) => a - b), failed: failed.sort((a, b) => a.index - b.index) };
}

/** One pass over `pending`, 10 per call; the entry Ids are the indexes themselves. */
async function oneRound(
  pending: readonly number[],
  call: (indexes: readonly number[]) => Promise<BatchAnswer>,
  succeeded: number[],
): Promise<BatchEntryFailure[]> {
  const failed: BatchEntryFailure[] = [];
  for (let start = 0; start < pending.length; start += SQS_MAX_BATCH_ENTRIES) {
    const chunk = pending.slice(start, start + SQS_MAX_BATCH_ENTRIES);
    try {
      const answer = await call(chunk);
      const reported = new Set<number>();
      for (const entry of answer.Successful ?? []) {
        const index = Number(entry.Id);
        if (!chunk.includes(index) || reported.has(index)) continue;
        succeeded.push(index);
        reported.add(index);
      }
      for (const entry of answer.Failed ?? []) {
        const index = Number(entry.Id);
        if (!chunk.includes(index) || reported.has(index)) continue;
        failed.push({ index, code: entry.Code ?? 'Unknown', senderFault: entry.SenderFault ?? false });
        reported.add(index);
      }
      // An entry the answer does not mention was not acted on, as far as anyone can know.
      for (const index of chunk) if (!reported.has(index)) failed.push({ index, code: 'NotReported', senderFault: false });
    } catch (error) {
      // The whole call failed (network, throttle after the SDK's retries): no entry was acted on.
      const code = (error as { name?: string })?.name ?? 'Error';
      for (const index of chunk) failed.push({ index, code, senderFault: false });
    }
  }
  return failed;
}

/** Deletes received messages by receipt handle, 10 per call, reporting every entry SQS refused. */
export function deleteMessages(sqs: SQSClient, queueUrl: string, receiptHandles: readonly string[]): Promise<BatchOutcome> {
  return runSqsBatch(receiptHandles.length, (indexes) =>
    sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: indexes.map((i) => ({ Id: String(i), ReceiptHandle: receiptHandles[i] })),
      }),
    ),
  );
}

/** Sets the visibility timeout of received messages, 10 per call, reporting every entry SQS refused. */
export function changeVisibility(
  sqs: SQSClient,
  queueUrl: string,
  receiptHandles: readonly string[],
  visibilityTimeout: number,
): Promise<BatchOutcome> {
  return runSqsBatch(receiptHandles.length, (indexes) =>
    sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: indexes.map((i) => ({ Id: String(i), ReceiptHandle: receiptHandles[i], VisibilityTimeout: visibilityTimeout })),
      }),
    ),
  );
}
