import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { SESv2Client, SESv2ServiceException, TooManyRequestsException } from '@aws-sdk/client-sesv2';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { dispatchRefFromText } from '../../../lambdas/core/templates';
import { createDispatcherDeps } from '../../../lambdas/dispatcher/dependencies';
import { createHandler } from '../../../lambdas/dispatcher/handler';
import { DynamoDbPauseSwitch } from '../../../lambdas/adapters/dynamodb-pause-switch';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { addSesFaults, FaultPlan } from '../../../local/faults';
import { putMembersRaw } from '../../support/members';
import { RecordingReporter } from '../../support/recording-reporter';
import { sqsEvent, sqsRecord } from '../../support/sqs-event';

/**
 * The dispatch-path findings of the safety review (issue 12: 12.1, 12.4, 12.6, 12.7, 12.8, 12.12;
 * issue 20 item 4), each against the real handler and adapters on the embedded emulators.
 */
jest.setTimeout(120_000);

let aws: EmbeddedAws;

beforeAll(async () => {
  aws = await startEmbeddedAws({ config: { fanInLimit: 3, maxReceiveCount: 3 } });
  await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
    { memberId: 'S1', email: 'sam1@example.org', status: 'active', proxies: [] },
    { memberId: 'S2', email: 'sam2@example.org', status: 'active', proxies: [] },
    ...[3, 4, 5, 6, 7, 8].map((n) => ({ memberId: `S${n}`, email: `sam${n}@example.org`, status: 'active', proxies: [] })),
    ...Array.from({ length: 16 }, (_, n) => ({ memberId: `P${n}`, email: `pia${n}@example.org`, status: 'active', proxies: [] })),
  ]);
});
afterAll(async () => aws?.stop());

type SesMiddleware = (args: unknown, next: (args: unknown) => Promise<unknown>) => Promise<unknown>;

/** The real handler with the real adapters; `ses` intercepts each SendEmail as the network would. */
async function dispatcher(
  options: { plan?: FaultPlan; ses?: SesMiddleware; env?: Record<string, string>; dynamodb?: DynamoDBClient } = {},
) {
  const reporter = new RecordingReporter();
  const ses = new SESv2Client({
    region: aws.region,
    endpoint: aws.endpoints.ses,
    credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    maxAttempts: 1,
  });
  if (options.plan) addSesFaults(ses, options.plan);
  const intercept = options.ses;
  if (intercept) ses.middlewareStack.add((next) => (args) => intercept(args, next as never) as never, { step: 'deserialize' });
  const deps = await createDispatcherDeps({
    env: { ...aws.env, ...options.env },
    clients: { dynamodb: options.dynamodb ?? aws.clients.dynamodb, sqs: aws.clients.sqs, ses },
    reporter,
  });
  return { handler: createHandler(deps), reporter };
}

const message = (dispatchId: string, memberId: string, to: string) =>
  JSON.stringify({ dispatchId, memberId, to, template: 'advice-nurse-reply', data: { firstName: 'Sam' } });

async function deliveredTo(dispatchId: string): Promise<string[]> {
  const emails = await aws.sesStore();
  return emails.filter((e) => dispatchRefFromText(e.body.text ?? '') === dispatchId).flatMap((e) => e.destination.to);
}

async function ledger(pk: string) {
  const { Item } = await aws.clients.dynamodb.send(
    new GetItemCommand({ TableName: aws.tables.ledger, Key: { pk: { S: pk } }, ConsistentRead: true }),
  );
  return Item ? unmarshall(Item) : undefined;
}

/** The same SQS message delivered again: a new receipt handle and the given receive count. */
function copyOf(record: SQSRecord, receiveCount: number): SQSRecord {
  return {
    ...record,
    receiptHandle: `copy-${receiveCount}-${record.receiptHandle}`,
    attributes: { ...record.attributes, ApproximateReceiveCount: String(receiveCount) },
  };
}

/** A raw registry write, as an upstream system (or the member closing the account) makes it. */
async function updateMember(memberId: string, set: 'closed' | { email: string }): Promise<void> {
  const [expression, values] =
    set === 'closed' ? ['SET #s = :v', { ':v': { S: 'closed' } }] : ['SET email = :v', { ':v': { S: set.email } }];
  await aws.clients.dynamodb.send(
    new UpdateItemCommand({
      TableName: aws.tables.members,
      Key: { memberId: { S: memberId } },
      UpdateExpression: expression,
      ...(set === 'closed' ? { ExpressionAttributeNames: { '#s': 'status' } } : {}),
      ExpressionAttributeValues: values,
    }),
  );
}

