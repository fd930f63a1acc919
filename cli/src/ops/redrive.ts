import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import { RejectAttribute } from '../../../lambdas/tables';
import { changeVisibility, deleteMessages } from './sqs-batch';
import type { OpsTarget } from './target';

export interface RedriveOptions {
  /** Count what would move; move nothing. @default false */
  readonly dryRun?: boolean;
  /** Most messages to move (or, dry, to count). @default all */
  readonly limit?: number;
  /** Move rejected bodies too (only after the reason was fixed, e.g. a template deployed). @default false */
  readonly includeRejected?: boolean;
  /** How long received DLQ messages stay hidden while the redrive runs, seconds. @default 300 */
  readonly visibilityTimeoutSeconds?: number;
  /**
   * How long to keep trying while the DLQ still holds messages someone else hides (the DLQ watch's
   * sweep hides up to 1000 for 120 s), seconds. Past it, the result says how many stayed hidden. @default 150
   */
  readonly waitForHiddenSeconds?: number;
  /** Called after each received batch (progress bars). */
  readonly onProgress?: (seen: number, total: number) => void;
  /** Called for each message moved: its DLQ message id and the id of its copy in the queue. */
  readonly onMoved?: (deadLetterMessageId: string, queueMessageId: string) => void;
}

export interface RedriveResult {
  readonly dryRun: boolean;
  /** Messages moved to the dispatch queue (dry: that would be moved). */
  readonly moved: number;
  /** Rejected bodies left in the DLQ, by reject reason. */
  readonly keptRejected: Record<string, number>;
  /** Messages whose send to the queue failed: left in the DLQ. */
  readonly failed: number;
  /**
   * Messages copied to the queue whose DLQ copy SQS would not delete (a `Failed` entry of
   * `DeleteMessageBatch`, e.g. an expired receipt handle): counted in `moved`, but still in the
   * DLQ, so a later redrive would move them again (the ledger's claim-once keeps that from
   * sending twice). Their DLQ message ids, for the operator.
   */
  readonly notDeleted: readonly string[];
  /**
   * Messages still hidden in the DLQ (by a DLQ sweep or another consumer) when the redrive gave up
   * waiting for them: not moved; run redrive again.
   */
  readonly leftHidden: number;
}

/** How often an empty receive asks again while others hide DLQ messages. */
const HIDDEN_POLL_MS = 1000;

const REJECT_ATTRIBUTES = new Set<string>(Object.values(RejectAttribute));

/**
 * Moves DLQ messages back to the dispatch queue (receive → send → delete: a crash in between
 * leaves a copy in both, which the ledger's claim-once makes harmless). Rejected bodies stay
 * unless asked for; every message not moved is made visible again at the end.
 */
export async function redriveDeadLetters(target: OpsTarget, options: RedriveOptions = {}): Promise<RedriveResult> {
  const sqs = target.clients.sqs;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: target.deadLetterQueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  const total = Math.min(Number(Attributes?.ApproximateNumberOfMessages ?? 0), limit);
  const keptRejected: Record<string, number> = {};
  const keep: string[] = [];
  let moved = 0;
  let failed = 0;
  const notDeleted: string[] = [];
  let seen = 0;
  const seenIds = new Set<string>();
  let leftHidden = 0;
  const waitUntil = Date.now() + (options.waitForHiddenSeconds ?? 150) * 1000;
  try {
    while (moved < limit) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: target.deadLetterQueueUrl,
          MaxNumberOfMessages: Math.min(10, limit - moved),
          // A long poll asks every SQS server: an empty answer means the DLQ is (nearly) drained.
          WaitTimeSeconds: 1,
          VisibilityTimeout: options.visibilityTimeoutSeconds ?? 300,
          MessageAttributeNames: ['All'],
        }),
      );
      if (Messages.length === 0) {
        // Empty, but others (a DLQ sweep) may hide messages that come back: wait for them, bounded.
        // Held here: the ones kept (released at the end) and the copies SQS would not delete (still ours, hidden).
        leftHidden = await hiddenByOthers(target, keep.length + notDeleted.length);
        if (leftHidden === 0 || Date.now() >= waitUntil) break;
        await new Promise((resolve) => setTimeout(resolve, HIDDEN_POLL_MS));
        continue;
      }
      seen += Messages.length;
      const toMove: Message[] = [];
      let wrapped = false;
      for (const message of Messages) {
        // A message seen before came back after its visibility timeout: everything was looked at.
        if (seenIds.has(message.MessageId ?? '')) {
          wrapped = true;
          keep.push(message.ReceiptHandle ?? '');
          continue;
        }
        seenIds.add(message.MessageId ?? '');
        const reason = message.MessageAttributes?.[RejectAttribute.reason]?.StringValue;
        if (reason !== undefined && !options.includeRejected) {
          keptRejected[reason] = (keptRejected[reason] ?? 0) + 1;
          keep.push(message.ReceiptHandle ?? '');
        } else if (options.dryRun) {
          moved += 1;
          keep.push(message.ReceiptHandle ?? '');
        } else {
          toMove.push(message);
        }
      }
      if (toMove.length > 0) {
        const { Successful = [], Failed = [] } = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: target.queueUrl,
            Entries: toMove.map((message, i) => ({
              Id: String(i),
              MessageBody: message.Body ?? '',
              MessageAttributes: keptAttributes(message),
            })),
          }),
        );
        const sent = Successful.map((entry) => {
          const message = toMove[Number(entry.Id)];
          options.onMoved?.(message.MessageId ?? '', entry.MessageId ?? '');
          return message;
        });
        for (const entry of Failed) keep.push(toMove[Number(entry.Id)]?.ReceiptHandle ?? '');
        failed += Failed.length;
        if (sent.length > 0) {
          // DeleteMessageBatch answers 200 with `Failed` entries: each one is a copy left behind.
          const deleted = await deleteMessages(
            sqs,
            target.deadLetterQueueUrl,
            sent.map((message) => message.ReceiptHandle ?? ''),
          );
          notDeleted.push(...deleted.failed.map((f) => sent[f.index].MessageId ?? ''));
        }
        moved += sent.length;
      }
      options.onProgress?.(seen, Math.max(total, seen));
      if (wrapped) break;
    }
  } finally {
    await release(target, keep.filter(Boolean));
  }
  return { dryRun: options.dryRun ?? false, moved, keptRejected, failed, notDeleted, leftHidden };
}

/** DLQ messages in flight that this redrive does not hold itself (it hides the ones it keeps until the end). */
async function hiddenByOthers(target: OpsTarget, heldHere: number): Promise<number> {
  const { Attributes } = await target.clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: target.deadLetterQueueUrl, AttributeNames: ['ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Math.max(0, Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0) - heldHere);
}

/** The message's own attributes, without the ones the dispatcher added when it rejected it. */
function keptAttributes(message: Message): Record<string, MessageAttributeValue> | undefined {
  const kept = Object.entries(message.MessageAttributes ?? {}).filter(([name]) => !REJECT_ATTRIBUTES.has(name));
  return kept.length > 0 ? Object.fromEntries(kept) : undefined;
}

/**
 * Makes messages we looked at but did not move visible again at once. An entry SQS refuses
 * (its receipt handle no longer valid) is already visible or gone: it only comes back later.
 */
async function release(target: OpsTarget, receiptHandles: readonly string[]): Promise<void> {
  if (receiptHandles.length > 0) await changeVisibility(target.clients.sqs, target.deadLetterQueueUrl, receiptHandles, 0);
}
