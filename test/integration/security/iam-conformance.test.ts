import { Env } from '../../../lambdas/tables';
import { DynamoDbMemberRegistry } from '../../../lambdas/adapters/dynamodb-member-registry';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client, SESv2ServiceException, TooManyRequestsException } from '@aws-sdk/client-sesv2';
import type { Template } from 'aws-cdk-lib/assertions';
import { DynamoDbPauseSwitch } from '../../../lambdas/adapters/dynamodb-pause-switch';
import { createDispatcherDeps } from '../../../lambdas/dispatcher/dependencies';
import { createHandler } from '../../../lambdas/dispatcher/handler';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { logicalIdOf, type Statement, statementsOfRole, synthMailDispatch } from '../../infra/support/stack-fixture';
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

/** One IAM authorisation a DynamoDB request needs (a transaction needs one per item). */
interface Authorisation {
  readonly action: string;
  readonly table: string;
  readonly leadingKey: string;
  /** Top-level attribute names the request names (key, update, condition, projection); undefined = every attribute. */
  readonly attributes?: readonly string[];
  readonly returnValues?: string;
  readonly select?: string;
  readonly what: string;
}

const FUNCTIONS = new Set([
  'if_not_exists',
  'list_append',
  'attribute_not_exists',
  'attribute_exists',
  'attribute_type',
  'contains',
  'begins_with',
  'size',
]);
const WORDS = new Set(['SET', 'REMOVE', 'ADD', 'DELETE', 'AND', 'OR', 'NOT', 'IN', 'BETWEEN']);

/** The top-level attribute names an expression names (`a.b[0]` is `a`; `#n` resolved). */
function attributesOf(expression: string | undefined, names: Record<string, string> = {}): string[] {
  if (!expression) return [];
  const found: string[] = [];
  // Paths: a name or #placeholder, then optional .member / [index] parts; values (:v) are skipped.
  for (const match of expression.matchAll(/(?<![:\w#.])(#?[A-Za-z_][\w]*)(?:\s*\()?/g)) {
    const token = match[1];
    if (match[0].trimEnd().endsWith('(') && FUNCTIONS.has(token)) continue;
    if (WORDS.has(token.toUpperCase()) && !token.startsWith('#')) continue;
    found.push(token.startsWith('#') ? (names[token] ?? token) : token);
  }
  return found;
}

function keyOf(key: Record<string, { S?: string }>): { name: string; value: string } {
  const [name, value] = Object.entries(key)[0];
  return { name, value: value.S ?? JSON.stringify(value) };
}

/** What IAM evaluates for one SDK command. */
function authorisationsOf(command: string, input: any): Authorisation[] {
  const update = (u: any, action: string, what: string): Authorisation => {
    const key = keyOf(u.Key);
    const names = u.ExpressionAttributeNames ?? {};
    const attributes = [key.name, ...attributesOf(u.UpdateExpression, names), ...attributesOf(u.ConditionExpression, names)];
    return { action, table: u.TableName, leadingKey: key.value, attributes: [...new Set(attributes)], returnValues: u.ReturnValues, what };
  };
  const read = (
    table: string,
    k: any,
    projection: string | undefined,
    names: Record<string, string> | undefined,
    what: string,
  ): Authorisation => {
    const key = keyOf(k);
    return projection
      ? {
          action: 'dynamodb:GetItem',
          table,
          leadingKey: key.value,
          attributes: [key.name, ...attributesOf(projection, names)],
          select: 'SPECIFIC_ATTRIBUTES',
          what,
        }
      : { action: 'dynamodb:GetItem', table, leadingKey: key.value, select: 'ALL_ATTRIBUTES', what };
  };
  switch (command) {
    case 'GetItemCommand':
      return [read(input.TableName, input.Key, input.ProjectionExpression, input.ExpressionAttributeNames, 'GetItem')];
    case 'BatchGetItemCommand':
      return Object.entries(input.RequestItems as Record<string, any>).flatMap(([table, request]) =>
        request.Keys.map((k: any) => ({
          ...read(table, k, request.ProjectionExpression, request.ExpressionAttributeNames, 'BatchGetItem'),
          action: 'dynamodb:BatchGetItem',
        })),
      );
    case 'UpdateItemCommand':
      return [update(input, 'dynamodb:UpdateItem', 'UpdateItem')];
    case 'TransactWriteItemsCommand':
      return input.TransactItems.map((item: any) => {
        if (item.Update) return update(item.Update, 'dynamodb:UpdateItem', 'TransactWriteItems Update');
        if (item.ConditionCheck) return update(item.ConditionCheck, 'dynamodb:ConditionCheckItem', 'TransactWriteItems ConditionCheck');
        if (item.Put)
          return {
            action: 'dynamodb:PutItem',
            table: item.Put.TableName,
            leadingKey: '?',
            attributes: Object.keys(item.Put.Item),
            what: 'TransactWriteItems Put',
          };
        return {
          action: 'dynamodb:DeleteItem',
          table: item.Delete.TableName,
          leadingKey: keyOf(item.Delete.Key).value,
          what: 'TransactWriteItems Delete',
        };
      });
    default:
      return [{ action: `dynamodb:${command.replace(/Command$/, '')}`, table: input.TableName ?? '?', leadingKey: '?', what: command }];
  }
}

const like = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  ).test(value);
const list = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : [v as string]);

/** IAM's answer for the condition keys used here; an operator this does not know fails the test. */
function conditionsHold(condition: Statement['Condition'], request: Authorisation): boolean {
  const values: Record<string, string[] | undefined> = {
    'dynamodb:LeadingKeys': [request.leadingKey],
    // Unprojected reads name every attribute: no attribute-limited statement allows them.
    'dynamodb:Attributes': request.attributes ? [...request.attributes] : ['<every attribute>'],
    'dynamodb:ReturnValues': request.returnValues ? [request.returnValues] : undefined,
    'dynamodb:Select': request.select ? [request.select] : undefined,
  };
  return Object.entries(condition ?? {}).every(([operator, keys]) =>
    Object.entries(keys).every(([key, allowed]) => {
      if (!(key in values)) throw new Error(`condition key ${key} is not modelled`);
      const actual = values[key];
      const patterns = list(allowed);
      switch (operator) {
        case 'ForAllValues:StringEquals':
          return (actual ?? []).every((v) => patterns.includes(v));
        case 'ForAllValues:StringNotLike':
          return (actual ?? []).every((v) => !patterns.some((p) => like(p, v)));
        case 'StringEqualsIfExists':
          return actual === undefined || actual.every((v) => patterns.includes(v));
        case 'StringEquals':
          return actual !== undefined && actual.every((v) => patterns.includes(v));
        default:
          throw new Error(`condition operator ${operator} is not modelled`);
      }
    }),
  );
}

function allowedBy(statements: readonly Statement[], request: Authorisation, tableIds: Record<string, string>): Statement | undefined {
  const tableId = tableIds[request.table];
  return statements.find(
    (s) =>
      s.Effect === 'Allow' &&
      list(s.Action).some((a) => like(a, request.action)) &&
      list(s.Resource).some((r) => JSON.stringify(r) === JSON.stringify({ 'Fn::GetAtt': [tableId, 'Arn'] })) &&
      conditionsHold(s.Condition, request),
  );
}

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
