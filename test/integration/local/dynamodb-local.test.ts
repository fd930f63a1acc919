import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { startDynamoDbLocal, type DynamoDbLocal } from '../../../local/dynamodb-local';
import { findFreePort } from '../../../local/free-port';

jest.setTimeout(90_000);

async function listTables(endpoint: string): Promise<string[]> {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    return (await client.send(new ListTablesCommand({}))).TableNames ?? [];
  } finally {
    client.destroy();
  }
}

function portOf(endpoint: string): number {
  return Number(new URL(endpoint).port);
}

describe('startDynamoDbLocal', () => {
  let started: DynamoDbLocal | undefined;
  afterEach(async () => {
    await started?.stop();
    started = undefined;
  });

  // `npm run local -- --dynamodb-port 0` passes 0 through: Java would refuse it ("Invalid Port").
  it('takes port 0 as any free port', async () => {
    started = await startDynamoDbLocal({ port: 0 });
    expect(portOf(started.endpoint)).toBeGreaterThan(0);
    expect(await listTables(started.endpoint)).toEqual([]);
  });

  it('listens on the port it is given', async () => {
    const port = await findFreePort();
    started = await startDynamoDbLocal({ port });
    expect(portOf(started.endpoint)).toBe(port);
    expect(await listTables(started.endpoint)).toEqual([]);
  });
});
