import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';

jest.setTimeout(60_000);

describe('startEmbeddedAws({ streams: false }) (the bench: no stream reader runs there)', () => {
  let aws: EmbeddedAws;
  beforeAll(async () => {
    aws = await startEmbeddedAws({ streams: false });
  });
  afterAll(() => aws?.stop());

  it('creates both tables without a stream, everything else as deployed', async () => {
    expect(aws.ledgerStreamArn).toBe('');
    expect(aws.membersStreamArn).toBe('');
    for (const name of [aws.tables.members, aws.tables.ledger]) {
      const { Table } = await aws.clients.dynamodb.send(new DescribeTableCommand({ TableName: name }));
      expect(Table?.StreamSpecification?.StreamEnabled ?? false).toBe(false);
      expect(Table?.LatestStreamArn).toBeUndefined();
    }
    const { Table } = await aws.clients.dynamodb.send(new DescribeTableCommand({ TableName: aws.tables.ledger }));
    expect(Table?.GlobalSecondaryIndexes?.length).toBe(3);
  });

  it('refuses to combine with kept tables (dataDir), which keep whatever streams they were made with', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'md-streams-'));
    await expect(startEmbeddedAws({ streams: false, dataDir })).rejects.toThrow(/streams: false .* dataDir/);
  });
});
