import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DynamoDbMemberRegistry } from '../../../lambdas/adapters/dynamodb-member-registry';
import { dispatchRefFromText } from '../../../lambdas/core/templates';
import { createDispatcherDeps } from '../../../lambdas/dispatcher/dependencies';
import { createHandler } from '../../../lambdas/dispatcher/handler';
import { Env } from '../../../lambdas/tables';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { putMembersRaw } from '../../support/members';
import { RecordingReporter } from '../../support/recording-reporter';
import { sqsEvent, sqsRecord } from '../../support/sqs-event';

/**
 * 12.3, the dispatcher's side: a proxy that is another member's own mailbox goes out only with that
 * member's consent (`proxyFor` lists the ward), even when the registry write bypassed the guard.
 * The real handler and adapters on DynamoDB Local and the SES emulator.
 */
jest.setTimeout(120_000);

let aws: EmbeddedAws;
let registry: DynamoDbMemberRegistry;

beforeAll(async () => {
  aws = await startEmbeddedAws({ config: { fanInLimit: 3 } });
  registry = new DynamoDbMemberRegistry({
    tables: aws.tables,
    hashKey: aws.env[Env.addressHashKey],
    fanInLimit: 3,
    client: aws.clients.dynamodb,
  });
  // The owners are registered through the guard, which indexes their mailboxes in the same transaction.
  for (const row of [
    { memberId: 'M2', email: 'maria@example.org', status: 'active' },
    { memberId: 'G1', email: 'guardian@example.org', status: 'active', proxyFor: ['W1'] },
  ]) {
    expect((await registry.register(row)).outcome).toBe('registered');
  }
});
afterAll(async () => aws?.stop());

async function dispatch(dispatchId: string, memberId: string, to: string) {
  const reporter = new RecordingReporter();
  const handler = createHandler(await createDispatcherDeps({ env: aws.env, clients: aws.clients, reporter }));
  const record = sqsRecord(JSON.stringify({ dispatchId, memberId, to, template: 'advice-nurse-reply', data: { firstName: 'Pat' } }));
  await handler(sqsEvent(record));
  return reporter.outcomeOf(record.messageId);
}

async function deliveredTo(dispatchId: string): Promise<string[]> {
  const emails = await aws.sesStore();
  return emails.filter((e) => dispatchRefFromText(e.body.text ?? '') === dispatchId).flatMap((e) => e.destination.to);
}

describe("12.3: the claim proves a proxy onto another member's own mailbox is consented", () => {
  it("12.3: a raw write putting M2's own address into M1's proxies does not let M1's mail reach M2 (blocked recipient-mismatch)", async () => {
    // The import typo of the finding, written straight to the table (no guard).
    await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
      { memberId: 'M1', email: 'mo@example.org', status: 'active', proxies: ['maria@example.org'] },
    ]);
    expect(await dispatch('p123-raw', 'M1', 'maria@example.org')).toEqual({ state: 'blocked', reason: 'recipient-mismatch' });
    expect(await deliveredTo('p123-raw')).toEqual([]);
    const { Item } = await aws.clients.dynamodb.send(
      new GetItemCommand({ TableName: aws.tables.ledger, Key: { pk: { S: 'p123-raw' } }, ConsistentRead: true }),
    );
    expect(unmarshall(Item!)).toMatchObject({ state: 'blocked', reason: 'recipient-mismatch' });
    // M1's own address still works.
    expect(await dispatch('p123-own', 'M1', 'mo@example.org')).toMatchObject({ state: 'sent' });
  });

  it("12.3: a +tag of the owner's address is the owner's mailbox: blocked the same way", async () => {
    await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
      { memberId: 'M3', email: 'm3@example.org', status: 'active', proxies: ['Maria+kids@example.org'] },
    ]);
    expect(await dispatch('p123-tag', 'M3', 'maria+kids@example.org')).toEqual({ state: 'blocked', reason: 'recipient-mismatch' });
    expect(await deliveredTo('p123-tag')).toEqual([]);
  });

  it("12.3: a consented proxy (the owner's proxyFor lists the ward) still goes", async () => {
    await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
      { memberId: 'W1', email: 'ward@example.org', status: 'active', proxies: ['guardian@example.org'] },
    ]);
    expect(await dispatch('p123-consented', 'W1', 'guardian@example.org')).toMatchObject({ state: 'sent' });
    expect(await deliveredTo('p123-consented')).toEqual(['guardian@example.org']);
  });

  it('12.3: a consent withdrawn by a raw write to the owner blocks the next send', async () => {
    await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
      { memberId: 'G1', email: 'guardian@example.org', status: 'active', proxyFor: [] },
    ]);
    expect(await dispatch('p123-withdrawn', 'W1', 'guardian@example.org')).toEqual({ state: 'blocked', reason: 'recipient-mismatch' });
  });

  it('12.3: a proxy that no member owns (a caregiver without an account) still goes', async () => {
    await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
      { memberId: 'C1', email: 'c1@example.org', status: 'active', proxies: ['nurse.caregiver@example.org'] },
    ]);
    expect(await dispatch('p123-unowned', 'C1', 'nurse.caregiver@example.org')).toMatchObject({ state: 'sent' });
    expect(await deliveredTo('p123-unowned')).toEqual(['nurse.caregiver@example.org']);
  });

  it("12.3: a proxy onto the ward's own mailbox (its own +tag) needs nobody's consent", async () => {
    expect(
      (await registry.register({ memberId: 'S1', email: 'self@example.org', status: 'active', proxies: ['self+doctor@example.org'] }))
        .outcome,
    ).toBe('registered');
    expect(await dispatch('p123-self', 'S1', 'self+doctor@example.org')).toMatchObject({ state: 'sent' });
  });
});
