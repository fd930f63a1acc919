import type { SNSEvent } from 'aws-lambda';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Template } from 'aws-cdk-lib/assertions';
import { DynamoDbDispatchLedger } from '../../../lambdas/adapters/dynamodb-dispatch-ledger';
import { DynamoDbFeedbackStore } from '../../../lambdas/adapters/dynamodb-feedback-store';
import { DynamoDbPauseSwitch } from '../../../lambdas/adapters/dynamodb-pause-switch';
import { hashAddress } from '../../../lambdas/core/address';
import { encodeDispatchTag } from '../../../lambdas/core/dispatch-tag';
import { REPUTATION_DEFAULTS } from '../../../lambdas/core/reputation';
import { deriveReportLinkKeys, ReportLinks } from '../../../lambdas/core/report-token';
import { createFeedbackHandler } from '../../../lambdas/feedback/handler';
import { createNotForMeDeps } from '../../../lambdas/not-for-me/dependencies';
import { createNotForMeHandler } from '../../../lambdas/not-for-me/handler';
import { DEFAULT_NOT_FOR_ME_SETTINGS } from '../../../lambdas/not-for-me/settings';
import { Env, LedgerKey } from '../../../lambdas/tables';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { startFunctionUrlServer } from '../../../local/function-url-server';
import { followNotForMeLink } from '../../../local/not-for-me-visitor';
import { logicalIdOf, statementsOfRole, synthMailDispatch } from '../../infra/support/stack-fixture';
import { putMembersRaw } from '../../support/members';
import { allowedBy, type Authorisation, authorisationsOf } from './iam-evaluator';

/**
 * 12.11 conformance for the feedback function and the "not for me" page: every DynamoDB request
 * their real code sends (recorded on the SDK client while the real handler runs against DynamoDB
 * Local) is allowed by the role's synthesised statements, attribute by attribute, and a request
 * outside them is denied.
 */
jest.setTimeout(180_000);

let aws: EmbeddedAws;
let template: Template;
let tableIds: Record<string, string>;
const HASH_KEY = 'conformance-hash-key';

beforeAll(async () => {
  template = synthMailDispatch().template;
  aws = await startEmbeddedAws();
  tableIds = {
    [aws.tables.members]: logicalIdOf(template, 'AWS::DynamoDB::Table', 'RegistryMembers'),
    [aws.tables.ledger]: logicalIdOf(template, 'AWS::DynamoDB::Table', 'RegistryLedger'),
  };
});
afterAll(async () => aws?.stop());

function recordingClient(recorded: { command: string; input: any }[]): DynamoDBClient {
  const client = new DynamoDBClient({
    region: aws.region,
    endpoint: aws.endpoints.dynamodb,
    credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
  });
  client.middlewareStack.add(
    (next, info) => async (args) => (recorded.push({ command: String(info.commandName), input: structuredClone(args.input) }), next(args)),
    { step: 'initialize' },
  );
  return client;
}

const describeRequest = (r: Authorisation) =>
  `${r.what} ${r.action} ${r.leadingKey.replace(/#.*/, '#…')} [${r.attributes?.join(', ') ?? 'every attribute'}] ${r.returnValues ?? ''}`;

async function claimSent(dispatchId: string, memberId: string, to: string) {
  const ledger = new DynamoDbDispatchLedger({
    membersTable: aws.tables.members,
    ledgerTable: aws.tables.ledger,
    client: aws.clients.dynamodb,
  });
  const [result] = await ledger.claimAll([
    {
      message: { dispatchId, memberId, to, template: 'advice-nurse-reply', data: {} },
      toHash: hashAddress(to, HASH_KEY),
      matched: { via: 'email', value: to },
      fanInKey: `fanin#${dispatchId}`,
      fanIn: { kind: 'join', version: 0, atMs: 0, prune: [] },
      fanInExpiresAt: 4_000_000_000,
      claimToken: `t-${dispatchId}`,
      sqsMessageId: `sqs-${dispatchId}`,
      receiveCount: 1,
      now: new Date(),
    },
  ]);
  expect(result).toEqual({ claimed: true });
  await ledger.settle(dispatchId, `t-${dispatchId}`, { kind: 'in-doubt' }, new Date());
}

