import { normaliseAddress } from './address';
import type { DispatchConfig } from './config';
import type { DispatchMessage } from './message';
import { BlockReason, LedgerState, RetryReason } from './outcomes';
import { planFanIn, type FanInClaim } from './fan-in';
import type { DispatchSnapshot, MailboxOwners, MemberRecord, ProxyConsentCheck } from '../ports';
import { suppressionOf } from './suppression';

export { isSuppressed } from './suppression';

/** What the dispatcher must do with one valid message, given what the ledger and registry hold. */
export type Decision =
  | {
      readonly action: 'claim';
      /** The registry value that matched `to`, verbatim, for the claim's condition check. */
      readonly matched: { readonly via: 'email' | 'proxy'; readonly value: string };
      /** Distinct members on this mailbox in the span once this message is counted. */
      readonly fanInCount: number;
      readonly fanIn: FanInClaim;
      /** A proxy send's consent, once read (12.3): the claim re-asserts it. */
      readonly proxyConsent?: ProxyConsentCheck;
    }
  | { readonly action: 'block'; readonly reason: BlockReason; readonly fanInCount?: number }
  | { readonly action: 'duplicate' }
  /** The claim belongs to an attempt that died: its send may have happened. Mark it, never re-send. */
  | { readonly action: 'mark-in-doubt'; readonly claimToken: string }
  /** Already marked in-doubt by an earlier delivery: report it again, change nothing. */
  | { readonly action: 'in-doubt' }
  | { readonly action: 'retry'; readonly reason: RetryReason };

export interface DecisionInput {
  readonly message: DispatchMessage;
  /** Keyed hash of `message.to`: suppression is per (member, address hash). */
  readonly toHash: string;
  readonly snapshot: DispatchSnapshot;
  /** The SQS delivery being decided (its receive count says nothing about a claim's life: see isAbandoned). */
  readonly delivery: { readonly sqsMessageId: string; readonly receiveCount: number };
  readonly config: Pick<DispatchConfig, 'fanInLimit' | 'fanInWindowSeconds' | 'claimLeaseSeconds'>;
  readonly now: Date;
}

/**
 * The dispatch decision, in the order of DESIGN.md: the ledger first (a dispatchId is sent at
 * most once, ever), then the member's registry entry, then the fan-in guard. Pure: the claim
 * transaction re-asserts every fact this read, atomically, at send time.
 */
export function decideDispatch(input: DecisionInput): Decision {
  const fromLedger = decideFromLedger(input);
  if (fromLedger) return fromLedger;

  const recipient = matchRecipient(input.snapshot.member, input.message.to, input.toHash);
  if ('reason' in recipient) return { action: 'block', reason: recipient.reason };

  const fanIn = planFanIn(input.snapshot.fanIn, input.message.memberId, input.now, input.config);
  if (!fanIn.allowed) return { action: 'block', reason: BlockReason.FanInLimit, fanInCount: fanIn.count };
  return { action: 'claim', matched: recipient.matched, fanInCount: fanIn.count, fanIn: fanIn.claim };
}

function decideFromLedger({ snapshot, config, now }: DecisionInput): Decision | undefined {
  const record = snapshot.record;
  switch (record?.state) {
    case undefined:
    case LedgerState.Blocked:
    case LedgerState.Rejected:
    case LedgerState.Released:
    case LedgerState.Failed:
      return undefined;
    case LedgerState.Sent:
      return { action: 'duplicate' };
    case LedgerState.InDoubt:
      return { action: 'in-doubt' };
    case LedgerState.Claimed:
      return isAbandoned(record, config.claimLeaseSeconds, now)
        ? { action: 'mark-in-doubt', claimToken: record.claimToken ?? '' }
        : { action: 'retry', reason: RetryReason.ClaimInFlight };
    default:
      // An unknown state written by something else: never guess that sending is safe.
      return { action: 'retry', reason: RetryReason.Unexpected };
  }
}

