import { decodeDispatchTag, DISPATCH_TAG_NAME } from '../core/dispatch-tag';

/** The fields of an SES event-publishing record (SNS message or EventBridge detail) we use. */
export interface SesEventRecord {
  readonly eventType?: string;
  /** SES notifications (not event publishing) use `notificationType`. */
  readonly notificationType?: string;
  readonly mail?: { readonly messageId?: string; readonly timestamp?: string; readonly tags?: Record<string, readonly string[]> };
  readonly bounce?: { readonly bounceType?: string };
}

export type Feedback =
  | { readonly kind: 'sent' | 'delivered'; readonly dispatchId: string; readonly sesMessageId: string }
  | { readonly kind: 'bounce' | 'complaint'; readonly dispatchId: string; readonly sesMessageId: string }
  | { readonly kind: 'ignored'; readonly why: string };

/** Classifies one SES event: what, if anything, it means for the ledger and the registry. */
export function classifySesEvent(record: SesEventRecord): Feedback {
  const type = record.eventType ?? record.notificationType;
  const encoded = record.mail?.tags?.[DISPATCH_TAG_NAME]?.[0];
  const dispatchId = encoded === undefined ? undefined : decodeDispatchTag(encoded);
  const sesMessageId = record.mail?.messageId;
  if (!dispatchId || !sesMessageId) return { kind: 'ignored', why: 'no dispatchId tag or message id' };
  switch (type) {
    case 'Send':
      return { kind: 'sent', dispatchId, sesMessageId };
    case 'Delivery':
      return { kind: 'delivered', dispatchId, sesMessageId };
    case 'Bounce':
      // Only a permanent bounce says the address is gone; transient ones (mailbox full) pass.
      return record.bounce?.bounceType === 'Permanent' ? { kind: 'bounce', dispatchId, sesMessageId } : { kind: 'ignored', why: 'transient bounce' };
    case 'Complaint':
      return { kind: 'complaint', dispatchId, sesMessageId };
    default:
      return { kind: 'ignored', why: `event type ${type ?? 'missing'}` };
  }
}
