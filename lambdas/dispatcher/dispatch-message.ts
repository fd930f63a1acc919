import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SQSRecord } from 'aws-lambda';
import { hashAddress, mailboxOf } from '../core/address';
import type { DispatchConfig } from '../core/config';
import { decideDispatch, type Decision } from '../core/decision';
import { SendRefusedError, StoreUnavailableError } from '../core/errors';
import { EMPTY_FAN_IN, fanInExpiresAt } from '../core/fan-in';
import type { DispatchMessage } from '../core/message';
import { BlockReason, DispatchState, LedgerState, PauseReason, PausedBy, RetryReason, type DispatchOutcome } from '../core/outcomes';
import { LedgerKey } from '../tables';
import type { ClaimRequest, ClaimResult, DispatchLedger, DispatchSnapshot, MailSender, PauseSwitch, SnapshotKey } from '../ports';
import { snapshotId } from '../ports';

/** What one message's dispatch needs; built once per invocation by the batch. */
export interface MessageContext {
  readonly ledger: DispatchLedger;
  readonly sender: MailSender;
  readonly pauseSwitch: PauseSwitch;
  readonly config: DispatchConfig;
  readonly hashKey: string;
  readonly now: () => Date;
  /**
   * Set when this invocation paused the pipeline: later messages of the batch are not claimed
   * (with handlerConcurrency > 1 the batch's claims were made up front, and those still send).
   */
  readonly batch: { paused: boolean };
}

export interface Delivery {
  readonly record: SQSRecord;
  readonly receiveCount: number;
}

export interface Prepared {
  readonly message: DispatchMessage;
  readonly toHash: string;
  readonly key: SnapshotKey;
}

/**
 * Keys and hashes for one valid message. The fan-in counter is the recipient's *mailbox*'s
 * (`+tag` dropped): sub-addresses of one mailbox share one count.
 */
export function prepareMessage(message: DispatchMessage, ctx: Pick<MessageContext, 'config' | 'hashKey'>): Prepared {
  const toHash = hashAddress(message.to, ctx.hashKey);
  const mailboxHash = hashAddress(mailboxOf(message.to), ctx.hashKey);
  return { message, toHash, key: { dispatchId: message.dispatchId, memberId: message.memberId, fanInKey: LedgerKey.fanIn(mailboxHash) } };
}

export interface MessageResult {
  readonly outcome: DispatchOutcome;
  /** Hand the message back to SQS (batch item failure) even though the outcome is reported. */
  readonly retry: boolean;
  readonly fanInCount?: number;
  /** Handling this message set the pause flag. */
  readonly pausedPipeline?: boolean;
}

/** A valid message decided from the batch's snapshot, with the claim the decision asks for. */
export interface Plan {
  readonly prepared: Prepared;
  readonly delivery: Delivery;
  readonly decision: Decision;
  readonly claim?: ClaimRequest;
}

export function planMessage(p: Prepared, snapshot: DispatchSnapshot, delivery: Delivery, ctx: MessageContext): Plan {
  const decision = decide(p, snapshot, delivery, ctx);
  return { prepared: p, delivery, decision, claim: decision.action === 'claim' ? claimRequest(p, decision, delivery, ctx) : undefined };
}

/**
 * One valid message after the batch's claims, top to bottom: send what was claimed and settle it;
 * act on any other decision. A claim that lost a race is decided once more from fresh reads; a
 * second loss goes back to SQS.
 */
