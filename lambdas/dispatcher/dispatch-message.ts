import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SQSRecord } from 'aws-lambda';
import { hashAddress, mailboxOf } from '../core/address';
import type { DispatchConfig } from '../core/config';
import { decideDispatch, proxyConsent, type Decision } from '../core/decision';
import { SendRefusedError, StoreUnavailableError } from '../core/errors';
import { claimAt, EMPTY_FAN_IN, fanInExpiresAt } from '../core/fan-in';
import type { DispatchMessage } from '../core/message';
import { BlockReason, DispatchState, LedgerState, PauseReason, PausedBy, RetryReason, type DispatchOutcome } from '../core/outcomes';
import type { ReportLinks } from '../core/report-token';
import { LedgerKey } from '../tables';
import type { ClaimRequest, DispatchLedger, DispatchSnapshot, MailSender, PauseSwitch, SendPacer, SnapshotKey } from '../ports';
import { snapshotId } from '../ports';
import type { PendingSettles } from './pending-settles';
import { ATTEMPT_BUDGET, ATTEMPT_BUDGET_MS } from './time-budget';

/** What one message's dispatch needs; built once per invocation by the batch. */
export interface MessageContext {
  readonly ledger: DispatchLedger;
  readonly sender: MailSender;
  readonly pauseSwitch: PauseSwitch;
  readonly config: DispatchConfig;
  readonly hashKey: string;
  /** Makes each e-mail's "not for me" link, synchronously (its key was loaded at start-up). */
  readonly reportLinks: Pick<ReportLinks, 'urlFor'>;
  readonly now: () => Date;
  /** Paces sends (before each claim) and backs off after a refusal. @default no waiting */
  readonly pacer?: SendPacer;
  /** Set when this invocation paused the pipeline: later messages of the batch are not claimed. */
  readonly batch: { paused: boolean };
  /** The invocation's time left (the Lambda context's), in ms. @default unlimited (no context) */
  readonly remainingMs?: () => number;
  /** Time a claim needs left for its claim, send and settle. @default ATTEMPT_BUDGET_MS */
  readonly attemptBudgetMs?: number;
  /**
   * The batch's `sent` writes still in flight: each is left to run beside the next message's
   * slot wait and claim (`PendingSettles`). @default none: every `sent` write is awaited in place
   */
  readonly settles?: PendingSettles;
}

export interface Delivery {
  readonly record: SQSRecord;
  readonly receiveCount: number;
}

export interface Prepared {
  readonly message: DispatchMessage;
  readonly toHash: string;
  readonly key: SnapshotKey;
  /** The recipient mailbox's registry index item (`registry#<mailboxHash>`), read only for a proxy send. */
  readonly registryKey: string;
}

/**
 * Keys and hashes for one valid message. The fan-in counter is the recipient's *mailbox*'s
 * (`+tag` dropped): sub-addresses of one mailbox share one count.
 */
export function prepareMessage(message: DispatchMessage, ctx: Pick<MessageContext, 'config' | 'hashKey'>): Prepared {
  const toHash = hashAddress(message.to, ctx.hashKey);
  const mailboxHash = hashAddress(mailboxOf(message.to), ctx.hashKey);
  return {
    message,
    toHash,
    key: { dispatchId: message.dispatchId, memberId: message.memberId, fanInKey: LedgerKey.fanIn(mailboxHash) },
    registryKey: LedgerKey.registry(mailboxHash),
  };
}

export interface MessageResult {
  readonly outcome: DispatchOutcome;
  /** Hand the message back to SQS (batch item failure) even though the outcome is reported. */
  readonly retry: boolean;
  readonly fanInCount?: number;
  /** Handling this message set the pause flag. */
  readonly pausedPipeline?: boolean;
  /** The ledger already records this end (a refusal settled `failed` on the last receive). */
  readonly recorded?: boolean;
}

/** A valid message decided from the batch's snapshot. */
export interface Plan {
  readonly prepared: Prepared;
  readonly delivery: Delivery;
  readonly decision: Decision;
}

export function planMessage(p: Prepared, snapshot: DispatchSnapshot, delivery: Delivery, ctx: MessageContext): Plan {
  return { prepared: p, delivery, decision: decide(p, snapshot, delivery, ctx) };
}

