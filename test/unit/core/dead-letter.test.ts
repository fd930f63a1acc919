import { decideDeadLetter, deadLetterRecordKey, type DeadLetter, type DeadLetterRecord } from '../../../lambdas/core/dead-letter';
import { parseDispatchMessage } from '../../../lambdas/core/message';

const NOW = new Date('2026-12-01T12:00:00Z');
const LEASE = 60;
const body = JSON.stringify({ dispatchId: 'd1', memberId: 'M1', to: 'pat@example.org', template: 'advice-nurse-reply', data: {} });
const valid: DeadLetter = { messageId: 'sqs-1', parse: parseDispatchMessage(body) };
const secondsAgo = (s: number) => new Date(NOW.getTime() - s * 1000).toISOString();
const record = (state: string, extra: Partial<DeadLetterRecord> = {}): DeadLetterRecord => ({ state, historyLength: 1, ...extra });
const decide = (message: DeadLetter, r?: DeadLetterRecord) => decideDeadLetter({ message, record: r, claimLeaseSeconds: LEASE, now: NOW });

describe('decideDeadLetter', () => {
  it.each([
    ['no record (the dispatcher died on its last receive, or its failed write was refused)', 'record-failed', undefined],
    ['released (handed back, then nothing recorded)', 'record-failed', record('released')],
    ['blocked by another publish of the dispatchId', 'record-failed', record('blocked', { lastMessageId: 'sqs-0' })],
    ['blocked by this very message', 'none', record('blocked', { lastMessageId: 'sqs-1' })],
    ['failed already (the dispatcher recorded it, or an earlier sweep)', 'none', record('failed')],
    ['sent', 'none', record('sent')],
    ['in-doubt', 'none', record('in-doubt')],
    ['claimed within its lease (an attempt may be sending)', 'wait', record('claimed', { claimedAt: secondsAgo(30), claimToken: 't' })],
  ])('%s → %s', (_why, action, r) => {
    expect(decide(valid, r).action).toBe(action);
  });

  it('records failed with the reason dead-lettered', () => {
    expect(decide(valid)).toEqual({ action: 'record-failed', reason: 'dead-lettered' });
  });

  it('never marks a claimed record failed: past its lease it becomes in-doubt, with its claim token', () => {
    expect(decide(valid, record('claimed', { claimedAt: secondsAgo(61), claimToken: 'tok' }))).toEqual({
      action: 'mark-in-doubt',
      claimToken: 'tok',
    });
    expect(decide(valid, record('claimed', { claimToken: 'tok' })).action).toBe('mark-in-doubt');
  });

  it('a body that does not parse: nothing when its rejected record exists, else that rejected record (with the reason and field)', () => {
    const bad: DeadLetter = { messageId: 'sqs-2', parse: parseDispatchMessage('{"dispatchId":"d2","memberId":"M2"}') };
    expect(decide(bad, record('rejected')).action).toBe('none');
    const decision = decide(bad);
    expect(decision).toMatchObject({ action: 'record-rejected', reason: 'invalid-message' });
    expect(decide({ messageId: 'sqs-3', parse: parseDispatchMessage('not json') })).toEqual({
      action: 'record-rejected',
      reason: 'invalid-json',
    });
  });

  it('finds the record of a rejected body by its original message id when the dispatcher moved it, else by its own', () => {
    const parse = parseDispatchMessage('not json');
    expect(deadLetterRecordKey({ messageId: 'copy', parse, rejectedMessageId: 'orig' })).toEqual({ kind: 'rejected', id: 'orig' });
    expect(deadLetterRecordKey({ messageId: 'same', parse })).toEqual({ kind: 'rejected', id: 'same' });
    expect(deadLetterRecordKey(valid)).toEqual({ kind: 'dispatch', id: 'd1' });
  });

  it('a record the watch can never write over needs an operator, never a silent wait or lost race', () => {
    expect(decide(valid, record('claimed', { claimedAt: secondsAgo(61) }))).toEqual({
      action: 'needs-operator',
      why: 'claim-without-token',
    });
    expect(decide(valid, record('weird'))).toEqual({ action: 'needs-operator', why: 'unknown-state' });
    expect(decide(valid, record('released', { historyMalformed: true }))).toEqual({ action: 'needs-operator', why: 'malformed-history' });
    expect(decide(valid, record('claimed', { claimedAt: secondsAgo(61), claimToken: 't', historyMalformed: true }))).toEqual({
      action: 'needs-operator',
      why: 'malformed-history',
    });
    // Within its lease a tokenless claim still waits (an attempt may be live); an end already recorded stays none.
    expect(decide(valid, record('claimed', { claimedAt: secondsAgo(30) })).action).toBe('wait');
    expect(decide(valid, record('sent', { historyMalformed: true })).action).toBe('none');
  });

  it('a rejected body the dispatcher moved before the watch (reason attribute, no original id) is already recorded: none', () => {
    const parse = parseDispatchMessage('not json');
    expect(decide({ messageId: 'copy', parse, rejectedByDispatcher: true }).action).toBe('none');
    // No reason attribute: SQS moved it after maxReceiveCount, the dispatcher never recorded it.
    expect(decide({ messageId: 'copy', parse }).action).toBe('record-rejected');
  });
});
