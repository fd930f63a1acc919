import { Env } from '../../../lambdas/tables';
import { DynamoDbMemberRegistry } from '../../../lambdas/adapters/dynamodb-member-registry';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client, SESv2ServiceException, TooManyRequestsException } from '@aws-sdk/client-sesv2';
import type { Template } from 'aws-cdk-lib/assertions';
import { DynamoDbPauseSwitch } from '../../../lambdas/adapters/dynamodb-pause-switch';
import { createDispatcherDeps } from '../../../lambdas/dispatcher/dependencies';
import { createHandler } from '../../../lambdas/dispatcher/handler';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { logicalIdOf, statementsOfRole, synthMailDispatch } from '../../infra/support/stack-fixture';
import { allowedBy, type Authorisation, authorisationsOf } from './iam-evaluator';
import { putMembersRaw } from '../../support/members';
import { RecordingReporter } from '../../support/recording-reporter';
import { sqsEvent, sqsRecord } from '../../support/sqs-event';

/**
 * 12.11 conformance: every DynamoDB request the dispatcher's real code sends (recorded on the SDK
 * client while the real handler runs every kind of end against DynamoDB Local) is allowed by the
 * dispatcher role's statements as the stack synthesises them: action, table, leading key,
 * attributes, ReturnValues. A code change that writes a new attribute or item kind fails here,
 * not with AccessDenied in AWS.
 */
jest.setTimeout(180_000);

let aws: EmbeddedAws;
let template: Template;
const recorded: { command: string; input: any }[] = [];

beforeAll(async () => {
  template = synthMailDispatch().template;
  aws = await startEmbeddedAws({ config: { fanInLimit: 2, maxReceiveCount: 2 } });
  await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
    ...Array.from({ length: 6 }, (_, n) => ({ memberId: `C${n}`, email: `cal${n}@example.org`, status: 'active', proxies: [] })),
    // Three members on one mailbox with limit 2: the third message is blocked and sets the pause flag.
    ...[0, 1, 2].map((n) => ({ memberId: `S${n}`, email: `shared+${n}@example.org`, status: 'active', proxies: [] })),
    // A ward whose proxy is another member's own address (12.3): the claim reads and condition-checks the consent.
    { memberId: 'W0', email: 'ward0@example.org', status: 'active', proxies: ['guardian0@example.org'] },
  ]);
  // The guardian registered through the guard, which indexes its mailbox (registry#…) with it as owner.
  const registry = new DynamoDbMemberRegistry({
    tables: aws.tables,
    hashKey: aws.env[Env.addressHashKey],
    fanInLimit: 2,
    client: aws.clients.dynamodb,
  });
  expect((await registry.register({ memberId: 'G0', email: 'guardian0@example.org', status: 'active', proxyFor: ['W0'] })).outcome).toBe(
    'registered',
  );
});
afterAll(async () => aws?.stop());

function recordingClient(): DynamoDBClient {
  const client = new DynamoDBClient({
    region: aws.region,
    endpoint: aws.endpoints.dynamodb,
    credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
  });
  client.middlewareStack.add(
    (next, info) => async (args) => (recorded.push({ command: String(info.commandName), input: structuredClone(args.input) }), next(args)),
    {
      step: 'initialize',
    },
  );
  return client;
}

type SesStep = (args: unknown, next: (args: unknown) => Promise<unknown>) => Promise<unknown>;

async function dispatcher(ses?: SesStep) {
  const client = new SESv2Client({
    region: aws.region,
    endpoint: aws.endpoints.ses,
    credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    maxAttempts: 1,
  });
  if (ses) client.middlewareStack.add((next) => (args) => ses(args, next as never) as never, { step: 'deserialize' });
  const deps = await createDispatcherDeps({
    env: aws.env,
    clients: { dynamodb: recordingClient(), sqs: aws.clients.sqs, ses: client },
    reporter: new RecordingReporter(),
  });
  return createHandler(deps);
}

const body = (dispatchId: string, memberId: string, to: string) =>
  JSON.stringify({ dispatchId, memberId, to, template: 'advice-nurse-reply', data: { firstName: 'Cal' } });

