/**
 * The small interfaces the dispatcher needs, named for the domain. Adapters in `adapters/`
 * implement them on DynamoDB, SES v2 and SQS; unit tests implement them in memory.
 */
import type { LedgerState, RejectReason, BlockReason, RetryReason, DispatchOutcome, DeliveryFate, FateDetail } from './core/outcomes';
import type { DispatchMessage } from './core/message';
import type { TemplateName } from './core/templates';
import type { OutcomeEventDetail } from './core/outcome-event';
import type { ReputationCounts } from './core/reputation';
import type { ErrorCause } from './core/error-cause';
import type { FanInClaim, FanInState } from './core/fan-in';
import type { MailboxPlacement, MemberImage } from './core/registry-watch';

/** A member registry item as stored: fields are `unknown` because raw writes may hold anything. */
export interface MemberRecord {
  readonly memberId: string;
  readonly email?: unknown;
  readonly status?: unknown;
  readonly proxies?: unknown;
  /** Legacy member-wide flag (fails closed, see `core/suppression.ts`). */
  readonly suppressed?: unknown;
  /** Per-address suppression: a map from the keyed address hash to `{ reason, at }`. */
  readonly suppressions?: unknown;
}

/** The ledger's record of one dispatchId, as the dispatcher needs it. */
export interface DispatchRecord {
  readonly dispatchId: string;
  readonly state: LedgerState;
  readonly claimedAt?: string;
  /** SQS message id and receive count of the attempt that holds (or held) the claim. */
  readonly claimMessageId?: string;
  readonly claimReceiveCount?: number;
  readonly claimToken?: string;
}

/** Everything the decision for one message reads, fetched for a whole batch in one call. */
export interface DispatchSnapshot {
  readonly member?: MemberRecord;
  readonly record?: DispatchRecord;
  /** The recipient mailbox's fan-in counter (`EMPTY_FAN_IN` when there is none). */
  readonly fanIn: FanInState;
}

export interface SnapshotKey {
  readonly dispatchId: string;
  readonly memberId: string;
  readonly fanInKey: string;
}

/**
 * How `readSnapshots` keys its answer: by all three parts, since two messages of one batch may
 * share a dispatchId (a corrected re-publish) and differ in member or address.
 */
export function snapshotId(key: SnapshotKey): string {
  return `${key.dispatchId}\u0000${key.memberId}\u0000${key.fanInKey}`;
}

/** What a claim asserts atomically: the member still allows the address, the id is unsent, fan-in fits. */
export interface ClaimRequest {
  readonly message: DispatchMessage;
  readonly toHash: string;
  /** The registry value that matched `to` (verbatim, so the condition checks it is unchanged). */
  readonly matched: { readonly via: 'email' | 'proxy'; readonly value: string };
  readonly fanInKey: string;
  /**
   * Only on a proxy send (12.3): the mailbox's owners as read, re-asserted exactly on its index item
   * (`registry#<mailboxHash>`), and the owners whose `proxyFor` must still list the member.
   */
  readonly proxyConsent?: ProxyConsentCheck;
  /** What the claim writes and asserts on the mailbox's counter (see core/fan-in.ts). */
  readonly fanIn: FanInClaim;
  readonly fanInExpiresAt: number;
  readonly claimToken: string;
  readonly sqsMessageId: string;
  readonly receiveCount: number;
  readonly now: Date;
}

export type ClaimResult =
  | { readonly claimed: true }
  /** A condition failed: the registry, the ledger or the fan-in counter moved since the snapshot. */
  | { readonly claimed: false; readonly conflicts: readonly ('member' | 'ledger' | 'fan-in' | 'proxy-consent')[] }
  /** The store could not be reached (throttled, transient): nothing is known to be claimed. */
  | { readonly claimed: false; readonly unavailable: true };

/** How an attempt ends in the ledger; every variant but `blocked` is conditional on the claim token. */
export type Settlement =
  | { readonly kind: 'sent'; readonly sesMessageId: string }
  | { readonly kind: 'released'; readonly reason: RetryReason }
  | { readonly kind: 'failed'; readonly reason: RetryReason }
  | { readonly kind: 'in-doubt' };

/**
 * The end of a message that was never sent: blocked, rejected, or `failed` (handed back on its last
 * receive, so SQS moves it to the DLQ: issue 12.12).
 */
