import { resolveConfig } from '../../../lambdas/core/config';
import { SendRefusedError, StoreUnavailableError } from '../../../lambdas/core/errors';
import { dispatchBatch } from '../../../lambdas/dispatcher/dispatch-batch';
import type { ClaimRequest, ClaimResult, Settlement, SnapshotKey } from '../../../lambdas/ports';
import { InMemoryDispatchLedger, RecordingMailSender } from '../../../local/in-memory-ports';
import { inMemoryBatchContext } from '../../support/batch-context';
import { sqsRecord } from '../../support/sqs-event';

const body = (dispatchId: string, memberId: string, to: string) =>
  JSON.stringify({ dispatchId, memberId, to, template: 'advice-nurse-reply', data: {} });

function context(ledger = new InMemoryDispatchLedger(), sender = new RecordingMailSender()) {
  ledger.members.set('M1', { memberId: 'M1', email: 'pat@example.org', status: 'active' });
  ledger.members.set('M2', { memberId: 'M2', email: 'lee@example.org', status: 'suspended' });
  const { ctx, outcome } = inMemoryBatchContext(ledger, sender);
  return { ctx, ledger, sender, outcome };
}

describe('dispatchBatch', () => {
  it.each([1, 10])(
    'decides each message of a batch from its own snapshot, even when two share a dispatchId (concurrency %i)',
    async (handlerConcurrency) => {
      const { ctx, sender, outcome } = context();
      const corrected = sqsRecord(body('d-shared', 'M1', 'pat@example.org'));
      const stale = sqsRecord(body('d-shared', 'M2', 'lee@example.org'));
      await dispatchBatch([corrected, stale], { ...ctx, config: resolveConfig({ fanInLimit: 3, handlerConcurrency }) });
      expect(outcome(corrected.messageId)).toMatchObject({ state: 'sent' });
      expect(sender.sent.map((m) => m.to)).toEqual(['pat@example.org']);
    },
  );

  it('12.1: never sends on a claim learnt from a read: a committed claim whose answer was lost is released and claimed afresh', async () => {
    const calls: string[] = [];
    class LostAnswerLedger extends InMemoryDispatchLedger {
      lose = 1;
      async readSnapshots(keys: readonly SnapshotKey[]) {
        calls.push('read');
        return super.readSnapshots(keys);
      }
      async claimAll(requests: readonly ClaimRequest[]): Promise<ClaimResult[]> {
        calls.push('claim');
        const results = await super.claimAll(requests);
        return this.lose-- > 0 ? requests.map(() => ({ claimed: false, unavailable: true })) : results;
      }
      async settle(dispatchId: string, claimToken: string, settlement: Settlement): Promise<void> {
        calls.push(`settle:${settlement.kind}`);
        return super.settle(dispatchId, claimToken, settlement);
      }
    }
    class CountingSender extends RecordingMailSender {
      async send(mail: Parameters<RecordingMailSender['send']>[0]) {
        calls.push('send');
        return super.send(mail);
      }
    }
    const { ctx, sender, outcome, ledger } = context(new LostAnswerLedger(), new CountingSender());
    const record = sqsRecord(body('d-lost', 'M1', 'pat@example.org'));
    const response = await dispatchBatch([record], ctx);
    expect(response.batchItemFailures).toEqual([]);
    expect(outcome(record.messageId)).toMatchObject({ state: 'sent' });
    expect(sender.sent).toHaveLength(1);
    // The send follows a claim's own answer, never the read that found the lost one.
    expect(calls.slice(0, 4)).toEqual(['read', 'claim', 'read', 'settle:released']);
    expect(calls.slice(-3)).toEqual(['claim', 'send', 'settle:sent']);
    expect(calls.filter((c) => c === 'send')).toHaveLength(1);
    expect(ledger.records.get('d-lost')?.state).toBe('sent');
  });

  it('retries releasing a refused send, so the next try sends it instead of a redelivery calling it in-doubt', async () => {
    class FlakySettleLedger extends InMemoryDispatchLedger {
      failures = 2;
      async settle(dispatchId: string, claimToken: string, settlement: Settlement): Promise<void> {
        if (settlement.kind === 'released' && this.failures-- > 0) throw new StoreUnavailableError('throttled');
        return super.settle(dispatchId, claimToken, settlement);
      }
    }
    let refuse = true;
    class RefusingOnceSender extends RecordingMailSender {
      async send(mail: Parameters<RecordingMailSender['send']>[0]) {
        if (refuse) {
          refuse = false;
          throw new SendRefusedError('throttled', 'throttled');
        }
        return super.send(mail);
      }
    }
    const { ctx, sender, outcome, ledger } = context(new FlakySettleLedger(), new RefusingOnceSender());
    const record = sqsRecord(body('d-refused', 'M1', 'pat@example.org'));
    // The release lands on its third try; then the next try claims afresh and sends.
    expect((await dispatchBatch([record], ctx)).batchItemFailures).toEqual([]);
    expect(outcome(record.messageId)).toMatchObject({ state: 'sent' });
    expect(ledger.records.get('d-refused')?.state).toBe('sent');
    expect(sender.sent).toHaveLength(1);
  });

  it('reports an outcome for every message when the store fails in a way it does not know', async () => {
    class BrokenLedger extends InMemoryDispatchLedger {
      async readSnapshots(): Promise<never> {
        throw new Error('AccessDeniedException');
      }
    }
    const { ctx, outcome } = context(new BrokenLedger());
    const records = [sqsRecord(body('d-a', 'M1', 'pat@example.org')), sqsRecord(body('d-b', 'M1', 'pat@example.org'))];
    const response = await dispatchBatch(records, ctx);
    expect(response.batchItemFailures).toHaveLength(2);
    for (const r of records) expect(outcome(r.messageId)).toEqual({ state: 'retry', reason: 'unexpected-error' });
  });
});
