import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent, SNSEvent } from 'aws-lambda';
import type { Template } from 'aws-cdk-lib/assertions';
import { BreakerTrippingPauseSwitch } from '../../../lambdas/adapters/breaker-tripping-pause-switch';
import { DynamoDbPauseSwitch } from '../../../lambdas/adapters/dynamodb-pause-switch';
import { DynamoDbRegistryIndex } from '../../../lambdas/adapters/dynamodb-registry-index';
import { EventBridgeOutcomeFeed } from '../../../lambdas/adapters/eventbridge-outcome-feed';
import { LambdaBreakerTrigger } from '../../../lambdas/adapters/lambda-breaker-trigger';
import { LambdaEventSourceSwitch } from '../../../lambdas/adapters/lambda-event-source-switch';
import { createBreakerHandler } from '../../../lambdas/breaker/handler';
import { createOutcomePublisherHandler } from '../../../lambdas/outcome-publisher/handler';
import { createRegistryWatchHandler } from '../../../lambdas/registry-watch/handler';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { logicalIdOf, statementsOfRole, synthMailDispatch } from '../../infra/support/stack-fixture';
import { putMembersRaw } from '../../support/members';
import { allowedBy, allowsOnNamedResource, authorisationsOf, type Authorisation } from './iam-evaluator';

/**
 * 12.11 conformance for the functions the first conformance tests did not run: the breaker, the
 * registry watch and the outcome publisher. Every AWS call their real code makes (DynamoDB against
 * DynamoDB Local; Lambda and EventBridge recorded on the SDK client and answered there, no local
 * emulator offers them) is checked against the role the stack synthesises.
 */
jest.setTimeout(180_000);

type Recorded = { service: string; command: string; input: any };
let aws: EmbeddedAws;
let template: Template;
let tableIds: Record<string, string>;

beforeAll(async () => {
  template = synthMailDispatch().template;
  aws = await startEmbeddedAws({ config: { fanInLimit: 2 } });
  tableIds = {
    [aws.tables.members]: logicalIdOf(template, 'AWS::DynamoDB::Table', 'RegistryMembers'),
    [aws.tables.ledger]: logicalIdOf(template, 'AWS::DynamoDB::Table', 'RegistryLedger'),
  };
});
afterAll(async () => aws?.stop());

const credentials = { accessKeyId: 'l', secretAccessKey: 'l' };
function recording<T extends DynamoDBClient | LambdaClient | EventBridgeClient>(
  client: T,
  service: string,
  into: Recorded[],
  answer?: unknown,
): T {
  (client.middlewareStack as DynamoDBClient['middlewareStack']).add(
    (next, info) => async (args) => {
      into.push({ service, command: String(info.commandName), input: structuredClone(args.input) });
      // Lambda and EventBridge have no local emulator: the call is recorded and answered here.
      if (answer === undefined) return next(args);
      const output = typeof answer === 'function' ? answer(String(info.commandName)) : answer;
      return { output: { $metadata: {}, ...(output as object) }, response: {} } as never;
    },
    { step: 'initialize' },
  );
  return client;
}
const dynamodb = (into: Recorded[]) =>
  recording(new DynamoDBClient({ region: aws.region, endpoint: aws.endpoints.dynamodb, credentials }), 'dynamodb', into);

/** Each recorded call, and the statement of the role that allows it (undefined: denied). */
function verdicts(into: Recorded[], role: string): { call: string; allowed: boolean }[] {
  const statements = statementsOfRole(template, role);
  return into.flatMap((r) => {
    if (r.service !== 'dynamodb') {
      // The SDK's command names are the API's, except Invoke (IAM: lambda:InvokeFunction).
      const action = `${r.service}:${r.command.replace(/Command$/, '').replace(/^Invoke$/, 'InvokeFunction')}`;
      return [{ call: action, allowed: allowsOnNamedResource(statements, action) !== undefined }];
    }
    return authorisationsOf(r.command, r.input).map((a: Authorisation) => ({
      call: `${a.what} ${a.action} ${a.leadingKey.replace(/#.*/, '#…')} [${a.attributes?.join(', ') ?? 'every attribute'}]`,
      allowed: allowedBy(statements, a, tableIds) !== undefined,
    }));
  });
}

const alarm = (state: string): SNSEvent => ({
  Records: [
    {
      EventSource: 'aws:sns',
      EventVersion: '1.0',
      EventSubscriptionArn: 'arn',
      Sns: { Message: JSON.stringify({ AlarmName: 'MailDispatch-FanInSpike', NewStateValue: state }) } as never,
    },
  ],
});

function streamRecord(eventName: 'INSERT' | 'MODIFY', keys: object, newImage: object, oldImage?: object): DynamoDBRecord {
  return {
    eventName,
    dynamodb: {
      Keys: marshall(keys) as never,
      NewImage: marshall(newImage, { removeUndefinedValues: true }) as never,
      ...(oldImage ? { OldImage: marshall(oldImage) as never } : {}),
    },
  };
}

