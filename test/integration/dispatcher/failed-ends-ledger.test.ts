import { DynamoDBClient, GetItemCommand, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { SESv2Client, SESv2ServiceException } from '@aws-sdk/client-sesv2';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { DynamoDbPauseSwitch } from '../../../lambdas/adapters/dynamodb-pause-switch';
import { createDispatcherDeps } from '../../../lambdas/dispatcher/dependencies';
import { createHandler } from '../../../lambdas/dispatcher/handler';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { putMembersRaw } from '../../support/members';
import { RecordingReporter } from '../../support/recording-reporter';
import { sqsEvent, sqsRecord } from '../../support/sqs-event';

/**
 * 12.12: a message handed back on its last receive ends `failed` (SQS moves it to the DLQ), and
 * that end gets a ledger record like every other end: state, reason, a history entry, for the
 * audit and the outcome feed. The record is written only over records that prove nothing was sent
 * (none, blocked, rejected, released, failed): never over a claimed, sent or in-doubt one, so a
 * live claim never becomes sendable again. The real handler and ledger adapter on DynamoDB Local.
 */
jest.setTimeout(120_000);

const MAX_RECEIVE_COUNT = 3;
const CREDENTIALS = { accessKeyId: 'l', secretAccessKey: 'l' };
let aws: EmbeddedAws;
let flag: DynamoDbPauseSwitch;

beforeAll(async () => {
  aws = await startEmbeddedAws({ config: { fanInLimit: 3, maxReceiveCount: MAX_RECEIVE_COUNT } });
  await putMembersRaw(
    aws.clients.dynamodb,
    aws.tables.members,
    Array.from({ length: 8 }, (_, n) => ({ memberId: `F${n}`, email: `fay${n}@example.org`, status: 'active', proxies: [] })),
  );
  flag = new DynamoDbPauseSwitch({ ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb });
});
afterAll(async () => aws?.stop());

type Middleware = (args: unknown, next: (args: unknown) => Promise<unknown>) => Promise<unknown>;

async function dispatcher(options: { ses?: Middleware; dynamodb?: DynamoDBClient } = {}) {
  const reporter = new RecordingReporter();
  const ses = new SESv2Client({ region: aws.region, endpoint: aws.endpoints.ses, credentials: CREDENTIALS, maxAttempts: 1 });
  const intercept = options.ses;
  if (intercept) ses.middlewareStack.add((next) => (args) => intercept(args, next as never) as never, { step: 'deserialize' });
  const deps = await createDispatcherDeps({
    env: aws.env,
    clients: { dynamodb: options.dynamodb ?? aws.clients.dynamodb, sqs: aws.clients.sqs, ses },
    reporter,
  });
  return { handler: createHandler(deps), reporter };
}

const message = (dispatchId: string, n: number) =>
  JSON.stringify({ dispatchId, memberId: `F${n}`, to: `fay${n}@example.org`, template: 'advice-nurse-reply', data: { firstName: 'Fay' } });

/** The same SQS message received again, `receiveCount` times in all. */
const receivedAgain = (record: SQSRecord, receiveCount: number): SQSRecord => ({
  ...record,
  receiptHandle: `again-${receiveCount}-${record.receiptHandle}`,
  attributes: { ...record.attributes, ApproximateReceiveCount: String(receiveCount) },
});

async function ledger(pk: string) {
  const { Item } = await aws.clients.dynamodb.send(
    new GetItemCommand({ TableName: aws.tables.ledger, Key: { pk: { S: pk } }, ConsistentRead: true }),
  );
  return Item ? unmarshall(Item) : undefined;
}

async function whilePaused<T>(body: () => Promise<T>): Promise<T> {
  await flag.pause({ reason: 'alarm', by: 'breaker', at: new Date().toISOString() });
  try {
    return await body();
  } finally {
    await flag.resume('test', new Date());
  }
}

describe('12.12: failed(paused | store-throttled | claim-in-flight) gets a ledger record like every other end', () => {
  it('12.12: failed(paused) on the last receive is recorded (state, reason, history), and a redrive still sends it', async () => {
    const { handler, reporter } = await dispatcher();
    const record = sqsRecord(message('f12-paused', 0), { receiveCount: MAX_RECEIVE_COUNT });
    await whilePaused(async () => {
      await expect(handler(sqsEvent(record))).resolves.toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    });
    expect(reporter.outcomeOf(record.messageId)).toEqual({ state: 'failed', reason: 'paused' });
    const item = await ledger('f12-paused');
    expect(item).toMatchObject({
      state: 'failed',
      reason: 'paused',
      dispatchId: 'f12-paused',
      memberId: 'F0',
      template: 'advice-nurse-reply',
    });
    expect(item?.toHash).toMatch(/^[0-9a-f]+$/);
    expect(item?.history).toEqual([expect.objectContaining({ state: 'failed', reason: 'paused', sqsMessageId: record.messageId })]);

    // Never sent, so `ops redrive` (the same body, received once) may send it: no regression.
    const redriven = await dispatcher();
    const again = sqsRecord(record.body);
    await expect(redriven.handler(sqsEvent(again))).resolves.toEqual({ batchItemFailures: [] });
    expect(redriven.reporter.outcomeOf(again.messageId)).toMatchObject({ state: 'sent' });
    expect(await ledger('f12-paused')).toMatchObject({ state: 'sent' });
  });

  it('12.12: failed(store-throttled) on the last receive is recorded once the store answers again', async () => {
    // Every claim transaction is throttled; single writes (the failed record) get through.
    const dynamodb = new DynamoDBClient({ region: aws.region, endpoint: aws.endpoints.dynamodb, credentials: CREDENTIALS, maxAttempts: 1 });
    dynamodb.middlewareStack.add(
      (next, info) => async (args) => {
        if (info.commandName === 'TransactWriteItemsCommand') {
          throw new ProvisionedThroughputExceededException({
            message: 'Throughput exceeds the current capacity',
            $metadata: { httpStatusCode: 400 },
          });
        }
        return next(args);
      },
      { step: 'initialize' },
    );
    const { handler, reporter } = await dispatcher({ dynamodb });
    const record = sqsRecord(message('f12-throttled', 1), { receiveCount: MAX_RECEIVE_COUNT });
    await expect(handler(sqsEvent(record))).resolves.toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    expect(reporter.outcomeOf(record.messageId)).toEqual({ state: 'failed', reason: 'store-throttled' });
    expect(await ledger('f12-throttled')).toMatchObject({
      state: 'failed',
      reason: 'store-throttled',
      history: [expect.objectContaining({ state: 'failed', reason: 'store-throttled' })],
    });
  });

  it('12.12: failed(claim-in-flight) never overwrites the live claim it met; the live attempt records the send', async () => {
    let inSend!: () => void;
    const sending = new Promise<void>((resolve) => (inSend = resolve));
    let letGo!: () => void;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    const live = await dispatcher({
      ses: async (args, next) => {
        inSend();
        await gate;
        return next(args);
      },
    });
    const record = sqsRecord(message('f12-in-flight', 2));
    const running = live.handler(sqsEvent(record));
    await sending;
    const claim = await ledger('f12-in-flight');
    expect(claim).toMatchObject({ state: 'claimed' });

    // A copy on its last receive meets the live claim: it ends failed, and the claim stays as it was.
    const other = await dispatcher();
    const copy = receivedAgain(record, MAX_RECEIVE_COUNT);
    await expect(other.handler(sqsEvent(copy))).resolves.toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    expect(other.reporter.outcomeOf(record.messageId)).toEqual({ state: 'failed', reason: 'claim-in-flight' });
    expect(await ledger('f12-in-flight')).toEqual(claim);

    letGo();
    await running;
    expect(await ledger('f12-in-flight')).toMatchObject({ state: 'sent', claimToken: claim?.claimToken });
  });

  it('12.12: a failed end never overwrites a sent or an in-doubt record', async () => {
    const ok = await dispatcher();
    const sent = sqsRecord(message('f12-sent', 3));
    await ok.handler(sqsEvent(sent));
    // SES answers 500 after accepting: in-doubt.
    const fiveHundred = await dispatcher({
      ses: async (args, next) => {
        await next(args);
        throw new SESv2ServiceException({
          name: 'InternalFailure',
          $fault: 'server',
          message: 'Internal failure',
          $metadata: { httpStatusCode: 500 },
        });
      },
    });
    const doubtful = sqsRecord(message('f12-in-doubt', 4));
    await fiveHundred.handler(sqsEvent(doubtful));
    const before = { sent: await ledger('f12-sent'), inDoubt: await ledger('f12-in-doubt') };
    expect(before).toMatchObject({ sent: { state: 'sent' }, inDoubt: { state: 'in-doubt' } });

    const later = await dispatcher();
    await whilePaused(() => later.handler(sqsEvent(receivedAgain(sent, MAX_RECEIVE_COUNT), receivedAgain(doubtful, MAX_RECEIVE_COUNT))));
    expect(later.reporter.outcomeOf(sent.messageId)).toEqual({ state: 'failed', reason: 'paused' });
    expect(later.reporter.outcomeOf(doubtful.messageId)).toEqual({ state: 'failed', reason: 'paused' });
    expect(await ledger('f12-sent')).toEqual(before.sent);
    expect(await ledger('f12-in-doubt')).toEqual(before.inDoubt);
  });

  it('12.12: a failed end over a blocked record keeps its history; before the last receive nothing is written', async () => {
    const d = await dispatcher();
    // Blocked first (a recipient that is not the member's), then re-published correctly while paused.
    const wrong = sqsRecord(JSON.stringify({ ...JSON.parse(message('f12-blocked', 5)), to: 'someone-else@example.org' }));
    await d.handler(sqsEvent(wrong));
    expect(await ledger('f12-blocked')).toMatchObject({ state: 'blocked', reason: 'recipient-mismatch' });

    const corrected = sqsRecord(message('f12-blocked', 5));
    const paused = await dispatcher();
    await whilePaused(() => paused.handler(sqsEvent(receivedAgain(corrected, MAX_RECEIVE_COUNT - 1))));
    expect(paused.reporter.outcomeOf(corrected.messageId)).toEqual({ state: 'retry', reason: 'paused' });
    expect(await ledger('f12-blocked')).toMatchObject({ state: 'blocked' });

    const last = await dispatcher();
    await whilePaused(() => last.handler(sqsEvent(receivedAgain(corrected, MAX_RECEIVE_COUNT))));
    const item = await ledger('f12-blocked');
    expect(item).toMatchObject({ state: 'failed', reason: 'paused' });
    expect(item?.history.map((h: { state: string; reason?: string }) => `${h.state}:${h.reason}`)).toEqual([
      'blocked:recipient-mismatch',
      'failed:paused',
    ]);
  });
});