function throttle(): Error {
  return new TooManyRequestsException({ message: 'Maximum sending rate exceeded.', $metadata: { httpStatusCode: 429 } });
}

describe('12.7: a concurrent duplicate delivery never takes over a live claim', () => {
  it('12.7: a copy with a higher receive count goes back to SQS; the live attempt’s release still lands', async () => {
    // The first attempt is inside SendEmail (its claim is live) when SQS hands a second copy of
    // the same message, receive count + 1, to another invocation, as a standard queue may.
    let inSend!: () => void;
    const sending = new Promise<void>((resolve) => (inSend = resolve));
    let letGo!: () => void;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    const first = await dispatcher({
      ses: async () => {
        inSend();
        await gate;
        throw throttle();
      },
    });
    const second = await dispatcher();
    const record = sqsRecord(message('p7-live', 'S1', 'sam1@example.org'));
    const running = first.handler(sqsEvent(record));
    await sending;

    const copy = copyOf(record, 2);
    await expect(second.handler(sqsEvent(copy))).resolves.toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    expect(second.reporter.outcomeOf(record.messageId)).toEqual({ state: 'retry', reason: 'claim-in-flight' });
    expect(await ledger('p7-live')).toMatchObject({ state: 'claimed' });

    letGo();
    await expect(running).resolves.toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    expect(first.reporter.outcomeOf(record.messageId)).toEqual({ state: 'retry', reason: 'ses-throttled' });
    // Never sent, so never in doubt: released, and the next delivery sends it once.
    expect(await ledger('p7-live')).toMatchObject({ state: 'released' });
    await second.handler(sqsEvent(copyOf(record, 3)));
    expect(second.reporter.outcomeOf(record.messageId)).toMatchObject({ state: 'sent' });
    expect(await deliveredTo('p7-live')).toEqual(['sam1@example.org']);
  });
});

describe('12.4: a 5xx from SES is an unknown outcome, not a refusal', () => {
  it('12.4: a 5xx after SES accepted never sends twice', async () => {
    // SES accepted the e-mail, then the caller saw a 500 (what the old classification retried).
    let calls = 0;
    const { handler, reporter } = await dispatcher({
      ses: async (args, next) => {
        calls++;
        await next(args);
        throw new SESv2ServiceException({
          name: 'InternalFailure',
          $fault: 'server',
          message: 'Internal failure',
          $metadata: { httpStatusCode: 500 },
        });
      },
    });
    const record = sqsRecord(message('p4-after', 'S1', 'sam1@example.org'));
    await expect(handler(sqsEvent(record))).resolves.toEqual({ batchItemFailures: [] });
    expect(reporter.outcomeOf(record.messageId)).toEqual({ state: 'in-doubt' });
    expect(calls).toBe(1);
    expect(await ledger('p4-after')).toMatchObject({ state: 'in-doubt' });
    // Redelivered or re-published: still in doubt, never sent again.
    for (const again of [copyOf(record, 2), sqsRecord(message('p4-after', 'S1', 'sam1@example.org'))]) {
      await handler(sqsEvent(again));
      expect(reporter.outcomeOf(again.messageId)).toEqual({ state: 'in-doubt' });
    }
    expect(calls).toBe(1);
    expect(await deliveredTo('p4-after')).toEqual(['sam1@example.org']);
  });

  it.each(['error-5xx', 'error-5xx-after-send'] as const)('12.4: the local %s fault ends in-doubt, no retry, no release', async (kind) => {
    const plan = FaultPlan.create();
    plan.arm({ target: 'ses', kind, times: 1 } as never);
    const { handler, reporter } = await dispatcher({ plan });
    const id = `p4-${kind}`;
    const record = sqsRecord(message(id, 'S2', 'sam2@example.org'));
    await expect(handler(sqsEvent(record))).resolves.toEqual({ batchItemFailures: [] });
    expect(reporter.outcomeOf(record.messageId)).toEqual({ state: 'in-doubt' });
    expect(plan.fired()[`ses:${kind}`]).toBe(1);
    expect(await ledger(id)).toMatchObject({ state: 'in-doubt' });
    // Only the after-send kind really reached the SES store (the caller cannot tell them apart).
    expect(await deliveredTo(id)).toEqual(kind === 'error-5xx' ? [] : ['sam2@example.org']);
  });

  it('12.4: a 4xx refusal (the local error fault) is released and sent on a later try', async () => {
    const plan = FaultPlan.create();
    plan.arm({ target: 'ses', kind: 'error', times: 5 });
    const { handler, reporter } = await dispatcher({ plan });
    const record = sqsRecord(message('p4-refused', 'S2', 'sam2@example.org'));
    await expect(handler(sqsEvent(record))).resolves.toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    expect(reporter.outcomeOf(record.messageId)).toEqual({ state: 'retry', reason: 'ses-refused' });
    expect(await ledger('p4-refused')).toMatchObject({ state: 'released' });
    plan.clear();
    await handler(sqsEvent(copyOf(record, 2)));
    expect(reporter.outcomeOf(record.messageId)).toMatchObject({ state: 'sent' });
    expect(await deliveredTo('p4-refused')).toEqual(['sam2@example.org']);
  });
});

