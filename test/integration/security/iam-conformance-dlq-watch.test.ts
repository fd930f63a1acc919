import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Template } from 'aws-cdk-lib/assertions';
import { DynamoDbDeadLetterLedger } from '../../../lambdas/adapters/dynamodb-dead-letter-ledger';
import { SqsDeadLetterQueue } from '../../../lambdas/adapters/sqs-dead-letter-queue';
import { createDlqWatchHandler } from '../../../lambdas/dlq-watch/handler';
import { RejectAttribute } from '../../../lambdas/tables';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { logicalIdOf, statementsOfRole, synthMailDispatch } from '../../infra/support/stack-fixture';
import { allowedBy, allowsOnNamedResource, authorisationsOf, type Authorisation } from './iam-evaluator';

/**
 * 12.11 conformance for the DLQ watch (issue 14): every AWS call its real code makes in one sweep
 * that takes each of its decisions (failed over no record and over a released one, in-doubt for an
 * abandoned claim, a rejected record for a body that never got one, nothing for a sent one), against
 * DynamoDB Local and fauxqs, is allowed by the role the stack synthesises; and a call outside it is not.
 */
jest.setTimeout(180_000);

type Recorded = { service: string; command: string; input: any };
let aws: EmbeddedAws;
let template: Template;
let tableIds: Record<string, string>;
const credentials = { accessKeyId: 'l', secretAccessKey: 'l' };
const ROLE = 'DlqWatchServiceRole';

beforeAll(async () => {
  template = synthMailDispatch().template;
  aws = await startEmbeddedAws();
  tableIds = { [aws.tables.ledger]: logicalIdOf(template, 'AWS::DynamoDB::Table', 'RegistryLedger') };
});
afterAll(async () => aws?.stop());

function recording<T extends DynamoDBClient | SQSClient>(client: T, service: string, into: Recorded[]): T {
  (client.middlewareStack as DynamoDBClient['middlewareStack']).add(
    (next, info) => async (args) => (
      into.push({ service, command: String(info.commandName), input: structuredClone(args.input) }), next(args)
    ),
    { step: 'initialize' },
  );
  return client;
}

function verdicts(into: Recorded[]): { call: string; allowed: boolean }[] {
  const statements = statementsOfRole(template, ROLE);
  return into.flatMap((r) => {
    if (r.service === 'sqs') {
      // A batch call is authorised as its single action (IAM has no ChangeMessageVisibilityBatch action).
      const action = `sqs:${r.command.replace(/Command$/, '').replace(/Batch$/, '')}`;
      return [{ call: action, allowed: allowsOnNamedResource(statements, action) !== undefined }];
    }
    return authorisationsOf(r.command, r.input).map((a: Authorisation) => ({
      call: `${a.action} ${a.leadingKey} [${a.attributes?.join(', ') ?? 'every attribute'}]`,
      allowed: allowedBy(statements, a, tableIds) !== undefined,
    }));
  });
}

const body = (dispatchId: string) =>
  JSON.stringify({ dispatchId, memberId: 'C1', to: 'c1@example.org', template: 'advice-nurse-reply', data: {} });

describe('12.11: the DLQ watch calls only what its role allows', () => {
  it('12.11: a sweep taking every decision sends only allowed calls (peek, visibility, GetItem, conditional UpdateItem)', async () => {
    const old = '2000-08-02T09:00:00.000Z';
    for (const item of [
      { pk: 'cw-released', dispatchId: 'cw-released', state: 'released', history: [{ state: 'claimed' }, { state: 'released' }] },
      { pk: 'cw-claimed', dispatchId: 'cw-claimed', state: 'claimed', claimToken: 't', claimedAt: old, history: [{ state: 'claimed' }] },
      { pk: 'cw-sent', dispatchId: 'cw-sent', state: 'sent', history: [{ state: 'claimed' }, { state: 'sent' }] },
    ])
      await aws.clients.dynamodb.send(new PutItemCommand({ TableName: aws.tables.ledger, Item: marshall(item) }));
    for (const id of ['cw-none', 'cw-released', 'cw-claimed', 'cw-sent'])
      await aws.clients.sqs.send(new SendMessageCommand({ QueueUrl: aws.dlqUrl, MessageBody: body(id) }));
    await aws.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: aws.dlqUrl,
        MessageBody: 'not json',
        MessageAttributes: { [RejectAttribute.sqsMessageId]: { DataType: 'String', StringValue: 'orig-1' } },
      }),
    );

    const into: Recorded[] = [];
    const dynamodb = recording(new DynamoDBClient({ region: aws.region, endpoint: aws.endpoints.dynamodb, credentials }), 'dynamodb', into);
    const sqs = recording(new SQSClient({ region: aws.region, endpoint: aws.endpoints.sqs, credentials }), 'sqs', into);
    const sweep = createDlqWatchHandler({
      queue: new SqsDeadLetterQueue({ deadLetterQueueUrl: aws.dlqUrl, client: sqs }),
      ledger: new DynamoDbDeadLetterLedger({ ledgerTable: aws.tables.ledger, client: dynamodb }),
      claimLeaseSeconds: 60,
      now: () => new Date(),
      logger: { info: () => undefined, warn: () => undefined },
      hideSeconds: 30,
    });
    const summary = await sweep();
    expect(summary).toMatchObject({ peeked: 5, recordedFailed: 2, markedInDoubt: 1, recordedRejected: 1, unchanged: 1, errors: 0 });

    const checked = verdicts(into);
    expect(checked.filter((v) => !v.allowed)).toEqual([]);
    const calls = new Set(checked.map((v) => v.call.split(' ')[0]));
    expect([...calls].sort()).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem', 'sqs:ChangeMessageVisibility', 'sqs:ReceiveMessage']);
    expect(checked.some((v) => v.call.includes('rejected#orig-1'))).toBe(true);
  });

  it('12.11: the role denies what the watch never asks: deleting from the DLQ, a record’s toHash, the pause flag', () => {
    const statements = statementsOfRole(template, ROLE);
    expect(allowsOnNamedResource(statements, 'sqs:DeleteMessage')).toBeUndefined();
    expect(allowsOnNamedResource(statements, 'sqs:SendMessage')?.Resource).not.toEqual(
      expect.objectContaining({ 'Fn::GetAtt': [expect.stringMatching(/^DispatchQueueDeadLetter/), 'Arn'] }),
    );
    const write = (leadingKey: string, attributes: string[]): Authorisation => ({
      action: 'dynamodb:UpdateItem',
      table: aws.tables.ledger,
      leadingKey,
      attributes,
      what: 'test',
    });
    expect(allowedBy(statements, write('d1', ['pk', 'state', 'history']), tableIds)).toBeDefined();
    expect(allowedBy(statements, write('d1', ['pk', 'toHash']), tableIds)).toBeUndefined();
    expect(allowedBy(statements, write('control#pause', ['pk', 'state']), tableIds)).toBeUndefined();
    expect(allowedBy(statements, write('fanin#abc', ['pk', 'state']), tableIds)).toBeUndefined();
    expect(allowedBy(statements, { ...write('d1', ['pk', 'state']), action: 'dynamodb:PutItem' }, tableIds)).toBeUndefined();
  });
});
