import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context } from 'aws-lambda';
import { dispatchRefFromText } from '../../../lambdas/core/templates';
import { createDispatcherDeps } from '../../../lambdas/dispatcher/dependencies';
import { createHandler } from '../../../lambdas/dispatcher/handler';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { putMembersRaw } from '../../support/members';
import { RecordingReporter } from '../../support/recording-reporter';
import { sqsEvent, sqsRecord } from '../../support/sqs-event';

/**
 * 12.6: a Lambda timeout during pacing stranded a claimed, never-sent message (it ended in-doubt
 * on its next delivery). The real handler and adapters on the embedded emulators, with a fake
 * Lambda context whose remaining time runs out, and a "process" that dies at that deadline: after
 * it, no request of the invocation reaches SES (Lambda froze and discarded it).
 */
jest.setTimeout(120_000);

let aws: EmbeddedAws;
const CREDENTIALS = { accessKeyId: 'l', secretAccessKey: 'l' };

beforeAll(async () => {
  aws = await startEmbeddedAws({ config: { fanInLimit: 3, maxReceiveCount: 3 } });
  await putMembersRaw(
    aws.clients.dynamodb,
    aws.tables.members,
    Array.from({ length: 6 }, (_, n) => ({ memberId: `T${n}`, email: `tia${n}@example.org`, status: 'active', proxies: [] })),
  );
});
afterAll(async () => aws?.stop());

const message = (dispatchId: string, n: number) =>
  JSON.stringify({ dispatchId, memberId: `T${n}`, to: `tia${n}@example.org`, template: 'advice-nurse-reply', data: { firstName: 'Tia' } });

async function ledger(pk: string) {
  const { Item } = await aws.clients.dynamodb.send(
    new GetItemCommand({ TableName: aws.tables.ledger, Key: { pk: { S: pk } }, ConsistentRead: true }),
  );
  return Item ? unmarshall(Item) : undefined;
}

async function deliveredTo(dispatchId: string): Promise<string[]> {
  const emails = await aws.sesStore();
  return emails.filter((e) => dispatchRefFromText(e.body.text ?? '') === dispatchId).flatMap((e) => e.destination.to);
}

/** A Lambda context whose remaining time counts down from `timeoutMs` in real time. */
function lambdaContext(timeoutMs: number): { context: Context; deadline: number } {
  const deadline = Date.now() + timeoutMs;
  const context = {
    functionName: 'mail-dispatch-dispatcher',
    awsRequestId: 'req-12-6',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  } as unknown as Context;
  return { context, deadline };
}

/**
 * The dispatcher as one invocation sees it, paced (one send a second unless told), whose claim transaction
 * answers `claimLatencyMs` after DynamoDB applied it, and which dies at the context's deadline:
 * a request made after it never reaches SES.
 */
