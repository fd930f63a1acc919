import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import pLimit from 'p-limit';
import { describeError, messageSecrets, type ErrorCause } from '../core/error-cause';
import { StoreUnavailableError } from '../core/errors';
import { EMPTY_FAN_IN } from '../core/fan-in';
import { parseDispatchMessage, type MessageParse } from '../core/message';
import { DispatchState, LedgerState, RetryReason, type DispatchOutcome } from '../core/outcomes';
import type { DispatchSnapshot, OutcomeReporter, RejectedMessageSink } from '../ports';
import { snapshotId } from '../ports';
import {
  completeMessage,
  planMessage,
  prepareMessage,
  retry,
  type Delivery,
  type MessageContext,
  type MessageResult,
  type Plan,
  type Prepared,
} from './dispatch-message';
import { PendingSettles } from './pending-settles';

export interface BatchContext extends Omit<MessageContext, 'batch' | 'settles'> {
  readonly rejectedSink: RejectedMessageSink;
  readonly reporter: OutcomeReporter;
}

type Rejection = Extract<MessageParse, { ok: false }>;
type Item = { readonly delivery: Delivery } & ({ readonly prepared: Prepared } | { readonly rejection: Rejection });

/**
 * One SQS batch: reject what does not parse (ledger + DLQ), read the pause flag and every
 * snapshot once, dispatch the rest with bounded concurrency, and hand back to SQS only what
 * should be tried again.
 */
export async function dispatchBatch(records: readonly SQSRecord[], ctx: BatchContext): Promise<SQSBatchResponse> {
  const items = records.map((record): Item => {
    const delivery = { record, receiveCount: Number(record.attributes?.ApproximateReceiveCount) || 1 };
    const parse = parseDispatchMessage(record.body);
    return parse.ok ? { delivery, prepared: prepareMessage(parse.message, ctx) } : { delivery, rejection: parse };
  });
  // One message at a time (the default): its `sent` write runs beside the next one's claim. With
  // more in flight the lanes already overlap, and the writes are awaited in place.
  const settles = ctx.config.handlerConcurrency === 1 ? new PendingSettles() : undefined;
  const mctx: MessageContext = { ...ctx, batch: { paused: false }, ...(settles ? { settles } : {}) };
  // Why a message ended `retry unexpected-error`, for its outcome line (on-call diagnoses from it).
  const causes = new Map<number, ErrorCause>();
  const secretsOf = (item: Item) => ('prepared' in item ? messageSecrets(item.prepared.message) : []);
  const state = await readBatchState(items, mctx, (error) => {
    const cause = describeError(error, items.flatMap(secretsOf));
    items.forEach((item, i) => 'prepared' in item && causes.set(i, cause));
  });
  const plans = items.map((item) =>
    'prepared' in item && state.ok
      ? planMessage(item.prepared, state.snapshots.get(snapshotId(item.prepared.key)) ?? { fanIn: EMPTY_FAN_IN }, item.delivery, mctx)
      : undefined,
  );
  // Each message claims just before its send, however many are worked on at once: a claim made
  // ahead would wait for its send slot, and the registry could change under it (issue 12.1).
  const limit = pLimit(ctx.config.handlerConcurrency);
  let results: MessageResult[];
  try {
    results = await Promise.all(
      items.map((item, i) =>
        limit(async (): Promise<MessageResult> => {
          if ('rejection' in item) return reject(item.delivery, item.rejection, ctx);
          if (!state.ok) return retry(state.reason);
          return completeSafely(plans[i]!, mctx, (error) => causes.set(i, describeError(error, secretsOf(item))));
        }),
      ),
    );
  } finally {
    // Every `sent` write has answered before SQS hears of the batch and the invocation ends,
    // whatever happened to the messages after it.
    await settles?.drain();
  }

  await Promise.all(
    items.map((item, i) =>
      recordFailedEnd(item, results[i], ctx, (error) => causes.has(i) || causes.set(i, describeError(error, secretsOf(item)))),
    ),
  );

  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  items.forEach((item, i) => {
    const result = results[i];
    if (result.retry) batchItemFailures.push({ itemIdentifier: item.delivery.record.messageId });
    ctx.reporter.report({
      sqsMessageId: item.delivery.record.messageId,
      receiveCount: item.delivery.receiveCount,
      ...('prepared' in item
        ? {
            dispatchId: item.prepared.message.dispatchId,
            memberId: item.prepared.message.memberId,
            toHash: item.prepared.toHash,
            template: item.prepared.message.template,
          }
        : { dispatchId: item.rejection.dispatchId, memberId: item.rejection.memberId }),
      outcome: finalOutcome(result, item.delivery, ctx),
      fanInCount: result.fanInCount,
      pausedPipeline: result.pausedPipeline,
      ...(causes.has(i) ? { error: causes.get(i) } : {}),
    });
  });
  ctx.reporter.flush();
  return { batchItemFailures };
}