/** Tries of a send SES refused, each with a fresh claim, before the message goes back to SQS. */
const REFUSED_TRIES = 3;
const NO_PACING: SendPacer = { acquire: async (maxWaitMs = Infinity) => maxWaitMs >= 0, backoff: async () => undefined };

/**
 * How long this invocation may still wait before a claim: its time left minus what the claim, the
 * send and the settle need. Negative when there is no time for one more message.
 */
function spareMs(ctx: MessageContext): number {
  return ctx.remainingMs ? ctx.remainingMs() - (ctx.attemptBudgetMs ?? ATTEMPT_BUDGET_MS) : Infinity;
}

/**
 * Whether the time left after a claim's answer still covers the send and the settle: the budget
 * minus the claim's share. Synchronous, so nothing is awaited between the answer and the send.
 */
function timeForSend(ctx: MessageContext): boolean {
  if (!ctx.remainingMs) return true;
  const budget = ctx.attemptBudgetMs ?? ATTEMPT_BUDGET_MS;
  return ctx.remainingMs() >= Math.max(0, budget - ATTEMPT_BUDGET.claimMs);
}

/**
 * One valid message, top to bottom: wait for a send slot, claim, send at once, settle; or act on
 * any other decision. Everything that waits comes before the claim, so nothing is awaited between
 * the claim's answer and the SendEmail request (issue 12.1): what the claim checked in the
 * registry is what holds at send time. A refused send is tried again with a fresh claim (the
 * registry checked again), never on the old one. A claim that lost a race is decided once more
 * from fresh reads; a second loss goes back to SQS.
 */
export async function completeMessage(plan: Plan, ctx: MessageContext): Promise<MessageResult> {
  const { prepared: p, delivery } = plan;
  const pacer = ctx.pacer ?? NO_PACING;
  try {
    let decision = plan.decision;
    let races = 0;
    for (let tries = 1; decision.action === 'claim'; ) {
      // A proxy onto another member's own mailbox needs that member's consent (12.3): one more read,
      // and one or more ConditionChecks in the claim (which re-assert it atomically), on proxy sends only.
      if (decision.matched.via === 'proxy') {
        decision = await withProxyConsent(decision, p, ctx);
        if (decision.action !== 'claim') break;
      }
      const attempt = await claimOnce(p, decision, delivery, pacer, ctx);
      switch (attempt.kind) {
        case 'not-claimed':
          return attempt.result;
        case 'claimed': {
          // The claim's share of the budget is not enforced by its transaction (contention retries, a
          // slow answer): one answered too late is given back, never sent into the deadline (12.6 review).
          if (!timeForSend(ctx)) {
            await settleWithRetries(ctx, p, attempt.claimToken, { kind: 'released', reason: RetryReason.NoTimeLeft });
            return retry(RetryReason.NoTimeLeft);
          }
          const sent = await sendClaimed(p, attempt.claimToken, delivery, ctx, tries >= REFUSED_TRIES);
          if (sent !== 'try-again') return { ...sent, fanInCount: decision.fanInCount };
          await pacer.backoff(tries++);
          continue;
        }
        case 'unanswered': {
          // The transaction may have committed before its answer was lost. A claim learnt from a read
          // is never sent on (nothing may come between a claim and its send): give it back, so no
          // redelivery finds it later and calls it in-doubt, and claim afresh once.
          const owned = await ownsClaim(p, attempt.claimToken, ctx);
          if (owned) await settleWithRetries(ctx, p, attempt.claimToken, { kind: 'released', reason: RetryReason.StoreThrottled });
          if (!owned || races > 0) return retry(RetryReason.StoreThrottled);
          races++;
          continue;
        }
        case 'lost': {
          // Losing only on the mailbox's counter means another member joined its span: each loss is
          // one of at most `fanInLimit` joins, so deciding again (counting it) always ends.
          if (races > 0 && !(attempt.fanInOnly && races <= ctx.config.fanInLimit)) return retry(RetryReason.RegistryChanged);
          races++;
          const fresh = (await ctx.ledger.readSnapshots([p.key])).get(snapshotId(p.key));
          decision = decide(p, fresh ?? { fanIn: EMPTY_FAN_IN }, delivery, ctx);
          continue;
        }
      }
    }
    return await applyDecision(decision, p, delivery, ctx);
  } catch (error) {
    if (error instanceof StoreUnavailableError) return retry(RetryReason.StoreThrottled);
    throw error;
  }
}

