import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { MAX_BODY_BYTES, parseDispatchMessage } from '../../../lambdas/core/message';
import { publishDispatch, publishDispatches, type PublishResult } from '../../../publisher/index';
import { startSqsSesEmulators, type SqsSesEmulators } from '../../../local/sqs-ses-emulators';

jest.setTimeout(60_000);

let emulators: SqsSesEmulators;
let sqs: SQSClient;
let queueCount = 0;

beforeAll(async () => {
  emulators = await startSqsSesEmulators();
  sqs = new SQSClient({ region: 'us-east-1', endpoint: emulators.sqsEndpoint, credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
});
afterAll(async () => {
  sqs?.destroy();
  await emulators?.stop();
});

async function freshQueue(): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `publisher-${++queueCount}` }));
  return QueueUrl as string;
}

/** Every message in the queue, received once and deleted. */
async function drain(queueUrl: string): Promise<{ messageId: string; body: string }[]> {
  const seen: { messageId: string; body: string }[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) return seen;
    seen.push(...Messages.map((m) => ({ messageId: m.MessageId as string, body: m.Body as string })));
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
}

/** An SQS client on the emulator whose SendMessageBatch calls are recorded, and optionally tampered with. */
function instrumentedClient(tamper?: (entries: { Id: string }[], call: number) => { drop: string[]; senderFault: boolean } | undefined) {
  const client = new SQSClient({
    region: 'us-east-1',
    endpoint: emulators.sqsEndpoint,
    credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
  });
  const calls: { Id: string; MessageBody: string }[][] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const input = (args as { input: SendMessageBatchCommand['input'] }).input;
      if (!input.Entries) return next(args);
      const entries = input.Entries as { Id: string; MessageBody: string }[];
      calls.push(entries);
      const fault = tamper?.(entries, calls.length);
      if (!fault) return next(args);
      // The dropped entries never reach SQS and come back as SQS would report its own failure.
      const kept = entries.filter((e) => !fault.drop.includes(e.Id));
      const result =
        kept.length > 0
          ? await next({ ...args, input: { ...input, Entries: kept } })
          : ({ output: { Successful: [], Failed: [], $metadata: {} } } as unknown as Awaited<ReturnType<typeof next>>);
      const output = result.output as { Failed?: unknown[] };
      output.Failed = [
        ...(output.Failed ?? []),
        ...fault.drop.map((Id) => ({
          Id,
          SenderFault: fault.senderFault,
          Code: fault.senderFault ? 'InvalidParameterValue' : 'InternalError',
        })),
      ];
      return result;
    },
    { step: 'initialize' },
  );
  return { client, calls };
}

const message = (i: number, patch: Record<string, unknown> = {}) => ({
  dispatchId: `pub-${i}`,
  memberId: `M${i}`,
  to: `member${i}@example.org`,
  template: 'advice-nurse-reply' as const,
  data: { firstName: `Pat ${i}` },
  ...patch,
});

