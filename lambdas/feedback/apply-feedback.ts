import { DeliveryFate } from '../core/outcomes';
import { measureReputation, type ReputationMeasure, type ReputationSettings } from '../core/reputation';
import type { FeedbackStore, ReputationEvent } from '../ports';
import { FeedbackIgnoredWhy, type Feedback } from './ses-event';

/** What one SES event did. */
export type Applied = (
  | { readonly kind: 'reconciled' | 'unchanged' }
  | {
      readonly kind: 'fate';
      readonly fate: DeliveryFate;
      /** True only when this event suppressed a (member, address) pair that was not suppressed before. */
      readonly suppressed: boolean;
      readonly treatedAsPermanent: boolean;
      /** The pair suppressed (when `suppressed`). */
      readonly memberId?: string;
      readonly addressHash?: string;
    }
  | { readonly kind: 'ignored'; readonly why: FeedbackIgnoredWhy }
) & {
  /** What the reputation guard measured after counting this event (a send, a hard bounce, a complaint). */
  readonly reputation?: ReputationMeasure;
};

export interface ApplyContext {
  readonly store: FeedbackStore;
  readonly now: Date;
  /** Transient bounces in a row of one (member, address) after which a transient bounce counts as permanent. */
  readonly transientBounceLimit: number;
  /** The reputation guard: sends, hard bounces and complaints are counted over a window of sends. @default not counted */
  readonly reputation?: ReputationSettings;
}

/**
 * Applies one classified SES event: `Send` reconciles a claimed or in-doubt dispatch to sent;
 * every later event is recorded in the dispatch's history once (for a claim that never settled it
 * first reconciles it: SES accepted the e-mail). A permanent bounce, a complaint or the
 * `transientBounceLimit`-th transient bounce in a row suppresses that (member, address); a
 * delivery ends the run of transient bounces.
 */
export async function applyFeedback(feedback: Feedback, ctx: ApplyContext): Promise<Applied> {
  const applied = await applyToLedger(feedback, ctx);
  const counted = reputationEventOf(feedback, applied);
  if (!counted || !ctx.reputation) return applied;
  const counts = await ctx.store.countForReputation(counted, ctx.reputation.windowSends, ctx.now);
  return { ...applied, reputation: measureReputation(counts, ctx.reputation) };
}

/**
 * What the guard counts, as AWS's rates do: every e-mail SES accepted (its `Send` event; a
 * redelivered one counts again, which can only lower the rate a little), each hard (permanent)
 * bounce and each complaint once (a replay is ignored before it gets here).
 */
function reputationEventOf(feedback: Feedback, applied: Applied): ReputationEvent | undefined {
  if (feedback.kind === 'sent') return 'send';
  if (applied.kind !== 'fate') return undefined;
  if (applied.fate === DeliveryFate.Complained) return 'complaint';
  if (applied.fate === DeliveryFate.Bounced && feedback.kind === 'fate' && feedback.detail.bounceType === 'permanent') return 'bounce';
  return undefined;
}

async function applyToLedger(feedback: Feedback, ctx: ApplyContext): Promise<Applied> {
  if (feedback.kind === 'ignored') return feedback;
  const { store, now } = ctx;
  if (feedback.kind === 'sent') return { kind: await store.reconcileSent(feedback.dispatchId, feedback.sesMessageId, now) };

  const { dispatchId, sesMessageId, eventKey } = feedback;
  const transient = feedback.fate === DeliveryFate.Bounced && feedback.detail.bounceType !== 'permanent';
  const reconcile = () => store.reconcileSent(dispatchId, sesMessageId, now, `ses-${feedback.fate}-event`);
  let reconciled = false;
  let inARow: number | undefined;
  if (transient) {
    inARow = await store.countTransientBounce({ dispatchId, sesMessageId, eventKey, now });
    if (inARow === undefined && (reconciled = (await reconcile()) === 'reconciled'))
      inARow = await store.countTransientBounce({ dispatchId, sesMessageId, eventKey, now });
  }
  const treatedAsPermanent = inARow !== undefined && inARow >= ctx.transientBounceLimit;
  const fate = {
    dispatchId,
    sesMessageId,
    fate: feedback.fate,
    at: feedback.at,
    eventKey,
    detail: feedback.detail,
    treatedAsPermanent,
    now,
  };
  const suppress =
    feedback.fate === DeliveryFate.Complained || (feedback.fate === DeliveryFate.Bounced && (!transient || treatedAsPermanent));
  const reason = feedback.fate === DeliveryFate.Complained ? 'complaint' : 'bounce';
  let recorded = await store.recordFate(fate);
  if (recorded.result === 'unknown-message-id' && !reconciled && (await reconcile()) === 'reconciled')
    recorded = await store.recordFate(fate);
  if (recorded.result === 'unknown-message-id') return { kind: 'ignored', why: FeedbackIgnoredWhy.UnknownMessageId };
  // A replay may be the retry of a delivery that recorded the fate and then died (its read-back or
  // its suppression failed): the fate stays as it is, but the suppression it calls for is made
  // again (idempotent), or a complaining address would stay sendable for good.
  if (recorded.result === 'replayed') {
    const again = suppress ? await store.suppressAddressOf(dispatchId, reason, now) : undefined;
    if (again?.outcome !== 'suppressed') return { kind: 'ignored', why: FeedbackIgnoredWhy.Replayed };
    return { kind: 'fate', fate: feedback.fate, suppressed: true, treatedAsPermanent, memberId: again.memberId, addressHash: again.toHash };
  }

  if (feedback.fate === DeliveryFate.Delivered && recorded.memberId && recorded.toHash)
    await store.resetTransientBounces(recorded.memberId, recorded.toHash, now);
  // The pair of this dispatch (the ledger record's member and address hash), not the member's current address.
  const result = suppress ? await store.suppressAddressOf(dispatchId, reason, now) : undefined;
  if (result?.outcome === 'suppressed') {
    return {
      kind: 'fate',
      fate: feedback.fate,
      suppressed: true,
      treatedAsPermanent,
      memberId: result.memberId,
      addressHash: result.toHash,
    };
  }
  return { kind: 'fate', fate: feedback.fate, suppressed: false, treatedAsPermanent };
}
