import fc from 'fast-check';
import { parseOutcomeEvent } from '../../../lambdas/core/outcome-event';
import { mapLedgerChange, type LedgerImage } from '../../../lambdas/outcome-publisher/map-ledger-change';

const claimed = { state: 'claimed', at: '2000-08-02T09:00:00.000Z', sqsMessageId: 'sqs-1' };
const base = {
  pk: 'd1',
  dispatchId: 'd1',
  memberId: 'M1',
  toHash: '0123456789abcdef0123456789abcdef',
  template: 'advice-nurse-reply',
  claimedAt: '2000-08-02T09:00:00.000Z',
};
const record = (state: string, ...history: Record<string, unknown>[]): LedgerImage => ({ ...base, state, history });

describe('mapLedgerChange', () => {
  it.each([
    ['a claim (an attempt starting) is not published', undefined, record('claimed', claimed), []],
    [
      'claimed -> sent is `sent`, version 2',
      record('claimed', claimed),
      record('sent', claimed, { state: 'sent', at: '2000-08-02T09:00:01.000Z' }),
      [{ event: 'sent', version: 2, outcomeId: 'd1#v2' }],
    ],
    [
      'a release is not published',
      record('claimed', claimed),
      record('released', claimed, { state: 'released', reason: 'ses-throttled', at: 'x' }),
      [],
    ],
    [
      'blocked carries its reason and the SQS message',
      undefined,
      record('blocked', { state: 'blocked', reason: 'recipient-mismatch', at: '2000-08-02T09:00:00.000Z', sqsMessageId: 'sqs-1' }),
      [{ event: 'blocked', reason: 'recipient-mismatch', sqsMessageId: 'sqs-1', version: 1 }],
    ],
    [
      'a rejected body without a dispatchId has dispatchId null',
      undefined,
      {
        pk: 'rejected#sqs-9',
        state: 'rejected',
        reason: 'invalid-json',
        history: [{ state: 'rejected', reason: 'invalid-json', at: '2000-08-02T09:00:00.000Z', sqsMessageId: 'sqs-9' }],
      },
      [{ dispatchId: null, memberId: null, event: 'rejected', reason: 'invalid-json', outcomeId: 'rejected#sqs-9#v1' }],
    ],
    [
      'a permanent bounce: reason permanent, SES sub-type, SES time and record time',
      record('sent', claimed, { state: 'sent', at: 'a' }),
      record(
        'sent',
        claimed,
        { state: 'sent', at: 'a' },
        {
          fate: 'bounced',
          bounceType: 'permanent',
          bounceSubType: 'NoEmail',
          at: '2000-08-02T09:05:00.000Z',
          recordedAt: '2000-08-02T09:05:02.000Z',
        },
      ),
      [
        {
          event: 'bounced',
          reason: 'permanent',
          bounceSubType: 'NoEmail',
          at: '2000-08-02T09:05:00.000Z',
          recordedAt: '2000-08-02T09:05:02.000Z',
          version: 3,
        },
      ],
    ],
    [
      'an entry kind added later (a recipient report) is published under its own name',
      record('sent', claimed),
      record('sent', claimed, { event: 'reported-not-mine', at: '2000-08-02T10:00:00.000Z' }),
      [{ event: 'reported-not-mine', version: 2 }],
    ],
    [
      'two entries in one write are two versions',
      undefined,
      record('sent', claimed, { state: 'sent', at: '2000-08-02T09:00:01.000Z' }, { fate: 'delivered', at: '2000-08-02T09:00:02.000Z' }),
      [
        { event: 'sent', version: 2 },
        { event: 'delivered', version: 3 },
      ],
    ],
    ['a write that appends nothing (a transient-bounce counter, TTL) is no event', record('sent', claimed), record('sent', claimed), []],
    ['a fan-in counter is not a dispatch record', undefined, { pk: 'fanin#abc#1', members: new Set(['M1']) }, []],
    ['the pause flag is not a dispatch record', undefined, { pk: 'control#pause', paused: true, reason: 'alarm' }, []],
    ['a deleted record is no event', record('sent', claimed), undefined, []],
  ])('%s', (_name, before, after, expected) => {
    const { events } = mapLedgerChange(before as LedgerImage | undefined, after as LedgerImage | undefined);
    expect(events).toHaveLength(expected.length);
    expected.forEach((want, i) => expect(events[i]).toMatchObject(want));
    for (const event of events) expect(parseOutcomeEvent(event)).toEqual({ ok: true, event });
  });

  it('carries the template and times, never the address hash, the SES message id or template data', () => {
    const { events } = mapLedgerChange(undefined, {
      ...record('sent', claimed, { state: 'sent', at: '2000-08-02T09:00:01.000Z' }),
      sesMessageId: 'ses-1',
      sentAt: '2000-08-02T09:00:01.000Z',
      data: { firstName: 'Pat' },
    });
    expect(events[0]).toEqual({
      schemaVersion: 1,
      outcomeId: 'd1#v2',
      version: 2,
      dispatchId: 'd1',
      memberId: 'M1',
      event: 'sent',
      at: '2000-08-02T09:00:01.000Z',
      template: 'advice-nurse-reply',
      claimedAt: '2000-08-02T09:00:00.000Z',
      sentAt: '2000-08-02T09:00:01.000Z',
    });
  });

  it('drops an optional value that is not identifier-like, and counts an entry that cannot be an event', () => {
    const { events, unmapped } = mapLedgerChange(
      undefined,
      record(
        'blocked',
        { state: 'blocked', reason: 'pat@example.org', at: '2000-08-02T09:00:00.000Z' },
        { state: 'sent', at: 'yesterday' },
        { state: 42 },
      ),
    );
    expect(events).toHaveLength(1);
    expect(events[0]).not.toHaveProperty('reason');
    expect(unmapped).toBe(2);
  });

  it('never lets an `@` or a hash-like value into an event, whatever the ledger holds', () => {
    const text = fc.oneof(
      fc.string(),
      fc.emailAddress(),
      fc.constant('0123456789abcdef0123456789abcdef'),
      fc.constant('2000-08-02T09:00:00.000Z'),
    );
    const entry = fc.record(
      {
        state: fc.oneof(fc.constantFrom('sent', 'blocked', 'rejected', 'failed', 'in-doubt', 'duplicate'), text),
        fate: fc.option(text, { nil: undefined }),
        at: text,
        reason: text,
        sqsMessageId: text,
        bounceSubType: text,
        field: text,
        recordedAt: text,
      },
      { requiredKeys: ['state', 'at'] },
    );
    fc.assert(
      // memberId and dispatchId are the portal's own identifiers (whatever they look like); the rest comes from the ledger.
      fc.property(
        fc.array(entry, { maxLength: 5 }),
        fc.oneof(fc.constant('M1'), fc.emailAddress()),
        fc.oneof(fc.constant('d1'), fc.emailAddress()),
        (history, memberId, dispatchId) => {
          const { events } = mapLedgerChange(undefined, {
            pk: 'd1',
            dispatchId,
            memberId,
            toHash: '0123456789abcdef0123456789abcdef',
            to: 'pat@example.org',
            state: 'sent',
            template: text,
            history,
          });
          for (const event of events) {
            const json = JSON.stringify(event);
            expect(json).not.toContain('@');
            expect(json).not.toMatch(/[0-9a-f]{32}/);
          }
        },
      ),
    );
  });
});