describe('publishDispatches (on the SQS emulator)', () => {
  it('sends 25 messages in batches of ten, each body the one the dispatcher parses', async () => {
    const queueUrl = await freshQueue();
    const { client, calls } = instrumentedClient();
    const messages = Array.from({ length: 25 }, (_, i) => message(i));
    const results = await publishDispatches(messages, { queueUrl, client });
    expect(calls.map((c) => c.length).sort()).toEqual([10, 10, 5]);
    expect(results.map((r) => r.ok && r.dispatchId)).toEqual(messages.map((m) => m.dispatchId));
    const received = await drain(queueUrl);
    expect(received).toHaveLength(25);
    const byId = new Map(received.map((m) => [m.messageId, m.body]));
    for (const [i, result] of results.entries()) {
      if (!result.ok) throw new Error('expected every message accepted');
      const parsed = parseDispatchMessage(byId.get(result.messageId) as string);
      expect(parsed).toMatchObject({ ok: true, message: { dispatchId: messages[i]?.dispatchId, to: messages[i]?.to } });
    }
    client.destroy();
  });

  it('keeps each SendMessageBatch within the 256 KiB payload limit', async () => {
    const queueUrl = await freshQueue();
    const { client, calls } = instrumentedClient();
    // Bodies near 100 KiB: a dispatchId is at most 128 characters, so the bulk is in a long (valid) requestedAt fraction.
    const big = (i: number) => message(i, { requestedAt: `2000-08-02T09:00:00.${'1'.repeat(100_000)}Z` });
    const results = await publishDispatches([big(0), big(1), big(2), message(3)], { queueUrl, client });
    expect(results.every((r) => r.ok)).toBe(true);
    expect(calls.map((c) => c.reduce((sum, e) => sum + Buffer.byteLength(e.MessageBody), 0)).every((bytes) => bytes <= 256 * 1024)).toBe(
      true,
    );
    expect(calls.map((c) => c.length)).toEqual([2, 2]);
    expect(await drain(queueUrl)).toHaveLength(4);
    client.destroy();
  });

  it('refuses invalid and oversize messages before SQS, with the dispatcher’s reason and field, and sends the rest', async () => {
    const queueUrl = await freshQueue();
    const { client, calls } = instrumentedClient();
    const results = await publishDispatches(
      [
        message(0),
        message(1, { to: 'Pat <member1@example.org>' }),
        message(2, { template: 'lab-results' }),
        message(3, { data: { firstName: 'x'.repeat(MAX_BODY_BYTES) } }),
        message(4, { bcc: 'eve@example.org' }),
        message(5),
      ] as never[],
      { queueUrl, client },
    );
    expect(results.map((r) => (r.ok ? 'ok' : `${r.reason}:${r.field ?? ''}`))).toEqual([
      'ok',
      'invalid-message:to',
      'unknown-template:template',
      'too-large:',
      'invalid-message:bcc',
      'ok',
    ]);
    expect(results.filter((r) => !r.ok).every((r) => !r.ok && !r.retryable && r.attempts === 0)).toBe(true);
    expect(calls.flat().map((e) => JSON.parse(e.MessageBody).dispatchId)).toEqual(['pub-0', 'pub-5']);
    expect((await drain(queueUrl)).map((m) => JSON.parse(m.body).dispatchId).sort()).toEqual(['pub-0', 'pub-5']);
    client.destroy();
  });

  it('retries only the entries SQS failed on its side, and each lands once', async () => {
    const queueUrl = await freshQueue();
    const { client, calls } = instrumentedClient((_, call) =>
      call === 1 ? { drop: ['m1', 'm3'], senderFault: false } : call === 2 ? { drop: ['m3'], senderFault: false } : undefined,
    );
    const results = await publishDispatches(
      [0, 1, 2, 3, 4].map((i) => message(i)),
      { queueUrl, client, baseDelayMs: 5 },
    );
    expect(calls.map((c) => c.map((e) => e.Id))).toEqual([['m0', 'm1', 'm2', 'm3', 'm4'], ['m1', 'm3'], ['m3']]);
    expect(results.map((r) => [r.ok, r.attempts])).toEqual([
      [true, 1],
      [true, 2],
      [true, 1],
      [true, 3],
      [true, 1],
    ]);
    expect((await drain(queueUrl)).map((m) => JSON.parse(m.body).dispatchId).sort()).toEqual(['pub-0', 'pub-1', 'pub-2', 'pub-3', 'pub-4']);
    client.destroy();
  });

  it('does not retry an entry SQS refused as the sender’s fault', async () => {
    const queueUrl = await freshQueue();
    const { client, calls } = instrumentedClient((_, call) => (call === 1 ? { drop: ['m1'], senderFault: true } : undefined));
    const results = await publishDispatches([message(0), message(1)], { queueUrl, client, baseDelayMs: 5 });
    expect(calls).toHaveLength(1);
    expect(results[1]).toEqual({
      index: 1,
      dispatchId: 'pub-1',
      ok: false,
      reason: 'sqs-refused',
      code: 'InvalidParameterValue',
      detail: 'SQS refused the message (InvalidParameterValue)',
      retryable: false,
      attempts: 1,
    });
    expect((await drain(queueUrl)).map((m) => JSON.parse(m.body).dispatchId)).toEqual(['pub-0']);
    client.destroy();
  });

  it('reports entries still failing after maxAttempts as retryable, and loses none', async () => {
    const queueUrl = await freshQueue();
    const { client, calls } = instrumentedClient(() => ({ drop: ['m1'], senderFault: false }));
    const results = await publishDispatches([message(0), message(1), message(2)], { queueUrl, client, maxAttempts: 3, baseDelayMs: 5 });
    expect(calls).toHaveLength(3);
    expect(results.map((r: PublishResult) => (r.ok ? 'ok' : `${r.reason}/${r.retryable}/${r.attempts}`))).toEqual([
      'ok',
      'sqs-unavailable/true/3',
      'ok',
    ]);
    client.destroy();
  });

  it('reports a queue that does not exist as refused, once, for every entry', async () => {
    const { client, calls } = instrumentedClient();
    const queueUrl = `${emulators.sqsEndpoint}/000000000000/no-such-queue`;
    const results = await publishDispatches([message(0), message(1)], { queueUrl, client, baseDelayMs: 5 });
    expect(calls).toHaveLength(1);
    expect(results.map((r) => !r.ok && [r.reason, r.retryable])).toEqual([
      ['sqs-refused', false],
      ['sqs-refused', false],
    ]);
    client.destroy();
  });

  it('publishes duplicates of one dispatchId as they are (the dispatcher sends it once)', async () => {
    const queueUrl = await freshQueue();
    const results = await publishDispatches([message(7), message(7)], { queueUrl, client: sqs });
    expect(results.every((r) => r.ok)).toBe(true);
    expect(await drain(queueUrl)).toHaveLength(2);
  });

  it('publishDispatch sends one message', async () => {
    const queueUrl = await freshQueue();
    const result = await publishDispatch(message(9), { queueUrl, client: sqs });
    expect(result).toMatchObject({ ok: true, dispatchId: 'pub-9', attempts: 1 });
    expect(await drain(queueUrl)).toEqual([{ messageId: (result as { messageId: string }).messageId, body: JSON.stringify(message(9)) }]);
  });
});