type ClaimDecision = Extract<Decision, { action: 'claim' }>;

/** How one claim attempt ended; the claim loop in completeMessage acts on each kind. */
export type ClaimAttempt =
  /** Not claimed (no time left, or the pipeline paused): the message goes back to SQS with this result. */
  | { readonly kind: 'not-claimed'; readonly result: MessageResult }
  /** The claim is this attempt's: send on it at once. */
  | { readonly kind: 'claimed'; readonly claimToken: string }
  /** The store gave no answer: the claim may or may not have been written. */
  | { readonly kind: 'unanswered'; readonly claimToken: string }
  /** A condition failed (another attempt, a registry change, the mailbox's counter). */
  | { readonly kind: 'lost'; readonly fanInOnly: boolean };

/**
 * The safe claim of one message: a bounded wait for a send slot, the pause flag and the time left
 * checked again, then one claim transaction. Its answer is returned as is: the caller sends on a
 * `claimed` attempt without awaiting anything else first.
 */
async function claimOnce(
  p: Prepared,
  decision: ClaimDecision,
  delivery: Delivery,
  pacer: SendPacer,
  ctx: MessageContext,
): Promise<ClaimAttempt> {
  // A wait for a send slot that would leave no time for claim + send + settle is not begun,
  // and the time is checked again just before the claim: a Lambda timeout must never fall
  // between a claim and its send (issue 12.6). What does not fit goes back to SQS unclaimed.
  // A copy of a dispatchId just sent claims only once its `sent` write has answered.
  await ctx.settles?.beforeClaim(p.message.dispatchId);
  if (!(await pacer.acquire(spareMs(ctx)))) return notClaimed(RetryReason.NoTimeLeft);
  // The flag again, before each claim (a cached read at most a second old): a pause set
  // anywhere stops this invocation within a second, not at its next batch (issue 12.8).
  if (ctx.batch.paused || (await ctx.pauseSwitch.read()).paused) {
    ctx.batch.paused = true;
    return notClaimed(RetryReason.Paused);
  }
  if (spareMs(ctx) < 0) return notClaimed(RetryReason.NoTimeLeft);
  const claim = claimRequest(p, decision, delivery, ctx);
  const [result] = await ctx.ledger.claimAll([claim]);
  if (result.claimed) return { kind: 'claimed', claimToken: claim.claimToken };
  if ('unavailable' in result) return { kind: 'unanswered', claimToken: claim.claimToken };
  return { kind: 'lost', fanInOnly: result.conflicts.every((c) => c === 'fan-in') };
}

function notClaimed(reason: RetryReason): ClaimAttempt {
  return { kind: 'not-claimed', result: retry(reason) };
}

/** The consent a proxy send needs from the mailbox's own member (12.3), added to the decision, or the block. */
async function withProxyConsent(decision: ClaimDecision, p: Prepared, ctx: MessageContext): Promise<Decision> {
  const checked = proxyConsent(p.message.memberId, p.registryKey, await ctx.ledger.readMailboxOwners(p.registryKey));
  return checked.ok ? { ...decision, proxyConsent: checked.check } : { action: 'block', reason: checked.reason };
}

function claimRequest(p: Prepared, decision: ClaimDecision, delivery: Delivery, ctx: MessageContext): ClaimRequest {
  // The decision may be seconds old (the batch's plan, then a wait for a send slot): the counter
  // gets the instant of this claim, never the plan's.
  const now = ctx.now();
  const fanIn = claimAt(decision.fanIn, now, ctx.config.fanInWindowSeconds);
  return {
    message: p.message,
    toHash: p.toHash,
    matched: decision.matched,
    fanInKey: p.key.fanInKey,
    ...(decision.proxyConsent ? { proxyConsent: decision.proxyConsent } : {}),
    fanIn,
    fanInExpiresAt: fanInExpiresAt(fanIn.atMs, ctx.config.fanInWindowSeconds),
    claimToken: randomUUID(),
    sqsMessageId: delivery.record.messageId,
    receiveCount: delivery.receiveCount,
    now,
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

async function applyDecision(
  decision: Exclude<Decision, { action: 'claim' }>,
  p: Prepared,
  delivery: Delivery,
  ctx: MessageContext,
): Promise<MessageResult> {
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
    case 'block': {
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
        await ctx.pauseSwitch.pause({
          reason: PauseReason.FanInLimit,
          by: PausedBy.Dispatcher,
          at: ctx.now().toISOString(),
          addressHash: p.toHash,
        });
      }
      return {
        outcome: { state: DispatchState.Blocked, reason: decision.reason },
        retry: false,
        fanInCount: decision.fanInCount,
        pausedPipeline,
      };
    }
  }
}