export async function completeMessage(plan: Plan, claimed: ClaimResult | undefined, ctx: MessageContext): Promise<MessageResult> {
  const { prepared: p, delivery } = plan;
  try {
    let { decision, claim } = plan;
    let result = claimed;
    for (let round = 0; decision.action === 'claim' && claim; round++) {
      if (!result) {
        if (ctx.batch.paused) return retry(RetryReason.Paused);
        [result] = await ctx.ledger.claimAll([claim]);
      }
      if ('unavailable' in result) {
        // The transaction may have committed before its answer was lost: if the claim is ours, it
        // is claimed. Otherwise a redelivery would find its own claim and call it in-doubt.
        if (!(await ownsClaim(p, claim.claimToken, ctx))) return retry(RetryReason.StoreThrottled);
        result = { claimed: true };
      }
      if (result.claimed) return { ...(await sendClaimed(p, claim.claimToken, delivery, ctx)), fanInCount: decision.fanInCount };
      // Losing only on the mailbox's counter means another member joined its span: each loss is
      // one of at most `fanInLimit` joins, so deciding again (counting it) always ends.
      const fanInOnly = result.conflicts.every((c) => c === 'fan-in');
      if (round > 0 && !(fanInOnly && round <= ctx.config.fanInLimit)) return retry(RetryReason.RegistryChanged);
      const fresh = (await ctx.ledger.readSnapshots([p.key])).get(snapshotId(p.key));
      decision = decide(p, fresh ?? { fanIn: EMPTY_FAN_IN }, delivery, ctx);
      claim = decision.action === 'claim' ? claimRequest(p, decision, delivery, ctx) : undefined;
      result = undefined;
    }
    return await applyDecision(decision as Exclude<Decision, { action: 'claim' }>, p, delivery, ctx);
  } catch (error) {
    if (error instanceof StoreUnavailableError) return retry(RetryReason.StoreThrottled);
    throw error;
  }
}

function claimRequest(p: Prepared, decision: Extract<Decision, { action: 'claim' }>, delivery: Delivery, ctx: MessageContext): ClaimRequest {
  return {
    message: p.message,
    toHash: p.toHash,
    matched: decision.matched,
    fanInKey: p.key.fanInKey,
    fanIn: decision.fanIn,
    fanInExpiresAt: fanInExpiresAt(decision.fanIn.atMs, ctx.config.fanInWindowSeconds),
    claimToken: randomUUID(),
    sqsMessageId: delivery.record.messageId,
    receiveCount: delivery.receiveCount,
    now: ctx.now(),
  };
}

function decide(p: Prepared, snapshot: DispatchSnapshot, delivery: Delivery, ctx: MessageContext): Decision {
  return decideDispatch({
    message: p.message,
    toHash: p.toHash,
    snapshot,
    delivery: { sqsMessageId: delivery.record.messageId, receiveCount: delivery.receiveCount },
    config: ctx.config,
    now: ctx.now(),
  });
}

async function applyDecision(decision: Exclude<Decision, { action: 'claim' }>, p: Prepared, delivery: Delivery, ctx: MessageContext): Promise<MessageResult> {
  switch (decision.action) {
    case 'duplicate':
      // Recorded, so the outcome feed tells the portal; a store that cannot record it now gets the message back.
      await ctx.ledger.recordDuplicate(p.message.dispatchId, delivery.record.messageId, ctx.now());
      return done({ state: DispatchState.Duplicate });
    case 'in-doubt':
      return done({ state: DispatchState.InDoubt });
    case 'mark-in-doubt':
      await ctx.ledger.settle(p.message.dispatchId, decision.claimToken, { kind: 'in-doubt' }, ctx.now());
      return done({ state: DispatchState.InDoubt });
    case 'retry':
      return retry(decision.reason);
    case 'block':
      await ctx.ledger.recordUnsent({
        state: LedgerState.Blocked,
        reason: decision.reason,
        dispatchId: p.message.dispatchId,
        memberId: p.message.memberId,
        toHash: p.toHash,
        template: p.message.template,
        sqsMessageId: delivery.record.messageId,
        now: ctx.now(),
      });
      const pausedPipeline = decision.reason === BlockReason.FanInLimit;
      if (pausedPipeline) {
        // Stop at once: the alarm and the breaker follow, but no second message should wait for them.
        ctx.batch.paused = true;
        await ctx.pauseSwitch.pause({ reason: PauseReason.FanInLimit, by: PausedBy.Dispatcher, at: ctx.now().toISOString(), addressHash: p.toHash });
      }
      return { outcome: { state: DispatchState.Blocked, reason: decision.reason }, retry: false, fanInCount: decision.fanInCount, pausedPipeline };
  }
}

