import { DlqWatchError, createDlqWatchHandler } from '../../../lambdas/dlq-watch/handler';
import type { DeadLetterLedger, DeadLetterQueue, PeekedDeadLetter } from '../../../lambdas/ports';

const body = (dispatchId: string) =>
  JSON.stringify({ dispatchId, memberId: 'M1', to: 'pat@example.org', template: 'advice-nurse-reply', data: {} });

/** A DLQ of fixed messages: each peek hands out the next ten not yet peeked, as hidden messages are not received again. */
function queueOf(messages: PeekedDeadLetter[]) {
  const released: string[] = [];
  let next = 0;
  const queue: DeadLetterQueue = {
    peek: async () => messages.slice(next, (next += 10)),
    release: async (peeked) => void released.push(...peeked.map((m) => m.messageId)),
  };
  return { queue, released };
}

const lines: { message: string; fields: Record<string, unknown> }[] = [];
const logger = { info: () => undefined, warn: (message: string, fields: Record<string, unknown>) => void lines.push({ message, fields }) };

describe('createDlqWatchHandler', () => {
  it('fails the invocation (DlqWatchErrors) when a message could not be handled, after handling the rest and releasing every one', async () => {
    const messages = Array.from({ length: 12 }, (_, i) => ({ messageId: `m${i}`, body: body(`d${i}`), receiptHandle: `r${i}` }));
    const { queue, released } = queueOf(messages);
    const failed: string[] = [];
    const ledger: DeadLetterLedger = {
      read: async ({ id }) => {
        if (id === 'd3') throw Object.assign(new Error('throttled'), { name: 'StoreUnavailableError' });
        return undefined;
      },
      recordFailed: async (end) => (failed.push(end.dispatchId), true),
      recordRejected: async () => true,
      markInDoubt: async () => true,
    };
    const handler = createDlqWatchHandler({ queue, ledger, claimLeaseSeconds: 60, now: () => new Date(), logger });
    const error = await handler().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DlqWatchError);
    expect((error as DlqWatchError).summary).toMatchObject({ peeked: 12, recordedFailed: 11, errors: 1 });
    expect(failed).toHaveLength(11);
    expect(released.sort()).toEqual(messages.map((m) => m.messageId).sort());
    const notHandled = lines.find((l) => l.message.includes('not handled'));
    expect(notHandled?.fields).toEqual({ dispatchId: 'd3', memberId: 'M1', sqsMessageId: 'm3', errorName: 'StoreUnavailableError' });
    expect(JSON.stringify(lines)).not.toContain('@');
  });

  it('releases what it peeked even when the peek itself fails midway', async () => {
    const released: string[] = [];
    let calls = 0;
    const queue: DeadLetterQueue = {
      peek: async () => {
        if (calls++ > 0) throw new Error('SQS peek of the DLQ failed (ServiceUnavailable)');
        return [{ messageId: 'm0', body: body('d0'), receiptHandle: 'r0' }];
      },
      release: async (peeked) => void released.push(...peeked.map((m) => m.messageId)),
    };
    const ledger: DeadLetterLedger = {
      read: async () => ({ state: 'sent', historyLength: 2 }),
      recordFailed: async () => true,
      recordRejected: async () => true,
      markInDoubt: async () => true,
    };
    const handler = createDlqWatchHandler({ queue, ledger, claimLeaseSeconds: 60, now: () => new Date(), logger });
    await expect(handler()).rejects.toThrow(/peek/);
    expect(released).toEqual(['m0']);
  });

  it('emits the InDoubt and Failed metrics the dispatcher would for the ends it writes, so the InDoubt alarm pages', async () => {
    const old = new Date(Date.now() - 3_600_000).toISOString();
    const messages = ['d0', 'd1', 'd2'].map((d, i) => ({ messageId: `m${i}`, body: body(d), receiptHandle: `r${i}` }));
    const { queue } = queueOf(messages);
    const ledger: DeadLetterLedger = {
      read: async ({ id }) => (id === 'd0' ? undefined : { state: 'claimed', claimedAt: old, claimToken: `t-${id}`, historyLength: 1 }),
      recordFailed: async () => true,
      recordRejected: async () => true,
      markInDoubt: async () => true,
    };
    const counted: { name: string; count: number; reason?: string }[] = [];
    const countMetric = (name: string, count: number, reason?: string) => void counted.push({ name, count, ...(reason ? { reason } : {}) });
    const handler = createDlqWatchHandler({ queue, ledger, claimLeaseSeconds: 60, now: () => new Date(), logger, countMetric });
    await expect(handler()).resolves.toMatchObject({ recordedFailed: 1, markedInDoubt: 2 });
    expect(counted).toEqual(
      expect.arrayContaining([
        { name: 'InDoubt', count: 2 },
        { name: 'Failed', count: 1 },
        { name: 'Failed', count: 1, reason: 'dead-lettered' },
      ]),
    );
    expect(JSON.stringify(counted)).not.toContain('@');
  });

  it('a claimed record with no claimToken past its lease fails the invocation (DlqWatchErrors), logging the dispatchId only', async () => {
    lines.length = 0;
    const old = new Date(Date.now() - 3_600_000).toISOString();
    const { queue } = queueOf([{ messageId: 'm0', body: body('d0'), receiptHandle: 'r0' }]);
    const inDoubt: string[] = [];
    const ledger: DeadLetterLedger = {
      read: async () => ({ state: 'claimed', claimedAt: old, historyLength: 1 }),
      recordFailed: async () => true,
      recordRejected: async () => true,
      markInDoubt: async (id) => (inDoubt.push(id), false),
    };
    const handler = createDlqWatchHandler({ queue, ledger, claimLeaseSeconds: 60, now: () => new Date(), logger });
    const error = await handler().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DlqWatchError);
    expect((error as DlqWatchError).summary).toMatchObject({ peeked: 1, errors: 1, lostRace: 0, waiting: 0 });
    expect(inDoubt).toEqual([]);
    const line = lines.find((l) => l.message.includes('operator'));
    expect(line?.fields).toEqual({ dispatchId: 'd0', why: 'claim-without-token' });
  });
});
