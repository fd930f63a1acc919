/**
 * The one source of state and reason names: the handler, the metrics, the ops CLI and the
 * scenario report all use these.
 */

/** Terminal (and report) states of one published message. */
export const DispatchState = {
  Sent: 'sent',
  Blocked: 'blocked',
  Rejected: 'rejected',
  Duplicate: 'duplicate',
  InDoubt: 'in-doubt',
  Failed: 'failed',
  Pending: 'pending',
} as const;
export type DispatchState = (typeof DispatchState)[keyof typeof DispatchState];

/** Why a well-formed message was not sent. */
export const BlockReason = {
  UnknownMember: 'unknown-member',
  MemberInactive: 'member-inactive',
  RecipientMismatch: 'recipient-mismatch',
  Suppressed: 'suppressed',
  FanInLimit: 'fan-in-limit',
  /** The recipient reported this (member, address) pair "not for me" (a `suppressions` entry). */
  ReportedNotMine: 'reported-not-mine',
} as const;
export type BlockReason = (typeof BlockReason)[keyof typeof BlockReason];

/** Why a message body was refused before any check against the registry. */
export const RejectReason = {
  InvalidJson: 'invalid-json',
  InvalidMessage: 'invalid-message',
  UnknownTemplate: 'unknown-template',
  TooLarge: 'too-large',
} as const;
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];

/**
 * Why an attempt was handed back to SQS for a later try. After `maxReceiveCount` tries the
 * message lands in the DLQ and this becomes the `failed` reason.
 */
export const RetryReason = {
  SesThrottled: 'ses-throttled',
  SesRefused: 'ses-refused',
  SesAccountPaused: 'ses-account-paused',
  StoreThrottled: 'store-throttled',
  Paused: 'paused',
  ClaimInFlight: 'claim-in-flight',
  RegistryChanged: 'registry-changed',
  /** The invocation had no time left for claim + send + settle: handed back unclaimed (issue 12.6). */
  NoTimeLeft: 'no-time-left',
  Unexpected: 'unexpected-error',
  /**
   * Not a retry: the DLQ watch found the message in the DLQ with no end recorded (the dispatcher
   * died on its last receive, or could not write its `failed` record): the `failed` reason it writes.
   */
  DeadLettered: 'dead-lettered',
} as const;
export type RetryReason = (typeof RetryReason)[keyof typeof RetryReason];

/**
 * States of a dispatch record in the ledger. `claimed` is the only non-terminal one: a live send
 * attempt, or one whose outcome is unknown (it becomes `in-doubt` when that is detected).
 */
export const LedgerState = {
  Claimed: 'claimed',
  Sent: 'sent',
  InDoubt: 'in-doubt',
  Blocked: 'blocked',
  Rejected: 'rejected',
  Released: 'released',
  Failed: 'failed',
} as const;
export type LedgerState = (typeof LedgerState)[keyof typeof LedgerState];

/** Ledger states that prove nothing was ever sent: a corrected re-publish may claim these. */
export const CLAIMABLE_LEDGER_STATES: readonly LedgerState[] = [
  LedgerState.Blocked,
  LedgerState.Rejected,
  LedgerState.Released,
  LedgerState.Failed,
];

/**
 * What SES reported about an e-mail after accepting it, as the ledger records it (`fate`, and a
 * history entry per SES event). `ses-rejected` is SES's `Reject` (virus) or `Rendering Failure`.
 */
export const DeliveryFate = {
  Delivered: 'delivered',
  Bounced: 'bounced',
  Complained: 'complained',
  SesRejected: 'ses-rejected',
  Delayed: 'delayed',
} as const;
export type DeliveryFate = (typeof DeliveryFate)[keyof typeof DeliveryFate];

/** What SES said about a bounce, complaint, rejection or delay, in words safe to store and publish. */
export interface FateDetail {
  readonly bounceType?: 'permanent' | 'transient' | 'undetermined';
  /** SES's sub-type (`General`, `NoEmail`, `MailboxFull`, …), only if it is one plain word. */
  readonly bounceSubType?: string;
  /** `reject` (SES found a virus) or `rendering-failure` (the template could not be rendered). */
  readonly rejectKind?: 'reject' | 'rendering-failure';
  readonly delayType?: string;
  readonly complaintType?: string;
}

/**
 * The events of the outcome feed (the portal's view): a dispatch state the ledger recorded, or a
 * delivery fate. Claims and releases are ledger versions too, but not fates: they are not published.
 */
