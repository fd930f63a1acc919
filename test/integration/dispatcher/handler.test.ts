import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { dispatchRefFromText } from '../../../lambdas/core/templates';
import { createDispatcherDeps } from '../../../lambdas/dispatcher/dependencies';
import { createHandler } from '../../../lambdas/dispatcher/handler';
import { RejectAttribute } from '../../../lambdas/tables';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { addSesFaults, FaultPlan } from '../../../local/faults';
import { putMembersRaw } from '../../support/members';
import { RecordingReporter } from '../../support/recording-reporter';
import { sqsEvent, sqsRecord } from '../../support/sqs-event';

jest.setTimeout(120_000);

let aws: EmbeddedAws;
const members = [
  { memberId: 'M1', email: 'pat@example.org', status: 'active', proxies: [] },
  { memberId: 'M2', email: 'Lee@Example.org ', status: 'active', proxies: ['guardian@example.org'] },
  { memberId: 'M3', email: 'sam@example.org', status: 'suspended', proxies: [] },
  { memberId: 'M4', email: 'kim@example.org', status: 'active', suppressed: true },
  ...['F1', 'F2', 'F3', 'F4'].map((id) => ({ memberId: id, email: 'shared@example.org', status: 'active' })),
];

beforeAll(async () => {
  aws = await startEmbeddedAws({ config: { fanInLimit: 3, maxReceiveCount: 3 } });
  await putMembersRaw(aws.clients.dynamodb, aws.tables.members, members);
});
afterAll(async () => aws?.stop());

/** The real handler with the real adapters on the emulators; SES faults come from the local fault plan. */
async function dispatcher(plan = FaultPlan.create(), sesError?: () => Error | undefined, env: Record<string, string> = {}) {
  const reporter = new RecordingReporter();
  const ses = new SESv2Client({
    region: aws.region,
    endpoint: aws.endpoints.ses,
    credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    maxAttempts: 1,
  });
  addSesFaults(ses, plan);
  if (sesError) {
    ses.middlewareStack.add(
      (next) => async (args) => {
        const error = sesError();
        if (error) throw error;
        return next(args);
      },
      { step: 'deserialize' },
    );
  }
  const deps = await createDispatcherDeps({
    env: { ...aws.env, ...env },
    clients: { dynamodb: aws.clients.dynamodb, sqs: aws.clients.sqs, ses },
    reporter,
  });
  return { handler: createHandler(deps), reporter };
}

function armed(kind: 'throttle' | 'timeout-after-send', times: number): FaultPlan {
  const plan = FaultPlan.create();
  plan.arm({ target: 'ses', kind, times });
  return plan;
}

const message = (dispatchId: string, memberId: string, to: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ dispatchId, memberId, to, template: 'advice-nurse-reply', data: { firstName: 'Pat' }, ...extra });

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