/**
 * A claim is abandoned only when it is provably dead: older than its lease, which outlives any
 * invocation that could still hold it (the lease is longer than the function timeout, and a claim
 * is only made when claim + send + settle fit in the invocation's remaining time). A copy of the
 * message with a higher receive count proves nothing: a standard queue delivers duplicates while
 * the first copy is still in flight, so that copy goes back to SQS and waits for the claim to settle.
 */
export function isAbandoned(record: NonNullable<DispatchSnapshot['record']>, leaseSeconds: number, now: Date): boolean {
  const claimedAt = record.claimedAt ? Date.parse(record.claimedAt) : NaN;
  return Number.isNaN(claimedAt) || now.getTime() - claimedAt > leaseSeconds * 1000;
}

type RecipientMatch = { readonly matched: { readonly via: 'email' | 'proxy'; readonly value: string } } | { readonly reason: BlockReason };

/**
 * Is `to` (already normalised) the member's registered address or an authorised proxy, and not
 * suppressed for this member (`toHash`: its keyed hash; the rule is `core/suppression.ts`)?
 * Registry values are normalised here too, since a raw write may hold `Pat@Example.org `.
 */
export function matchRecipient(member: MemberRecord | undefined, to: string, toHash: string): RecipientMatch {
  if (!member) return { reason: BlockReason.UnknownMember };
  if (member.status !== 'active') return { reason: BlockReason.MemberInactive };
  const matched = findMatch(member, to);
  if (!matched) return { reason: BlockReason.RecipientMismatch };
  const suppressed = suppressionOf(member, toHash);
  if (suppressed) return { reason: suppressed };
  return { matched };
}

function findMatch(member: MemberRecord, to: string): { via: 'email' | 'proxy'; value: string } | undefined {
  if (typeof member.email === 'string' && normaliseAddress(member.email) === to) return { via: 'email', value: member.email };
  const proxies = member.proxies instanceof Set ? [...member.proxies] : Array.isArray(member.proxies) ? member.proxies : [];
  const proxy = proxies.find((p): p is string => typeof p === 'string' && normaliseAddress(p) === to);
  return proxy === undefined ? undefined : { via: 'proxy', value: proxy };
}

/** Most owners whose consent one proxy claim re-asserts (claim: 3 items + the index item + one per owner). */
export const MAX_CONSENTING_OWNERS = 20;

/**
 * The dispatcher's side of proxy consent (issue 12.3), for what it can see: the recipient's mailbox
 * as the registry's address index holds it (written by the guard in its own transaction, and by the
 * registry watch from the stream for raw writes). A proxy onto a mailbox that other members own goes
 * only when every one of them lists the ward in its stored `proxyFor`; a mailbox nobody else owns
 * needs no consent. The claim re-asserts exactly this (the owners, and each consent), atomically.
 * A proxy without that consent is not an address the member's entry allows: `recipient-mismatch`,
 * the contract's block reason (the scenario README lists no other); the guard's refusal of the same
 * row is `proxy-not-consented`.
 */
export function proxyConsent(
  ward: string,
  registryKey: string,
  mailbox: MailboxOwners,
):
  | { readonly ok: true; readonly check: ProxyConsentCheck }
  | { readonly ok: false; readonly reason: typeof BlockReason.RecipientMismatch } {
  const consentingOwners = mailbox.owners.filter((owner) => owner !== ward);
  // One ConditionCheck per owner must fit the claim's transaction: a mailbox with more owners than
  // that is no sane registry (the guard allows one), and its consent cannot be proved atomically.
  if (consentingOwners.length > MAX_CONSENTING_OWNERS) return { ok: false, reason: BlockReason.RecipientMismatch };
  if (consentingOwners.some((owner) => !(mailbox.consents[owner] ?? []).includes(ward)))
    return { ok: false, reason: BlockReason.RecipientMismatch };
  return { ok: true, check: { registryKey, owners: [...mailbox.owners].sort(), consentingOwners: [...consentingOwners].sort() } };
}