describe('12.1: the registry cannot change between the claim and the send', () => {
  it('12.1: a member closed while its message waits for a send slot is never mailed', async () => {
    // One send every 2 s: the second message waits for its slot. The member closes 1 s into that wait.
    let closing: Promise<void> | undefined;
    const { handler, reporter } = await dispatcher({
      env: { MAX_SENDS_PER_SECOND: '0.5' },
      ses: async (args, next) => {
        const answer = await next(args);
        closing ??= new Promise((resolve) => setTimeout(resolve, 1000)).then(() => updateMember('S4', 'closed'));
        return answer;
      },
    });
    const first = sqsRecord(message('p1-first', 'S3', 'sam3@example.org'));
    const waiting = sqsRecord(message('p1-closed', 'S4', 'sam4@example.org'));
    await expect(handler(sqsEvent(first, waiting))).resolves.toEqual({ batchItemFailures: [] });
    await closing;
    expect(reporter.outcomeOf(first.messageId)).toMatchObject({ state: 'sent' });
    expect(reporter.outcomeOf(waiting.messageId)).toEqual({ state: 'blocked', reason: 'member-inactive' });
    expect(await deliveredTo('p1-closed')).toEqual([]);
  });

  it('12.1: nothing is awaited between the claim’s answer and its SendEmail request', async () => {
    const calls: { op: string; at: number }[] = [];
    const dynamodb = new DynamoDBClient({
      region: aws.region,
      endpoint: aws.endpoints.dynamodb,
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    });
    dynamodb.middlewareStack.add(
      (next, context) => async (args) => {
        calls.push({ op: `${context.commandName}:start`, at: Date.now() });
        try {
          return await next(args);
        } finally {
          calls.push({ op: `${context.commandName}:end`, at: Date.now() });
        }
      },
      { step: 'initialize' },
    );
    const { handler, reporter } = await dispatcher({
      dynamodb,
      env: { MAX_SENDS_PER_SECOND: '0.5' },
      ses: async (args, next) => {
        calls.push({ op: 'SendEmailCommand:start', at: Date.now() });
        return next(args);
      },
    });
    const records = [5, 6, 7].map((n) => sqsRecord(message(`p1-order-${n}`, `S${n}`, `sam${n}@example.org`)));
    await handler(sqsEvent(...records));
    dynamodb.destroy();
    for (const r of records) expect(reporter.outcomeOf(r.messageId)).toMatchObject({ state: 'sent' });
    const claims = calls.flatMap((call, i) => (call.op === 'TransactWriteItemsCommand:end' ? [i] : []));
    expect(claims).toHaveLength(3);
    for (const i of claims) {
      // The very next thing after a claim's answer is its SendEmail, at once (no pacing, no read).
      expect(calls[i + 1]?.op).toBe('SendEmailCommand:start');
      expect(calls[i + 1].at - calls[i].at).toBeLessThan(250);
    }
  });

  it('12.1: a retry after a refusal claims afresh and sees the address that changed meanwhile', async () => {
    let calls = 0;
    const { handler, reporter } = await dispatcher({
      ses: async (args, next) => {
        if (++calls > 1) return next(args);
        // SES refuses the first try; meanwhile the member's address changes.
        await updateMember('S8', { email: 'sam8-new@example.org' });
        throw throttle();
      },
    });
    const record = sqsRecord(message('p1-moved', 'S8', 'sam8@example.org'));
    await handler(sqsEvent(record));
    expect(reporter.outcomeOf(record.messageId)).toEqual({ state: 'blocked', reason: 'recipient-mismatch' });
    expect(calls).toBe(1);
    expect(await deliveredTo('p1-moved')).toEqual([]);
    expect(await ledger('p1-moved')).toMatchObject({ state: 'blocked', reason: 'recipient-mismatch' });
  });
});

