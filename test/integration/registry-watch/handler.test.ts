import { DeleteItemCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { DynamoDbMemberRegistry } from '../../../lambdas/adapters/dynamodb-member-registry';
import { DynamoDbPauseSwitch } from '../../../lambdas/adapters/dynamodb-pause-switch';
import { DynamoDbRegistryIndex } from '../../../lambdas/adapters/dynamodb-registry-index';
import { hashAddress } from '../../../lambdas/core/address';
import { PauseReason, PausedBy } from '../../../lambdas/core/outcomes';
import { createRegistryWatchHandler, type RegistryWatchDeps } from '../../../lambdas/registry-watch/handler';
import { Env, LedgerKey } from '../../../lambdas/tables';
import { DynamoDbStreamPoller } from '../../../local/dynamodb-stream-poller';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';

jest.setTimeout(120_000);

let aws: EmbeddedAws;
let pauseSwitch: DynamoDbPauseSwitch;
let poller: DynamoDbStreamPoller;
const events: DynamoDBStreamEvent[] = [];
const logs: string[] = [];
let fanInCounts = 0;
let watch: ReturnType<typeof createRegistryWatchHandler>;
const record = (message: string, fields?: object) => {
  logs.push(JSON.stringify({ message, ...fields }));
};
const captureLogger = { warn: record, error: record } as unknown as RegistryWatchDeps['logger'];

beforeAll(async () => {
  aws = await startEmbeddedAws({ config: { fanInLimit: 3 } });
  pauseSwitch = new DynamoDbPauseSwitch({ ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb });
  watch = createRegistryWatchHandler({
    index: new DynamoDbRegistryIndex({
      membersTable: aws.tables.members,
      ledgerTable: aws.tables.ledger,
      hashKey: key(),
      client: aws.clients.dynamodb,
    }),
    pauseSwitch,
    fanInLimit: 3,
    countFanIn: () => fanInCounts++,
    logger: captureLogger,
    now: () => new Date('2000-08-02T09:00:00Z'),
  });
  poller = new DynamoDbStreamPoller({
    client: aws.clients.dynamodbStreams,
    streamArn: aws.membersStreamArn,
    handler: async (event) => {
      events.push(event);
      return watch(event);
    },
    intervalMs: 20,
  });
});
afterAll(async () => {
  await poller?.stop();
  await aws?.stop();
});

const key = () => aws.env[Env.addressHashKey];
const mailboxHash = (address: string) => hashAddress(address, key());
const putRaw = (item: Record<string, unknown>) =>
  aws.clients.dynamodb.send(new PutItemCommand({ TableName: aws.tables.members, Item: marshall(item, { removeUndefinedValues: true }) }));

async function indexOf(address: string): Promise<{ members: string[]; owners: string[] } | undefined> {
  const { Item } = await aws.clients.dynamodb.send(
    new GetItemCommand({
      TableName: aws.tables.ledger,
      Key: { pk: { S: LedgerKey.registry(mailboxHash(address)) } },
      ConsistentRead: true,
    }),
  );
  if (!Item) return undefined;
  const item = unmarshall(Item);
  return { members: [...((item.members as Set<string>) ?? [])].sort(), owners: [...((item.owners as Set<string>) ?? [])].sort() };
}

async function pauseItem(): Promise<Record<string, unknown> | undefined> {
  const { Item } = await aws.clients.dynamodb.send(
    new GetItemCommand({ TableName: aws.tables.ledger, Key: { pk: { S: LedgerKey.pauseFlag } }, ConsistentRead: true }),
  );
  return Item ? unmarshall(Item) : undefined;
}

async function caughtUp(): Promise<void> {
  expect(await poller.catchUp()).toBe(true);
}

describe('registry watch (12.2c) against DynamoDB Local and its stream', () => {
  it('a raw write pointing 4 members at one mailbox (limit 3, +tag and case variants) raises RegistryFanIn and pauses, before any send', async () => {
    await putRaw({ memberId: 'V1', email: 'victim+1@example.org', status: 'active' });
    await putRaw({ memberId: 'V2', email: 'Victim+2@Example.org', status: 'active' });
    await putRaw({ memberId: 'V3', email: 'VICTIM@example.org', status: 'active' });
    await caughtUp();
    // At the limit: counted as one mailbox, nothing raised yet.
    expect(await indexOf('victim@example.org')).toEqual({ members: ['V1', 'V2', 'V3'], owners: ['V1', 'V2', 'V3'] });
    expect(fanInCounts).toBe(0);
    expect((await pauseSwitch.read()).paused).toBe(false);

    await putRaw({ memberId: 'V4', email: 'outsider@example.org', status: 'active', proxies: ['victim+kid@example.org'] });
    await caughtUp();
    expect(await indexOf('victim@example.org')).toEqual({ members: ['V1', 'V2', 'V3', 'V4'], owners: ['V1', 'V2', 'V3'] });
    expect(fanInCounts).toBe(1);
    const state = await pauseSwitch.read();
    expect(state.paused).toBe(true);
    expect(state.cause).toMatchObject({
      reason: PauseReason.RegistryFanIn,
      by: PausedBy.RegistryWatch,
      addressHash: mailboxHash('victim@example.org'),
    });
    // Identifiers only in the log line: the mailbox's keyed hash and the memberId, never the address.
    expect(logs.join('\n')).not.toMatch(/victim|example\.org/i);
    expect(logs.some((line) => line.includes(mailboxHash('victim@example.org')))).toBe(true);
  });

  it('redelivered stream records change nothing: index, pause flag and metric stay as they were', async () => {
    const indexBefore = await indexOf('victim@example.org');
    const flagBefore = await pauseItem();
    const countsBefore = fanInCounts;
    for (const event of [...events]) expect(await watch(event)).toEqual({ batchItemFailures: [] });
    expect(await indexOf('victim@example.org')).toEqual(indexBefore);
    expect(await pauseItem()).toEqual(flagBefore);
    expect(fanInCounts).toBe(countsBefore);
  });

  it('a member moving away decrements the mailbox, and stale records delivered after it do not put it back', async () => {
    const older = [...events];
    await putRaw({ memberId: 'V4', email: 'outsider@example.org', status: 'active', proxies: [] });
    await caughtUp();
    expect(await indexOf('victim@example.org')).toEqual({ members: ['V1', 'V2', 'V3'], owners: ['V1', 'V2', 'V3'] });
    // Out of order: every older record (V4 joining the mailbox among them) arrives again, late.
    for (const event of older.reverse()) await watch(event);
    expect(await indexOf('victim@example.org')).toEqual({ members: ['V1', 'V2', 'V3'], owners: ['V1', 'V2', 'V3'] });
    expect(await indexOf('outsider@example.org')).toEqual({ members: ['V4'], owners: ['V4'] });
  });

  it('closing or deleting a member takes it off every mailbox', async () => {
    await putRaw({ memberId: 'V3', email: 'victim@example.org', status: 'closed' });
    await aws.clients.dynamodb.send(new DeleteItemCommand({ TableName: aws.tables.members, Key: { memberId: { S: 'V2' } } }));
    await caughtUp();
    expect(await indexOf('victim@example.org')).toEqual({ members: ['V1'], owners: ['V1'] });
  });

  it('a guarded write is indexed by the guard already: the watch agrees with it and raises nothing', async () => {
    await pauseSwitch.resume('operator:test', new Date());
    const counts = fanInCounts;
    const registry = new DynamoDbMemberRegistry({ tables: aws.tables, hashKey: key(), fanInLimit: 3, client: aws.clients.dynamodb });
    expect((await registry.register({ memberId: 'G1', email: 'guardian@example.org', status: 'active', proxyFor: ['W1'] })).outcome).toBe(
      'registered',
    );
    expect(
      (await registry.register({ memberId: 'W1', email: 'ward@example.org', status: 'active', proxies: ['guardian@example.org'] })).outcome,
    ).toBe('registered');
    const byGuard = await indexOf('guardian@example.org');
    expect(byGuard).toEqual({ members: ['G1', 'W1'], owners: ['G1'] });
    await caughtUp();
    expect(await indexOf('guardian@example.org')).toEqual(byGuard);
    expect(fanInCounts).toBe(counts);
    expect((await pauseSwitch.read()).paused).toBe(false);
  });

  it('a store failure reports the record as the batch item failure (the mapping retries from it)', async () => {
    const failing = createRegistryWatchHandler({
      index: {
        currentMember: async () => Promise.reject(Object.assign(new Error('x'), { name: 'InternalServerError' })),
        place: async () => ({ mailboxHash: '', members: 0, joined: false }),
      },
      pauseSwitch,
      fanInLimit: 3,
      countFanIn: () => undefined,
      logger: { warn: () => undefined, error: () => undefined },
    });
    const event = events.find((e) => e.Records.length > 0)!;
    expect(await failing(event)).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[0].dynamodb?.SequenceNumber }] });
  });
});
