import { DynamoDbRegistryIndex } from '../../../lambdas/adapters/dynamodb-registry-index';
import { DynamoDbPauseSwitch } from '../../../lambdas/adapters/dynamodb-pause-switch';
import { createDispatcherDeps } from '../../../lambdas/dispatcher/dependencies';
import { createHandler } from '../../../lambdas/dispatcher/handler';
import { watchMember } from '../../../lambdas/registry-watch/handler';
import { Env } from '../../../lambdas/tables';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { putMembersRaw } from '../../support/members';
import { RecordingReporter } from '../../support/recording-reporter';
import { sqsEvent, sqsRecord } from '../../support/sqs-event';

/**
 * The two windows 12.3 leaves to raw registry writes (docs/decisions.md, "Raw-write windows"), shown
 * on the real dispatcher and DynamoDB Local. The registry watch is driven by hand (`watchMember`,
 * the code a members-stream record runs), so "before the stream delay" and "after it" are exact.
 */
jest.setTimeout(120_000);

let aws: EmbeddedAws;
beforeAll(async () => {
  aws = await startEmbeddedAws({ config: { fanInLimit: 2 } });
});
afterAll(async () => aws?.stop());

const body = (dispatchId: string, memberId: string, to: string) =>
  JSON.stringify({ dispatchId, memberId, to, template: 'advice-nurse-reply', data: { firstName: 'Wu' } });

async function dispatch(...messages: [string, string, string][]) {
  const reporter = new RecordingReporter();
  const handler = createHandler(await createDispatcherDeps({ env: aws.env, clients: aws.clients, reporter }));
  await handler(sqsEvent(...messages.map(([id, member, to]) => sqsRecord(body(id, member, to)))));
  return Object.fromEntries(reporter.events.map((e) => [e.dispatchId, e.outcome]));
}

const watch = () => ({
  index: new DynamoDbRegistryIndex({
    membersTable: aws.tables.members,
    ledgerTable: aws.tables.ledger,
    hashKey: aws.env[Env.addressHashKey],
    client: aws.clients.dynamodb,
  }),
  pauseSwitch: new DynamoDbPauseSwitch({ ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb }),
  fanInLimit: 2,
  countFanIn: () => undefined,
  logger: { warn: () => undefined, error: () => undefined },
});

describe('12.3: what a raw registry write can do before and after the registry watch has indexed it', () => {
  it('12.3 window (a): inside the stream delay only a proxy send onto the raw-written owner’s mailbox gets through; after the watch, it is blocked', async () => {
    // M2 is raw-written owning a mailbox that M1 (raw) names as a proxy; the watch has not run yet.
    await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
      { memberId: 'WA2', email: 'owner-a@example.org', status: 'active', proxies: [] },
      { memberId: 'WA1', email: 'ward-a@example.org', status: 'active', proxies: ['owner-a@example.org'] },
    ]);
    const inWindow = await dispatch(['wa-1', 'WA1', 'owner-a@example.org'], ['wa-own', 'WA1', 'ward-a@example.org']);
    // The window: the claim's owner check reads an index that does not know WA2 yet.
    expect(inWindow['wa-1']).toMatchObject({ state: 'sent' });
    expect(inWindow['wa-own']).toMatchObject({ state: 'sent' });
    // The stream delay passes: the watch places both members.
    for (const id of ['WA2', 'WA1']) await watchMember(id, watch());
    const after = await dispatch(['wa-2', 'WA1', 'owner-a@example.org'], ['wa-own-2', 'WA1', 'ward-a@example.org']);
    expect(after['wa-2']).toEqual({ state: 'blocked', reason: 'recipient-mismatch' });
    // The member's own address is not affected by the window either way.
    expect(after['wa-own-2']).toMatchObject({ state: 'sent' });
  });

  it('12.3 window (b): two members whose own e-mail is one mailbox by a raw write each get their own mail, counted by fan-in; neither is a proxy', async () => {
    await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
      { memberId: 'WB1', email: 'family@example.org', status: 'active', proxies: [] },
      { memberId: 'WB2', email: 'Family+two@example.org', status: 'active', proxies: [] },
      { memberId: 'WB3', email: 'family+three@example.org', status: 'active', proxies: [] },
    ]);
    for (const id of ['WB1', 'WB2']) expect((await watchMember(id, watch())).overLimitMailboxHashes).toEqual([]);
    const outcomes = await dispatch(
      ['wb-1', 'WB1', 'family@example.org'],
      ['wb-2', 'WB2', 'family+two@example.org'],
      // Another member's own mailbox is not WB1's to use: only its own exact address matches.
      ['wb-cross', 'WB1', 'family+two@example.org'],
    );
    expect(outcomes['wb-1']).toMatchObject({ state: 'sent' });
    expect(outcomes['wb-2']).toMatchObject({ state: 'sent' });
    expect(outcomes['wb-cross']).toEqual({ state: 'blocked', reason: 'recipient-mismatch' });
    // The third member on the mailbox is past the limit of 2: the watch pauses (and the dispatcher's own fan-in guard would block).
    expect((await watchMember('WB3', watch())).overLimitMailboxHashes).toHaveLength(1);
    expect((await watch().pauseSwitch.read()).paused).toBe(true);
    await watch().pauseSwitch.resume('test', new Date());
  });
});
