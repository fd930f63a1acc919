/**
 * In-process implementations of the dispatcher's ports, with the same conditional semantics as
 * the DynamoDB adapters. For property tests (thousands of cases a second) and for measuring the
 * handler's own CPU cost without any emulator; never for the scenario runner or the demo, which
 * drive the real adapters.
 */
import { normaliseAddress } from '../lambdas/core/address';
import { EMPTY_FAN_IN, type FanInState } from '../lambdas/core/fan-in';
import { isSuppressed, suppressionOf } from '../lambdas/core/suppression';
import { CLAIMABLE_LEDGER_STATES, LedgerState, type RejectReason } from '../lambdas/core/outcomes';
import type {
  ClaimRequest,
  ClaimResult,
  DispatchLedger,
  DispatchRecord,
  DispatchSnapshot,
  MailboxOwners,
  MailSender,
  MemberRecord,
  OutcomeEvent,
  OutcomeReporter,
  OutgoingMail,
  PauseCause,
  PauseState,
  PauseSwitch,
  RejectedMessageSink,
  Settlement,
  SnapshotKey,
  UnsentRecord,
} from '../lambdas/ports';
import { snapshotId } from '../lambdas/ports';

/** A member's stored `proxyFor`, read leniently (list or string set). */
function proxyForOf(member: MemberRecord | undefined): string[] {
  const value = (member as { proxyFor?: unknown } | undefined)?.proxyFor;
  const list = value instanceof Set ? [...value] : Array.isArray(value) ? value : [];
  return list.filter((v): v is string => typeof v === 'string');
}

type StoredRecord = DispatchRecord & { reason?: string; sesMessageId?: string };

export class InMemoryDispatchLedger implements DispatchLedger {
  readonly members = new Map<string, MemberRecord>();
  readonly records = new Map<string, StoredRecord>();
  readonly unsent: UnsentRecord[] = [];
  readonly fanIn = new Map<string, FanInState>();
  /** The registry index's `owners` per `registry#<mailboxHash>` (what the guard and the watch keep). */
  readonly mailboxOwners = new Map<string, Set<string>>();

  async readMailboxOwners(registryKey: string): Promise<MailboxOwners> {
    const owners = [...(this.mailboxOwners.get(registryKey) ?? [])];
    return { owners, consents: Object.fromEntries(owners.map((id) => [id, proxyForOf(this.members.get(id))])) };
  }

  async readSnapshots(keys: readonly SnapshotKey[]): Promise<Map<string, DispatchSnapshot>> {
    return new Map(
      keys.map((key) => [
        snapshotId(key),
        {
          member: this.members.get(key.memberId),
          record: this.records.get(key.dispatchId),
          fanIn: this.fanIn.get(key.fanInKey) ?? EMPTY_FAN_IN,
        },
      ]),
    );
  }

  async claimAll(requests: readonly ClaimRequest[]): Promise<ClaimResult[]> {
    const results: ClaimResult[] = [];
    for (const request of requests) results.push(this.claim(request));
    return results;
  }

  private claim(r: ClaimRequest): ClaimResult {
    const conflicts: ('member' | 'ledger' | 'fan-in' | 'proxy-consent')[] = [];
    const member = this.members.get(r.message.memberId);
    const proxies = member?.proxies instanceof Set ? [...member.proxies] : Array.isArray(member?.proxies) ? member.proxies : [];
    const memberOk =
      member !== undefined &&
      member.status === 'active' &&
      suppressionOf(member, r.toHash) === undefined &&
      (r.matched.via === 'email' ? member.email === r.matched.value : proxies.includes(r.matched.value));
    if (!memberOk) conflicts.push('member');
    const record = this.records.get(r.message.dispatchId);
    if (record && !CLAIMABLE_LEDGER_STATES.includes(record.state)) conflicts.push('ledger');
    // The conditions of the DynamoDB adapter's counter write, as DynamoDB evaluates them.
    const counter = this.fanIn.get(r.fanInKey) ?? EMPTY_FAN_IN;
    const own = counter.seen[r.message.memberId];
    const fanInOk = r.fanIn.kind === 'refresh' ? own !== undefined && own > r.fanIn.cutoffMs : counter.version === r.fanIn.version;
    if (!fanInOk) conflicts.push('fan-in');
    // 12.3, as the DynamoDB adapter's ConditionChecks: the owners exactly as read, each consent still given.
    if (r.proxyConsent) {
      const owners = this.mailboxOwners.get(r.proxyConsent.registryKey) ?? new Set<string>();
      const sameOwners = owners.size === r.proxyConsent.owners.length && r.proxyConsent.owners.every((id) => owners.has(id));
      const consented = r.proxyConsent.consentingOwners.every((id) => proxyForOf(this.members.get(id)).includes(r.message.memberId));
      if (!sameOwners || !consented) conflicts.push('proxy-consent');
    }
    if (conflicts.length > 0) return { claimed: false, conflicts };
    this.records.set(r.message.dispatchId, {
      dispatchId: r.message.dispatchId,
      state: LedgerState.Claimed,
      claimedAt: r.now.toISOString(),
      claimMessageId: r.sqsMessageId,
      claimReceiveCount: r.receiveCount,
      claimToken: r.claimToken,
    });
    const seen = { ...counter.seen, [r.message.memberId]: r.fanIn.atMs };
    if (r.fanIn.kind === 'join') for (const id of r.fanIn.prune) delete seen[id];
    this.fanIn.set(r.fanInKey, { seen, version: r.fanIn.kind === 'join' ? counter.version + 1 : counter.version });
    return { claimed: true };
  }