describe('dispatcher handler (real adapters, embedded emulators)', () => {
  it('sends to the member’s own address, once, and records it', async () => {
    const { handler, reporter } = await dispatcher();
    const record = sqsRecord(message('h-sent', 'M1', ' PAT@example.org'));
    await expect(handler(sqsEvent(record))).resolves.toEqual({ batchItemFailures: [] });
    expect(reporter.outcomeOf(record.messageId)).toMatchObject({ state: 'sent' });
    expect(await deliveredTo('h-sent')).toEqual(['pat@example.org']);
    expect(await ledger('h-sent')).toMatchObject({ state: 'sent', memberId: 'M1', claimMessageId: record.messageId });
  });

  it('compares with the registered address after normalisation and sends to an authorised proxy', async () => {
    const { handler, reporter } = await dispatcher();
    const own = sqsRecord(message('h-norm', 'M2', 'lee@example.org'));
    const proxy = sqsRecord(message('h-proxy', 'M2', 'guardian@example.org'));
    await handler(sqsEvent(own, proxy));
    expect(reporter.outcomeOf(own.messageId)).toMatchObject({ state: 'sent' });
    expect(reporter.outcomeOf(proxy.messageId)).toMatchObject({ state: 'sent' });
    expect(await deliveredTo('h-proxy')).toEqual(['guardian@example.org']);
  });

  it.each([
    ['unknown-member', 'M404', 'who@example.org'],
    ['member-inactive', 'M3', 'sam@example.org'],
    ['recipient-mismatch', 'M1', 'wrong01@example.net'],
    ['suppressed', 'M4', 'kim@example.org'],
  ])('never sends when blocked: %s', async (reason, memberId, to) => {
    const { handler, reporter } = await dispatcher();
    const id = `h-block-${reason}`;
    const record = sqsRecord(message(id, memberId, to));
    await expect(handler(sqsEvent(record))).resolves.toEqual({ batchItemFailures: [] });
    expect(reporter.outcomeOf(record.messageId)).toEqual({ state: 'blocked', reason });
    expect(await deliveredTo(id)).toEqual([]);
    expect(await ledger(id)).toMatchObject({ state: 'blocked', reason });
  });

  it('sends a blocked dispatchId once it is published again with the right address', async () => {
    const { handler, reporter } = await dispatcher();
    const wrong = sqsRecord(message('h-fixed', 'M1', 'wrong02@example.net'));
    const right = sqsRecord(message('h-fixed', 'M1', 'pat@example.org'));
    await handler(sqsEvent(wrong));
    await handler(sqsEvent(right));
    expect(reporter.outcomeOf(wrong.messageId)).toEqual({ state: 'blocked', reason: 'recipient-mismatch' });
    expect(reporter.outcomeOf(right.messageId)).toMatchObject({ state: 'sent' });
    expect(await deliveredTo('h-fixed')).toEqual(['pat@example.org']);
    expect((await ledger('h-fixed'))?.history.map((h: { state: string }) => h.state)).toEqual(['blocked', 'claimed', 'sent']);
  });

  it('sends a dispatchId delivered twice, and concurrently to two invocations, exactly once', async () => {
    const a = await dispatcher();
    const b = await dispatcher();
    const first = sqsRecord(message('h-dup', 'M1', 'pat@example.org'));
    const copy = { ...first, receiptHandle: 'another-receipt' };
    const results = await Promise.all([a.handler(sqsEvent(first)), b.handler(sqsEvent(copy))]);
    // The loser finds a live claim and hands its copy back; the retry then sees `sent`.
    const failed = results.flatMap((r) => r.batchItemFailures);
    if (failed.length > 0) await a.handler(sqsEvent({ ...first, attributes: { ...first.attributes, ApproximateReceiveCount: '1' } }));
    const republished = sqsRecord(message('h-dup', 'M1', 'pat@example.org'));
    await a.handler(sqsEvent(republished));
    expect(await deliveredTo('h-dup')).toEqual(['pat@example.org']);
    expect(a.reporter.outcomeOf(republished.messageId)).toEqual({ state: 'duplicate' });
  });

  it('worked on concurrently, claims each message just before its send and decides each as one at a time would', async () => {
    const { handler, reporter } = await dispatcher(undefined, undefined, { HANDLER_CONCURRENCY: '10' });
    const records = [
      sqsRecord(message('h-conc-1', 'M1', 'pat@example.org')),
      sqsRecord(message('h-conc-2', 'M1', 'pat@example.org')), // same member
      sqsRecord(message('h-conc-3', 'M2', 'guardian@example.org')),
      sqsRecord(message('h-conc-4', 'M1', 'wrong03@example.net')),
      sqsRecord(message('h-conc-1', 'M1', 'pat@example.org')), // same dispatchId in the batch
    ];
    const response = await handler(sqsEvent(...records));
    const states = records.map((r) => reporter.outcomeOf(r.messageId)?.state);
    expect(states.slice(1, 4)).toEqual(['sent', 'sent', 'blocked']);
    // The two copies of h-conc-1 race: one sends, the other finds its claim and waits (or finds it sent).
    expect([states[0], states[4]].sort()).toEqual([expect.stringMatching(/^(retry|duplicate)$/), 'sent'].sort());
    const copies = [records[0], records[4]];
    const waiting = copies.filter((r) => reporter.outcomeOf(r.messageId)?.state === 'retry');
    expect(response.batchItemFailures).toEqual(waiting.map((r) => ({ itemIdentifier: r.messageId })));
    for (const id of ['h-conc-1', 'h-conc-2']) expect(await deliveredTo(id)).toEqual(['pat@example.org']);
    expect(await deliveredTo('h-conc-3')).toEqual(['guardian@example.org']);
    for (const r of waiting) {
      await handler(sqsEvent(r));
      expect(reporter.outcomeOf(r.messageId)).toEqual({ state: 'duplicate' });
    }
  });

  it('blocks the first member past the fan-in limit and pauses the pipeline at once', async () => {
    const { handler, reporter } = await dispatcher();
    const records = ['F1', 'F2', 'F3', 'F4'].map((id) => sqsRecord(message(`h-fan-${id}`, id, 'shared@example.org')));
    for (const record of records) await handler(sqsEvent(record));
    expect(records.map((r) => reporter.outcomeOf(r.messageId)?.state)).toEqual(['sent', 'sent', 'sent', 'blocked']);
    expect(reporter.outcomeOf(records[3].messageId)).toEqual({ state: 'blocked', reason: 'fan-in-limit' });
    expect(reporter.events.filter((e) => e.pausedPipeline).map((e) => e.sqsMessageId)).toEqual([records[3].messageId]);
    expect(await ledger('control#pause')).toMatchObject({ paused: true, reason: 'fan-in-limit', by: 'dispatcher' });

    // While paused nothing is claimed: messages stay in the queue.
    const waiting = sqsRecord(message('h-paused', 'M1', 'pat@example.org'));
    await expect(handler(sqsEvent(waiting))).resolves.toEqual({ batchItemFailures: [{ itemIdentifier: waiting.messageId }] });
    expect(reporter.outcomeOf(waiting.messageId)).toEqual({ state: 'retry', reason: 'paused' });
    await aws.clients.dynamodb.send(new GetItemCommand({ TableName: aws.tables.ledger, Key: { pk: { S: 'control#pause' } } }));
    const { DynamoDbPauseSwitch } = await import('../../../lambdas/adapters/dynamodb-pause-switch');
    await new DynamoDbPauseSwitch({ ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb }).resume('test', new Date());
  });

  it('rejects bad input into the DLQ with its reason, records it, and loses nothing', async () => {
    const { handler, reporter } = await dispatcher();
    const bad = [
      sqsRecord('not json'),
      sqsRecord(message('h-inj', 'M1', 'pat@example.org\r\nBcc: eve@example.org')),
      sqsRecord(message('h-tpl', 'M1', 'pat@example.org', { template: 'lab-results' })),
    ];
    await expect(handler(sqsEvent(...bad))).resolves.toEqual({ batchItemFailures: [] });
    expect(bad.map((r) => reporter.outcomeOf(r.messageId))).toEqual([
      { state: 'rejected', reason: 'invalid-json' },
      { state: 'rejected', reason: 'invalid-message', field: 'to' },
      { state: 'rejected', reason: 'unknown-template', field: 'template' },
    ]);
    const { Messages = [] } = await aws.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: aws.dlqUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }),
    );
    expect(Messages.map((m) => m.Body).sort()).toEqual(bad.map((r) => r.body).sort());
    expect(Messages.map((m) => m.MessageAttributes?.[RejectAttribute.reason]?.StringValue).sort()).toEqual([
      'invalid-json',
      'invalid-message',
      'unknown-template',
    ]);
    expect(await ledger(`rejected#${bad[1].messageId}`)).toMatchObject({
      state: 'rejected',
      reason: 'invalid-message',
      field: 'to',
      dispatchId: 'h-inj',
    });
    expect(await deliveredTo('h-inj')).toEqual([]);
  });

  it('retries a throttled send and sends it once SES accepts', async () => {
    // More throttles than the adapter's own tries: SQS must bring the message back.
    const { handler, reporter } = await dispatcher(armed('throttle', 5));
    const record = sqsRecord(message('h-throttle', 'M1', 'pat@example.org'));
    await expect(handler(sqsEvent(record))).resolves.toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    expect(reporter.outcomeOf(record.messageId)).toEqual({ state: 'retry', reason: 'ses-throttled' });
    expect(await ledger('h-throttle')).toMatchObject({ state: 'released' });
    await handler(sqsEvent({ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: '2' } }));
    expect(reporter.outcomeOf(record.messageId)).toMatchObject({ state: 'sent' });
    expect(await deliveredTo('h-throttle')).toEqual(['pat@example.org']);
  });

  it('reports failed on the last receive and records it, so a redrive may still send it', async () => {
    const { handler, reporter } = await dispatcher(armed('throttle', 100));
    const record = sqsRecord(message('h-failed', 'M1', 'pat@example.org'), { receiveCount: 3 });
    await expect(handler(sqsEvent(record))).resolves.toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    expect(reporter.outcomeOf(record.messageId)).toEqual({ state: 'failed', reason: 'ses-throttled' });
    expect(await ledger('h-failed')).toMatchObject({ state: 'failed', reason: 'ses-throttled' });
  });

  it('pauses the pipeline instead of burning retries when SES pauses sending for the account', async () => {
    const { SendingPausedException } = await import('@aws-sdk/client-sesv2');
    const { handler, reporter } = await dispatcher(
      undefined,
      () => new SendingPausedException({ message: 'Sending paused for this account', $metadata: { httpStatusCode: 400 } }),
    );
    const record = sqsRecord(message('h-account', 'M1', 'pat@example.org'));
    const next = sqsRecord(message('h-account-2', 'M1', 'pat@example.org'));
    await expect(handler(sqsEvent(record))).resolves.toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    expect(reporter.outcomeOf(record.messageId)).toEqual({ state: 'retry', reason: 'ses-account-paused' });
    expect(await ledger('control#pause')).toMatchObject({ paused: true, reason: 'ses-account-paused', by: 'dispatcher' });
    expect(await ledger('h-account')).toMatchObject({ state: 'released' });
    // The next batch waits in the queue without calling SES.
    await expect(handler(sqsEvent(next))).resolves.toEqual({ batchItemFailures: [{ itemIdentifier: next.messageId }] });
    expect(reporter.outcomeOf(next.messageId)).toEqual({ state: 'retry', reason: 'paused' });
    expect(await deliveredTo('h-account')).toEqual([]);
    const { DynamoDbPauseSwitch } = await import('../../../lambdas/adapters/dynamodb-pause-switch');
    await new DynamoDbPauseSwitch({ ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb }).resume('test', new Date());
  });

  it('keeps the claim of a send whose outcome is unknown: in-doubt, never re-sent', async () => {
    const { handler, reporter } = await dispatcher(armed('timeout-after-send', 1));
    const record = sqsRecord(message('h-doubt', 'M1', 'pat@example.org'));
    await expect(handler(sqsEvent(record))).resolves.toEqual({ batchItemFailures: [] });
    expect(reporter.outcomeOf(record.messageId)).toEqual({ state: 'in-doubt' });
    const again = sqsRecord(message('h-doubt', 'M1', 'pat@example.org'));
    await handler(sqsEvent(again));
    expect(reporter.outcomeOf(again.messageId)).toEqual({ state: 'in-doubt' });
    expect(await deliveredTo('h-doubt')).toEqual(['pat@example.org']);
    expect(await ledger('h-doubt')).toMatchObject({ state: 'in-doubt' });
  });

  it('finds a claim abandoned by a crashed attempt when its message comes back after the lease: in-doubt', async () => {
    const { handler, reporter } = await dispatcher();
    const record = sqsRecord(message('h-crash', 'M1', 'pat@example.org'));
    // What a crash between send and commit leaves: a claim by this message, no outcome.
    const { DynamoDbDispatchLedger } = await import('../../../lambdas/adapters/dynamodb-dispatch-ledger');
    const store = new DynamoDbDispatchLedger({
      membersTable: aws.tables.members,
      ledgerTable: aws.tables.ledger,
      client: aws.clients.dynamodb,
    });
    await store.claimAll([
      {
        message: { dispatchId: 'h-crash', memberId: 'M1', to: 'pat@example.org', template: 'advice-nurse-reply', data: {} },
        toHash: 'h',
        matched: { via: 'email', value: 'pat@example.org' },
        fanInKey: 'fanin#h-crash',
        fanIn: { kind: 'join', version: 0, atMs: 0, prune: [] },
        fanInExpiresAt: 1,
        claimToken: 'crashed',
        sqsMessageId: record.messageId,
        receiveCount: 1,
        // SQS brings it back after the visibility timeout (180 s), past the claim's lease (60 s).
        now: new Date(Date.now() - 61_000),
      },
    ]);
    await handler(sqsEvent({ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: '2' } }));
    expect(reporter.outcomeOf(record.messageId)).toEqual({ state: 'in-doubt' });
    expect(await deliveredTo('h-crash')).toEqual([]);
    expect(await ledger('h-crash')).toMatchObject({ state: 'in-doubt' });
  });
});
