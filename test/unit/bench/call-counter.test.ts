import { DynamoDBClient, GetItemCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { callsOf, countCalls, emptyTally, isDynamoDbWrite, mergeTally, takeTally } from '../../../bench/call-counter';

/** A client whose requests never leave: each answers with `output` at the build step. */
function answeringClient(output: Record<string, unknown>, seen: Record<string, unknown>[] = []): DynamoDBClient {
  const client = new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  client.middlewareStack.add(
    () => async (args) => {
      seen.push(args.input as unknown as Record<string, unknown>);
      return { output: { $metadata: { attempts: 1 }, ...output } } as never;
    },
    { step: 'build', name: 'answer' },
  );
  return client;
}

describe('countCalls', () => {
  it('counts each send by service and command and asks for the capacity with indexes', async () => {
    const seen: Record<string, unknown>[] = [];
    const client = answeringClient(
      {
        ConsumedCapacity: [
          { TableName: 'ledger', CapacityUnits: 10, GlobalSecondaryIndexes: { a: { CapacityUnits: 6 } } },
          { TableName: 'members', CapacityUnits: 2 },
        ],
      },
      seen,
    );
    const tally = emptyTally();
    countCalls(client, 'DynamoDB', tally, { consumedCapacity: true });
    await client.send(new TransactWriteItemsCommand({ TransactItems: [] }));
    await client.send(new TransactWriteItemsCommand({ TransactItems: [] }));
    expect(tally.calls).toEqual({ 'DynamoDB:TransactWriteItemsCommand': 2 });
    expect(tally.capacity).toEqual({ readUnits: 0, writeUnits: 24, writeUnitsOnIndexes: 12, reportedCalls: 2 });
    expect(seen.every((input) => input.ReturnConsumedCapacity === 'INDEXES')).toBe(true);
  });

  it('books reads as read units and leaves the input alone without the option', async () => {
    const seen: Record<string, unknown>[] = [];
    const client = answeringClient({ ConsumedCapacity: { TableName: 'ledger', CapacityUnits: 1 } }, seen);
    const tally = emptyTally();
    countCalls(client, 'DynamoDB', tally);
    await client.send(new GetItemCommand({ TableName: 'ledger', Key: {} }));
    expect(tally.capacity.reportedCalls).toBe(0);
    expect(seen[0].ReturnConsumedCapacity).toBeUndefined();

    const withCapacity = answeringClient({ ConsumedCapacity: { TableName: 'ledger', CapacityUnits: 1 } });
    countCalls(withCapacity, 'DynamoDB', tally, { consumedCapacity: true });
    await withCapacity.send(new GetItemCommand({ TableName: 'ledger', Key: {} }));
    expect(tally.capacity).toMatchObject({ readUnits: 1, writeUnits: 0, reportedCalls: 1 });
  });
});

describe('tallies', () => {
  it('take a snapshot and start again, merge, and filter by service and command', () => {
    const tally = emptyTally();
    tally.calls['DynamoDB:UpdateItemCommand'] = 3;
    tally.calls['DynamoDB:BatchGetItemCommand'] = 1;
    tally.calls['SESv2:SendEmailCommand'] = 3;
    tally.capacity.writeUnits = 12;
    const taken = takeTally(tally);
    expect(tally).toEqual(emptyTally());
    const merged = mergeTally(mergeTally(emptyTally(), taken), taken);
    expect(callsOf(merged, 'DynamoDB')).toBe(8);
    expect(callsOf(merged, 'DynamoDB', isDynamoDbWrite)).toBe(6);
    expect(callsOf(merged, 'SESv2')).toBe(6);
    expect(merged.capacity.writeUnits).toBe(24);
  });
});

describe('modelTransactionUnits', () => {
  it('charges a claim 2 units per item and 2 per index entry its ledger update writes, per claim in a batched transaction', async () => {
    const { DynamoDbDispatchLedger } = await import('../../../lambdas/adapters/dynamodb-dispatch-ledger');
    const { modelTransactionUnits } = await import('../../../bench/call-counter');
    const inputs: Record<string, unknown>[] = [];
    const client = { send: async (command: { input: Record<string, unknown> }) => (inputs.push(command.input), {}) };
    const ledger = new DynamoDbDispatchLedger({ membersTable: 'members', ledgerTable: 'ledger', client: client as never });
    const claim = (n: number) => ({
      message: { dispatchId: `d${n}`, memberId: `M${n}`, to: `m${n}@example.org`, template: 'advice-nurse-reply' as const, data: {} },
      toHash: `h${n}`,
      matched: { via: 'email' as const, value: `m${n}@example.org` },
      fanInKey: `fanin#h${n}`,
      fanIn: { kind: 'join' as const, version: 0, atMs: 0, prune: [] },
      fanInExpiresAt: 1,
      claimToken: `t${n}`,
      sqsMessageId: `s${n}`,
      receiveCount: 1,
      now: new Date('2026-11-23T10:00:00Z'),
    });
    await ledger.claimAll([claim(1)]);
    expect(modelTransactionUnits(inputs[0])).toEqual({ units: 12, onIndexes: 6, byKind: { check: 2, record: 2, 'fan-in': 2 } });
    await ledger.claimAll([claim(2), claim(3), claim(4)]);
    expect(inputs).toHaveLength(2);
    expect(modelTransactionUnits(inputs[1])).toEqual({ units: 36, onIndexes: 18, byKind: { check: 6, record: 6, 'fan-in': 6 } });
  });
});

describe('unitsByUse', () => {
  it('splits a transaction by item kind and a single write into table and index units', async () => {
    const { UpdateItemCommand } = await import('@aws-sdk/client-dynamodb');
    const tally = emptyTally();
    const transaction = answeringClient({ ConsumedCapacity: [{ TableName: 'ledger', CapacityUnits: 4 }] });
    countCalls(transaction, 'DynamoDB', tally, { consumedCapacity: true });
    await transaction.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { ConditionCheck: { TableName: 'members', Key: {}, ConditionExpression: 'x' } },
          { Put: { TableName: 'ledger', Item: { pk: { S: 'd1' }, memberId: { S: 'M1' } } } },
          { Update: { TableName: 'ledger', Key: { pk: { S: 'fanin#h1' } }, UpdateExpression: 'SET seen = :s' } },
        ],
      }),
    );
    const single = answeringClient({
      ConsumedCapacity: { TableName: 'ledger', CapacityUnits: 3, GlobalSecondaryIndexes: { 'by-member': { CapacityUnits: 2 } } },
    });
    countCalls(single, 'DynamoDB', tally, { consumedCapacity: true });
    await single.send(new UpdateItemCommand({ TableName: 'ledger', Key: {}, UpdateExpression: 'SET #s = :s' }));
    await single.send(new GetItemCommand({ TableName: 'ledger', Key: {} }));
    // The Put writes the by-member index's partition key: one 2-unit index entry in the model.
    expect(tally.unitsByUse).toEqual({
      'TransactWriteItems:check': 2,
      'TransactWriteItems:record': 2,
      'TransactWriteItems:fan-in': 2,
      'TransactWriteItems:indexes': 2,
      UpdateItem: 1,
      'UpdateItem:indexes': 2,
      GetItem: 3,
    });
    expect(takeTally(tally).unitsByUse['UpdateItem']).toBe(1);
    expect(tally.unitsByUse).toEqual({});
  });
});