function sesEvent(eventType: string, dispatchId: string, extra: Record<string, unknown> = {}): SNSEvent {
  const message = {
    eventType,
    mail: {
      timestamp: '2000-08-02T09:00:01.000Z',
      source: 'no-reply@portal.example.org',
      messageId: `ses-${dispatchId}`,
      destination: ['fay@example.org'],
      tags: { 'ses:configuration-set': ['mail-dispatch'], dispatchId: [encodeDispatchTag(dispatchId)] },
    },
    ...extra,
  };
  return {
    Records: [
      { EventSource: 'aws:sns', EventVersion: '1.0', EventSubscriptionArn: 'arn', Sns: { Message: JSON.stringify(message) } as never },
    ],
  };
}

describe('12.11: what the feedback function sends is what its IAM statements allow', () => {
  it('12.11: every DynamoDB request of reconcile, fates, transient bounces, suppression and the reputation window is allowed', async () => {
    await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [{ memberId: 'F1', email: 'fay@example.org', status: 'active' }]);
    for (const id of ['cf-fb-1', 'cf-fb-2']) await claimSent(id, 'F1', 'fay@example.org');
    const recorded: { command: string; input: any }[] = [];
    const handler = createFeedbackHandler({
      store: new DynamoDbFeedbackStore({
        membersTable: aws.tables.members,
        ledgerTable: aws.tables.ledger,
        client: recordingClient(recorded),
      }),
      logger: { info: () => undefined, warn: () => undefined },
      metric: () => undefined,
      transientBounceLimit: 2,
      reputation: { ...REPUTATION_DEFAULTS, windowSends: 2 },
    });
    const transient = (feedbackId: string) => ({ bounce: { bounceType: 'Transient', feedbackId } });
    await handler(sesEvent('Send', 'cf-fb-1'));
    await handler(sesEvent('Delivery', 'cf-fb-1'));
    await handler(sesEvent('Send', 'cf-fb-2')); // the second send closes the reputation window of 2
    await handler(sesEvent('Bounce', 'cf-fb-2', transient('t1')));
    await handler(sesEvent('Bounce', 'cf-fb-2', transient('t1'))); // SNS redelivers: a replay
    await handler(sesEvent('Bounce', 'cf-fb-2', transient('t2'))); // the second in a row suppresses
    await handler(sesEvent('Complaint', 'cf-fb-2', { complaint: { feedbackId: 'c1' } })); // already suppressed
    await handler(sesEvent('Bounce', 'cf-never-claimed', { bounce: { bounceType: 'Permanent' } }));

    const statements = statementsOfRole(template, 'FeedbackServiceRole');
    const requests = recorded.flatMap((r) => authorisationsOf(r.command, r.input));
    // The run covered every kind of item the function touches.
    const touched = (prefix: string, table = aws.tables.ledger) =>
      requests.some((r) => r.table === table && r.action === 'dynamodb:UpdateItem' && r.leadingKey.startsWith(prefix));
    expect(touched('softbounce#')).toBe(true);
    expect(touched('reputation#window')).toBe(true);
    expect(touched('cf-fb-')).toBe(true);
    expect(touched('F1', aws.tables.members)).toBe(true);
    expect(requests.some((r) => r.action === 'dynamodb:GetItem' && r.leadingKey === 'cf-fb-2')).toBe(true);
    expect(requests.filter((r) => !allowedBy(statements, r, tableIds)).map(describeRequest)).toEqual([]);
  });

  it('12.11: the feedback role is denied what its code never asks: whole records, claims, the flag, a member address', () => {
    const statements = statementsOfRole(template, 'FeedbackServiceRole');
    const ledger = aws.tables.ledger;
    const update = (leadingKey: string, attributes: string[], table = ledger): Authorisation => ({
      action: 'dynamodb:UpdateItem',
      table,
      leadingKey,
      attributes,
      what: 'test',
    });
    const allowed = (r: Authorisation) => allowedBy(statements, r, tableIds) !== undefined;
    expect(allowed(update('d-1', ['pk', 'fate', 'history']))).toBe(true);
    expect(allowed(update('d-1', ['pk', 'claimToken']))).toBe(false);
    // 12.11 review: memberId/toHash key the by-member/by-address audit indexes; the feedback role only reads them.
    expect(allowed(update('d-1', ['pk', 'memberId']))).toBe(false);
    expect(allowed(update('d-1', ['pk', 'toHash']))).toBe(false);
    // A ledger item kind added later (any key with '#', which no dispatchId can hold) is not a dispatch record.
    expect(allowed(update('future#x', ['pk', 'fate', 'history']))).toBe(false);
    expect(
      allowed({ action: 'dynamodb:GetItem', table: ledger, leadingKey: 'd-1', attributes: ['memberId', 'toHash'], what: 'test' }),
    ).toBe(true);
    expect(allowed({ ...update('d-1', ['pk', 'fate']), returnValues: 'ALL_NEW' })).toBe(false);
    expect(allowed(update('control#pause', ['pk', 'paused']))).toBe(false);
    expect(allowed(update('registry#h', ['pk', 'members']))).toBe(false);
    expect(allowed(update('softbounce#h#M1', ['pk', 'bounces']))).toBe(true);
    expect(allowed(update('softbounce#h#M1', ['pk', 'fate']))).toBe(false);
    expect(allowed(update('M1', ['memberId', 'email'], aws.tables.members))).toBe(false);
    expect(allowed({ action: 'dynamodb:GetItem', table: ledger, leadingKey: 'd-1', select: 'ALL_ATTRIBUTES', what: 'test' })).toBe(false);
  });
});