async function invocation(options: {
  timeoutMs: number;
  claimLatencyMs: number;
  attemptBudgetMs?: number;
  sendsPerSecond?: number;
  sesLatencyMs?: number;
}) {
  let deadline = Infinity;
  const dead = () => Date.now() >= deadline;
  const dynamodb = new DynamoDBClient({ region: aws.region, endpoint: aws.endpoints.dynamodb, credentials: CREDENTIALS });
  dynamodb.middlewareStack.add(
    (next, info) => async (args) => {
      const answer = await next(args);
      if (info.commandName === 'TransactWriteItemsCommand') await new Promise((resolve) => setTimeout(resolve, options.claimLatencyMs));
      return answer;
    },
    { step: 'initialize' },
  );
  const ses = new SESv2Client({ region: aws.region, endpoint: aws.endpoints.ses, credentials: CREDENTIALS, maxAttempts: 1 });
  ses.middlewareStack.add(
    (next) => async (args) => {
      // A slow SES (still inside the SES client's own timeouts) answers late; the request leaves after the wait.
      if (options.sesLatencyMs) await new Promise((resolve) => setTimeout(resolve, options.sesLatencyMs));
      return dead() ? new Promise<never>(() => undefined) : next(args);
    },
    { step: 'initialize' },
  );
  const reporter = new RecordingReporter();
  const deps = await createDispatcherDeps({
    env: { ...aws.env, MAX_SENDS_PER_SECOND: String(options.sendsPerSecond ?? 1) },
    clients: { dynamodb, sqs: aws.clients.sqs, ses },
    reporter,
  });
  const handler = createHandler(options.attemptBudgetMs === undefined ? deps : { ...deps, attemptBudgetMs: options.attemptBudgetMs });
  // Lambda stops the invocation at its deadline: whatever the handler still awaits is lost.
  const run = async (records: ReturnType<typeof sqsRecord>[]) => {
    let timer: NodeJS.Timeout | undefined;
    const invoked = lambdaContext(options.timeoutMs);
    const context = invoked.context;
    deadline = invoked.deadline;
    try {
      return await Promise.race([
        handler(sqsEvent(...records), context),
        new Promise<'timed out'>((resolve) => (timer = setTimeout(() => resolve('timed out'), options.timeoutMs))),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };
  return { run, reporter };
}

describe('12.6: a Lambda timeout during pacing strands no claimed message', () => {
  it('12.6: a message without time left for claim + send + settle is handed back unclaimed', async () => {
    // A claim answers 1.5 s after it applied; the function has 3.5 s; one send every 2.5 s. The
    // first message is claimed and sent at once; the second's slot is 2.5 s later, when 1 s is
    // left: claiming then would strand it (the claim applies, the invocation dies before SES).
    const { run, reporter } = await invocation({ timeoutMs: 3_500, claimLatencyMs: 1_500, attemptBudgetMs: 2_000, sendsPerSecond: 0.4 });
    const first = sqsRecord(message('t6-first', 0));
    const second = sqsRecord(message('t6-second', 1));
    const response = await run([first, second]);

    // Nothing claimed: the next delivery sends it, not an in-doubt end.
    expect(await ledger('t6-second')).toBeUndefined();
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: second.messageId }] });
    expect(reporter.outcomeOf(first.messageId)).toMatchObject({ state: 'sent' });
    expect(reporter.outcomeOf(second.messageId)).toEqual({ state: 'retry', reason: 'no-time-left' });
    expect(await ledger('t6-first')).toMatchObject({ state: 'sent' });
    expect(await deliveredTo('t6-second')).toEqual([]);
  });

  it('12.6: with less time left than the budget from the start, nothing is claimed and everything goes back to SQS', async () => {
    // The default budget (claim + SES connect + SES request + settle) is far above 1.5 s.
    const { run, reporter } = await invocation({ timeoutMs: 1_500, claimLatencyMs: 0 });
    const record = sqsRecord(message('t6-none', 2));
    await expect(run([record])).resolves.toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    expect(reporter.outcomeOf(record.messageId)).toEqual({ state: 'retry', reason: 'no-time-left' });
    expect(await ledger('t6-none')).toBeUndefined();
  });

  it('12.6: with time for every message, a paced batch is sent in full', async () => {
    const { run, reporter } = await invocation({ timeoutMs: 20_000, claimLatencyMs: 0, attemptBudgetMs: 2_000 });
    const records = [3, 4, 5].map((n) => sqsRecord(message(`t6-full-${n}`, n)));
    await expect(run(records)).resolves.toEqual({ batchItemFailures: [] });
    for (const record of records) expect(reporter.outcomeOf(record.messageId)).toMatchObject({ state: 'sent' });
  });

  it('12.6 review: a claim that answers late (its 2 s share overrun) is given back, not sent into the deadline', async () => {
    // The default budget (11 s) is there when the claim starts (12 s left), but the claim answers
    // 5.5 s later: 6.5 s left, less than the SES request (7 s) and the settle need. SES then takes
    // 6 s, inside its own timeouts. Sending on would hand SES a request the deadline cuts off: a
    // never-sent message stranded claimed (in-doubt on its next delivery).
    const { run, reporter } = await invocation({ timeoutMs: 12_000, claimLatencyMs: 5_500, sesLatencyMs: 6_000 });
    const record = sqsRecord(message('t6-late-claim', 0));
    const response = await run([record]);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    expect(reporter.outcomeOf(record.messageId)).toEqual({ state: 'retry', reason: 'no-time-left' });
    expect(await ledger('t6-late-claim')).toMatchObject({ state: 'released', reason: 'no-time-left' });
    expect(await deliveredTo('t6-late-claim')).toEqual([]);
  });
});