async function sendClaimed(p: Prepared, claimToken: string, delivery: Delivery, ctx: MessageContext): Promise<MessageResult> {
  let sesMessageId: string;
  try {
    ({ messageId: sesMessageId } = await ctx.sender.send({ dispatchId: p.message.dispatchId, to: p.message.to, template: p.message.template, data: p.message.data }));
  } catch (error) {
    if (error instanceof SendRefusedError) return refused(error, p, claimToken, delivery, ctx);
    // Unknown outcome (SendOutcomeUnknownError or anything unclassified): keep the claim, never re-send.
    await settleQuietly(ctx, p, claimToken, { kind: 'in-doubt' });
    return done({ state: DispatchState.InDoubt });
  }
  // SES accepted it: the outcome is `sent` even if recording it fails (the SES send event reconciles).
  await settleQuietly(ctx, p, claimToken, { kind: 'sent', sesMessageId });
  return done({ state: DispatchState.Sent, sesMessageId });
}

async function refused(error: SendRefusedError, p: Prepared, claimToken: string, delivery: Delivery, ctx: MessageContext): Promise<MessageResult> {
  const reason = error.kind === 'throttled' ? RetryReason.SesThrottled : error.kind === 'account-paused' ? RetryReason.SesAccountPaused : RetryReason.SesRefused;
  // On the last try SQS moves the message to the DLQ after this failure: the ledger says so.
  // The release must land: a claim left behind would make the redelivery call this never-sent
  // message in-doubt. So it is tried again before the message goes back to SQS.
  const lastTry = delivery.receiveCount >= ctx.config.maxReceiveCount;
  await settleWithRetries(ctx, p, claimToken, { kind: lastTry ? 'failed' : 'released', reason });
  if (error.kind === 'account-paused') {
    ctx.batch.paused = true;
    await ctx.pauseSwitch.pause({ reason: PauseReason.SesAccountPaused, by: PausedBy.Dispatcher, at: ctx.now().toISOString() });
  }
  return { ...retry(reason), pausedPipeline: error.kind === 'account-paused' };
}

async function settleWithRetries(ctx: MessageContext, p: Prepared, claimToken: string, settlement: Parameters<DispatchLedger['settle']>[2], tries = 4): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ctx.ledger.settle(p.message.dispatchId, claimToken, settlement, ctx.now());
    } catch (error) {
      if (attempt >= tries || !(error instanceof StoreUnavailableError)) throw error;
      await sleep(50 * 2 ** attempt);
    }
  }
}

/** Whether the ledger holds this attempt's own, unsettled claim. */
async function ownsClaim(p: Prepared, claimToken: string, ctx: MessageContext): Promise<boolean> {
  const record = (await ctx.ledger.readSnapshots([p.key])).get(snapshotId(p.key))?.record;
  return record?.state === LedgerState.Claimed && record.claimToken === claimToken;
}

async function settleQuietly(ctx: MessageContext, p: Prepared, claimToken: string, settlement: Parameters<DispatchLedger['settle']>[2]): Promise<void> {
  try {
    await ctx.ledger.settle(p.message.dispatchId, claimToken, settlement, ctx.now());
  } catch {
    // The send already happened (or may have): it must not be retried. The claim stays, a later
    // delivery finds it abandoned (in-doubt), and the SES send event reconciles it to sent.
  }
}

function done(outcome: DispatchOutcome): MessageResult {
  return { outcome, retry: false };
}

/** Hands the message back to SQS with the reason it must wait. */
export function retry(reason: RetryReason): MessageResult {
  return { outcome: { state: 'retry', reason }, retry: true };
}
