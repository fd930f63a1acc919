import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { DynamoDbDispatchLedger } from '../../../lambdas/adapters/dynamodb-dispatch-ledger';
import { EventBridgeOutcomeFeed } from '../../../lambdas/adapters/eventbridge-outcome-feed';
import { SqsOutcomeFeed } from '../../../lambdas/adapters/sqs-outcome-feed';
import { parseOutcomeEvent, type OutcomeEventDetail } from '../../../lambdas/core/outcome-event';
import { LedgerState } from '../../../lambdas/core/outcomes';
import { createOutcomePublisherHandler } from '../../../lambdas/outcome-publisher/handler';
import type { OutcomeFeed } from '../../../lambdas/ports';
import { DynamoDbStreamPoller } from '../../../local/dynamodb-stream-poller';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { startFakeEventBridge, type FakeEventBridge } from '../../support/fake-eventbridge';
import { putMembersRaw } from '../../support/members';

jest.setTimeout(180_000);
const quiet = { info: () => undefined, warn: () => undefined };
let aws: EmbeddedAws;
let ledger: DynamoDbDispatchLedger;
let bus: FakeEventBridge;

beforeAll(async () => {
  [aws, bus] = await Promise.all([startEmbeddedAws(), startFakeEventBridge()]);
  ledger = new DynamoDbDispatchLedger({ membersTable: aws.tables.members, ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb });
  await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [{ memberId: 'P1', email: 'pat@example.org', status: 'active' }]);
});
afterAll(async () => {
  await bus?.close();
  await aws?.stop();
});

/** Writes `count` sent dispatches and `count` blocked ones through the real ledger adapter; returns the outcomeIds they must yield. */
async function writeDispatches(prefix: string, count: number): Promise<string[]> {
  const expected: string[] = [];
  const now = new Date('2000-08-02T09:00:00Z');
  for (let i = 0; i < count; i++) {
    const dispatchId = `${prefix}-sent-${i}`;
    const [claim] = await ledger.claimAll([
      {
        message: { dispatchId, memberId: 'P1', to: 'pat@example.org', template: 'advice-nurse-reply', data: {} },
        toHash: '0123456789abcdef0123456789abcdef',
        matched: { via: 'email', value: 'pat@example.org' },
        fanInKey: `fanin#${prefix}#${i}`,
        fanIn: { kind: 'join', version: 0, atMs: 0, prune: [] },
        fanInExpiresAt: 1,
        claimToken: 't',
        sqsMessageId: `sqs-${dispatchId}`,
        receiveCount: 1,
        now,
      },
    ]);
    expect(claim).toEqual({ claimed: true });
    await ledger.settle(dispatchId, 't', { kind: 'sent', sesMessageId: `ses-${dispatchId}` }, now);
    expected.push(`${dispatchId}#v2`);
    const blocked = `${prefix}-blocked-${i}`;
    await ledger.recordUnsent({
      state: LedgerState.Blocked,
      reason: 'recipient-mismatch',
      dispatchId: blocked,
      memberId: 'P1',
      toHash: 'h',
      sqsMessageId: `sqs-${blocked}`,
      now,
    });
    expected.push(`${blocked}#v1`);
  }
  return expected;
}

async function receiveAll(): Promise<OutcomeEventDetail[]> {
  const events: OutcomeEventDetail[] = [];
  for (;;) {
    const { Messages = [] } = await aws.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: aws.outcomeQueueUrl, MaxNumberOfMessages: 10 }),
    );
    if (Messages.length === 0) return events;
    for (const message of Messages) {
      const parsed = parseOutcomeEvent(message.Body);
      if (!parsed.ok) throw new Error(parsed.problems.join('; '));
      events.push(parsed.event);
    }
    await aws.clients.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: aws.outcomeQueueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
}

const ofPrefix = (events: readonly OutcomeEventDetail[], prefix: string) => events.filter((e) => e.dispatchId?.startsWith(`${prefix}-`));
const sqsFeed = () => new SqsOutcomeFeed({ queueUrl: aws.outcomeQueueUrl, client: aws.clients.sqs, baseDelayMs: 5 });

/** The poller stands for the event source mapping (it keeps the checkpoint); each `instance` is one execution environment of the function. */
function poller(invoke: (event: DynamoDBStreamEvent) => Promise<unknown>) {
  return new DynamoDbStreamPoller({
    client: aws.clients.dynamodbStreams,
    streamArn: aws.ledgerStreamArn,
    handler: invoke as never,
    batchSize: 7,
    intervalMs: 20,
  });
}