export interface UnsentRecord {
  readonly state: typeof LedgerState.Blocked | typeof LedgerState.Rejected | typeof LedgerState.Failed;
  readonly reason: BlockReason | RejectReason | RetryReason;
  readonly field?: string;
  readonly dispatchId?: string;
  readonly memberId?: string;
  readonly toHash?: string;
  readonly template?: string;
  readonly sqsMessageId: string;
  readonly now: Date;
}

/** The ledger, registry and fan-in counters: the dispatcher's only memory. */
export interface DispatchLedger {
  /** Reads members, dispatch records and fan-in counters for a batch (consistent reads), keyed by `snapshotId`. */
  readSnapshots(keys: readonly SnapshotKey[]): Promise<Map<string, DispatchSnapshot>>;
  /**
   * Claims each request atomically (member condition check + ledger claim + fan-in counter),
   * batching claims on distinct items into shared transactions. One result per request, in order;
   * never throws for one request's failure.
   */
  claimAll(requests: readonly ClaimRequest[]): Promise<ClaimResult[]>;
  /**
   * Who owns a mailbox (its registry index item's `owners`, consistent read) and each owner's
   * stored `proxyFor`: read only before a proxy send (12.3).
   */
  readMailboxOwners(registryKey: string): Promise<MailboxOwners>;
  /** Records the end of a claimed attempt (conditional on the claim token; a lost race is not an error). */
  settle(dispatchId: string, claimToken: string, settlement: Settlement, now: Date): Promise<void>;
  /** Records a blocked, rejected or failed message (never overwrites a claimed, sent or in-doubt record). */
  recordUnsent(record: UnsentRecord): Promise<void>;
  /**
   * Appends a `duplicate` entry to a sent dispatch's history: the portal published it again (another
   * SQS message than the one that claimed it); once per SQS message, the state stays `sent`.
   */
  recordDuplicate(dispatchId: string, sqsMessageId: string, now: Date): Promise<void>;
}

/** Who paused the pipeline, and why. */
export interface PauseCause {
  readonly reason: string;
  /** `dispatcher`, `breaker`, `operator:<name>`. */
  readonly by: string;
  readonly at: string;
  readonly alarmName?: string;
  readonly addressHash?: string;
}

export interface PauseState {
  readonly paused: boolean;
  readonly cause?: PauseCause;
  /** Moves on every pause (also on a flag already set) and every resume; absent on a flag never written. */
  readonly version?: number;
  /**
   * Every mailbox hash the registry watch paused for while this flag was set, whatever its first
   * cause: `resume` checks each of them, not only the cause's (12.2c review).
   */
  readonly registryFanInHashes?: readonly string[];
}

/** The pause flag item in the ledger table. */
export interface PauseSwitch {
  read(): Promise<PauseState>;
  /** Sets the flag; idempotent: a flag already set keeps its first cause. */
  pause(cause: PauseCause): Promise<void>;
  /**
   * Clears the flag, recording who resumed. With `expected` (the version a caller's checks read),
   * only if no pause landed since: `changed` then, and the flag is left as it is.
   */
  resume(by: string, at: Date, expected?: { readonly version?: number }): Promise<'cleared' | 'changed'>;
}

/** One e-mail for one recipient, rendered from an allow-listed template. */
export interface OutgoingMail {
  readonly dispatchId: string;
  readonly to: string;
  readonly template: TemplateName;
  readonly data: Readonly<Record<string, string>>;
  /** This e-mail's "not for me" link (made by the dispatcher, never by the publisher). */
  readonly reportUrl: string;
}

export interface MailSender {
  /**
   * Sends one e-mail. Throws `SendRefusedError` when nothing was sent (safe to retry) and
   * `SendOutcomeUnknownError` when it may have been (never retry).
   */
  send(mail: OutgoingMail): Promise<{ readonly messageId: string }>;
}

/**
 * When the next send may start. The dispatcher waits here *before* it claims (issue 12.1): between
 * a claim's answer and its SendEmail nothing else is awaited, so the registry the claim checked is
 * the registry at send time.
 */
