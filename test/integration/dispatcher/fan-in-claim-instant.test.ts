import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { dispatchRefFromText } from '../../../lambdas/core/templates';
import { createDispatcherDeps } from '../../../lambdas/dispatcher/dependencies';
import { createHandler } from '../../../lambdas/dispatcher/handler';
import { DynamoDbPauseSwitch } from '../../../lambdas/adapters/dynamodb-pause-switch';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { putMembersRaw } from '../../support/members';
import { RecordingReporter } from '../../support/recording-reporter';
import { sqsEvent, sqsRecord } from '../../support/sqs-event';

/**
 * Review finding (12.1 x 12.2a, landed in parallel): the batch decides every message, fan-in plan
 * included, from one snapshot read at its start, and a message then waits for its send slot
 * before claiming. The counter must hold the instant of the claim (the send follows at once), not
 * of the plan: an instant seconds too early lets a member leave the span before its e-mail is
 * seconds old, and a second member reach the mailbox within one window.
 */
jest.setTimeout(120_000);

const WINDOW_SECONDS = 4;
let aws: EmbeddedAws;

beforeAll(async () => {
  aws = await startEmbeddedAws({ config: { fanInLimit: 1, fanInWindowSeconds: WINDOW_SECONDS } });
  await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
    { memberId: 'F1', email: 'filler1@example.org', status: 'active', proxies: [] },
    { memberId: 'A1', email: 'shared@example.org', status: 'active', proxies: [] },
    // Another member on the same mailbox (sub-address): one fan-in count.
    { memberId: 'B1', email: 'shared+b@example.org', status: 'active', proxies: [] },
    { memberId: 'F2', email: 'filler2@example.org', status: 'active', proxies: [] },
    { memberId: 'C1', email: 'other@example.org', status: 'active', proxies: [] },
    { memberId: 'D1', email: 'other+d@example.org', status: 'active', proxies: [] },
  ]);
});
afterAll(async () => aws?.stop());

async function dispatcher(env: Record<string, string> = {}) {
  const reporter = new RecordingReporter();
  const ses = new SESv2Client({
    region: aws.region,
    endpoint: aws.endpoints.ses,
    credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    maxAttempts: 1,
  });
  const deps = await createDispatcherDeps({
    env: { ...aws.env, ...env },
    clients: { dynamodb: aws.clients.dynamodb, sqs: aws.clients.sqs, ses },
    reporter,
  });
  return { handler: createHandler(deps), reporter };
}

const message = (dispatchId: string, memberId: string, to: string) =>
  JSON.stringify({ dispatchId, memberId, to, template: 'advice-nurse-reply', data: { firstName: 'Sam' } });

async function deliveredTo(dispatchId: string): Promise<string[]> {
  const emails = await aws.sesStore();
  return emails.filter((e) => dispatchRefFromText(e.body.text ?? '') === dispatchId).flatMap((e) => e.destination.to);
}

describe('review: the fan-in counter holds the instant of the claim, not of the batch plan', () => {
  it('review fan-in-stale-instant: a member whose message waited for its send slot still fills the span it was sent in', async () => {
    // One send every 2.5 s: A1's message waits behind the filler, planned at t0, claimed and sent at ~t0+2.5 s.
    const paced = await dispatcher({ MAX_SENDS_PER_SECOND: '0.4' });
    const filler = sqsRecord(message('fi-filler', 'F1', 'filler1@example.org'));
    const first = sqsRecord(message('fi-a', 'A1', 'shared@example.org'));
    const started = Date.now();
    await expect(paced.handler(sqsEvent(filler, first))).resolves.toEqual({ batchItemFailures: [] });
    expect(paced.reporter.outcomeOf(first.messageId)).toMatchObject({ state: 'sent' });
    const { Item } = await aws.clients.dynamodb.send(
      new GetItemCommand({ TableName: aws.tables.ledger, Key: { pk: { S: 'fi-a' } }, ConsistentRead: true }),
    );
    const sentAt = Date.parse(String(unmarshall(Item!).claimedAt));
    expect(sentAt - started).toBeGreaterThanOrEqual(2000);

    // B1, 2.8 s after A1's e-mail went out (inside one 4 s window), but more than 4 s after A1's plan.
    const wait = Math.max(0, sentAt + WINDOW_SECONDS * 1000 - 1200 - Date.now());
    await new Promise((resolve) => setTimeout(resolve, wait));
    expect(Date.now() - sentAt).toBeLessThan(WINDOW_SECONDS * 1000 - 500);
    const second = sqsRecord(message('fi-b', 'B1', 'shared+b@example.org'));
    const other = await dispatcher();
    await other.handler(sqsEvent(second));
    expect(other.reporter.outcomeOf(second.messageId)).toEqual({ state: 'blocked', reason: 'fan-in-limit' });
    expect(await deliveredTo('fi-b')).toEqual([]);
  });

  it('review fan-in-stale-refresh (holds: the join prunes the member): a member that left the span while its message waited re-enters only by a counted join', async () => {
    const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
    // The block above paused the pipeline (as it must): an operator resumes.
    await new DynamoDbPauseSwitch({ ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb }).resume('operator:test', new Date());
    const plain = await dispatcher();
    const firstD = sqsRecord(message('fr-d1', 'D1', 'other+d@example.org'));
    await plain.handler(sqsEvent(firstD));
    expect(plain.reporter.outcomeOf(firstD.messageId)).toMatchObject({ state: 'sent' });
    const t0 = Date.now();
    // At t0+3 s D1 is in the span: its second message is planned as a refresh, then waits 2.5 s for its slot.
    await wait(t0 + 3000 - Date.now());
    const paced = await dispatcher({ MAX_SENDS_PER_SECOND: '0.4' });
    const filler = sqsRecord(message('fr-filler', 'F2', 'filler2@example.org'));
    const againD = sqsRecord(message('fr-d2', 'D1', 'other+d@example.org'));
    const running = paced.handler(sqsEvent(filler, againD));
    // At t0+4.4 s D1 has left the span: C1 joins the mailbox and is mailed.
    await wait(t0 + 4400 - Date.now());
    const c = sqsRecord(message('fr-c', 'C1', 'other@example.org'));
    await plain.handler(sqsEvent(c));
    expect(plain.reporter.outcomeOf(c.messageId)).toMatchObject({ state: 'sent' });
    await running;
    const sentC = Date.now();
    // D1's claim comes ~1 s after C1's send: a second member inside one window, so it is blocked.
    expect(paced.reporter.outcomeOf(againD.messageId)).toEqual({ state: 'blocked', reason: 'fan-in-limit' });
    expect(sentC - t0).toBeLessThan(WINDOW_SECONDS * 1000 + 3000);
    expect(await deliveredTo('fr-d2')).toEqual([]);
  });
});