describe('12.11: what the dispatcher code writes is what its IAM statements allow', () => {
  it('12.11: every DynamoDB request of every kind of dispatch end is allowed by the dispatcher role (leading key, attributes, ReturnValues)', async () => {
    const handler = await dispatcher();
    const sent = sqsRecord(body('cf-sent', 'C0', 'cal0@example.org'));
    await handler(sqsEvent(sent, sqsRecord(body('cf-blocked', 'C1', 'someone@example.org')), sqsRecord('not json')));
    await handler(sqsEvent(sqsRecord(sent.body))); // a re-publish of a sent dispatch: duplicate
    // SES throttles once (release, fresh claim, sent), then answers 500 after accepting (in-doubt).
    let calls = 0;
    const flaky = await dispatcher(async (args, next) => {
      calls++;
      if (calls === 1)
        throw new TooManyRequestsException({ message: 'Maximum sending rate exceeded.', $metadata: { httpStatusCode: 429 } });
      if (calls === 3) {
        await next(args);
        throw new SESv2ServiceException({
          name: 'InternalFailure',
          $fault: 'server',
          message: 'Internal failure',
          $metadata: { httpStatusCode: 500 },
        });
      }
      return next(args);
    });
    await flaky(sqsEvent(sqsRecord(body('cf-released-then-sent', 'C2', 'cal2@example.org'))));
    await flaky(sqsEvent(sqsRecord(body('cf-in-doubt', 'C3', 'cal3@example.org'))));
    // A consented proxy send: a GetItem of registry#<mailbox>, a BatchGetItem of the owner, their ConditionChecks in the claim.
    await handler(sqsEvent(sqsRecord(body('cf-proxy', 'W0', 'guardian0@example.org'))));
    // The fan-in limit: the third member of one mailbox is blocked and the dispatcher sets the pause flag.
    await handler(sqsEvent(...[0, 1, 2].map((n) => sqsRecord(body(`cf-fan-in-${n}`, `S${n}`, `shared+${n}@example.org`)))));
    // Paused, on the last receive: failed, with its ledger record.
    const paused = await dispatcher();
    await paused(sqsEvent(sqsRecord(body('cf-failed', 'C4', 'cal4@example.org'), { receiveCount: 2 })));
    await new DynamoDbPauseSwitch({ ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb }).resume('test', new Date());

    const tableIds = {
      [aws.tables.members]: logicalIdOf(template, 'AWS::DynamoDB::Table', 'RegistryMembers'),
      [aws.tables.ledger]: logicalIdOf(template, 'AWS::DynamoDB::Table', 'RegistryLedger'),
    };
    const statements = statementsOfRole(template, 'DispatcherServiceRole');
    const requests = recorded.flatMap((r) => authorisationsOf(r.command, r.input));
    const kinds = new Set(
      requests.map((r) => `${r.what} ${r.table === aws.tables.ledger ? 'ledger' : 'members'} ${r.leadingKey.replace(/#.*/, '#…')}`),
    );
    // The run covered every kind of write: claims, counters, records, the pause flag.
    expect(requests.some((r) => r.what === 'UpdateItem' && r.leadingKey === 'control#pause')).toBe(true);
    expect(requests.some((r) => r.what === 'TransactWriteItems Update' && r.leadingKey.startsWith('fanin#'))).toBe(true);
    expect(requests.some((r) => r.what === 'UpdateItem' && r.leadingKey.startsWith('rejected#'))).toBe(true);
    expect(requests.some((r) => r.leadingKey.startsWith('registry#') && r.what.includes('ConditionCheck'))).toBe(true);
    const denied = requests.filter((r) => !allowedBy(statements, r, tableIds));
    expect(denied.map((r) => `${r.what} ${r.action} ${r.leadingKey} [${r.attributes?.join(', ') ?? 'every attribute'}]`)).toEqual([]);
    expect(kinds.size).toBeGreaterThan(5);
  });

  it('12.11: the evaluator denies what the statements do not allow (it is not permissive by construction)', () => {
    const statements = statementsOfRole(template, 'DispatcherServiceRole');
    const tableIds = {
      members: logicalIdOf(template, 'AWS::DynamoDB::Table', 'RegistryMembers'),
      ledger: logicalIdOf(template, 'AWS::DynamoDB::Table', 'RegistryLedger'),
    };
    const write = (leadingKey: string, attributes: string[], table = 'ledger'): Authorisation => ({
      action: 'dynamodb:UpdateItem',
      table,
      leadingKey,
      attributes,
      what: 'test',
    });
    expect(allowedBy(statements, write('d-1', ['pk', 'state', 'history']), tableIds)).toBeDefined();
    expect(allowedBy(statements, write('d-1', ['pk', 'state', 'email']), tableIds)).toBeUndefined();
    expect(allowedBy(statements, write('registry#abc', ['pk', 'members']), tableIds)).toBeUndefined();
    expect(allowedBy(statements, write('control#pause', ['pk', 'paused', 'reason']), tableIds)).toBeDefined();
    expect(allowedBy(statements, write('control#pause', ['pk', 'paused', 'resumedBy', 'resumedAt']), tableIds)).toBeUndefined();
    expect(allowedBy(statements, write('control#pause', ['pk', 'state', 'history']), tableIds)).toBeUndefined();
    expect(allowedBy(statements, write('M1', ['memberId', 'email'], 'members'), tableIds)).toBeUndefined();
    expect(allowedBy(statements, { ...write('d-1', ['pk', 'state']), returnValues: 'ALL_NEW' }, tableIds)).toBeUndefined();
  });
});
