/**
 * Conformance of the store model (test/verify/model) with the emulators: the same small
 * sequences run on the model and on DynamoDB Local / fauxqs, and the answers (items, errors,
 * cancellation reasons) and the tables' contents afterwards must be the same. Where the real
 * services and the model could differ, this is where it shows. Behaviours DynamoDB Local never
 * produces (throttles, conflicts, a 500 after a write) are not compared: the model produces
 * them as docs/decisions.md ("The AWS answers the emulators never give") says.
 */
import {
  BatchGetItemCommand,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import { createDispatcherDeps } from '../../lambdas/dispatcher/dependencies';
import { createHandler } from '../../lambdas/dispatcher/handler';
import { LEDGER_TABLE, MEMBERS_TABLE } from '../../lambdas/tables';
import { startEmbeddedAws, type EmbeddedAws } from '../../local/embedded-aws';
import { ledgerTableInput, membersTableInput } from '../../local/provision';
import { sqsEvent, sqsRecord } from '../support/sqs-event';
import { DynamoModel } from './model/dynamo-model';
import { SqsModel } from './model/sqs-model';
import { RESERVED_WORDS } from './model/reserved-words';

jest.setTimeout(180_000);

let aws: EmbeddedAws;
let model: DynamoModel;
let modelClient: DynamoDBClient;
const MEMBERS = MEMBERS_TABLE.name;
const LEDGER = LEDGER_TABLE.name;
let clock = Date.UTC(2000, 7, 2, 9, 0, 0);

beforeAll(async () => {
  aws = await startEmbeddedAws({ visibilityTimeoutSeconds: 30 });
  model = new DynamoModel(() => clock);
  model.createTable(membersTableInput(MEMBERS));
  model.createTable(ledgerTableInput(LEDGER));
  modelClient = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) =>
      model.execute(command.constructor.name, command.input),
  } as never;
});
afterAll(async () => aws?.stop());

/** What a call answered, without what only one side reports (request ids, consumed capacity). */
async function answer(client: DynamoDBClient, command: unknown): Promise<unknown> {
  try {
    const out = (await client.send(command as never)) as unknown as Record<string, unknown>;
    const { $metadata, ConsumedCapacity, ...rest } = out;
    void $metadata;
    void ConsumedCapacity;
    if (rest.Responses && !Array.isArray(rest.Responses)) {
      rest.Responses = Object.fromEntries(
        Object.entries(rest.Responses as Record<string, Record<string, unknown>[]>).map(([t, items]) => [t, sortItems(items)]),
      );
    }
    if (rest.UnprocessedKeys && Object.keys(rest.UnprocessedKeys as object).length === 0) delete rest.UnprocessedKeys;
    return rest;
  } catch (error) {
    const e = error as { name: string; CancellationReasons?: { Code?: string }[] };
    return { error: e.name, reasons: e.CancellationReasons?.map((r) => r.Code) };
  }
}

