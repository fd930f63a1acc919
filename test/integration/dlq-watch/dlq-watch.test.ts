import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import { redriveDeadLetters } from '../../../cli/src/ops/redrive';
import type { OutcomeEventEnvelope } from '../../../lambdas/core/outcome-event';
import { DynamoDbDeadLetterLedger } from '../../../lambdas/adapters/dynamodb-dead-letter-ledger';
import { DlqWatchError } from '../../../lambdas/dlq-watch/handler';
import { LocalPipeline } from '../../../local/local-pipeline';
import { ledgerRecord, message, publish, putMembers } from '../local/helpers';

/**
 * Issue 14, "zero silent failures": a message that reaches the DLQ with no end in the ledger (the
 * dispatcher could not record anything on any receive, its failed-end write included) gets one
 * `failed(dead-lettered)` record from the DLQ watch, so exactly one outcome event, and stays in the
 * DLQ; a claim left by a crash is never called failed; a second sweep changes nothing; a redrive
 * then sends it and `sent` follows. The real handlers on the embedded emulators (local pipeline).
 */
jest.setTimeout(240_000);

let pipeline: LocalPipeline;
const events: OutcomeEventEnvelope['detail'][] = [];

beforeAll(async () => {
  pipeline = await LocalPipeline.start({ config: { maxReceiveCount: 2, fanInLimit: 3 }, concurrency: 1 });
  await putMembers(pipeline, [
    { memberId: 'W1', email: 'w1@example.org' },
    { memberId: 'W2', email: 'w2@example.org' },
  ]);
});
afterAll(async () => pipeline?.stop());