export interface SendPacer {
  /**
   * Waits for this environment's next send slot (its share of the SES account's rate) and takes it.
   * When the slot is more than `maxWaitMs` away it takes nothing and answers `false` at once: a
   * wait must not outlast the invocation's time left (issue 12.6). @default no bound
   */
  acquire(maxWaitMs?: number): Promise<boolean>;
  /** Waits before the next try of a send SES refused (`attempt` counts from 1). */
  backoff(attempt: number): Promise<void>;
}

/** Where a rejected body goes: the DLQ, with its reason as message attributes. */
export interface RejectedMessageSink {
  moveRejected(
    body: string,
    rejection: {
      readonly reason: RejectReason;
      readonly field?: string;
      readonly dispatchId?: string;
      /** The rejected message's own id (its ledger record's key): the DLQ copy gets a new one. */
      readonly sqsMessageId?: string;
    },
  ): Promise<void>;
}

/** One outcome as it is reported: to metrics, structured logs, and (locally) the scenario runner. */
export interface OutcomeEvent {
  readonly sqsMessageId: string;
  readonly receiveCount: number;
  readonly dispatchId?: string;
  readonly memberId?: string;
  readonly toHash?: string;
  readonly template?: string;
  readonly outcome: DispatchOutcome;
  /** Members counted for the address after this message (when known). */
  readonly fanInCount?: number;
  /** This message made the dispatcher set the pause flag. */
  readonly pausedPipeline?: boolean;
  /** Why the outcome is `retry unexpected-error`: name, message, stack, with addresses and data taken out. */
  readonly error?: ErrorCause;
}

export interface OutcomeReporter {
  report(event: OutcomeEvent): void;
  /** Flushes buffered metrics at the end of an invocation. */
  flush(): void;
}

/** The switch that feeds the dispatcher: the SQS event source mapping (AWS) or the poller (local). */
/** How a switch of the event source waits out a transition already under way. */
export interface SwitchOptions {
  /**
   * Keep answering "in use" with a wait and a fresh try for this long (ms), instead of the
   * switch's usual few tries: for a caller that must not give up while a transition runs.
   */
  readonly patienceMs?: number;
}

export interface EventSourceSwitch {
  disable(options?: SwitchOptions): Promise<void>;
  enable(options?: SwitchOptions): Promise<void>;
  isEnabled(): Promise<boolean>;
}

/** One SES event about an accepted e-mail, as the ledger records it in the dispatch's history. */
export interface FateRecord {
  readonly dispatchId: string;
  readonly sesMessageId: string;
  readonly fate: DeliveryFate;
  /** When SES says it happened (ISO-8601); the record time when SES did not say. */
  readonly at?: string;
  /** Identifies this SES event, so that a replay changes nothing. */
  readonly eventKey: string;
  readonly detail: FateDetail;
  /** After `transientBounceLimit` transient bounces in a row, the one that is treated as permanent. */
  readonly treatedAsPermanent?: boolean;
  readonly now: Date;
}

export type FateResult =
  | { readonly result: 'recorded'; readonly memberId?: string; readonly toHash?: string }
  | { readonly result: 'replayed' }
  /** No dispatch record holds this SES message id (never accepted for it, or not ours). */
  | { readonly result: 'unknown-message-id' };

export interface TransientBounce {
  readonly dispatchId: string;
  readonly sesMessageId: string;
  readonly eventKey: string;
  readonly now: Date;
}

/** What suppressing the address of one dispatch did. */
export type SuppressionResult =
  /** The (member, address hash) pair is suppressed now; it was not before. */
  | { readonly outcome: 'suppressed'; readonly memberId: string; readonly toHash: string }
  /** It already was (an earlier bounce, a redelivered event): nothing changed, the first reason stays. */
  | { readonly outcome: 'already-suppressed'; readonly memberId: string; readonly toHash: string }
  /** No ledger record with a member and address hash, or no such member: nothing to suppress. */
  | { readonly outcome: 'unknown'; readonly memberId?: string };