/** What the batch reads once before any message is worked on: every snapshot, or why the whole batch waits. */
export type BatchState =
  | { readonly ok: true; readonly snapshots: ReadonlyMap<string, DispatchSnapshot> }
  | { readonly ok: false; readonly reason: RetryReason };

/** The pause flag and all snapshots, or the retry reason that stops the whole batch. */
async function readBatchState(items: readonly Item[], ctx: MessageContext, onUnexpected: (error: unknown) => void): Promise<BatchState> {
  const keys = items.flatMap((item) => ('prepared' in item ? [item.prepared.key] : []));
  if (keys.length === 0) return { ok: true, snapshots: new Map() };
  const stop = (reason: RetryReason): BatchState => ({ ok: false, reason });
  try {
    if ((await ctx.pauseSwitch.read()).paused) return stop(RetryReason.Paused);
    return { ok: true, snapshots: await ctx.ledger.readSnapshots(keys) };
  } catch (error) {
    // Every message still gets an outcome (and goes back to SQS), whatever the store said.
    if (error instanceof StoreUnavailableError) return stop(RetryReason.StoreThrottled);
    onUnexpected(error);
    return stop(RetryReason.Unexpected);
  }
}

/** A retry on the last receive is the message's end: SQS moves it to the DLQ, so report `failed`. */
function finalOutcome(result: MessageResult, delivery: Delivery, ctx: BatchContext): DispatchOutcome {
  const lastTry = delivery.receiveCount >= ctx.config.maxReceiveCount;
  return result.outcome.state === 'retry' && lastTry ? { state: DispatchState.Failed, reason: result.outcome.reason } : result.outcome;
}

/**
 * A valid message handed back on its last receive ends `failed`: SQS moves it to the DLQ. Its end
 * gets a ledger record like every other (issue 12.12), written only over a record that proves
 * nothing was sent (the adapter's condition), so a live claim, a send or an in-doubt end stay as
 * they are. If the store cannot take it, the message still reaches the DLQ and its outcome line
 * says why (`error`); an operator's redrive then finds no record or the last one.
 */
async function recordFailedEnd(item: Item, result: MessageResult, ctx: BatchContext, onError: (error: unknown) => void): Promise<void> {
  if (!('prepared' in item) || result.outcome.state !== 'retry' || result.recorded) return;
  if (item.delivery.receiveCount < ctx.config.maxReceiveCount) return;
  const { message, toHash } = item.prepared;
  try {
    await ctx.ledger.recordUnsent({
      state: LedgerState.Failed,
      reason: result.outcome.reason,
      dispatchId: message.dispatchId,
      memberId: message.memberId,
      toHash,
      template: message.template,
      sqsMessageId: item.delivery.record.messageId,
      now: ctx.now(),
    });
  } catch (error) {
    onError(error);
  }
}

async function completeSafely(plan: Plan, ctx: MessageContext, onUnexpected: (error: unknown) => void): Promise<MessageResult> {
  try {
    return await completeMessage(plan, ctx);
  } catch (error) {
    // Unexpected (a bug, a malformed item): nothing is sent without a settled claim, so a retry is safe.
    onUnexpected(error);
    return retry(RetryReason.Unexpected);
  }
}

async function reject(delivery: Delivery, rejection: Rejection, ctx: BatchContext): Promise<MessageResult> {
  try {
    await ctx.ledger.recordUnsent({
      state: LedgerState.Rejected,
      reason: rejection.reason,
      field: rejection.field,
      dispatchId: rejection.dispatchId,
      memberId: rejection.memberId,
      sqsMessageId: delivery.record.messageId,
      now: ctx.now(),
    });
    await ctx.rejectedSink.moveRejected(delivery.record.body, {
      reason: rejection.reason,
      field: rejection.field,
      dispatchId: rejection.dispatchId,
      sqsMessageId: delivery.record.messageId,
    });
  } catch {
    // Not recorded or not moved: keep it in the queue rather than lose it.
    return retry(RetryReason.StoreThrottled);
  }
  return {
    outcome: { state: DispatchState.Rejected, reason: rejection.reason, ...(rejection.field ? { field: rejection.field } : {}) },
    retry: false,
  };
}
