import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DynamoDbDispatchLedger } from '../../../lambdas/adapters/dynamodb-dispatch-ledger';
import { registerMembers } from '../../../lambdas/adapters/dynamodb-member-registry';
import { isRetryableStoreError } from '../../../lambdas/adapters/dynamodb-errors';
import { dispatchRefFromText } from '../../../lambdas/core/templates';
import { createDispatcherDeps } from '../../../lambdas/dispatcher/dependencies';
import { createHandler } from '../../../lambdas/dispatcher/handler';
import type { ClaimRequest } from '../../../lambdas/ports';
import { Env, LedgerKey } from '../../../lambdas/tables';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import {
  FaultPlan,
  addDynamoDbFaults,
  dynamoDbTransactionConflictError,
  sesThrottleError,
  transactionCancelledError,
} from '../../../local/faults';
import { putMembersRaw } from '../../support/members';
import { RecordingReporter } from '../../support/recording-reporter';
import { sqsEvent, sqsRecord } from '../../support/sqs-event';

jest.setTimeout(120_000);

/**
 * Issue 20.1: the answers DynamoDB gives under contention (an ongoing transaction, a throttle)
 * and DynamoDB Local never does, produced by the local fault layer on a client of its own, so
 * each test decides exactly which call meets them.
 */
let aws: EmbeddedAws;
let plan: FaultPlan;
let faulty: DynamoDBClient;
let calls: string[];

beforeAll(async () => {
  aws = await startEmbeddedAws({ config: { maxReceiveCount: 3 } });
  await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
    { memberId: 'A', email: 'a@example.org', status: 'active' },
    { memberId: 'B', email: 'b@example.org', status: 'active' },
    { memberId: 'R', email: 'r@example.org', status: 'active' },
  ]);
  plan = FaultPlan.create();
  faulty = new DynamoDBClient({
    region: aws.region,
    endpoint: aws.endpoints.dynamodb,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  calls = [];
  faulty.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push(context.commandName ?? '');
      return next(args);
    },
    { step: 'initialize' },
  );
  addDynamoDbFaults(faulty, plan);
});
afterAll(async () => {
  faulty?.destroy();
  await aws?.stop();
});
beforeEach(() => {
  plan.clear();
  calls.length = 0;
});

const ledgerOf = () => new DynamoDbDispatchLedger({ membersTable: aws.tables.members, ledgerTable: aws.tables.ledger, client: faulty });

async function record(dispatchId: string) {
  const { Item } = await aws.clients.dynamodb.send(
    new GetItemCommand({ TableName: aws.tables.ledger, Key: { pk: { S: LedgerKey.dispatch(dispatchId) } }, ConsistentRead: true }),
  );
  return Item ? unmarshall(Item) : undefined;
}

const claim = (dispatchId: string, memberId: string, registered: string): ClaimRequest => ({
  message: { dispatchId, memberId, to: registered, template: 'advice-nurse-reply', data: {} },
  toHash: `h-${memberId}`,
  matched: { via: 'email', value: registered },
  fanInKey: `fanin#contention-${dispatchId}#1`,
  fanIn: { kind: 'join', version: 0, atMs: 0, prune: [] },
  fanInExpiresAt: 4_000_000_000,
  claimToken: `t-${dispatchId}`,
  sqsMessageId: `sqs-${dispatchId}`,
  receiveCount: 1,
  now: new Date(),
});

