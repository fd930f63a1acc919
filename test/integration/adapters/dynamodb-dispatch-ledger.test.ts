import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DynamoDbDispatchLedger } from '../../../lambdas/adapters/dynamodb-dispatch-ledger';
import { LedgerState } from '../../../lambdas/core/outcomes';
import { createDispatcherDeps } from '../../../lambdas/dispatcher/dependencies';
import { createHandler } from '../../../lambdas/dispatcher/handler';
import { AuditDay, LEDGER_AUDIT_INDEXES, LedgerKey } from '../../../lambdas/tables';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { putMembersRaw } from '../../support/members';
import { RecordingReporter } from '../../support/recording-reporter';
import { sqsEvent, sqsRecord } from '../../support/sqs-event';

interface Consumed {
  readonly command: string;
  /** Write (or read) units by index name; an index the call did not touch is absent or 0. */
  readonly indexes: Record<string, number>;
}

/** Asks DynamoDB for `ReturnConsumedCapacity: INDEXES` on every call and keeps what it reports. */
function recordCapacity(client: DynamoDBClient): Consumed[] {
  const consumed: Consumed[] = [];
  type Handler = (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>;
  (client.middlewareStack as unknown as { add(m: (next: Handler, context: { commandName?: string }) => Handler, o: object): void }).add(
    (next, context) => async (args) => {
      const result = await next({ ...args, input: { ...args.input, ReturnConsumedCapacity: 'INDEXES' } });
      const reported = result.output.ConsumedCapacity as
        | { GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }> }[]
        | { GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }> }
        | undefined;
      const indexes: Record<string, number> = {};
      for (const entry of [reported ?? []].flat()) {
        for (const [name, { CapacityUnits = 0 }] of Object.entries(entry.GlobalSecondaryIndexes ?? {}))
          indexes[name] = (indexes[name] ?? 0) + CapacityUnits;
      }
      consumed.push({ command: context.commandName ?? '', indexes });
      return result;
    },
    { step: 'initialize', name: 'recordCapacity', priority: 'high' },
  );
  return consumed;
}

describe('DynamoDbDispatchLedger (DynamoDB Local)', () => {
  let aws: EmbeddedAws;
  let ledger: DynamoDbDispatchLedger;
  let consumed: Consumed[];
  const now = new Date('2026-11-23T10:00:00.000Z');

  beforeAll(async () => {
    aws = await startEmbeddedAws();
    await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [{ memberId: 'M1', email: 'pat@example.org', status: 'active' }]);
    consumed = recordCapacity(aws.clients.dynamodb);
    ledger = new DynamoDbDispatchLedger({ membersTable: aws.tables.members, ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb });
  });
  afterAll(async () => {
    await aws?.stop();
  });

  const record = async (pk: string) =>
    unmarshall(
      (await aws.clients.dynamodb.send(new GetItemCommand({ TableName: aws.tables.ledger, Key: { pk: { S: pk } }, ConsistentRead: true })))
        .Item ?? {},
    );

  it('claims onto a by-day shard with small index items, and settles without writing any index', async () => {
    const ses = new SESv2Client({
      region: aws.region,
      endpoint: aws.endpoints.ses,
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    });
    const deps = await createDispatcherDeps({
      env: aws.env,
      clients: { dynamodb: aws.clients.dynamodb, sqs: aws.clients.sqs, ses },
      reporter: new RecordingReporter(),
    });
    const body = JSON.stringify({
      dispatchId: 'd-1',
      memberId: 'M1',
      to: 'pat@example.org',
      template: 'advice-nurse-reply',
      data: { firstName: 'Pat' },
    });
    consumed.length = 0;
    await expect(createHandler(deps)(sqsEvent(sqsRecord(body)))).resolves.toEqual({ batchItemFailures: [] });

    const claims = consumed.filter((c) => c.command === 'TransactWriteItemsCommand');
    const settles = consumed.filter((c) => c.command === 'UpdateItemCommand');
    expect(claims).toHaveLength(1);
    // Keys only: under 1 KB, so one item's worth (transactional: 2) per index.
    for (const index of LEDGER_AUDIT_INDEXES) expect(claims[0]?.indexes[index.name]).toBeLessThanOrEqual(2);
    // state, sesMessageId, sentAt and history are not in any index: DynamoDB writes none.
    expect(settles).toHaveLength(1);
    expect(Object.values(settles[0]?.indexes ?? {}).every((units) => units === 0)).toBe(true);

    const sent = await record('d-1');
    expect(sent).toMatchObject({ state: LedgerState.Sent, sesMessageId: expect.any(String) });
    expect(sent.auditDay).toBe(AuditDay.of(String(sent.claimedAt), 'd-1'));
  });

  it('records blocked and rejected outcomes on the shard of their own ledger key', async () => {
    await ledger.recordUnsent({
      state: LedgerState.Blocked,
      reason: 'recipient-mismatch',
      dispatchId: 'd-3',
      memberId: 'M1',
      toHash: 'h-eve',
      sqsMessageId: 'sqs-3',
      now,
    });
    await ledger.recordUnsent({ state: LedgerState.Rejected, reason: 'invalid-json', sqsMessageId: 'sqs-4', now });
    expect((await record('d-3')).auditDay).toBe(AuditDay.of(now.toISOString(), 'd-3'));
    expect((await record(LedgerKey.rejected('sqs-4'))).auditDay).toBe(AuditDay.of(now.toISOString(), LedgerKey.rejected('sqs-4')));
  });

  it('records a re-publish of a sent dispatch as a duplicate entry, once per SQS message, never for the claiming message', async () => {
    const sent = await record('d-1');
    const claimMessageId = String(sent.claimMessageId);
    await ledger.recordDuplicate('d-1', claimMessageId, now);
    await ledger.recordDuplicate('d-1', 'sqs-again', now);
    await ledger.recordDuplicate('d-1', 'sqs-again', now);
    await ledger.recordDuplicate('d-3', 'sqs-for-blocked', now);
    const after = await record('d-1');
    expect(after.state).toBe(LedgerState.Sent);
    expect((after.history as { state: string }[]).map((e) => e.state)).toEqual(['claimed', 'sent', 'duplicate']);
    expect(after.history.at(-1)).toEqual({ state: 'duplicate', at: now.toISOString(), sqsMessageId: 'sqs-again' });
    expect((await record('d-3')).history).toHaveLength(1);
  });
});
