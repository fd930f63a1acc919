import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SerialisedDispatch } from './serialise-dispatch';

/** What one SendMessageBatch call did with one entry. */
export type EntryOutcome =
  | { readonly kind: 'accepted'; readonly messageId: string }
  /** SQS failed on its side, or the call's outcome is unknown: safe to send again (the dispatchId dedupes). */
  | { readonly kind: 'retry'; readonly code: string }
  /** SQS refused it as the caller's fault: sending it again would fail the same way. */
  | { readonly kind: 'refused'; readonly code: string };

/**
 * One SendMessageBatch call. Never throws: a failed call becomes one outcome per entry. Entry ids
 * are positions (`m<index>`), never dispatchIds, which may hold characters batch ids may not.
 */
export async function sendBatch(
  client: SQSClient,
  queueUrl: string,
  batch: readonly SerialisedDispatch[],
): Promise<Map<number, EntryOutcome>> {
  const outcomes = new Map<number, EntryOutcome>();
  try {
    const response = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((entry) => ({ Id: entryId(entry.index), MessageBody: entry.body })),
      }),
    );
    const byId = new Map(batch.map((entry) => [entryId(entry.index), entry.index]));
    for (const ok of response.Successful ?? []) {
      const index = byId.get(ok.Id ?? '');
      if (index !== undefined && ok.MessageId) outcomes.set(index, { kind: 'accepted', messageId: ok.MessageId });
    }
    for (const failed of response.Failed ?? []) {
      const index = byId.get(failed.Id ?? '');
      if (index === undefined) continue;
      const code = failed.Code ?? 'Unknown';
      outcomes.set(index, failed.SenderFault ? { kind: 'refused', code } : { kind: 'retry', code });
    }
    // An entry the response does not mention was not confirmed: try it again rather than guess.
    for (const entry of batch) if (!outcomes.has(entry.index)) outcomes.set(entry.index, { kind: 'retry', code: 'MissingFromResponse' });
  } catch (error) {
    const outcome: EntryOutcome = isRetryable(error)
      ? { kind: 'retry', code: errorCode(error) }
      : { kind: 'refused', code: errorCode(error) };
    for (const entry of batch) outcomes.set(entry.index, outcome);
  }
  return outcomes;
}

function entryId(index: number): string {
  return `m${index}`;
}

interface SdkErrorShape {
  readonly name?: string;
  readonly $fault?: 'client' | 'server';
  readonly $retryable?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

const THROTTLING = /Throttl|RequestLimitExceeded|TooManyRequests|KmsThrottled|SlowDown/i;

/**
 * A whole call failed. Server faults, throttling and errors with no HTTP answer (network, timeout)
 * are worth another try; a client fault (access denied, no such queue, bad request) is not.
 */
function isRetryable(error: unknown): boolean {
  const e = (error ?? {}) as SdkErrorShape;
  if (e.$retryable || e.$fault === 'server' || THROTTLING.test(e.name ?? '')) return true;
  const status = e.$metadata?.httpStatusCode;
  return status === undefined || status === 429 || status >= 500;
}

/** The SDK error's name only: its message may quote the request. */
function errorCode(error: unknown): string {
  const name = (error as SdkErrorShape | undefined)?.name;
  return typeof name === 'string' && name !== '' ? name : 'Error';
}