describe('12.11: what the "not for me" page sends is what its IAM statements allow', () => {
  it('12.11: every DynamoDB request of opening, confirming, replaying and pausing is allowed by the page role', async () => {
    const recorded: { command: string; input: any }[] = [];
    const dynamodb = recordingClient(recorded);
    const built = await createNotForMeDeps({
      env: aws.env,
      dynamodb,
      pauseSwitch: new DynamoDbPauseSwitch({ ledgerTable: aws.tables.ledger, client: dynamodb }),
      countMetric: () => undefined,
      logger: { warn: () => undefined, error: () => undefined },
    });
    const server = await startFunctionUrlServer({
      handler: createNotForMeHandler({ ...built, settings: { ...DEFAULT_NOT_FOR_ME_SETTINGS, pauseThreshold: 1 } }),
    });
    try {
      const links = new ReportLinks(deriveReportLinkKeys(aws.env[Env.reportLinkKey]), server.url);
      const toHash = hashAddress('nia@example.org', HASH_KEY);
      await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [{ memberId: 'N1', email: 'nia@example.org', status: 'active' }]);
      const record = { pk: LedgerKey.dispatch('cf-nfm-1'), dispatchId: 'cf-nfm-1', memberId: 'N1', toHash, state: 'sent', history: [] };
      await aws.clients.dynamodb.send(new PutItemCommand({ TableName: aws.tables.ledger, Item: marshall(record) }));
      const url = links.urlFor('cf-nfm-1', toHash, new Date());
      expect((await followNotForMeLink(url, { sourceIp: '192.0.2.30' })).confirmed?.status).toBe(200);
      await followNotForMeLink(url, { sourceIp: '192.0.2.31' }); // already reported
    } finally {
      await server.stop();
      await new DynamoDbPauseSwitch({ ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb }).resume('test', new Date());
    }

    const statements = statementsOfRole(template, 'NotForMeServiceRole');
    const requests = recorded.flatMap((r) => authorisationsOf(r.command, r.input));
    for (const prefix of ['cf-nfm-1', 'notforme#', 'ratelimit#', 'control#pause']) {
      expect(requests.some((r) => r.action === 'dynamodb:UpdateItem' && r.leadingKey.startsWith(prefix))).toBe(true);
    }
    expect(requests.some((r) => r.table === aws.tables.members && r.action === 'dynamodb:UpdateItem')).toBe(true);
    expect(requests.filter((r) => !allowedBy(statements, r, tableIds)).map(describeRequest)).toEqual([]);

    const allowed = (r: Authorisation) => allowedBy(statements, r, tableIds) !== undefined;
    const update = (leadingKey: string, attributes: string[]): Authorisation => ({
      action: 'dynamodb:UpdateItem',
      table: aws.tables.ledger,
      leadingKey,
      attributes,
      what: 'test',
    });
    expect(allowed(update('d-1', ['pk', 'state']))).toBe(false);
    // 12.11 review: the page reads memberId but may never write it (the by-member audit key).
    expect(allowed(update('d-1', ['pk', 'memberId']))).toBe(false);
    expect(allowed(update('d-1', ['pk', 'memberId', 'reportedNotMineAt']))).toBe(false);
    expect(allowed(update('future#x', ['pk', 'reportedNotMineAt', 'history']))).toBe(false);
    expect(allowed(update('registry#h', ['pk', 'members']))).toBe(false);
    expect(allowed(update('control#pause', ['pk', 'paused', 'resumedBy']))).toBe(false);
    expect(allowed(update('ratelimit#token#x#1', ['pk', 'reportedNotMineAt']))).toBe(false);
    expect(allowed({ action: 'dynamodb:GetItem', table: aws.tables.ledger, leadingKey: 'd-1', select: 'ALL_ATTRIBUTES', what: 't' })).toBe(
      false,
    );
  });
});
