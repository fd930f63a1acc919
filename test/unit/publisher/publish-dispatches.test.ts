import { SendMessageBatchCommand, type SendMessageBatchCommandOutput, type SQSClient } from '@aws-sdk/client-sqs';
import { ConfigurationError } from '../../../lambdas/core/errors';
import { publishDispatch, publishDispatches } from '../../../publisher/index';

const queueUrl = 'https://sqs.us-east-1.amazonaws.com/000000000000/mail-dispatch-queue';
const message = (i: number) => ({
  dispatchId: `d-${i}`,
  memberId: `M${i}`,
  to: `m${i}@example.org`,
  template: 'advice-nurse-reply' as const,
});

type Reply = (entries: { Id: string }[], call: number) => Partial<SendMessageBatchCommandOutput> | Error;

/** A stand-in SQS client: each SendMessageBatch call is answered by `reply` (edge cases the emulator cannot produce). */
function fakeClient(reply: Reply) {
  const calls: { Id: string; MessageBody: string }[][] = [];
  const client = {
    send: jest.fn(async (command: unknown) => {
      if (!(command instanceof SendMessageBatchCommand)) throw new Error('unexpected command');
      const entries = command.input.Entries as { Id: string; MessageBody: string }[];
      calls.push(entries);
      const answer = reply(entries, calls.length);
      if (answer instanceof Error) throw answer;
      return answer;
    }),
  } as unknown as SQSClient;
  return { client, calls };
}

const accept = (entries: { Id: string }[]) => ({
  Successful: entries.map((e) => ({ Id: e.Id, MessageId: `sqs-${e.Id}`, MD5OfMessageBody: '' })),
  Failed: [],
});
const sdkError = (name: string, fault: 'client' | 'server', status?: number) =>
  Object.assign(new Error(`${name}: details that must not be echoed`), { name, $fault: fault, $metadata: { httpStatusCode: status } });

describe('publishDispatches', () => {
  it('returns one result per input, in input order, valid and refused mixed', async () => {
    const { client } = fakeClient(accept);
    const results = await publishDispatches([message(0), { ...message(1), to: 'a@b.org, c@d.org' }, message(2)], { queueUrl, client });
    expect(results.map((r) => [r.index, r.dispatchId, r.ok])).toEqual([
      [0, 'd-0', true],
      [1, 'd-1', false],
      [2, 'd-2', true],
    ]);
    expect(results[1]).toMatchObject({ reason: 'invalid-message', field: 'to', retryable: false, attempts: 0 });
  });

  it('retries a call with no HTTP answer (network) and a server fault, with backoff', async () => {
    const { client, calls } = fakeClient((entries, call) =>
      call === 1 ? sdkError('TimeoutError', 'client') : call === 2 ? sdkError('InternalError', 'server', 500) : accept(entries),
    );
    const results = await publishDispatches([message(0), message(1)], { queueUrl, client, baseDelayMs: 1 });
    expect(calls).toHaveLength(3);
    expect(results.every((r) => r.ok && r.attempts === 3)).toBe(true);
  });

  it('does not retry a client fault, and reports only the error code', async () => {
    const { client, calls } = fakeClient(() => sdkError('AccessDenied', 'client', 403));
    const [result] = await publishDispatches([message(0)], { queueUrl, client, baseDelayMs: 1 });
    expect(calls).toHaveLength(1);
    expect(result).toEqual({
      index: 0,
      dispatchId: 'd-0',
      ok: false,
      reason: 'sqs-refused',
      code: 'AccessDenied',
      detail: 'SQS refused the message (AccessDenied)',
      retryable: false,
      attempts: 1,
    });
  });

  it('tries again an entry the response does not mention', async () => {
    const { client, calls } = fakeClient((entries, call) => (call === 1 ? { Successful: [], Failed: [] } : accept(entries)));
    const [result] = await publishDispatches([message(0)], { queueUrl, client, baseDelayMs: 1 });
    expect(calls).toHaveLength(2);
    expect(result).toMatchObject({ ok: true, attempts: 2 });
  });

  it('gives up after maxAttempts as sqs-unavailable, retryable', async () => {
    const { client, calls } = fakeClient(() => sdkError('ThrottlingException', 'client', 400));
    const [result] = await publishDispatches([message(0)], { queueUrl, client, maxAttempts: 2, baseDelayMs: 1 });
    expect(calls).toHaveLength(2);
    expect(result).toMatchObject({ ok: false, reason: 'sqs-unavailable', code: 'ThrottlingException', retryable: true, attempts: 2 });
  });

  it('uses positions, never dispatchIds, as batch entry ids', async () => {
    const { client, calls } = fakeClient(accept);
    await publishDispatches(
      [
        { ...message(0), dispatchId: 'adv:2000.08' },
        { ...message(1), dispatchId: 'adv:2000.08' },
      ],
      { queueUrl, client },
    );
    expect(calls[0]?.map((e) => e.Id)).toEqual(['m0', 'm1']);
  });

  it('calls SQS not at all when every message is refused', async () => {
    const { client, calls } = fakeClient(accept);
    const results = await publishDispatches([{ ...message(0), template: 'lab-results' } as never], { queueUrl, client });
    expect(calls).toHaveLength(0);
    expect(results[0]).toMatchObject({ ok: false, reason: 'unknown-template', field: 'template' });
  });

  it.each([
    [{ queueUrl: '' }, /queueUrl is required/],
    [{ queueUrl, maxAttempts: 0 }, /maxAttempts must be a positive integer/],
    [{ queueUrl: ' ', concurrency: 0, baseDelayMs: -1 }, /queueUrl is required; baseDelayMs .*; concurrency/],
  ])('refuses unusable options %j before sending anything', async (options, message) => {
    const { client, calls } = fakeClient(accept);
    await expect(publishDispatches([message0()], { ...options, client })).rejects.toThrow(ConfigurationError);
    await expect(publishDispatches([message0()], { ...options, client })).rejects.toThrow(message);
    expect(calls).toHaveLength(0);
  });
});

describe('publishDispatch', () => {
  it('publishes one message', async () => {
    const { client } = fakeClient(accept);
    await expect(publishDispatch(message(5), { queueUrl, client })).resolves.toEqual({
      index: 0,
      dispatchId: 'd-5',
      ok: true,
      messageId: 'sqs-m0',
      attempts: 1,
    });
  });
});

function message0() {
  return message(0);
}
