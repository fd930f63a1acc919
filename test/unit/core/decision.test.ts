import { decideDispatch, isSuppressed, type DecisionInput } from '../../../lambdas/core/decision';
import { EMPTY_FAN_IN } from '../../../lambdas/core/fan-in';
import type { DispatchMessage } from '../../../lambdas/core/message';
import type { DispatchSnapshot, MemberRecord } from '../../../lambdas/ports';

const now = new Date('2000-08-02T09:00:00Z');
const message: DispatchMessage = { dispatchId: 'd1', memberId: 'M1', to: 'pat@example.org', template: 'advice-nurse-reply', data: {} };
/** A counter holding `ids`, each claimed an hour before `now`. */
const inSpan = (...ids: string[]) => ({ version: ids.length, seen: Object.fromEntries(ids.map((id) => [id, now.getTime() - 3_600_000])) });
const member: MemberRecord = { memberId: 'M1', email: 'pat@example.org', status: 'active', proxies: [] };

function decide(snapshot: Partial<DispatchSnapshot>, overrides: Partial<DecisionInput> = {}) {
  return decideDispatch({
    message,
    toHash: 'pat-hash',
    snapshot: { member, fanIn: EMPTY_FAN_IN, ...snapshot },
    delivery: { sqsMessageId: 'sqs-1', receiveCount: 1 },
    config: { fanInLimit: 3, fanInWindowSeconds: 86_400, claimLeaseSeconds: 60 },
    now,
    ...overrides,
  });
}