describe('12.8: a pause stops every invocation within a second', () => {
  it('12.8: after a trip, no further claim commits more than ~1 s later, across concurrent invocations', async () => {
    // Two invocations at once, each a batch of 8 paced to 4 sends/s (2 s per batch); the breaker
    // trips 600 ms in. Each must look at the flag before each claim, not once per batch.
    const flag = new DynamoDbPauseSwitch({ ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb });
    const env = { MAX_SENDS_PER_SECOND: '4' };
    const [a, b] = await Promise.all([dispatcher({ env }), dispatcher({ env })]);
    const batch = (from: number) =>
      Array.from({ length: 8 }, (_, i) => sqsRecord(message(`p8-${from + i}`, `P${from + i}`, `pia${from + i}@example.org`)));
    const [first, second] = [batch(0), batch(8)];
    let trippedAt = 0;
    const trip = new Promise((resolve) => setTimeout(resolve, 600)).then(async () => {
      await flag.pause({ reason: 'alarm', by: 'breaker', at: new Date().toISOString() });
      trippedAt = Date.now();
    });
    try {
      const [ra, rb] = await Promise.all([a.handler(sqsEvent(...first)), b.handler(sqsEvent(...second)), trip]);
      const claimed = await Promise.all([...first, ...second].map((_r, i) => ledger(`p8-${i}`)));
      const claimTimes = claimed.flatMap((item) => (item?.claimedAt ? [Date.parse(item.claimedAt)] : []));
      expect(claimTimes.length).toBeGreaterThan(0);
      expect(Math.max(...claimTimes) - trippedAt).toBeLessThanOrEqual(1000);
      // What was not claimed waits in the queue, nothing lost.
      const waiting = [...first, ...second].filter((_r, i) => !claimed[i]?.claimedAt);
      expect(waiting.length).toBeGreaterThan(0);
      const failures = [...ra.batchItemFailures, ...rb.batchItemFailures].map((f) => f.itemIdentifier).sort();
      expect(failures).toEqual(waiting.map((r) => r.messageId).sort());
      for (const r of waiting)
        expect([a, b].map((d) => d.reporter.outcomeOf(r.messageId)).find(Boolean)).toEqual({ state: 'retry', reason: 'paused' });
    } finally {
      await trip;
      await flag.resume('test', new Date());
    }
  });
});

describe('20.4: a hung SES endpoint', () => {
  it('20.4: an SES endpoint that accepts and never answers ends in-doubt within the request timeout, not a Lambda timeout', async () => {
    const { createServer } = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const server = createServer((socket) => {
      sockets.push(socket);
      socket.on('data', () => undefined); // reads the request, never answers
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as import('node:net').AddressInfo).port;
    try {
      const reporter = new RecordingReporter();
      const { createSesClient } = await import('../../../lambdas/adapters/sesv2-mail-sender');
      const ses = createSesClient({
        region: aws.region,
        endpoint: `http://127.0.0.1:${port}`,
        credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
      });
      const deps = await createDispatcherDeps({
        env: aws.env,
        clients: { dynamodb: aws.clients.dynamodb, sqs: aws.clients.sqs, ses },
        reporter,
      });
      const handler = createHandler(deps);
      const record = sqsRecord(message('p20-hung', 'S2', 'sam2@example.org'));
      const started = Date.now();
      const outcome = await Promise.race([
        handler(sqsEvent(record)),
        new Promise<'still hanging'>((resolve) => setTimeout(() => resolve('still hanging'), 15_000)),
      ]);
      expect(outcome).toEqual({ batchItemFailures: [] });
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(reporter.outcomeOf(record.messageId)).toEqual({ state: 'in-doubt' });
      expect(await ledger('p20-hung')).toMatchObject({ state: 'in-doubt' });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