describe('12.11: the breaker, the registry watch and the outcome publisher call only what their roles allow', () => {
  it('12.11: the breaker: the pause flag and the one mapping (GetEventSourceMapping, UpdateEventSourceMapping)', async () => {
    const into: Recorded[] = [];
    // The mapping is enabled until the breaker's update, then disabled.
    let updated = false;
    const lambda = recording(new LambdaClient({ region: aws.region, credentials }), 'lambda', into, (command: string) => {
      if (command === 'UpdateEventSourceMappingCommand') updated = true;
      return { State: updated ? 'Disabled' : 'Enabled' };
    });
    const handler = createBreakerHandler({
      pauseSwitch: new DynamoDbPauseSwitch({ ledgerTable: aws.tables.ledger, client: dynamodb(into) }),
      eventSource: new LambdaEventSourceSwitch({ mappingId: 'mapping-uuid', client: lambda }),
      logger: { info: () => undefined, warn: () => undefined },
    });
    await expect(handler(alarm('ALARM'))).resolves.toEqual({ paused: true });
    expect(new Set(into.map((r) => `${r.service}:${r.command}`))).toEqual(
      new Set(['dynamodb:UpdateItemCommand', 'lambda:UpdateEventSourceMappingCommand', 'lambda:GetEventSourceMappingCommand']),
    );
    expect(verdicts(into, 'FanInBreakerRole').filter((v) => !v.allowed)).toEqual([]);
    await new DynamoDbPauseSwitch({ ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb }).resume('test', new Date());
  });

  it('12.11: the registry watch: projected member reads, the index sets, the pause flag and the breaker', async () => {
    await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
      ...[0, 1, 2].map((n) => ({ memberId: `R${n}`, email: `shared+${n}@example.org`, status: 'active', proxies: [], firstName: 'Ro' })),
    ]);
    const into: Recorded[] = [];
    const client = dynamodb(into);
    const lambda = recording(new LambdaClient({ region: aws.region, credentials }), 'lambda', into, { StatusCode: 202 });
    const watch = createRegistryWatchHandler({
      index: new DynamoDbRegistryIndex({ membersTable: aws.tables.members, ledgerTable: aws.tables.ledger, hashKey: 'k', client }),
      pauseSwitch: new BreakerTrippingPauseSwitch(
        new DynamoDbPauseSwitch({ ledgerTable: aws.tables.ledger, client }),
        new LambdaBreakerTrigger({ functionName: 'breaker', client: lambda }),
      ),
      fanInLimit: 2,
      countFanIn: () => undefined,
      logger: { warn: () => undefined, error: () => undefined } as never,
    });
    const event: DynamoDBStreamEvent = {
      Records: [0, 1, 2].map((n) => streamRecord('INSERT', { memberId: `R${n}` }, { memberId: `R${n}`, email: `shared+${n}@example.org` })),
    };
    await watch(event);
    expect(into.some((r) => r.service === 'lambda' && r.command === 'InvokeCommand')).toBe(true); // the third member paused
    const statements = verdicts(into, 'RegistryWatchServiceRole');
    expect(statements.filter((v) => !v.allowed)).toEqual([]);
    expect(statements.some((v) => v.call.includes('registry#'))).toBe(true);
    await new DynamoDbPauseSwitch({ ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb }).resume('test', new Date());
  });

  it('12.11: the outcome publisher: PutEvents on its bus, nothing else', async () => {
    const into: Recorded[] = [];
    const events = recording(new EventBridgeClient({ region: aws.region, credentials }), 'events', into, {
      FailedEntryCount: 0,
      Entries: [{ EventId: 'e' }],
    });
    const handler = createOutcomePublisherHandler({
      feed: new EventBridgeOutcomeFeed({ eventBusName: 'bus', client: events }),
      onCounts: () => undefined,
      logger: { info: () => undefined, warn: () => undefined },
    });
    const claimed = {
      pk: 'op-1',
      dispatchId: 'op-1',
      memberId: 'M1',
      state: 'claimed',
      template: 'advice-nurse-reply',
      history: [{ state: 'claimed', at: '2000-08-02T09:00:00.000Z' }],
    };
    const sent = {
      ...claimed,
      state: 'sent',
      sentAt: '2000-08-02T09:00:01.000Z',
      history: [...claimed.history, { state: 'sent', at: '2000-08-02T09:00:01.000Z' }],
    };
    await handler({ Records: [streamRecord('MODIFY', { pk: 'op-1' }, sent, claimed)] } as DynamoDBStreamEvent);
    expect(into.map((r) => `${r.service}:${r.command}`)).toEqual(['events:PutEventsCommand']);
    expect(verdicts(into, 'OutcomesServiceRole').filter((v) => !v.allowed)).toEqual([]);
  });

  it('12.11: the evaluator denies a breaker call outside its role (it is not permissive by construction)', () => {
    const statements = statementsOfRole(template, 'FanInBreakerRole');
    expect(allowsOnNamedResource(statements, 'lambda:DeleteEventSourceMapping')).toBeUndefined();
    expect(allowsOnNamedResource(statements, 'lambda:InvokeFunction')).toBeUndefined();
    const write = (leadingKey: string): Authorisation => ({
      action: 'dynamodb:UpdateItem',
      table: aws.tables.ledger,
      leadingKey,
      attributes: ['pk'],
      what: 't',
    });
    expect(allowedBy(statements, write('control#pause'), tableIds)).toBeDefined();
    expect(allowedBy(statements, write('d-1'), tableIds)).toBeUndefined();
  });
});
