import { BatchGetItemCommand, type BatchGetItemCommandInput, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { batchGetItems, MAX_KEYS_PER_BATCH_GET } from '../../../lambdas/adapters/dynamodb-batch-get';
import { StoreUnavailableError } from '../../../lambdas/core/errors';

type Responder = (input: BatchGetItemCommandInput) => {
  Responses?: Record<string, unknown[]>;
  UnprocessedKeys?: BatchGetItemCommandInput['RequestItems'];
};

/** A client whose BatchGetItem answers come from `respond`; every request is kept. */
function fakeClient(respond: Responder) {
  const requests: BatchGetItemCommandInput[] = [];
  const client = {
    send: async (command: unknown) => {
      if (!(command instanceof BatchGetItemCommand)) throw new Error('unexpected command');
      requests.push(command.input);
      return respond(command.input);
    },
  } as unknown as DynamoDBClient;
  return { client, requests };
}

const keys = (n: number) => Array.from({ length: n }, (_, i) => ({ table: 'ledger', key: { pk: { S: `d-${i}` } } }));
/** Every requested key comes back as an item with just its key. */
const echo: Responder = (input) => ({
  Responses: Object.fromEntries(Object.entries(input.RequestItems ?? {}).map(([table, k]) => [table, k.Keys ?? []])),
});

describe('batchGetItems', () => {
  it(`asks for at most ${MAX_KEYS_PER_BATCH_GET} keys at once, strongly consistent, and returns every item`, async () => {
    const { client, requests } = fakeClient(echo);
    const found = await batchGetItems(client, keys(250));
    expect(requests.map((r) => r.RequestItems?.ledger?.Keys?.length)).toEqual([100, 100, 50]);
    expect(requests.every((r) => r.RequestItems?.ledger?.ConsistentRead === true)).toBe(true);
    expect(found.get('ledger')?.map((item) => item.pk)).toEqual(keys(250).map((k) => k.key.pk.S));
  });

  it('asks again for the keys DynamoDB left unprocessed', async () => {
    let calls = 0;
    const { client, requests } = fakeClient((input) => {
      calls += 1;
      if (calls > 1) return echo(input);
      const [first, ...rest] = input.RequestItems?.ledger?.Keys ?? [];
      return { Responses: { ledger: [first] }, UnprocessedKeys: { ledger: { ...input.RequestItems?.ledger, Keys: rest } } };
    });
    const found = await batchGetItems(client, keys(3));
    expect(requests.map((r) => r.RequestItems?.ledger?.Keys?.length)).toEqual([3, 2]);
    expect(
      found
        .get('ledger')
        ?.map((item) => item.pk)
        .sort(),
    ).toEqual(['d-0', 'd-1', 'd-2']);
  });

  it('gives up as a retryable store error when keys stay unprocessed', async () => {
    const { client, requests } = fakeClient((input) => ({ Responses: {}, UnprocessedKeys: input.RequestItems }));
    await expect(batchGetItems(client, keys(2), { unprocessedRetries: 2 })).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(requests).toHaveLength(3);
  });

  it('reads only the attributes asked for, by name (`state` is a reserved word)', async () => {
    const { client, requests } = fakeClient(echo);
    await batchGetItems(client, keys(1), { attributes: ['state', 'pk'] });
    expect(requests[0]?.RequestItems?.ledger).toMatchObject({
      ProjectionExpression: '#a0, #a1',
      ExpressionAttributeNames: { '#a0': 'state', '#a1': 'pk' },
    });
  });
});