async function dlqDepth(): Promise<number> {
  const { Attributes } = await pipeline.aws.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: pipeline.aws.dlqUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

async function newEvents(dispatchId: string): Promise<string[]> {
  const received = (await pipeline.receiveOutcomeEvents()).map((e) => e.detail);
  events.push(...received);
  return received.filter((e) => e.dispatchId === dispatchId).map((e) => `${e.event}${e.reason ? `(${e.reason})` : ''}`);
}

describe('the DLQ watch', () => {
  it('14: a message dead-lettered with no recorded end gets exactly one failed(dead-lettered) event and stays in the DLQ', async () => {
    // Every DynamoDB call of the dispatcher is throttled on every receive: it can record nothing,
    // its failed-end write on the last receive included (recordFailedEnd refused).
    pipeline.faults.arm({ target: 'dynamodb', kind: 'throttle', times: 100_000 });
    await publish(pipeline, [message('dlq-1', 'W1', 'w1@example.org')]);
    await pipeline.drain(120);
    pipeline.faults.clear();
    expect(pipeline.faults.fired()['dynamodb:throttle']).toBeGreaterThan(0);

    const record = await ledgerRecord(pipeline, 'dlq-1');
    expect(record).toMatchObject({ state: 'failed', reason: 'dead-lettered', memberId: 'W1', template: 'advice-nurse-reply' });
    expect(record?.history).toHaveLength(1);
    expect(await newEvents('dlq-1')).toEqual(['failed(dead-lettered)']);
    expect(await dlqDepth()).toBe(1);
  });

  it('14: a second sweep (a replay) changes nothing and publishes nothing', async () => {
    const before = await ledgerRecord(pipeline, 'dlq-1');
    const summary = await pipeline.watchDeadLetters();
    expect(summary).toMatchObject({ peeked: 1, unchanged: 1, recordedFailed: 0, markedInDoubt: 0, errors: 0 });
    expect(await ledgerRecord(pipeline, 'dlq-1')).toEqual(before);
    expect(await newEvents('dlq-1')).toEqual([]);
    expect(await dlqDepth()).toBe(1);
  });

  it('14: a claim left by a crash between claim and send is never marked failed: it waits for its lease, then becomes in-doubt', async () => {
    // The attempt died after its claim committed (it may have sent: nothing can tell): its claim stays.
    const at = pipeline.clock.now().toISOString();
    await pipeline.aws.clients.dynamodb.send(
      new PutItemCommand({
        TableName: pipeline.aws.tables.ledger,
        Item: marshall({
          pk: 'dlq-2',
          dispatchId: 'dlq-2',
          memberId: 'W2',
          template: 'advice-nurse-reply',
          state: 'claimed',
          claimToken: 'crashed-attempt',
          claimedAt: at,
          updatedAt: at,
          history: [{ state: 'claimed', at, sqsMessageId: 'crashed-delivery' }],
        }),
      }),
    );
    await publish(pipeline, [message('dlq-2', 'W2', 'w2@example.org')]);
    // Every receive finds the claim live (claim-in-flight); the last one's failed end is refused over a claim.
    await pipeline.drain(120);
    expect(await dlqDepth()).toBe(2);
    expect((await ledgerRecord(pipeline, 'dlq-2'))?.state).toBe('claimed');
    expect(await newEvents('dlq-2')).toEqual([]);

    // Past the lease (60 s) the claim is provably dead: the dispatcher's own rule (12.7) makes it in-doubt.
    pipeline.clock.advance(120);
    const summary = await pipeline.watchDeadLetters();
    expect(summary).toMatchObject({ peeked: 2, markedInDoubt: 1, unchanged: 1, recordedFailed: 0 });
    expect((await ledgerRecord(pipeline, 'dlq-2'))?.state).toBe('in-doubt');
    expect(await newEvents('dlq-2')).toEqual(['in-doubt']);
    expect((await pipeline.watchDeadLetters()).markedInDoubt).toBe(0);
    expect(await newEvents('dlq-2')).toEqual([]);
  });

  it('14: a redrive then sends the failed one (failed is claimable) and its sent event follows; the in-doubt one is not re-sent', async () => {
    const result = await redriveDeadLetters(pipeline.opsTarget);
    expect(result.moved).toBe(2);
    await pipeline.drain(120);
    expect((await ledgerRecord(pipeline, 'dlq-1'))?.state).toBe('sent');
    expect(await newEvents('dlq-1')).toEqual(['sent']);
    expect((await ledgerRecord(pipeline, 'dlq-2'))?.state).toBe('in-doubt');
    const all = events.filter((e) => e.dispatchId === 'dlq-1').map((e) => e.event);
    expect(all).toEqual(['failed', 'sent']);
    const sent = (await pipeline.aws.sesStore()).map((e) => e.body.text ?? '');
    expect(sent.filter((text) => text.includes('dlq-1'))).toHaveLength(1);
    expect(sent.filter((text) => text.includes('dlq-2'))).toHaveLength(0);
  });

  it('14: concurrent sweeps write one end: of many writes conditioned on the same version, exactly one lands', async () => {
    const ledger = new DynamoDbDeadLetterLedger({ ledgerTable: pipeline.aws.tables.ledger, client: pipeline.aws.clients.dynamodb });
    const end = { reason: 'dead-lettered' as const, dispatchId: 'dlq-3', memberId: 'W1', template: 'advice-nurse-reply', now: new Date() };
    const seen = await ledger.read({ kind: 'dispatch', id: 'dlq-3' });
    expect(seen).toBeUndefined();
    const written = await Promise.all(Array.from({ length: 6 }, (_, i) => ledger.recordFailed({ ...end, sqsMessageId: `m${i}` }, seen)));
    expect(written.filter(Boolean)).toHaveLength(1);
    const after = await ledger.read({ kind: 'dispatch', id: 'dlq-3' });
    expect(after).toMatchObject({ state: 'failed', historyLength: 1 });
    // A version read before a claim landed is stale: the write over it is refused, the claim stays.
    await pipeline.aws.clients.dynamodb.send(
      new PutItemCommand({
        TableName: pipeline.aws.tables.ledger,
        Item: marshall({ pk: 'dlq-3', state: 'claimed', claimToken: 't', history: [{ state: 'failed' }, { state: 'claimed' }] }),
      }),
    );
    expect(await ledger.recordFailed({ ...end, sqsMessageId: 'late' }, after)).toBe(false);
    expect((await ledger.read({ kind: 'dispatch', id: 'dlq-3' }))?.state).toBe('claimed');
  });
});

describe('the DLQ watch after an upgrade', () => {
  it('14 review: a rejected body the dispatcher moved before the watch (no original message id) gets no second rejected end', async () => {
    // What the pre-watch dispatcher left: it recorded rejected#<original id>, then moved the body with
    // only the reason (and field, dispatchId) attributes; the copy has a new id and no mailDispatchRejectedMessageId.
    const reason = (value: string) => ({ DataType: 'String', StringValue: value });
    await pipeline.aws.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: pipeline.aws.dlqUrl,
        MessageBody: '{"dispatchId":"pre-watch-1","memberId":"W1"}',
        MessageAttributes: { mailDispatchRejectReason: reason('invalid-message'), mailDispatchDispatchId: reason('pre-watch-1') },
      }),
    );
    await newEvents('pre-watch-1');
    const summary = await pipeline.watchDeadLetters();
    expect(summary.recordedRejected).toBe(0);
    expect(summary.errors).toBe(0);
    await pipeline.drain(5);
    expect(await newEvents('pre-watch-1')).toEqual([]);
  });
});

describe('the DLQ watch and a record it cannot write over', () => {
  it('14 review: a released record whose history is not a list fails every sweep (DlqWatchErrors), never a lost race', async () => {
    await pipeline.aws.clients.dynamodb.send(
      new PutItemCommand({
        TableName: pipeline.aws.tables.ledger,
        Item: marshall({ pk: 'odd-1', dispatchId: 'odd-1', memberId: 'W1', state: 'released', history: 'not a list' }),
      }),
    );
    await pipeline.aws.clients.sqs.send(
      new SendMessageCommand({ QueueUrl: pipeline.aws.dlqUrl, MessageBody: JSON.stringify(message('odd-1', 'W1', 'w1@example.org')) }),
    );
    for (let sweep = 0; sweep < 2; sweep++) {
      const error = await pipeline.watchDeadLetters().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DlqWatchError);
      expect((error as DlqWatchError).summary).toMatchObject({ errors: 1, lostRace: 0 });
    }
    expect(await ledgerRecord(pipeline, 'odd-1')).toMatchObject({ state: 'released', history: 'not a list' });
  });
});