/** What SES tells us after a send: reconcile the ledger, suppress the (member, address) pairs that bounce. */
export interface FeedbackStore {
  /** Marks a claimed or in-doubt dispatch as sent (SES accepted it); no-op otherwise. */
  reconcileSent(dispatchId: string, sesMessageId: string, at: Date, by?: string): Promise<'reconciled' | 'unchanged'>;
  /** Appends an SES event to the dispatch's history, once per `eventKey`, if the record holds `sesMessageId`. */
  recordFate(fate: FateRecord): Promise<FateResult>;
  /**
   * Counts a transient bounce of the (member, address) the dispatch went to, once per SES event,
   * and returns the transient bounces in a row; undefined when the record does not hold `sesMessageId`.
   */
  countTransientBounce(bounce: TransientBounce): Promise<number | undefined>;
  /** A delivery to (member, address) ends its run of transient bounces. */
  resetTransientBounces(memberId: string, toHash: string, now: Date): Promise<void>;
  /**
   * Suppresses the address the dispatch went to (the ledger record's `toHash`) for the member it
   * was for, not the member's current address: a bounce from a proxy or an old address blocks
   * only that address.
   */
  suppressAddressOf(dispatchId: string, reason: 'bounce' | 'complaint', at: Date): Promise<SuppressionResult>;
  /**
   * Counts one send, hard bounce or complaint in the reputation guard's window of sends (closing
   * the window once it holds `windowSends` sends) and returns the counters after it.
   */
  countForReputation(event: ReputationEvent, windowSends: number, now: Date): Promise<ReputationCounts>;
}

/** What the reputation guard counts: an e-mail SES accepted, a hard bounce, a complaint. */
export type ReputationEvent = 'send' | 'bounce' | 'complaint';

/** Asks the breaker to pause the pipeline now (disable the event source), without waiting for the alarm. */
export interface BreakerTrigger {
  trip(cause: PauseCause): Promise<void>;
}

/** The outcome feed's bus (EventBridge in AWS, an SQS queue standing for it locally). */
export interface OutcomeFeed {
  /**
   * Delivers the events, in order as far as the bus keeps order. Entries the bus refused are
   * tried again; returns the indexes of those still refused after every try (never drops one silently).
   */
  deliver(events: readonly OutcomeEventDetail[]): Promise<readonly number[]>;
}

/** A dispatch record as the "not for me" page reads it. */
export interface ReportableDispatch {
  readonly dispatchId: string;
  readonly memberId?: string;
  readonly toHash?: string;
  /** Set once a recipient confirmed the report. */
  readonly reportedAt?: string;
}

export interface NotForMeReport {
  readonly dispatchId: string;
  readonly memberId: string;
  readonly toHash: string;
  readonly at: Date;
  /** The breaker threshold's window: reports are counted over the last this many seconds. */
  readonly windowSeconds: number;
}

export type ReportResult =
  /** `memberBlocked` is false only when the member item no longer exists (nothing left to block). */
  | { readonly recorded: true; readonly reportsInWindow: number; readonly memberBlocked: boolean }
  /** Someone confirmed this dispatch first: nothing changed. */
  | { readonly recorded: false };

/** What the "not for me" page reads and writes: the dispatch record, the member's suppressions, rate limits. */
export interface NotForMeStore {
  findDispatch(dispatchId: string): Promise<ReportableDispatch | undefined>;
  /**
   * Blocks the (member, address) pair (`suppressions[toHash] = reported-not-mine`), then, in one
   * transaction, marks the dispatch reported (once: a second report changes nothing) and counts it
   * in the breaker's window.
   */
  recordReport(report: NotForMeReport): Promise<ReportResult>;
  /** Takes one of `limit` slots of a window for `key`; false when they are all taken. */
  takeRateSlot(
    key: { readonly kind: 'token' | 'source'; readonly id: string },
    limit: number,
    windowSeconds: number,
    now: Date,
  ): Promise<boolean>;
}

/** What one placement left on a mailbox of the registry's address index. */
export interface MailboxCount {
  /** The keyed hash of the mailbox: what logs, metrics and the pause cause carry. */
  readonly mailboxHash: string;
  /** Members on the mailbox afterwards, in any role (the fan-in count). */
  readonly members: number;
  /** True when this write put the member on the mailbox (it was not there before). */
  readonly joined: boolean;
}

/** The registry's per-mailbox address index, as the registry watch keeps it (issue 12.2c). */
export interface RegistryIndex {
  /** The member's item now (consistent read), `undefined` when deleted: what the index is moved to. */
  currentMember(memberId: string): Promise<MemberImage | undefined>;
  /** Puts the member in or out of the mailbox's `members` / `owners`; idempotent. */
  place(memberId: string, placement: MailboxPlacement): Promise<MailboxCount>;
}