describe('the local fault layer gives DynamoDB’s contention answers in their real shape', () => {
  it('a single write: TransactionConflictException; a transaction: one reason per item, the rest None', () => {
    expect(dynamoDbTransactionConflictError()).toMatchObject({
      name: 'TransactionConflictException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    const cancelled = transactionCancelledError(3, 'ThrottlingError') as Error & { CancellationReasons: { Code: string }[] };
    expect(cancelled.name).toBe('TransactionCanceledException');
    expect(cancelled.CancellationReasons.map((r) => r.Code)).toEqual(['ThrottlingError', 'None', 'None']);
    expect(cancelled.message).toBe(
      'Transaction cancelled, please refer cancellation reasons for specific reasons [ThrottlingError, None, None]',
    );
  });

  it('treats TransactionConflictException as retryable (the SDK does not retry it)', () => {
    expect(isRetryableStoreError(dynamoDbTransactionConflictError())).toBe(true);
  });
});

describe('DynamoDbDispatchLedger under contention', () => {
  it('settles a claim whose write first meets an ongoing transaction (TransactionConflictException)', async () => {
    const ledger = ledgerOf();
    await expect(ledger.claimAll([claim('c-settle', 'A', 'a@example.org')])).resolves.toEqual([{ claimed: true }]);
    plan.arm({ target: 'dynamodb', kind: 'transaction-conflict', times: 2 });
    await ledger.settle('c-settle', 't-c-settle', { kind: 'released', reason: 'ses-throttled' }, new Date());
    expect((await record('c-settle'))?.state).toBe('released');
    expect(calls.filter((c) => c === 'UpdateItemCommand')).toHaveLength(3);
  });

  it.each(['transaction-conflict', 'throttle'] as const)(
    'claims once a transaction cancelled by %s reasons is tried again',
    async (kind) => {
      plan.arm({ target: 'dynamodb', kind, times: 2 });
      const id = `c-claim-${kind}`;
      await expect(ledgerOf().claimAll([claim(id, 'B', 'b@example.org')])).resolves.toEqual([{ claimed: true }]);
      expect(calls.filter((c) => c === 'TransactWriteItemsCommand')).toHaveLength(3);
      expect((await record(id))?.state).toBe('claimed');
    },
  );

  it('gives up as store-unavailable, never as a condition failure, when contention does not end', async () => {
    plan.arm({ target: 'dynamodb', kind: 'transaction-conflict', times: 100 });
    await expect(ledgerOf().claimAll([claim('c-never', 'B', 'b@example.org')])).resolves.toEqual([{ claimed: false, unavailable: true }]);
    expect(await record('c-never')).toBeUndefined();
  });
});

describe('the dispatcher under contention', () => {
  it('releases a refused send although the release meets an ongoing transaction, so the redelivery sends it (never in-doubt)', async () => {
    // SES refuses every try; at the first refusal another transaction holds the ledger item.
    let armedOnce = false;
    const ses = new SESv2Client({
      region: aws.region,
      endpoint: aws.endpoints.ses,
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
      maxAttempts: 1,
    });
    let refuse = true;
    ses.middlewareStack.add(
      (next) => async (args) => {
        if (!refuse) return next(args);
        if (!armedOnce) plan.arm({ target: 'dynamodb', kind: 'transaction-conflict', times: 1 });
        armedOnce = true;
        throw sesThrottleError();
      },
      { step: 'deserialize' },
    );
    const reporter = new RecordingReporter();
    const deps = await createDispatcherDeps({ env: aws.env, clients: { dynamodb: faulty, sqs: aws.clients.sqs, ses }, reporter });
    const handler = createHandler(deps);
    const body = JSON.stringify({
      dispatchId: 'c-release',
      memberId: 'R',
      to: 'r@example.org',
      template: 'advice-nurse-reply',
      data: { firstName: 'R' },
    });
    const first = sqsRecord(body, { messageId: 'sqs-c-release', receiveCount: 1 });
    await expect(handler(sqsEvent(first))).resolves.toEqual({ batchItemFailures: [{ itemIdentifier: 'sqs-c-release' }] });
    expect((await record('c-release'))?.state).toBe('released');

    refuse = false;
    const again = sqsRecord(body, { messageId: 'sqs-c-release', receiveCount: 2 });
    await expect(handler(sqsEvent(again))).resolves.toEqual({ batchItemFailures: [] });
    expect(reporter.outcomeOf('sqs-c-release')).toMatchObject({ state: 'sent' });
    const sent = (await aws.sesStore()).filter((e) => dispatchRefFromText(e.body.text ?? '') === 'c-release');
    expect(sent).toHaveLength(1);
  });
});

describe('DynamoDbMemberRegistry under contention', () => {
  const options = () => ({ tables: aws.tables, hashKey: aws.env[Env.addressHashKey], fanInLimit: 3, client: faulty });

  it('registers a row whose transaction is cancelled with ThrottlingError reasons', async () => {
    // Armed once the row's reads are done, so the throttle meets its transaction.
    const result = await registerMembers([{ memberId: 'RT1', email: 'rt1@example.org', status: 'active' }], {
      ...options(),
      client: armBefore(faulty, 'TransactWriteItemsCommand', () => plan.arm({ target: 'dynamodb', kind: 'throttle', times: 2 })),
    });
    expect(result).toEqual({ registered: ['RT1'], refused: [], failed: [] });
  });

  it('registers a row that meets ongoing transactions more often than it may lose races with other writers', async () => {
    const result = await registerMembers([{ memberId: 'RT2', email: 'rt2@example.org', status: 'active' }], {
      ...options(),
      conflictRetries: 2,
      client: armBefore(faulty, 'TransactWriteItemsCommand', () =>
        plan.arm({ target: 'dynamodb', kind: 'transaction-conflict', times: 4 }),
      ),
    });
    expect(result).toEqual({ registered: ['RT2'], refused: [], failed: [] });
    // Contention is retried with the same reads: no re-read per conflict.
    expect(calls.filter((c) => c === 'GetItemCommand')).toHaveLength(1);
  });
});

/** Arms a fault once, just before the first call of `command` (so the reads before it are not hit). */
function armBefore(client: DynamoDBClient, command: string, arm: () => void): DynamoDBClient {
  let armed = false;
  const name = `armBefore-${Math.random()}`;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (!armed && context.commandName === command) {
        armed = true;
        arm();
      }
      return next(args);
    },
    { step: 'initialize', name },
  );
  afterAllRemove.push(() => client.middlewareStack.remove(name));
  return client;
}

const afterAllRemove: (() => void)[] = [];
afterEach(() => afterAllRemove.splice(0).forEach((remove) => remove()));
