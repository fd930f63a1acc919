import { resolveConfig } from '../../../lambdas/core/config';
import { dispatchBatch } from '../../../lambdas/dispatcher/dispatch-batch';
import { PendingSettles } from '../../../lambdas/dispatcher/pending-settles';
import type { ClaimRequest, ClaimResult, Settlement } from '../../../lambdas/ports';
import { InMemoryDispatchLedger, RecordingMailSender } from '../../../local/in-memory-ports';
import { inMemoryBatchContext } from '../../support/batch-context';
import { sqsRecord } from '../../support/sqs-event';

const body = (dispatchId: string, memberId: string, to: string) =>
  JSON.stringify({ dispatchId, memberId, to, template: 'advice-nurse-reply', data: {} });

/** A ledger whose `sent` writes answer only when the test says so; every call is logged in order. */
class HeldSentLedger extends InMemoryDispatchLedger {
  readonly log: string[] = [];
  readonly held: { dispatchId: string; release: () => void }[] = [];
  holdSent = true;
  async claimAll(requests: readonly ClaimRequest[]): Promise<ClaimResult[]> {
    this.log.push(`claim ${requests[0].message.dispatchId}`);
    return super.claimAll(requests);
  }
  async settle(dispatchId: string, claimToken: string, settlement: Settlement): Promise<void> {
    this.log.push(`settle ${dispatchId} ${settlement.kind}`);
    if (settlement.kind === 'sent' && this.holdSent) {
      await new Promise<void>((release) => this.held.push({ dispatchId, release }));
    }
    await super.settle(dispatchId, claimToken, settlement);
    this.log.push(`settled ${dispatchId} ${settlement.kind}`);
  }
}

function setup() {
  const ledger = new HeldSentLedger();
  for (const n of [1, 2, 3]) ledger.members.set(`M${n}`, { memberId: `M${n}`, email: `m${n}@example.org`, status: 'active' });
  const sender = new RecordingMailSender();
  const { ctx, outcome } = inMemoryBatchContext(ledger, sender);
  return { ledger, sender, ctx, outcome };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await tick();
  expect(condition()).toBe(true);
}

describe('PendingSettles: a sent write runs beside the next claim (issue 17)', () => {
  it("the next message claims and sends while the last one's sent write is in flight, and the batch answers only after every write", async () => {
    const { ledger, sender, ctx, outcome } = setup();
    const records = [1, 2].map((n) => sqsRecord(body(`d${n}`, `M${n}`, `m${n}@example.org`)));
    let answered = false;
    const batch = dispatchBatch(records, ctx).then((r) => {
      answered = true;
      return r;
    });
    await until(() => sender.sent.length === 2);
    // d2 was claimed and sent while d1's `sent` write had not answered.
    expect(ledger.log.slice(0, 4)).toEqual(['claim d1', 'settle d1 sent', 'claim d2', 'settle d2 sent']);
    expect(ledger.records.get('d1')?.state).toBe('claimed');
    await tick();
    expect(answered).toBe(false);
    ledger.held.splice(0).forEach((h) => h.release());
    const response = await batch;
    expect(response.batchItemFailures).toEqual([]);
    expect([ledger.records.get('d1')?.state, ledger.records.get('d2')?.state]).toEqual(['sent', 'sent']);
    expect(records.map((r) => outcome(r.messageId)?.state)).toEqual(['sent', 'sent']);
  });

  it('at most one sent write is outstanding when a claim begins: the third claim waits for the first write', async () => {
    const { ledger, sender, ctx } = setup();
    const records = [1, 2, 3].map((n) => sqsRecord(body(`d${n}`, `M${n}`, `m${n}@example.org`)));
    const batch = dispatchBatch(records, ctx);
    await until(() => sender.sent.length === 2);
    for (let i = 0; i < 20; i++) await tick();
    expect(ledger.log).not.toContain('claim d3');
    ledger.held.shift()?.release();
    await until(() => sender.sent.length === 3);
    expect(ledger.log.indexOf('settled d1 sent')).toBeLessThan(ledger.log.indexOf('claim d3'));
    ledger.holdSent = false;
    ledger.held.splice(0).forEach((h) => h.release());
    await batch;
    expect(sender.sent.map((m) => m.to)).toEqual(['m1@example.org', 'm2@example.org', 'm3@example.org']);
  });

  it('a second copy of a dispatchId claims only after its sent write answered, and ends duplicate as if the writes were awaited', async () => {
    const { ledger, sender, ctx, outcome } = setup();
    const first = sqsRecord(body('d-same', 'M1', 'm1@example.org'));
    const copy = sqsRecord(body('d-same', 'M1', 'm1@example.org'));
    const batch = dispatchBatch([first, copy], ctx);
    await until(() => sender.sent.length === 1);
    for (let i = 0; i < 20; i++) await tick();
    expect(ledger.log.filter((l) => l === 'claim d-same')).toHaveLength(1);
    ledger.held.splice(0).forEach((h) => h.release());
    await batch;
    expect(sender.sent).toHaveLength(1);
    expect(outcome(first.messageId)?.state).toBe('sent');
    expect(outcome(copy.messageId)?.state).toBe('duplicate');
  });

  it('a sent write that fails leaves the claim (in-doubt later, reconciled by the Send event): the outcome is sent and nothing is sent again', async () => {
    const { ledger, sender, ctx, outcome } = setup();
    ledger.holdSent = false;
    ledger.settle = async () => {
      throw new Error('store gone');
    };
    const record = sqsRecord(body('d1', 'M1', 'm1@example.org'));
    const response = await dispatchBatch([record], ctx);
    expect(response.batchItemFailures).toEqual([]);
    expect(outcome(record.messageId)?.state).toBe('sent');
    expect(ledger.records.get('d1')?.state).toBe('claimed');
    expect(sender.sent).toHaveLength(1);
  });

  it('a write that rejects all the same neither fails the next claim nor the drain', async () => {
    const settles = new PendingSettles();
    settles.add('a', Promise.reject(new Error('not quiet after all')));
    settles.add('b', Promise.resolve());
    await expect(settles.beforeClaim('a')).resolves.toBeUndefined();
    await expect(settles.drain()).resolves.toBeUndefined();
  });

  it('with more than one message in flight the writes are awaited in place (the lanes already overlap)', async () => {
    const { ledger, sender, ctx } = setup();
    ledger.holdSent = false;
    const records = [1, 2, 3].map((n) => sqsRecord(body(`d${n}`, `M${n}`, `m${n}@example.org`)));
    await dispatchBatch(records, { ...ctx, config: resolveConfig({ fanInLimit: 3, handlerConcurrency: 2 }) });
    expect(sender.sent).toHaveLength(3);
    expect([1, 2, 3].map((n) => ledger.records.get(`d${n}`)?.state)).toEqual(['sent', 'sent', 'sent']);
  });

  it('drain waits for writes added while it waits; beforeClaim with nothing outstanding does not wait', async () => {
    const settles = new PendingSettles();
    await settles.beforeClaim('x');
    let releaseA!: () => void;
    let releaseB!: () => void;
    settles.add('a', new Promise<void>((r) => (releaseA = r)));
    const drained = settles.drain().then(() => 'drained');
    settles.add('b', new Promise<void>((r) => (releaseB = r)));
    releaseA();
    await tick();
    expect(settles.outstanding).toBe(1);
    releaseB();
    await expect(drained).resolves.toBe('drained');
    expect(settles.outstanding).toBe(0);
  });
});