describe('decideDispatch', () => {
  it('claims when the address is the member’s registered address', () => {
    expect(decide({})).toEqual({
      action: 'claim',
      matched: { via: 'email', value: 'pat@example.org' },
      fanInCount: 1,
      fanIn: { kind: 'join', version: 0, atMs: now.getTime(), prune: [] },
    });
  });

  it('compares the registered address after normalisation, and claims on its stored value', () => {
    expect(decide({ member: { ...member, email: '  Pat@Example.ORG ' } })).toMatchObject({
      action: 'claim',
      matched: { via: 'email', value: '  Pat@Example.ORG ' },
    });
  });

  it('claims through an authorised proxy (a list or a string set)', () => {
    const guardian = 'guardian@example.org';
    expect(decide({ member: { ...member, proxies: [guardian] } }, { message: { ...message, to: guardian } })).toMatchObject({
      matched: { via: 'proxy', value: guardian },
    });
    expect(decide({ member: { ...member, proxies: new Set([guardian]) } }, { message: { ...message, to: guardian } })).toMatchObject({
      matched: { via: 'proxy' },
    });
  });

  it.each<[string, Partial<DispatchSnapshot>, Partial<DecisionInput>, string]>([
    ['the member is unknown', { member: undefined }, {}, 'unknown-member'],
    ['the member is suspended', { member: { ...member, status: 'suspended' } }, {}, 'member-inactive'],
    ['the member is closed', { member: { ...member, status: 'closed' } }, {}, 'member-inactive'],
    ['the member has no status', { member: { ...member, status: undefined } }, {}, 'member-inactive'],
    ['the address is not the member’s', {}, { message: { ...message, to: 'wrong01@example.net' } }, 'recipient-mismatch'],
    ['the registered address is not a string', { member: { ...member, email: 42 } }, {}, 'recipient-mismatch'],
    [
      'a proxy list is a substring-bearing string',
      { member: { ...member, email: 'x@example.org', proxies: 'a-pat@example.org' } },
      {},
      'recipient-mismatch',
    ],
    [
      'the registry holds a Kelvin-sign look-alike',
      { member: { ...member, email: '\u212Aate@example.org' } },
      { message: { ...message, to: 'kate@example.org' } },
      'recipient-mismatch',
    ],
    ['the member is suppressed', { member: { ...member, suppressed: true } }, {}, 'suppressed'],
    ['the member is suppressed by a careless string', { member: { ...member, suppressed: 'TRUE' } }, {}, 'suppressed'],
    ['the address already has its limit of other members', { fanIn: inSpan('M7', 'M8', 'M9') }, {}, 'fan-in-limit'],
  ])('blocks when %s', (_name, snapshot, overrides, reason) => {
    expect(decide(snapshot, overrides)).toMatchObject({ action: 'block', reason });
  });

  it('checks the address before suppression: a wrong address is the louder fact', () => {
    expect(decide({ member: { ...member, suppressed: true } }, { message: { ...message, to: 'eve@example.org' } })).toMatchObject({
      reason: 'recipient-mismatch',
    });
  });

  it('counts a member already in the window once, even at the limit', () => {
    expect(decide({ fanIn: inSpan('M1', 'M8', 'M9') })).toMatchObject({ action: 'claim', fanInCount: 3, fanIn: { kind: 'refresh' } });
  });

  it.each([
    ['sent', { action: 'duplicate' }],
    ['in-doubt', { action: 'in-doubt' }],
  ])('never sends a dispatchId the ledger holds as %s', (state, expected) => {
    expect(decide({ record: { dispatchId: 'd1', state: state as 'sent' } })).toEqual(expected);
  });

  it.each(['blocked', 'rejected', 'released', 'failed'])('lets a corrected re-publish claim a %s record', (state) => {
    expect(decide({ record: { dispatchId: 'd1', state: state as 'blocked' } })).toMatchObject({ action: 'claim' });
  });

  it('hands a live claim back to SQS (a concurrent duplicate delivery)', () => {
    const record = {
      dispatchId: 'd1',
      state: 'claimed' as const,
      claimedAt: now.toISOString(),
      claimMessageId: 'sqs-1',
      claimReceiveCount: 1,
      claimToken: 't',
    };
    expect(decide({ record })).toEqual({ action: 'retry', reason: 'claim-in-flight' });
  });

  it('12.7: a live claim seen by a copy with a higher receive count goes back to SQS, never in-doubt', () => {
    // A standard queue delivers a second copy (same id, receive count + 1) while the first is in flight.
    const record = {
      dispatchId: 'd1',
      state: 'claimed' as const,
      claimedAt: now.toISOString(),
      claimMessageId: 'sqs-1',
      claimReceiveCount: 1,
      claimToken: 't',
    };
    expect(decide({ record }, { delivery: { sqsMessageId: 'sqs-1', receiveCount: 2 } })).toEqual({
      action: 'retry',
      reason: 'claim-in-flight',
    });
    expect(decide({ record }, { delivery: { sqsMessageId: 'sqs-1', receiveCount: 9 } })).toEqual({
      action: 'retry',
      reason: 'claim-in-flight',
    });
  });

  it('12.7: a claim is abandoned only once its lease has run out, whoever looks', () => {
    const claimedAt = new Date(now.getTime() - 60_000).toISOString();
    const record = {
      dispatchId: 'd1',
      state: 'claimed' as const,
      claimedAt,
      claimMessageId: 'sqs-1',
      claimReceiveCount: 1,
      claimToken: 't',
    };
    // At exactly the lease the attempt may still be settling; one millisecond later it is dead.
    expect(decide({ record }, { delivery: { sqsMessageId: 'sqs-1', receiveCount: 2 } })).toEqual({
      action: 'retry',
      reason: 'claim-in-flight',
    });
    const later = new Date(now.getTime() + 1);
    expect(decide({ record }, { delivery: { sqsMessageId: 'sqs-1', receiveCount: 2 }, now: later })).toEqual({
      action: 'mark-in-doubt',
      claimToken: 't',
    });
    expect(decide({ record }, { delivery: { sqsMessageId: 'sqs-other', receiveCount: 1 }, now: later })).toEqual({
      action: 'mark-in-doubt',
      claimToken: 't',
    });
  });

  it('marks in-doubt a claim older than the lease', () => {
    const record = {
      dispatchId: 'd1',
      state: 'claimed' as const,
      claimedAt: '2000-08-02T08:58:00Z',
      claimMessageId: 'sqs-0',
      claimReceiveCount: 1,
      claimToken: 't',
    };
    expect(decide({ record })).toEqual({ action: 'mark-in-doubt', claimToken: 't' });
  });

  it('never guesses about a ledger state it does not know', () => {
    expect(decide({ record: { dispatchId: 'd1', state: 'weird' as 'sent' } })).toEqual({ action: 'retry', reason: 'unexpected-error' });
  });
});

describe('isSuppressed', () => {
  it.each([
    [true, true],
    ['true', true],
    [' True ', true],
    [false, false],
    ['false', false],
    ['FALSE', false],
    [undefined, false],
    [null, false],
  ])('%p → %p', (value, expected) => expect(isSuppressed(value)).toBe(expected));

  it.each([[1], ['yes'], [''], [' false'], [0], [[true]]])('12.12: fails closed: the unexpected legacy value %p suppresses', (value) =>
    expect(isSuppressed(value)).toBe(true),
  );
});

describe('per-address suppression', () => {
  it('12.10: blocks only the suppressed address of the member, with the reason it was suppressed for', () => {
    const entry = { reason: 'bounce', at: '2000-08-02T09:00:00Z' };
    expect(decide({ member: { ...member, suppressions: { 'pat-hash': entry } } })).toMatchObject({ action: 'block', reason: 'suppressed' });
    expect(decide({ member: { ...member, suppressions: { 'old-hash': entry } } })).toMatchObject({ action: 'claim' });
    expect(decide({ member: { ...member, suppressions: { 'pat-hash': { ...entry, reason: 'reported-not-mine' } } } })).toMatchObject({
      action: 'block',
      reason: 'reported-not-mine',
    });
  });
});