  async settle(dispatchId: string, claimToken: string, settlement: Settlement): Promise<void> {
    const record = this.records.get(dispatchId);
    if (!record || record.claimToken !== claimToken) return;
    const allowed = settlement.kind === 'sent' ? [LedgerState.Claimed, LedgerState.InDoubt] : [LedgerState.Claimed];
    if (!(allowed as string[]).includes(record.state)) return;
    this.records.set(dispatchId, {
      ...record,
      state: settlement.kind,
      reason: 'reason' in settlement ? settlement.reason : undefined,
      sesMessageId: settlement.kind === 'sent' ? settlement.sesMessageId : undefined,
    });
  }

  async recordUnsent(record: UnsentRecord): Promise<void> {
    this.unsent.push(record);
    if (record.state === LedgerState.Rejected || !record.dispatchId) return;
    const existing = this.records.get(record.dispatchId);
    if (existing && !CLAIMABLE_LEDGER_STATES.includes(existing.state)) return;
    this.records.set(record.dispatchId, { ...existing, dispatchId: record.dispatchId, state: record.state, reason: record.reason });
  }

  readonly duplicates: { dispatchId: string; sqsMessageId: string }[] = [];

  async recordDuplicate(dispatchId: string, sqsMessageId: string): Promise<void> {
    const record = this.records.get(dispatchId);
    if (record?.state !== LedgerState.Sent || record.claimMessageId === sqsMessageId) return;
    if (this.duplicates.some((d) => d.dispatchId === dispatchId && d.sqsMessageId === sqsMessageId)) return;
    this.duplicates.push({ dispatchId, sqsMessageId });
  }

  /**
   * The registered address or proxy values of a member, normalised (for invariant checks);
   * `hashOf` (the keyed address hash) leaves out the addresses suppressed for this member.
   */
  allowedAddresses(memberId: string, hashOf?: (address: string) => string): string[] {
    const member = this.members.get(memberId);
    if (!member || member.status !== 'active' || isSuppressed(member.suppressed)) return [];
    const proxies = member.proxies instanceof Set ? [...member.proxies] : Array.isArray(member.proxies) ? member.proxies : [];
    return [member.email, ...proxies]
      .filter((v): v is string => typeof v === 'string')
      .map(normaliseAddress)
      .filter((address) => !hashOf || suppressionOf({ suppressions: member.suppressions }, hashOf(address)) === undefined);
  }
}

export class InMemoryPauseSwitch implements PauseSwitch {
  state: PauseState = { paused: false };
  async read(): Promise<PauseState> {
    return this.state;
  }
  async pause(cause: PauseCause): Promise<void> {
    const version = (this.state.version ?? 0) + 1;
    this.state = this.state.paused ? { ...this.state, version } : { paused: true, cause, version };
  }
  async resume(_by: string, _at: Date, expected?: { readonly version?: number }): Promise<'cleared' | 'changed'> {
    if (expected && expected.version !== this.state.version) return 'changed';
    this.state = { paused: false, version: (this.state.version ?? 0) + 1 };
    return 'cleared';
  }
}

/** Accepts every send and keeps it, as the SES emulator's store does. */
export class RecordingMailSender implements MailSender {
  readonly sent: (OutgoingMail & { messageId: string })[] = [];
  async send(mail: OutgoingMail): Promise<{ messageId: string }> {
    const messageId = `mem-${this.sent.length + 1}`;
    this.sent.push({ ...mail, messageId });
    return { messageId };
  }
}

export class InMemoryRejectedSink implements RejectedMessageSink {
  readonly moved: { body: string; reason: RejectReason; field?: string }[] = [];
  async moveRejected(body: string, rejection: { reason: RejectReason; field?: string }): Promise<void> {
    this.moved.push({ body, ...rejection });
  }
}

export class CollectingReporter implements OutcomeReporter {
  readonly events: OutcomeEvent[] = [];
  report(event: OutcomeEvent): void {
    this.events.push(event);
  }
  flush(): void {}
}