export const OutcomeEventType = {
  Sent: DispatchState.Sent,
  Blocked: DispatchState.Blocked,
  Rejected: DispatchState.Rejected,
  Duplicate: DispatchState.Duplicate,
  InDoubt: DispatchState.InDoubt,
  Failed: DispatchState.Failed,
  ...DeliveryFate,
} as const;
export type OutcomeEventType = (typeof OutcomeEventType)[keyof typeof OutcomeEventType];

/** The terminal outcome of one delivery of one message, as the dispatcher decided it. */
export type DispatchOutcome =
  | { readonly state: typeof DispatchState.Sent; readonly sesMessageId: string }
  | { readonly state: typeof DispatchState.Blocked; readonly reason: BlockReason }
  | { readonly state: typeof DispatchState.Rejected; readonly reason: RejectReason; readonly field?: string }
  | { readonly state: typeof DispatchState.Duplicate }
  | { readonly state: typeof DispatchState.InDoubt }
  | { readonly state: typeof DispatchState.Failed; readonly reason: RetryReason }
  /** Not terminal: handed back to SQS (batch item failure) to be tried again. */
  | { readonly state: 'retry'; readonly reason: RetryReason };

/** Metric names (EMF namespace `MailDispatch`). */
export const MetricName = {
  Sent: 'Sent',
  Blocked: 'Blocked',
  Rejected: 'Rejected',
  Duplicate: 'Duplicate',
  InDoubt: 'InDoubt',
  Failed: 'Failed',
  Retried: 'Retried',
  FanInBlocked: 'FanInBlocked',
  MaxMembersPerAddress: 'MaxMembersPerAddress',
  PausedByDispatcher: 'PausedByDispatcher',
  /** SES feedback the feedback function recorded, by `Fate` dimension. */
  DeliveryFate: 'DeliveryFate',
  /** SES feedback that changed nothing, by `Why` dimension (`FeedbackIgnoredWhy`). */
  FeedbackIgnored: 'FeedbackIgnored',
  /** Outcome events the publisher put on the bus. */
  OutcomeEventsPublished: 'OutcomeEventsPublished',
  /** Ledger stream records the publisher could not map to an event (counted, never fatal). */
  OutcomeRecordsUnmapped: 'OutcomeRecordsUnmapped',
  /** A recipient confirmed on the "not for me" page that an e-mail was not theirs (pages on-call). */
  NotForMeReported: 'NotForMeReported',
  /** The registry watch: a write left a mailbox with more than `fanInLimit` members (no dimension; issue 12.2c). */
  RegistryFanIn: 'RegistryFanIn',
  /**
   * The feedback function measured the pipeline's own bounce or complaint rate over its last sends
   * at or above the guard's threshold (`Rate` dimension: `bounce` | `complaint`); the reputation alarms watch it.
   */
  ReputationBreached: 'ReputationBreached',
} as const;
export type MetricName = (typeof MetricName)[keyof typeof MetricName];

export const METRIC_NAMESPACE = 'MailDispatch';

/** Why the pause flag was set (`PauseCause.reason`), as the dispatcher and the breaker write it. */
export const PauseReason = {
  FanInLimit: BlockReason.FanInLimit,
  SesAccountPaused: RetryReason.SesAccountPaused,
  /** The breaker: an alarm notification in ALARM state. */
  Alarm: 'alarm',
  /** The "not for me" page: recipients reported e-mails as not theirs, past the threshold in the window. */
  NotForMeReports: 'not-for-me-reports',
  /** The registry watch: the registry points more than `fanInLimit` members at one mailbox (issue 12.2c). */
  RegistryFanIn: 'registry-fan-in',
  /** The breaker, on a reputation alarm: hard bounces per send (the pipeline's own, or SES's account-level) past the guard's threshold. */
  BounceRate: 'bounce-rate',
  /** The breaker, on a reputation alarm: complaints per send past the guard's threshold. */
  ComplaintRate: 'complaint-rate',
} as const;

/** Who set the pause flag (`PauseCause.by`). */
export const PausedBy = {
  Dispatcher: 'dispatcher',
  Breaker: 'breaker',
  /** The "not for me" page's function. */
  NotForMePage: 'not-for-me-page',
  /** The registry watch function (members table stream). */
  RegistryWatch: 'registry-watch',
  /** Followed by the operator's name: `operator:alice`. */
  OperatorPrefix: 'operator:',
} as const;