describe('the outcome publisher on the ledger stream', () => {
  it('killed between reading the stream and delivering: after the restart every event arrives (deduplicated by id, none missing)', async () => {
    const expected = await writeDispatches('kill', 10);
    let instance = createOutcomePublisherHandler({ feed: sqsFeed(), logger: quiet, onCounts: () => undefined });
    let killed = 0;
    const stream = poller(async (event) => {
      if (killed < 2) {
        // The execution environment dies with the batch read and nothing delivered; the next
        // invocation gets a fresh one (a cold start), as Lambda does after a crash.
        killed++;
        instance = createOutcomePublisherHandler({ feed: sqsFeed(), logger: quiet, onCounts: () => undefined });
        throw new Error('Runtime exited with error: signal: killed');
      }
      return instance(event);
    });
    await expect(stream.catchUp()).resolves.toBe(true);
    const events = ofPrefix(await receiveAll(), 'kill');
    expect(killed).toBe(2);
    expect(new Set(events.map((e) => e.outcomeId))).toEqual(new Set(expected));
  });

  it('a crash mid-batch (part of it delivered) redelivers the rest and duplicates only what was sent: none missing', async () => {
    const expected = await writeDispatches('mid', 10);
    const real = sqsFeed();
    let crashes = 0;
    const crashing: OutcomeFeed = {
      deliver: async (events) => {
        if (crashes < 3 && events.length > 3) {
          crashes++;
          await real.deliver(events.slice(0, 3));
          throw new Error('Runtime exited with error: signal: killed');
        }
        return real.deliver(events);
      },
    };
    const stream = poller(createOutcomePublisherHandler({ feed: crashing, logger: quiet, onCounts: () => undefined }));
    await expect(stream.catchUp()).resolves.toBe(true);
    const all = await receiveAll();
    const events = ofPrefix(all, 'mid');
    expect(crashes).toBe(3);
    // The poller starts at the trim horizon, so the crashed batches may hold other tests' records too.
    expect(all.length).toBeGreaterThan(new Set(all.map((e) => e.outcomeId)).size);
    expect(new Set(events.map((e) => e.outcomeId))).toEqual(new Set(expected));
  });

  it('a restarted event source (checkpoint lost) starts again from the stream trim horizon: duplicates, nothing missing', async () => {
    const expected = await writeDispatches('restart', 3);
    await poller(createOutcomePublisherHandler({ feed: sqsFeed(), logger: quiet, onCounts: () => undefined })).catchUp();
    await poller(createOutcomePublisherHandler({ feed: sqsFeed(), logger: quiet, onCounts: () => undefined })).catchUp();
    const ids = ofPrefix(await receiveAll(), 'restart').map((e) => e.outcomeId);
    expect(ids.filter((id) => id === expected[0])).toHaveLength(2);
    expect(new Set(ids)).toEqual(new Set(expected));
  });
});

describe('the outcome publisher on EventBridge', () => {
  const feed = () =>
    new EventBridgeOutcomeFeed({
      eventBusName: 'mail-dispatch-outcomes',
      client: new EventBridgeClient({
        region: 'us-east-1',
        endpoint: bus.endpoint,
        credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
        maxAttempts: 1,
      }),
      baseDelayMs: 5,
    });
  const details = () => bus.accepted.map((entry) => JSON.parse(entry.Detail) as OutcomeEventDetail);
  beforeEach(() => {
    bus.accepted.length = 0;
    bus.script.length = 0;
    bus.fallback = { kind: 'accept' };
  });

  it('puts each event on the bus as source mail-dispatch, detail-type Dispatch Outcome', async () => {
    const expected = await writeDispatches('eb', 2);
    await poller(createOutcomePublisherHandler({ feed: feed(), logger: quiet, onCounts: () => undefined })).catchUp();
    const entries = bus.accepted.filter((entry) => entry.Detail.includes('"eb-'));
    expect(
      entries.every(
        (e) => e.Source === 'mail-dispatch' && e.DetailType === 'Dispatch Outcome' && e.EventBusName === 'mail-dispatch-outcomes',
      ),
    ).toBe(true);
    expect(new Set(entries.map((e) => (JSON.parse(e.Detail) as OutcomeEventDetail).outcomeId))).toEqual(new Set(expected));
  });

  it('retries the entries of a partial failure (FailedEntryCount), never dropping one', async () => {
    const events = Array.from({ length: 12 }, (_, i) => ({
      schemaVersion: 1 as const,
      outcomeId: `p-${i}#v1`,
      version: 1,
      dispatchId: `p-${i}`,
      memberId: 'P1',
      event: 'sent',
      at: '2000-08-02T09:00:00.000Z',
    }));
    bus.script.push({ kind: 'partial', refuse: [1, 4, 9] }, { kind: 'accept' }, { kind: 'partial', refuse: [0] });
    await expect(feed().deliver(events)).resolves.toEqual([]);
    expect(
      details()
        .map((d) => d.outcomeId)
        .sort(),
    ).toEqual(events.map((e) => e.outcomeId).sort());
  });

  it('rides out throttling; while the bus is down the stream does not move on, and every event arrives once it is back', async () => {
    const expected = await writeDispatches('down', 4);
    bus.script.push({ kind: 'throttle' }, { kind: 'throttle' });
    bus.fallback = { kind: 'down' };
    const failures: string[] = [];
    const handler = createOutcomePublisherHandler({ feed: feed(), logger: quiet, onCounts: () => undefined });
    const stream = poller(async (event) => {
      const response = await handler(event);
      failures.push(...response.batchItemFailures.map((f) => f.itemIdentifier));
      return response;
    });
    await stream.pollOnce();
    await stream.pollOnce();
    expect(failures.length).toBeGreaterThanOrEqual(2);
    // The same first record is reported each time: nothing after it was skipped.
    expect(new Set(failures).size).toBe(1);
    bus.fallback = { kind: 'accept' };
    await expect(stream.catchUp()).resolves.toBe(true);
    expect(
      new Set(
        details()
          .filter((d) => d.dispatchId?.startsWith('down-'))
          .map((d) => d.outcomeId),
      ),
    ).toEqual(new Set(expected));
  });
});
