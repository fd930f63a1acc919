import { decodeDispatchTag, DISPATCH_TAG_NAME } from '../core/dispatch-tag';
import { DeliveryFate, type FateDetail } from '../core/outcomes';

export type { FateDetail };

/** The fields of an SES event-publishing record (SNS message or EventBridge detail) we use. */
export interface SesEventRecord {
  readonly eventType?: string;
  /** SES notifications (not event publishing) use `notificationType`. */
  readonly notificationType?: string;
  readonly mail?: { readonly messageId?: string; readonly timestamp?: string; readonly tags?: Record<string, readonly string[]> };
  readonly bounce?: {
    readonly bounceType?: string;
    readonly bounceSubType?: string;
    readonly feedbackId?: string;
    readonly timestamp?: string;
  };
  readonly complaint?: {
    readonly feedbackId?: string;
    readonly timestamp?: string;
    readonly complaintFeedbackType?: string;
    readonly complaintSubType?: string;
  };
  readonly delivery?: { readonly timestamp?: string };
  readonly deliveryDelay?: { readonly timestamp?: string; readonly delayType?: string };
  readonly reject?: { readonly reason?: string };
}

/** Why an SES event changed nothing (the `Why` dimension of the `FeedbackIgnored` metric). */
export const FeedbackIgnoredWhy = {
  /** Not JSON, not an object, or no event type. */
  Malformed: 'malformed',
  /** No message id, or no (well-formed) dispatchId tag: not an e-mail this pipeline sent. */
  Untagged: 'untagged',
  /** Tagged by another configuration set than this deployment's. */
  OtherConfigurationSet: 'other-configuration-set',
  /** An event type with no meaning for the ledger (Open, Click, Subscription, …). */
  UnhandledType: 'unhandled-type',
  /** The dispatch record holds another SES message id, or there is no such record. */
  UnknownMessageId: 'unknown-message-id',
  /** The same SES event again (SNS and EventBridge deliver at least once). */
  Replayed: 'replayed',
} as const;
export type FeedbackIgnoredWhy = (typeof FeedbackIgnoredWhy)[keyof typeof FeedbackIgnoredWhy];

export type Feedback =
  | { readonly kind: 'sent'; readonly dispatchId: string; readonly sesMessageId: string }
  | {
      readonly kind: 'fate';
      readonly dispatchId: string;
      readonly sesMessageId: string;
      readonly fate: DeliveryFate;
      /** When SES says it happened (ISO-8601), if it said so in a readable form. */
      readonly at?: string;
      /** Identifies this SES event among the e-mail's events, so that a replay changes nothing. */
      readonly eventKey: string;
      readonly detail: FateDetail;
    }
  | { readonly kind: 'ignored'; readonly why: FeedbackIgnoredWhy };

export interface ClassifyOptions {
  /** This deployment's configuration set: events another one tagged are not ours. @default any */
  readonly configurationSet?: string;
}

const PLAIN_WORD = /^[A-Za-z][A-Za-z0-9]{0,39}$/;
/** Keeps SES's enumerated words; anything else (free text could hold an address) becomes `Other`. */
const word = (value: string | undefined): string | undefined =>
  value === undefined ? undefined : PLAIN_WORD.test(value) ? value : 'Other';
const SAFE_ID = /^[A-Za-z0-9._:+=-]{1,200}$/;
const isoOrUndefined = (value: string | undefined) =>
  value !== undefined && !Number.isNaN(Date.parse(value)) ? new Date(value).toISOString() : undefined;

/** Classifies one SES event: what, if anything, it means for the ledger and the registry. */
export function classifySesEvent(record: SesEventRecord, options: ClassifyOptions = {}): Feedback {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return { kind: 'ignored', why: FeedbackIgnoredWhy.Malformed };
  const type = record.eventType ?? record.notificationType;
  if (typeof type !== 'string') return { kind: 'ignored', why: FeedbackIgnoredWhy.Malformed };
  const tags = record.mail?.tags;
  const configurationSet = tags?.['ses:configuration-set']?.[0];
  if (options.configurationSet && configurationSet !== undefined && configurationSet !== options.configurationSet) {
    return { kind: 'ignored', why: FeedbackIgnoredWhy.OtherConfigurationSet };
  }
  const encoded = tags?.[DISPATCH_TAG_NAME]?.[0];
  const dispatchId = typeof encoded === 'string' ? decodeDispatchTag(encoded) : undefined;
  const sesMessageId = record.mail?.messageId;
  if (!dispatchId || typeof sesMessageId !== 'string' || !SAFE_ID.test(sesMessageId))
    return { kind: 'ignored', why: FeedbackIgnoredWhy.Untagged };
  const mailAt = isoOrUndefined(record.mail?.timestamp);
  const fate = (fate: DeliveryFate, at: string | undefined, key: string | undefined, detail: FateDetail = {}): Feedback => ({
    kind: 'fate',
    dispatchId,
    sesMessageId,
    fate,
    at: isoOrUndefined(at) ?? mailAt,
    // The feedback id where SES gives one, else the event's own time and what it said: two delays
    // of one e-mail differ, a replay is the same.
    eventKey: `${fate}:${key !== undefined && SAFE_ID.test(key) ? key : [isoOrUndefined(at) ?? '', ...Object.values(detail)].join('/')}`,
    detail,
  });
  switch (type) {
    case 'Send':
      return { kind: 'sent', dispatchId, sesMessageId };
    case 'Delivery':
      return fate(DeliveryFate.Delivered, record.delivery?.timestamp, undefined);
    case 'Bounce': {
      const bounce = record.bounce ?? {};
      const bounceType = bounce.bounceType === 'Permanent' ? 'permanent' : bounce.bounceType === 'Transient' ? 'transient' : 'undetermined';
      return fate(DeliveryFate.Bounced, bounce.timestamp, bounce.feedbackId, { bounceType, bounceSubType: word(bounce.bounceSubType) });
    }
    case 'Complaint': {
      const complaint = record.complaint ?? {};
      const complaintType = word(complaint.complaintFeedbackType ?? complaint.complaintSubType ?? undefined);
      return fate(DeliveryFate.Complained, complaint.timestamp, complaint.feedbackId, complaintType ? { complaintType } : {});
    }
    case 'Reject':
      return fate(DeliveryFate.SesRejected, undefined, 'reject', { rejectKind: 'reject' });
    case 'Rendering Failure':
      return fate(DeliveryFate.SesRejected, undefined, 'rendering-failure', { rejectKind: 'rendering-failure' });
    case 'DeliveryDelay': {
      const delay = record.deliveryDelay ?? {};
      const delayType = word(delay.delayType);
      return fate(DeliveryFate.Delayed, delay.timestamp, undefined, delayType ? { delayType } : {});
    }
    default:
      return { kind: 'ignored', why: FeedbackIgnoredWhy.UnhandledType };
  }
}
