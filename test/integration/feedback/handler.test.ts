import type { SNSEvent } from 'aws-lambda';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DynamoDbDispatchLedger } from '../../../lambdas/adapters/dynamodb-dispatch-ledger';
import { DynamoDbFeedbackStore } from '../../../lambdas/adapters/dynamodb-feedback-store';
import { encodeDispatchTag } from '../../../lambdas/core/dispatch-tag';
import { createFeedbackHandler } from '../../../lambdas/feedback/handler';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { putMembersRaw } from '../../support/members';

jest.setTimeout(120_000);
let aws: EmbeddedAws;
const quiet = { info: () => undefined, warn: () => undefined };

beforeAll(async () => {
  aws = await startEmbeddedAws();
  await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [{ memberId: 'M1', email: 'pat@example.org', status: 'active' }]);
});
afterAll(async () => aws?.stop());

/** An SES event-publishing record as SNS delivers it (shape from the SES developer guide). */
function sesEvent(eventType: string, dispatchId: string, extra: Record<string, unknown> = {}): SNSEvent {
  const message = {
    eventType,
    mail: {
      timestamp: '2000-08-02T09:00:01.000Z',
      source: 'no-reply@portal.example.org',
      messageId: `ses-${dispatchId}`,
      destination: ['pat@example.org'],
      tags: { 'ses:configuration-set': ['mail-dispatch'], dispatchId: [encodeDispatchTag(dispatchId)] },
    },
    ...extra,
  };
  return { Records: [{ EventSource: 'aws:sns', EventVersion: '1.0', EventSubscriptionArn: 'arn', Sns: { Message: JSON.stringify(message) } as SNSEvent['Records'][0]['Sns'] }] };
}

async function item(table: string, key: Record<string, string>) {
  const { Item } = await aws.clients.dynamodb.send(new GetItemCommand({ TableName: table, Key: Object.fromEntries(Object.entries(key).map(([k, v]) => [k, { S: v }])), ConsistentRead: true }));
  return Item ? unmarshall(Item) : undefined;
}

async function claim(dispatchId: string) {
  const ledger = new DynamoDbDispatchLedger({ membersTable: aws.tables.members, ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb });
  await ledger.claimAll([{
    message: { dispatchId, memberId: 'M1', to: 'pat@example.org', template: 'advice-nurse-reply', data: {} },
    toHash: 'h',
    matched: { via: 'email', value: 'pat@example.org' },
    fanInKey: `fanin#h#${dispatchId}`,
    fanInLimit: 3,
    fanInExpiresAt: 1,
    claimToken: 't',
    sqsMessageId: 'sqs',
    receiveCount: 1,
    now: new Date(),
  }]);
  return ledger;
}

describe('feedback handler', () => {
  const handler = () => createFeedbackHandler({ store: new DynamoDbFeedbackStore({ membersTable: aws.tables.members, ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb }), logger: quiet });

  it('reconciles an in-doubt dispatch to sent from the SES send event, once', async () => {
    const ledger = await claim('fb-doubt.1:x');
    await ledger.settle('fb-doubt.1:x', 't', { kind: 'in-doubt' }, new Date());
    await expect(handler()(sesEvent('Send', 'fb-doubt.1:x'))).resolves.toEqual({ reconciled: 1, suppressed: 0, ignored: 0 });
    expect(await item(aws.tables.ledger, { pk: 'fb-doubt.1:x' })).toMatchObject({ state: 'sent', sesMessageId: 'ses-fb-doubt.1:x' });
    await expect(handler()(sesEvent('Send', 'fb-doubt.1:x'))).resolves.toEqual({ reconciled: 0, suppressed: 0, ignored: 0 });
  });

  it('reconciles a claim left by a crashed attempt from the delivery event', async () => {
    await claim('fb-crash');
    await handler()(sesEvent('Delivery', 'fb-crash'));
    expect(await item(aws.tables.ledger, { pk: 'fb-crash' })).toMatchObject({ state: 'sent' });
  });

  it('suppresses the member on a permanent bounce and on a complaint, not on a transient bounce', async () => {
    await claim('fb-bounce');
    await expect(handler()(sesEvent('Bounce', 'fb-bounce', { bounce: { bounceType: 'Transient' } }))).resolves.toMatchObject({ suppressed: 0, ignored: 1 });
    expect(await item(aws.tables.members, { memberId: 'M1' })).not.toHaveProperty('suppressed');
    await expect(handler()(sesEvent('Bounce', 'fb-bounce', { bounce: { bounceType: 'Permanent', bouncedRecipients: [{ emailAddress: 'pat@example.org' }] } }))).resolves.toMatchObject({ suppressed: 1 });
    expect(await item(aws.tables.members, { memberId: 'M1' })).toMatchObject({ suppressed: true, suppressedReason: 'bounce' });
    await expect(handler()(sesEvent('Complaint', 'fb-bounce', { complaint: { complainedRecipients: [] } }))).resolves.toMatchObject({ suppressed: 1 });
  });

  it('ignores events without a dispatch tag and unparseable messages, counting them', async () => {
    const untagged = sesEvent('Send', 'x');
    const body = JSON.parse(untagged.Records[0].Sns.Message);
    delete body.mail.tags.dispatchId;
    untagged.Records[0].Sns.Message = JSON.stringify(body);
    untagged.Records.push({ ...untagged.Records[0], Sns: { ...untagged.Records[0].Sns, Message: 'not json' } });
    await expect(handler()(untagged)).resolves.toEqual({ reconciled: 0, suppressed: 0, ignored: 2 });
  });
});
