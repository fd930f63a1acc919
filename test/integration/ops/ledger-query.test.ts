import { BatchWriteItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { AuditDay, LEDGER_TABLE } from '../../../lambdas/tables';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { forEachLedgerRecord, type LedgerRecordQuery } from '../../../cli/src/ops/ledger-query';

describe('forEachLedgerRecord (keys-only indexes on DynamoDB Local)', () => {
  let aws: EmbeddedAws;
  const day = '2026-11-23';
  /** 230 dispatches of one member that day, a minute apart, on their by-day shards; 3 more from before the sharding. */
  const records = [
    ...Array.from({ length: 230 }, (_, i) => {
      const pk = `d-${String(i).padStart(3, '0')}`;
      const claimedAt = new Date(Date.parse(`${day}T00:00:00.000Z`) + i * 60_000).toISOString();
      return {
        pk,
        dispatchId: pk,
        state: i % 10 === 0 ? 'blocked' : 'sent',
        memberId: 'M1',
        toHash: 'h1',
        claimedAt,
        auditDay: AuditDay.of(claimedAt, pk),
        history: [{ state: 'claimed' }],
      };
    }),
    ...['old-1', 'old-2', 'old-3'].map((pk, i) => ({
      pk,
      dispatchId: pk,
      state: 'sent',
      memberId: 'M2',
      toHash: 'h2',
      claimedAt: `${day}T23:0${i}:00.000Z`,
      auditDay: day,
    })),
  ];

  beforeAll(async () => {
    aws = await startEmbeddedAws();
    for (let i = 0; i < records.length; i += 25) {
      const items = records.slice(i, i + 25).map((item) => ({ PutRequest: { Item: marshall(item) } }));
      await aws.clients.dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [aws.tables.ledger]: items } }));
    }
  });
  afterAll(async () => {
    await aws?.stop();
  });

  async function read(query: LedgerRecordQuery): Promise<Record<string, unknown>[]> {
    const found: Record<string, unknown>[] = [];
    await forEachLedgerRecord(aws.clients.dynamodb, aws.tables.ledger, query, (page) => found.push(...page));
    return found.sort((a, b) => String(a.pk).localeCompare(String(b.pk)));
  }

  it('reads every shard of a day and the unsharded day, whole records, more than one BatchGetItem of them', async () => {
    const found = await read({ index: LEDGER_TABLE.byDayIndex, partitions: AuditDay.partitions(day) });
    expect(found).toHaveLength(233);
    expect(found.map((r) => r.pk)).toEqual(records.map((r) => r.pk).sort());
    expect(found[0]).toEqual(records[0]);
  });

  it('keeps to the time range, and to the attributes asked for', async () => {
    const found = await read({
      index: LEDGER_TABLE.byDayIndex,
      partitions: AuditDay.partitions(day),
      range: { from: `${day}T01:00:00.000Z`, to: `${day}T01:59:59.999Z` },
      attributes: ['state'],
    });
    expect(found.map((r) => r.pk)).toEqual(records.slice(60, 120).map((r) => r.pk));
    expect(found.filter((r) => r.state === 'blocked')).toHaveLength(6);
    expect(found.every((r) => !('history' in r) && !('memberId' in r))).toBe(true);
  });

  it('finds one member across days through the by-member index', async () => {
    expect(await read({ index: LEDGER_TABLE.byMemberIndex, partitions: ['M2'] })).toEqual(records.slice(230));
    expect(await read({ index: LEDGER_TABLE.byAddressIndex, partitions: ['h1'], range: { to: `${day}T00:09:00.000Z` } })).toHaveLength(10);
  });
});
