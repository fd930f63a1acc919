import { join } from 'node:path';
import { SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { bundleForWorker } from '../../../local/bundle';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { EventSourcePoller, type EventSourcePollerOptions, type InvocationReport } from '../../../local/event-source-poller';
import { sqsWithBatchRules } from '../../support/sqs-batch-rules';

interface Seen {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly receiveCount: number;
  readonly started: number;
  readonly firstReceivedAt: number;
  readonly arn: string;
}

describe('EventSourcePoller', () => {
  let aws: EmbeddedAws;
  let bundlePath: string;
  let poller: EventSourcePoller | undefined;
  let seen: Seen[];
  let invocations: InvocationReport[];

  beforeAll(async () => {
    [aws, bundlePath] = await Promise.all([
      startEmbeddedAws({ config: { maxReceiveCount: 2 }, visibilityTimeoutSeconds: 1 }),
      bundleForWorker(join(__dirname, 'fixtures', 'scripted-handler.ts')),
    ]);
  });
  afterAll(async () => {
    await aws?.stop();
  });
  beforeEach(() => {
    seen = [];
    invocations = [];
  });
  afterEach(async () => {
    await poller?.stop();
    poller = undefined;
  });

  function startPoller(options: Partial<EventSourcePollerOptions> = {}): EventSourcePoller {
    poller = new EventSourcePoller({
      sqs: aws.clients.sqs,
      queueUrl: aws.queueUrl,
      queueArn: aws.queueArn,
      batchSize: 10,
      concurrency: 2,
      environment: { bundlePath, env: { ...process.env, ...aws.env }, onEmit: (message) => seen.push(message as Seen) },
      onInvocation: (invocation) => invocations.push(invocation),
      ...options,
    });
    poller.start();
    return poller;
  }

  async function publish(...scripts: object[]): Promise<string[]> {
    const ids: string[] = [];
    for (const script of scripts) {
      const { MessageId } = await aws.clients.sqs.send(
        new SendMessageCommand({ QueueUrl: aws.queueUrl, MessageBody: JSON.stringify(script) }),
      );
      ids.push(MessageId ?? '');
    }
    return ids;
  }

  async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  const queueEmpty = async () => (await aws.queueDepth()).total === 0 && poller?.busy.processing === 0;

  it('deletes the successes of a batch and redelivers its item failures after the visibility timeout', async () => {
    const [ok, flaky] = await publish({}, { failUntil: 2 });
    startPoller();
    await until(queueEmpty);
    expect(seen.filter((s) => s.messageId === ok).map((s) => s.receiveCount)).toEqual([1]);
    const flakySeen = seen.filter((s) => s.messageId === flaky);
    expect(flakySeen.map((s) => s.receiveCount)).toEqual([1, 2]);
    // From the first receive (the visibility timeout's start), not the first handler's start, which
    // a cold start under load delays (864 ms apart in one CI run at load 6).
    expect(flakySeen[1].started - flakySeen[0].firstReceivedAt).toBeGreaterThanOrEqual(950);
    const receiveToStart = flakySeen[0].started - flakySeen[0].firstReceivedAt;
    expect(receiveToStart).toBeGreaterThanOrEqual(0);
    expect(receiveToStart).toBeLessThan(5_000);
    expect(flakySeen[0].arn).toBe(aws.queueArn);
    expect(await aws.inspectQueue('mail-dispatch-dlq')).toEqual([]);
  });

  it('moves a message to the DLQ after maxReceiveCount receives, keeping its message id', async () => {
    const [doomed] = await publish({ failUntil: 99 });
    startPoller();
    await until(async () => (await aws.inspectQueue('mail-dispatch-dlq')).some((m) => m.messageId === doomed));
    await until(queueEmpty);
    expect(seen.filter((s) => s.messageId === doomed).map((s) => s.receiveCount)).toEqual([1, 2]);
  });

  it('fails the whole batch when the handler throws', async () => {
    const [thrower] = await publish({ throw: true, failUntil: 0 });
    startPoller({ batchSize: 1 });
    await until(() => seen.filter((s) => s.messageId === thrower).length >= 2);
    expect(invocations.filter((i) => i.messageIds.includes(thrower)).every((i) => i.result === 'error' && i.deleted.length === 0)).toBe(
      true,
    );
  });

  it('treats a crashed execution environment as a batch with no response and starts a new one', async () => {
    const [crasher, bystander] = await publish({ crashOnce: true }, { sleepMs: 1 });
    startPoller({ concurrency: 1 });
    await until(queueEmpty);
    const crashed = invocations.find((i) => i.result === 'crashed');
    expect(crashed?.deleted).toEqual([]);
    expect(seen.filter((s) => s.messageId === crasher).map((s) => s.receiveCount)).toEqual([1, 2]);
    expect(seen.some((s) => s.messageId === bystander)).toBe(true);
    expect(poller?.coldStarts).toBe(2);
  });

  it('stops receiving while disabled and resumes when enabled', async () => {
    const p = startPoller({ enabled: false });
    const [id] = await publish({});
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(seen).toEqual([]);
    expect((await aws.queueDepth()).visible).toBe(1);
    p.enable();
    await until(queueEmpty);
    expect(seen.map((s) => s.messageId)).toEqual([id]);
    p.disable();
    await until(() => p.busy.receiving === 0 && p.busy.processing === 0, 3000);
  });

  it('runs batches on two pollers at once', async () => {
    const entries = Array.from({ length: 10 }, (_, i) => ({ Id: String(i), MessageBody: JSON.stringify({ sleepMs: 400 }) }));
    await aws.clients.sqs.send(new SendMessageBatchCommand({ QueueUrl: aws.queueUrl, Entries: entries }));
    startPoller({ batchSize: 5 });
    await until(queueEmpty);
    expect(new Set(invocations.map((i) => i.poller))).toEqual(new Set([0, 1]));
    const [first, second] = invocations;
    expect(first.poller).not.toBe(second.poller);
    // The two invocations overlap in time.
    expect(Math.max(first.startedAt, second.startedAt)).toBeLessThan(
      Math.min(first.startedAt + first.durationMs, second.startedAt + second.durationMs),
    );
  });

  it('delivers a message twice, concurrently, when asked to duplicate it', async () => {
    let duplicates = 1;
    const [id] = await publish({ sleepMs: 200 });
    startPoller({ duplicateDelivery: () => duplicates-- > 0 });
    await until(queueEmpty);
    await until(() => invocations.length >= 2);
    expect(seen.filter((s) => s.messageId === id)).toHaveLength(2);
    expect(invocations.map((i) => i.duplicate).sort()).toEqual([false, true]);
  });

  it('deletes every success of a batch larger than 10, ten per DeleteMessageBatch as SQS requires', async () => {
    const entries = Array.from({ length: 10 }, (_, i) => ({ Id: String(i), MessageBody: '{}' }));
    for (let round = 0; round < 2; round++)
      await aws.clients.sqs.send(new SendMessageBatchCommand({ QueueUrl: aws.queueUrl, Entries: entries }));
    const sqs = sqsWithBatchRules({ region: aws.region, endpoint: aws.endpoints.sqs });
    const p = startPoller({ sqs, batchSize: 20, concurrency: 1 });
    await until(queueEmpty);
    expect(seen).toHaveLength(20);
    expect(seen.every((s) => s.receiveCount === 1)).toBe(true);
    expect(p.stats).toMatchObject({ deleted: 20, deleteFailed: 0 });
  });

  it('reports a delete SQS refused (the message comes back, as in Lambda) instead of swallowing it', async () => {
    let refusals = 1;
    const sqs = sqsWithBatchRules(
      { region: aws.region, endpoint: aws.endpoints.sqs },
      { refuseDelete: () => (refusals-- > 0 ? { code: 'ReceiptHandleIsInvalid', senderFault: true } : undefined) },
    );
    const [id] = await publish({});
    const p = startPoller({ sqs });
    await until(queueEmpty);
    expect(seen.filter((s) => s.messageId === id).map((s) => s.receiveCount)).toEqual([1, 2]);
    expect(invocations[0]).toMatchObject({ deleted: [], undeleted: [id] });
    expect(p.stats.deleteFailed).toBe(1);
  });

  it('delivers a duplicate as a standard queue does: a new receipt handle, receive count + 1, while the first is in flight', async () => {
    let duplicates = 1;
    const [id] = await publish({ sleepMs: 600 });
    startPoller({ duplicateDelivery: () => duplicates-- > 0 });
    await until(queueEmpty);
    await until(() => invocations.length >= 2);
    const all = seen.filter((s) => s.messageId === id).sort((a, b) => a.started - b.started);
    const copies = all.slice(0, 2);
    expect(copies.map((c) => c.receiveCount)).toEqual([1, 2]);
    expect(copies[0].receiptHandle).not.toBe(copies[1].receiptHandle);
    // The second copy started while the first was still being handled (it sleeps 600 ms).
    expect(copies[1].started).toBeGreaterThan(copies[0].started);
    expect(copies[1].started - copies[0].started).toBeLessThan(600);
    // Either receipt handle deletes the message: it is gone. On a loaded machine the 600 ms handler
    // plus the delete can outlast this queue's 1 s visibility timeout, and SQS then delivers it once
    // more, as it would: any later receive is such a redelivery, after the timeout, never a third copy.
    for (const later of all.slice(2)) expect(later.started - copies[0].started).toBeGreaterThanOrEqual(900);
  });
});