/** A mailbox's owners as the dispatcher reads them before a proxy send (12.3). */
export interface MailboxOwners {
  /** Members whose own e-mail is this mailbox (`registry#<mailboxHash>`.owners). */
  readonly owners: readonly string[];
  /** Each owner's stored `proxyFor` (the wards it consents to receive mail for). */
  readonly consents: Readonly<Record<string, readonly string[]>>;
}

/** What a proxy claim re-asserts about the recipient's mailbox, atomically with the claim (12.3). */
export interface ProxyConsentCheck {
  /** The mailbox's index item key, `registry#<mailboxHash>`. */
  readonly registryKey: string;
  /** Its `owners` exactly as read (empty: nobody owns it, and nobody may own it at claim time). */
  readonly owners: readonly string[];
  /** The owners other than the member: each one's `proxyFor` must contain the member. */
  readonly consentingOwners: readonly string[];
}

/** The ledger record of a dead-lettered message, as the watch needs it. */
export interface DeadLetterRecord {
  readonly state: string;
  /** How many history entries the record holds: the version the watch's write is conditioned on. */
  readonly historyLength: number;
  /** The record has a `history` that is not a list: no write conditioned on its length can land. */
  readonly historyMalformed?: boolean;
  readonly claimedAt?: string;
  readonly claimToken?: string;
  /** The SQS message whose blocked, rejected or failed end the record holds (`recordUnsent`). */
  readonly lastMessageId?: string;
  /** The SQS message whose claim the record holds. */
  readonly claimMessageId?: string;
}

/** One message peeked in the DLQ: its body stays there (ops redrive moves it), only its visibility changes. */
export interface PeekedDeadLetter {
  readonly messageId: string;
  readonly body: string;
  readonly receiptHandle: string;
  /** The original message id of a rejected body the dispatcher moved here (`RejectAttribute.sqsMessageId`). */
  readonly rejectedMessageId?: string;
  /** The copy carries the dispatcher's reject reason (`RejectAttribute.reason`): the dispatcher moved it, after recording it. */
  readonly rejectedByDispatcher?: boolean;
}

/** The DLQ as the DLQ watch sees it: looked at, never emptied. */
export interface DeadLetterQueue {
  /** Up to 10 messages not yet peeked, hidden for `hideSeconds` so one sweep sees each once. */
  peek(hideSeconds: number): Promise<PeekedDeadLetter[]>;
  /** Makes peeked messages visible again at once (for `ops redrive` and the next sweep). */
  release(messages: readonly PeekedDeadLetter[]): Promise<void>;
}

/** A dead-lettered message's end, as the DLQ watch writes it. */
export interface DeadLetterEnd {
  readonly reason: RetryReason | RejectReason;
  readonly field?: string;
  readonly dispatchId?: string;
  readonly memberId?: string;
  readonly template?: string;
  /** The SQS message this end is about (the DLQ copy's id, or a rejected body's original id). */
  readonly sqsMessageId: string;
  readonly now: Date;
}

/**
 * The ledger as the DLQ watch needs it. Each write is conditioned on the version the watch read
 * (none, or that state with that many history entries): two sweeps, or a sweep racing a redriven
 * claim, write at most one end, and never over a claim, a send or an in-doubt record. `false`: the
 * record moved on, nothing was written.
 */
export interface DeadLetterLedger {
  /** A dispatch record (`kind: 'dispatch'`) or a rejected body's (`rejected#<id>`), consistent read. */
  read(key: { readonly kind: 'dispatch' | 'rejected'; readonly id: string }): Promise<DeadLetterRecord | undefined>;
  recordFailed(end: DeadLetterEnd & { readonly dispatchId: string }, seen: DeadLetterRecord | undefined): Promise<boolean>;
  /** A `rejected#<sqsMessageId>` record, only if there is none. */
  recordRejected(end: DeadLetterEnd): Promise<boolean>;
  /** The dispatcher's abandoned-claim rule (12.7): in-doubt, only while that claim (token) still holds. */
  markInDoubt(dispatchId: string, claimToken: string, now: Date): Promise<boolean>;
}