/**
 * Sends on a claim just answered and settles it. A refusal before the last try releases the claim
 * and asks for another try (`try-again`); the caller claims afresh.
 */
async function sendClaimed(
  p: Prepared,
  claimToken: string,
  delivery: Delivery,
  ctx: MessageContext,
  lastTry: boolean,
): Promise<MessageResult | 'try-again'> {
  let sesMessageId: string;
  try {
    // The link is made here, synchronously: nothing is awaited between the claim's answer and the send.
    const reportUrl = ctx.reportLinks.urlFor(p.message.dispatchId, p.toHash, ctx.now());
    ({ messageId: sesMessageId } = await ctx.sender.send({
      dispatchId: p.message.dispatchId,
      to: p.message.to,
      template: p.message.template,
      data: p.message.data,
      reportUrl,
    }));
  } catch (error) {
    if (error instanceof SendRefusedError) {
      if (lastTry || error.kind === 'account-paused') return refused(error, p, claimToken, delivery, ctx);
      await settleWithRetries(ctx, p, claimToken, { kind: 'released', reason: retryReasonOf(error) });
      return 'try-again';
    }
    // Unknown outcome (SendOutcomeUnknownError or anything unclassified): keep the claim, never re-send.
    await settleQuietly(ctx, p, claimToken, { kind: 'in-doubt' });
    return done({ state: DispatchState.InDoubt });
  }
  // SES accepted it: the outcome is `sent` even if recording it fails (the SES send event reconciles).
  // So the batch does not wait for the write before the next message's claim (PendingSettles).
  const write = settleQuietly(ctx, p, claimToken, { kind: 'sent', sesMessageId });
  if (ctx.settles) ctx.settles.add(p.message.dispatchId, write);
  else await write;
  return done({ state: DispatchState.Sent, sesMessageId });
}

function retryReasonOf(error: SendRefusedError): RetryReason {
  return error.kind === 'throttled'
    ? RetryReason.SesThrottled
    : error.kind === 'account-paused'
      ? RetryReason.SesAccountPaused
      : RetryReason.SesRefused;
}

async function refused(
  error: SendRefusedError,
  p: Prepared,
  claimToken: string,
  delivery: Delivery,
  ctx: MessageContext,
): Promise<MessageResult> {
  const reason = retryReasonOf(error);
  // On the last try SQS moves the message to the DLQ after this failure: the ledger says so.
  // The release must land: a claim left behind would make the redelivery call this never-sent
  // message in-doubt. So it is tried again before the message goes back to SQS.
  const lastTry = delivery.receiveCount >= ctx.config.maxReceiveCount;
  await settleWithRetries(ctx, p, claimToken, { kind: lastTry ? 'failed' : 'released', reason });
  if (error.kind === 'account-paused') {
    ctx.batch.paused = true;
    await ctx.pauseSwitch.pause({ reason: PauseReason.SesAccountPaused, by: PausedBy.Dispatcher, at: ctx.now().toISOString() });
  }
  return { ...retry(reason), pausedPipeline: error.kind === 'account-paused', recorded: lastTry };
}

async function settleWithRetries(
  ctx: MessageContext,
  p: Prepared,
  claimToken: string,
  settlement: Parameters<DispatchLedger['settle']>[2],
  tries = 4,
): Promise<void> {
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

async function settleQuietly(
  ctx: MessageContext,
  p: Prepared,
  claimToken: string,
  settlement: Parameters<DispatchLedger['settle']>[2],
): Promise<void> {
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
