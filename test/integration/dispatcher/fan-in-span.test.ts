import { SESv2Client } from '@aws-sdk/client-sesv2';
import { DynamoDbPauseSwitch } from '../../../lambdas/adapters/dynamodb-pause-switch';
import { createDispatcherDeps } from '../../../lambdas/dispatcher/dependencies';
import { createHandler } from '../../../lambdas/dispatcher/handler';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { putMembersRaw } from '../../support/members';
import { RecordingReporter } from '../../support/recording-reporter';
import { sqsEvent, sqsRecord } from '../../support/sqs-event';

jest.setTimeout(120_000);

/**
 * The fan-in promise of scenarios/README.md on the real handler and adapters (DynamoDB Local):
 * at most `fanInLimit` distinct members per mailbox in any span of `fanInWindowSeconds`.
 */
let aws: EmbeddedAws;
let clock = new Date('2000-08-02T09:00:00Z');

beforeAll(async () => {
  aws = await startEmbeddedAws({ config: { fanInLimit: 3, fanInWindowSeconds: 86_400 } });
});
afterAll(async () => aws?.stop());

async function dispatcher() {
  const reporter = new RecordingReporter();
  const ses = new SESv2Client({
    region: aws.region,
    endpoint: aws.endpoints.ses,
    credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    maxAttempts: 1,
  });
  const deps = await createDispatcherDeps({
    env: aws.env,
    clients: { dynamodb: aws.clients.dynamodb, sqs: aws.clients.sqs, ses },
    reporter,
    now: () => clock,
  });
  return { handler: createHandler(deps), reporter };
}

const pauseSwitch = () => new DynamoDbPauseSwitch({ ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb });
const body = (dispatchId: string, memberId: string, to: string) =>
  JSON.stringify({ dispatchId, memberId, to, template: 'advice-nurse-reply', data: { firstName: 'Pat' } });

/** Dispatches one message at the given instant; resumes first, as an operator would between steps. */
async function sendAt(at: string, dispatchId: string, memberId: string, to: string) {
  clock = new Date(at);
  if ((await pauseSwitch().read()).paused) await pauseSwitch().resume('test', clock);
  const { handler, reporter } = await dispatcher();
  const record = sqsRecord(body(dispatchId, memberId, to));
  await handler(sqsEvent(record));
  return { outcome: reporter.outcomeOf(record.messageId), paused: (await pauseSwitch().read()).paused };
}

async function sentTo(address: string): Promise<number> {
  return (await aws.sesStore()).filter((e) => e.destination.to.includes(address)).length;
}