function sortItems(items: Record<string, unknown>[]): Record<string, unknown>[] {
  return [...items].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/** Runs the same commands on both, comparing every answer and the items they touched. */
async function same(label: string, commands: (() => unknown)[], keys: { table: string; key: Record<string, unknown> }[]): Promise<void> {
  const real: unknown[] = [];
  const modelled: unknown[] = [];
  for (const command of commands) {
    real.push(await answer(aws.clients.dynamodb, command()));
    modelled.push(await answer(modelClient, command()));
  }
  for (const { table, key } of keys) {
    const get = () => new GetItemCommand({ TableName: table, Key: marshall(key), ConsistentRead: true });
    real.push(await answer(aws.clients.dynamodb, get()));
    modelled.push(await answer(modelClient, get()));
  }
  expect({ label, answers: modelled }).toEqual({ label, answers: real });
}

const put =
  (table: string, item: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  () =>
    new PutItemCommand({ TableName: table, Item: marshall(item, { convertClassInstanceToMap: true }), ...extra });
const update = (pk: string, input: Record<string, unknown>) => () =>
  new UpdateItemCommand({ TableName: LEDGER, Key: marshall({ pk }), ...input } as never);

describe('store model conforms to DynamoDB Local', () => {
  it('reserved words are refused as bare attribute names, as DynamoDB Local refuses them', async () => {
    const refused = async (client: DynamoDBClient, word: string) =>
      (
        (await answer(
          client,
          update('rw', { UpdateExpression: `SET ${word} = :v`, ExpressionAttributeValues: marshall({ ':v': 1 }) })(),
        )) as { error?: string }
      ).error;
    const words = [
      ...RESERVED_WORDS,
      'reason',
      'history',
      'paused',
      'members',
      'seen',
      'version',
      'email',
      'proxies',
      'suppressed',
      'claimToken',
    ];
    const real: Record<string, string | undefined> = {};
    const modelled: Record<string, string | undefined> = {};
    for (const word of words) {
      real[word] = await refused(aws.clients.dynamodb, word);
      modelled[word] = await refused(modelClient, word);
    }
    expect(modelled).toEqual(real);
  });

  it('conditional puts: attribute_not_exists, and the answer for an existing item', async () => {
    await same(
      'put twice',
      [
        put(LEDGER, { pk: 'c1', state: 'claimed' }, { ConditionExpression: 'attribute_not_exists(pk)' }),
        put(LEDGER, { pk: 'c1', state: 'sent' }, { ConditionExpression: 'attribute_not_exists(pk)' }),
      ],
      [{ table: LEDGER, key: { pk: 'c1' } }],
    );
  });

  it('comparisons with a missing attribute (=, <>, <, IN, NOT, size)', async () => {
    const cases = [
      'absent = :v',
      'absent <> :v',
      'absent < :v',
      'absent IN (:v)',
      'NOT absent = :v',
      'size(absent) < :n',
      'NOT (absent IN (:v))',
      'missing = :v',
      'attribute_type(s, :t)',
    ];
    const commands = cases.map((condition, i) =>
      update('c2', {
        UpdateExpression: `SET r${i} = :one`,
        ConditionExpression: condition,
        ExpressionAttributeValues: marshall({
          ':one': 1,
          ...(condition.includes(':v') ? { ':v': 'x' } : {}),
          ...(condition.includes(':n') ? { ':n': 3 } : {}),
          ...(condition.includes(':t') ? { ':t': 'S' } : {}),
        }),
      }),
    );
    await same('missing attributes', [put(LEDGER, { pk: 'c2', s: 'str' }), ...commands], [{ table: LEDGER, key: { pk: 'c2' } }]);
  });

  it('update expressions: if_not_exists, list_append, ADD to numbers and sets, DELETE, REMOVE, nested map paths', async () => {
    await same(
      'updates',
      [
        update('c3', {
          UpdateExpression: 'SET n = if_not_exists(n, :zero) + :one, history = list_append(if_not_exists(history, :empty), :e) ADD tags :t',
          ExpressionAttributeValues: marshall({ ':zero': 0, ':one': 1, ':empty': [], ':e': [{ s: 'claimed' }], ':t': new Set(['a', 'b']) }),
        }),
        update('c3', {
          UpdateExpression: 'SET n = n + :one, history = list_append(history, :e) DELETE tags :t',
          ExpressionAttributeValues: marshall({ ':one': 1, ':e': [{ s: 'sent' }], ':t': new Set(['a']) }),
        }),
        update('c3', { UpdateExpression: 'SET seen = if_not_exists(seen, :m)', ExpressionAttributeValues: marshall({ ':m': {} }) }),
        update('c3', {
          UpdateExpression: 'SET seen.#m = :at',
          ConditionExpression: 'attribute_not_exists(seen.#m) OR seen.#m < :cut',
          ExpressionAttributeNames: { '#m': 'M1' },
          ExpressionAttributeValues: marshall({ ':at': 5, ':cut': 3 }),
        }),
        update('c3', {
          UpdateExpression: 'SET seen.#m = :at',
          ConditionExpression: 'attribute_not_exists(seen.#m) OR seen.#m < :cut',
          ExpressionAttributeNames: { '#m': 'M1' },
          ExpressionAttributeValues: marshall({ ':at': 9, ':cut': 3 }),
        }),
        update('c3', { UpdateExpression: 'REMOVE seen.#m, tags', ExpressionAttributeNames: { '#m': 'M1' } }),
        update('c3', { UpdateExpression: 'SET missing.deeper = :v', ExpressionAttributeValues: marshall({ ':v': 1 }) }),
      ],
      [{ table: LEDGER, key: { pk: 'c3' } }],
    );
  });

  it('requests DynamoDB refuses: an unused value or name, two operations on one item in a transaction', async () => {
    await same(
      'validation',
      [
        update('c4', { UpdateExpression: 'SET a = :a', ExpressionAttributeValues: marshall({ ':a': 1, ':unused': 2 }) }),
        update('c4', {
          UpdateExpression: 'SET a = :a',
          ExpressionAttributeNames: { '#x': 'x' },
          ExpressionAttributeValues: marshall({ ':a': 1 }),
        }),
        () =>
          new TransactWriteItemsCommand({
            TransactItems: [
              { Put: { TableName: LEDGER, Item: marshall({ pk: 'c4' }) } },
              {
                Update: {
                  TableName: LEDGER,
                  Key: marshall({ pk: 'c4' }),
                  UpdateExpression: 'SET a = :a',
                  ExpressionAttributeValues: marshall({ ':a': 1 }),
                },
              },
            ],
          }),
      ],
      [{ table: LEDGER, key: { pk: 'c4' } }],
    );
  });

  it('transactions: all or nothing, one cancellation reason per item in order', async () => {
    await same(
      'transaction',
      [
        put(MEMBERS, { memberId: 'T1', email: 'pat@example.org', status: 'active', proxies: ['kin@example.org'] }),
        () =>
          new TransactWriteItemsCommand({
            TransactItems: [
              {
                ConditionCheck: {
                  TableName: MEMBERS,
                  Key: marshall({ memberId: 'T1' }),
                  ConditionExpression: '#s = :a AND contains(proxies, :p)',
                  ExpressionAttributeNames: { '#s': 'status' },
                  ExpressionAttributeValues: marshall({ ':a': 'active', ':p': 'kin@example.org' }),
                },
              },
              {
                Update: {
                  TableName: LEDGER,
                  Key: marshall({ pk: 't1' }),
                  UpdateExpression: 'SET #st = :c',
                  ConditionExpression: 'attribute_not_exists(pk)',
                  ExpressionAttributeNames: { '#st': 'state' },
                  ExpressionAttributeValues: marshall({ ':c': 'claimed' }),
                },
              },
            ],
          }),
        () =>
          new TransactWriteItemsCommand({
            TransactItems: [
              {
                ConditionCheck: {
                  TableName: MEMBERS,
                  Key: marshall({ memberId: 'T1' }),
                  ConditionExpression: 'email = :e',
                  ExpressionAttributeValues: marshall({ ':e': 'other@example.org' }),
                },
              },
              {
                Update: {
                  TableName: LEDGER,
                  Key: marshall({ pk: 't2' }),
                  UpdateExpression: 'SET #st = :c',
                  ConditionExpression: 'attribute_not_exists(pk)',
                  ExpressionAttributeNames: { '#st': 'state' },
                  ExpressionAttributeValues: marshall({ ':c': 'claimed' }),
                },
              },
              {
                Update: {
                  TableName: LEDGER,
                  Key: marshall({ pk: 't1' }),
                  UpdateExpression: 'SET #st = :c',
                  ConditionExpression: 'attribute_not_exists(pk)',
                  ExpressionAttributeNames: { '#st': 'state' },
                  ExpressionAttributeValues: marshall({ ':c': 'claimed' }),
                },
              },
            ],
          }),
        () =>
          new TransactWriteItemsCommand({
            TransactItems: [
              {
                ConditionCheck: {
                  TableName: MEMBERS,
                  Key: marshall({ memberId: 'nobody' }),
                  ConditionExpression: 'attribute_exists(memberId)',
                },
              },
            ],
          }),
      ],
      [
        { table: LEDGER, key: { pk: 't1' } },
        { table: LEDGER, key: { pk: 't2' } },
      ],
    );
  });

  it('BatchGetItem across tables, missing keys left out; deletes; a GSI query with KEYS_ONLY projection', async () => {
    await same(
      'batch get and query',
      [
        put(LEDGER, { pk: 'q1', state: 'sent', memberId: 'QM', claimedAt: '2000-08-02T09:00:01Z', toHash: 'h' }),
        put(LEDGER, { pk: 'q2', state: 'blocked', memberId: 'QM', claimedAt: '2000-08-02T09:00:00Z', toHash: 'h' }),
        () =>
          new BatchGetItemCommand({
            RequestItems: {
              [LEDGER]: { Keys: [marshall({ pk: 'q1' }), marshall({ pk: 'nope' })], ConsistentRead: true },
              [MEMBERS]: { Keys: [marshall({ memberId: 'T1' })], ConsistentRead: true },
            },
          }),
        () =>
          new QueryCommand({
            TableName: LEDGER,
            IndexName: LEDGER_TABLE.byMemberIndex.name,
            KeyConditionExpression: 'memberId = :m AND claimedAt BETWEEN :a AND :b',
            ExpressionAttributeValues: marshall({ ':m': 'QM', ':a': '2000', ':b': '2001' }),
          }),
        () =>
          new DeleteItemCommand({
            TableName: LEDGER,
            Key: marshall({ pk: 'q2' }),
            ConditionExpression: '#s = :b',
            ExpressionAttributeNames: { '#s': 'state' },
            ExpressionAttributeValues: marshall({ ':b': 'sent' }),
          }),
      ],
      [{ table: LEDGER, key: { pk: 'q2' } }],
    );
  });

  it('the real dispatcher leaves the same ledger on the model as on DynamoDB Local', async () => {
    const members = [
      { memberId: 'DM1', email: 'dm1@example.org', status: 'active' },
      { memberId: 'DM2', email: 'dm2@example.org', status: 'closed' },
      { memberId: 'DM3', email: 'shared@example.org', status: 'active' },
      { memberId: 'DM4', email: 'shared+x@example.org', status: 'active' },
    ];
    const bodies = [
      { dispatchId: 'cd-1', memberId: 'DM1', to: 'dm1@example.org' },
      { dispatchId: 'cd-1', memberId: 'DM1', to: 'dm1@example.org' },
      { dispatchId: 'cd-2', memberId: 'DM2', to: 'dm2@example.org' },
      { dispatchId: 'cd-3', memberId: 'DM1', to: 'someone@example.org' },
      { dispatchId: 'cd-4', memberId: 'DM3', to: 'shared@example.org' },
      { dispatchId: 'cd-5', memberId: 'DM4', to: 'shared+x@example.org' },
    ].map((b) => JSON.stringify({ ...b, template: 'advice-nurse-reply', data: { firstName: 'Pat' } }));
    const env = { ...aws.env, FAN_IN_LIMIT: '1', ADDRESS_HASH_KEY: 'conformance-key' };
    const run = async (client: DynamoDBClient) => {
      for (const m of members) await client.send(new PutItemCommand({ TableName: MEMBERS, Item: marshall(m) }));
      let n = 0;
      const ses = { send: async () => ({ MessageId: `ses-${++n}` }) };
      const sqs = { send: async () => ({ MessageId: 'dlq-1' }) };
      const deps = await createDispatcherDeps({
        env,
        clients: { dynamodb: client, ses: ses as never, sqs: sqs as never },
        reporter: { report() {}, flush() {} },
        now: () => new Date(clock),
      });
      const handler = createHandler(deps);
      const responses = [];
      for (const [i, body] of bodies.entries()) responses.push(await handler(sqsEvent(sqsRecord(body, { messageId: `cm-${i}` }))));
      const ledger = [];
      for (const id of ['cd-1', 'cd-2', 'cd-3', 'cd-4', 'cd-5']) {
        const { Item } = await client.send(new GetItemCommand({ TableName: LEDGER, Key: marshall({ pk: id }), ConsistentRead: true }));
        ledger.push(Item ? { ...Item, claimToken: Item.claimToken ? { S: '<token>' } : undefined } : undefined);
      }
      return { responses, ledger };
    };
    const real = await run(aws.clients.dynamodb);
    const modelled = await run(modelClient);
    expect(modelled).toEqual(real);
    expect(real.ledger.map((i) => (i as { state?: { S?: string } } | undefined)?.state?.S)).toEqual([
      'sent',
      'blocked',
      'blocked',
      'sent',
      'blocked',
    ]);
  });
});

describe('queue model conforms to fauxqs', () => {
  it('visibility, receive counts, redelivery and batch deletes', async () => {
    const url = aws.env.DISPATCH_QUEUE_URL;
    const m = new SqsModel(() => clock, { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
    const steps: { real: () => Promise<unknown>; model: () => unknown }[] = [];
    let realHandle = '';
    let modelHandle = '';
    const shape = (out: { Messages?: { ReceiptHandle?: string; Body?: string; Attributes?: Record<string, string> }[] }) =>
      (out.Messages ?? []).map((x) => ({ body: x.Body, count: x.Attributes?.ApproximateReceiveCount }));
    const receive = () =>
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        WaitTimeSeconds: 0,
      });
    steps.push({
      real: () => aws.clients.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'q-1' })).then(() => 'sent'),
      model: () => (m.send('main', 'q-1'), 'sent'),
    });
    steps.push({
      real: () => aws.clients.sqs.send(receive()).then((o) => ((realHandle = o.Messages?.[0]?.ReceiptHandle ?? ''), shape(o))),
      model: () => {
        const got = m.receive('main', 10);
        modelHandle = got[0]?.handles.at(-1) ?? '';
        return got.map((x) => ({ body: x.body, count: String(x.receiveCount) }));
      },
    });
    steps.push({
      real: () => aws.clients.sqs.send(receive()).then(shape),
      model: () => m.receive('main', 10).map((x) => ({ body: x.body, count: String(x.receiveCount) })),
    });
    steps.push({
      real: () =>
        aws.clients.sqs
          .send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: realHandle, VisibilityTimeout: 0 }))
          .then(() => 'changed'),
      model: () => (m.changeVisibility(modelHandle, 0), 'changed'),
    });
    steps.push({
      real: () => aws.clients.sqs.send(receive()).then((o) => ((realHandle = o.Messages?.[0]?.ReceiptHandle ?? ''), shape(o))),
      model: () => {
        const got = m.receive('main', 10);
        modelHandle = got[0]?.handles.at(-1) ?? '';
        return got.map((x) => ({ body: x.body, count: String(x.receiveCount) }));
      },
    });
    steps.push({
      real: () =>
        aws.clients.sqs
          .send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'a', ReceiptHandle: realHandle }] }))
          .then((o) => (o.Successful ?? []).map((x) => x.Id)),
      model: () =>
        (
          m.execute('DeleteMessageBatchCommand', {
            QueueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/mail-dispatch-queue',
            Entries: [{ Id: 'a', ReceiptHandle: modelHandle }],
          }) as { Successful: { Id: string }[] }
        ).Successful.map((x) => x.Id),
    });
    steps.push({
      real: () =>
        aws.clients.sqs
          .send(
            new GetQueueAttributesCommand({
              QueueUrl: url,
              AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
            }),
          )
          .then((o) => o.Attributes),
      model: () =>
        (
          m.execute('GetQueueAttributesCommand', { QueueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/mail-dispatch-queue' }) as {
            Attributes: unknown;
          }
        ).Attributes,
    });
    const real: unknown[] = [];
    const modelled: unknown[] = [];
    for (const step of steps) {
      real.push(await step.real());
      modelled.push(step.model());
    }
    expect(modelled).toEqual(real);
    expect(real[1]).toEqual([{ body: 'q-1', count: '1' }]);
    expect(real[4]).toEqual([{ body: 'q-1', count: '2' }]);
  });
});
