/**
 * The DLQ watch's decision (issue 14, "zero silent failures"): a message in the DLQ whose end the
 * ledger does not record would never produce an outcome event, so the portal would never learn its
 * fate. This decides, for one dead-lettered message and what the ledger holds for it, what single
 * write (if any) gives it a recorded end. Pure: no AWS, no clock.
 */
import { isAbandoned } from './decision';
import type { MessageParse } from './message';
import { LedgerState, RetryReason, type RejectReason } from './outcomes';
import type { DeadLetterRecord } from '../ports';

export type { DeadLetterRecord } from '../ports';

/** One message as the DLQ holds it. */
export interface DeadLetter {
  /** This copy's SQS message id (a redrive-policy move keeps the original's; a dispatcher's move does not). */
  readonly messageId: string;
  readonly parse: MessageParse;
  /** Set when the dispatcher moved a rejected body here itself, after recording it: the original message id. */
  readonly rejectedMessageId?: string;
  /**
   * The copy carries the dispatcher's reject reason: the dispatcher moves a rejected body only after
   * its `rejected` record is written, so its end is recorded (under the original id, which copies
   * moved before the watch existed do not carry).
   */
  readonly rejectedByDispatcher?: boolean;
}

export type DeadLetterDecision =
  /** No end recorded for this message: write `failed(dead-lettered)`, only over the version read. */
  | { readonly action: 'record-failed'; readonly reason: typeof RetryReason.DeadLettered }
  /** A body that does not parse, with no `rejected` record: write it once (the dispatcher never could). */
  | { readonly action: 'record-rejected'; readonly reason: RejectReason; readonly field?: string }
  /** A claim whose lease ran out: its send may have happened. Never `failed`: in-doubt, as the dispatcher would. */
  | { readonly action: 'mark-in-doubt'; readonly claimToken: string }
  /**
   * A record no write of the watch can ever land on (a claim with no token, a history that is not a
   * list, a state no writer knows): waiting would hide it forever, so a person must look at it.
   */
  | { readonly action: 'needs-operator'; readonly why: NeedsOperatorWhy }
  /** A claim still within its lease (an attempt may be sending): look again at a later sweep. */
  | { readonly action: 'wait' }
  /** The ledger already holds this message's end: its event was (or is being) published. */
  | { readonly action: 'none' };

/** Why a record needs an operator (a fixed set: it goes into log lines). */
export const NeedsOperatorWhy = {
  ClaimWithoutToken: 'claim-without-token',
  MalformedHistory: 'malformed-history',
  UnknownState: 'unknown-state',
} as const;
export type NeedsOperatorWhy = (typeof NeedsOperatorWhy)[keyof typeof NeedsOperatorWhy];

export interface DeadLetterInput {
  readonly message: DeadLetter;
  /** The record `deadLetterRecordKey` names, if any (a consistent read). */
  readonly record?: DeadLetterRecord;
  readonly claimLeaseSeconds: number;
  readonly now: Date;
}

/** Which ledger record holds a dead-lettered message's end: its dispatchId's, or `rejected#<sqs id>` for a body that does not parse. */
export function deadLetterRecordKey(message: DeadLetter): { readonly kind: 'dispatch' | 'rejected'; readonly id: string } {
  if (message.parse.ok) return { kind: 'dispatch', id: message.parse.message.dispatchId };
  return { kind: 'rejected', id: message.rejectedMessageId ?? message.messageId };
}

/**
 * What the watch does with one dead-lettered message. A dispatchId's record:
 * - none, or `released` (an attempt that gave it back and was never followed by an end): `failed`;
 * - `blocked` / `rejected` of *another* publish of the dispatchId (a corrected re-publish that then
 *   died): that old end is not this message's, so `failed`; of this very message: its end;
 * - `claimed`: a crash between claim and settle, which may have sent: never `failed`. In-doubt once
 *   the lease proves the attempt dead (`isAbandoned`, the dispatcher's rule, issue 12.7), else wait;
 * - `failed`, `sent`, `in-doubt`: the dispatchId's end is recorded and published;
 * - a state no writer here knows, a claim past its lease with no token, or a history that is not a
 *   list where a write is due: never guess, and never wait silently (each sweep would lose the same
 *   race forever): `needs-operator`, which the sweep counts as an error, so its alarm pages.
 */
export function decideDeadLetter({ message, record, claimLeaseSeconds, now }: DeadLetterInput): DeadLetterDecision {
  const { parse } = message;
  if (!parse.ok) {
    if (record) return { action: 'none' };
    if (message.rejectedByDispatcher && !message.rejectedMessageId) return { action: 'none' };
    return { action: 'record-rejected', reason: parse.reason, ...(parse.field ? { field: parse.field } : {}) };
  }
  const failed = { action: 'record-failed', reason: RetryReason.DeadLettered } as const;
  if (!record) return failed;
  // Every write is conditioned on the history's length: over a history that is not a list none can land.
  const write = <T extends DeadLetterDecision>(decision: T): T | DeadLetterDecision =>
    record.historyMalformed ? { action: 'needs-operator', why: NeedsOperatorWhy.MalformedHistory } : decision;
  switch (record.state) {
    case LedgerState.Released:
      return write(failed);
    case LedgerState.Blocked:
    case LedgerState.Rejected:
      return record.lastMessageId === message.messageId ? { action: 'none' } : write(failed);
    case LedgerState.Failed:
    case LedgerState.Sent:
    case LedgerState.InDoubt:
      return { action: 'none' };
    case LedgerState.Claimed: {
      const abandoned = isAbandoned(
        { dispatchId: parse.message.dispatchId, state: LedgerState.Claimed, claimedAt: record.claimedAt },
        claimLeaseSeconds,
        now,
      );
      if (!abandoned) return { action: 'wait' };
      // markInDoubt is conditioned on the claim's token: without one it could never land.
      if (!record.claimToken) return { action: 'needs-operator', why: NeedsOperatorWhy.ClaimWithoutToken };
      return write({ action: 'mark-in-doubt', claimToken: record.claimToken });
    }
    default:
      return { action: 'needs-operator', why: NeedsOperatorWhy.UnknownState };
  }
}