describe('fan-in guard: a span per mailbox', () => {
  it('12.2a: a burst across midnight is one burst', async () => {
    const to = 'midnight@example.org';
    const ids = ['N1', 'N2', 'N3', 'N4', 'N5', 'N6'];
    await putMembersRaw(
      aws.clients.dynamodb,
      aws.tables.members,
      ids.map((memberId) => ({ memberId, email: to, status: 'active' })),
    );
    const start = Date.parse('2000-08-02T23:59:55Z');
    clock = new Date(start);
    const { handler, reporter } = await dispatcher();
    const records = ids.map((id) => sqsRecord(body(`mid-${id}`, id, to)));
    for (const [i, record] of records.entries()) {
      clock = new Date(start + i * 2000);
      await handler(sqsEvent(record));
    }
    expect(records.map((r) => reporter.outcomeOf(r.messageId)?.state)).toEqual(['sent', 'sent', 'sent', 'blocked', 'retry', 'retry']);
    expect(reporter.outcomeOf(records[3].messageId)).toEqual({ state: 'blocked', reason: 'fan-in-limit' });
    expect(await sentTo(to)).toBe(3);
    expect((await pauseSwitch().read()).paused).toBe(true);
  });

  it('12.2a: three new members a day to one address are blocked where the span says', async () => {
    const to = 'daily@example.org';
    const ids = ['D1', 'D2', 'D3', 'D4', 'D5', 'D6'];
    await putMembersRaw(
      aws.clients.dynamodb,
      aws.tables.members,
      ids.map((memberId) => ({ memberId, email: to, status: 'active' })),
    );
    // Day 1: three members, ten minutes apart.
    expect((await sendAt('2000-08-03T09:00:00Z', 'day-D1', 'D1', to)).outcome?.state).toBe('sent');
    expect((await sendAt('2000-08-03T09:10:00Z', 'day-D2', 'D2', to)).outcome?.state).toBe('sent');
    expect((await sendAt('2000-08-03T09:20:00Z', 'day-D3', 'D3', to)).outcome?.state).toBe('sent');
    // Day 2, 09:00: D1's send left the span (exactly one window ago); D2 and D3 are still in it.
    expect((await sendAt('2000-08-04T09:00:00Z', 'day-D4', 'D4', to)).outcome?.state).toBe('sent');
    // 09:05: D2, D3, D4 in the last 24 h: a fourth member is one too many, whatever the calendar says.
    expect(await sendAt('2000-08-04T09:05:00Z', 'day-D5', 'D5', to)).toEqual({
      outcome: { state: 'blocked', reason: 'fan-in-limit' },
      paused: true,
    });
    // 09:15: D2's send has left the span too: D5 fits again (a corrected re-publish of its message).
    expect((await sendAt('2000-08-04T09:15:00Z', 'day-D5', 'D5', to)).outcome?.state).toBe('sent');
    // 09:18: D3, D4, D5 in the span.
    expect((await sendAt('2000-08-04T09:18:00Z', 'day-D6', 'D6', to)).outcome).toEqual({ state: 'blocked', reason: 'fan-in-limit' });
    expect(await sentTo(to)).toBe(5);
  });

  it('12.2a: a member already in the span does not count twice, and keeps its place in it', async () => {
    const to = 'again@example.org';
    const ids = ['A1', 'A2', 'A3', 'A4'];
    await putMembersRaw(
      aws.clients.dynamodb,
      aws.tables.members,
      ids.map((memberId) => ({ memberId, email: to, status: 'active' })),
    );
    expect((await sendAt('2000-08-10T08:00:00Z', 'again-1', 'A1', to)).outcome?.state).toBe('sent');
    expect((await sendAt('2000-08-10T09:00:00Z', 'again-2', 'A2', to)).outcome?.state).toBe('sent');
    expect((await sendAt('2000-08-10T10:00:00Z', 'again-3', 'A3', to)).outcome?.state).toBe('sent');
    // A1 again the next morning: it was in the span, so it counts once and its last send moves on.
    expect((await sendAt('2000-08-11T07:30:00Z', 'again-4', 'A1', to)).outcome?.state).toBe('sent');
    // 08:30: A1 (07:30), A2, A3 are in the span: A4 is the fourth.
    expect((await sendAt('2000-08-11T08:30:00Z', 'again-5', 'A4', to)).outcome).toEqual({ state: 'blocked', reason: 'fan-in-limit' });
  });

  it('12.2b: sub-addresses of one mailbox share one counter', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `V${i + 1}`);
    await putMembersRaw(
      aws.clients.dynamodb,
      aws.tables.members,
      ids.map((memberId, i) => ({
        memberId,
        email: i % 2 ? `Victim+${i + 1}@Example.org` : `victim+${i + 1}@example.org`,
        status: 'active',
      })),
    );
    clock = new Date('2000-09-01T12:00:00Z');
    if ((await pauseSwitch().read()).paused) await pauseSwitch().resume('test', clock);
    const { handler, reporter } = await dispatcher();
    const records = ids.map((id, i) => sqsRecord(body(`tag-${id}`, id, `victim+${i + 1}@example.org`)));
    for (const record of records) await handler(sqsEvent(record));
    const states = records.map((r) => reporter.outcomeOf(r.messageId)?.state);
    expect(states.slice(0, 4)).toEqual(['sent', 'sent', 'sent', 'blocked']);
    expect(states.filter((s) => s === 'sent')).toHaveLength(3);
    const delivered = (await aws.sesStore()).filter((e) => e.destination.to.some((to) => /^victim\+/i.test(to)));
    expect(delivered).toHaveLength(3);
  });

  it('12.2b: the recipient check still compares the exact address, not the mailbox', async () => {
    await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [{ memberId: 'T1', email: 'tess+work@example.org', status: 'active' }]);
    const { outcome } = await sendAt('2000-09-05T12:00:00Z', 'tag-exact', 'T1', 'tess@example.org');
    expect(outcome).toEqual({ state: 'blocked', reason: 'recipient-mismatch' });
  });
});
