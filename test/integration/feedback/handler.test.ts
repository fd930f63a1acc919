import type { SNSEvent } from 'aws-lambda';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DynamoDbDispatchLedger } from '../../../lambdas/adapters/dynamodb-dispatch-ledger';
import { DynamoDbFeedbackStore } from '../../../lambdas/adapters/dynamodb-feedback-store';
import { hashAddress } from '../../../lambdas/core/address';
import { matchRecipient } from '../../../lambdas/core/decision';
import type { MemberRecord } from '../../../lambdas/ports';
import { encodeDispatchTag } from '../../../lambdas/core/dispatch-tag';
import { createFeedbackHandler } from '../../../lambdas/feedback/handler';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { putMembersRaw } from '../../support/members';

jest.setTimeout(120_000);
let aws: EmbeddedAws;
const quiet = { info: () => undefined, warn: () => undefined };
const metrics: string[] = [];
const metric = (name: string, [dimension, value]: readonly [string, string]) => void metrics.push(`${name}/${dimension}=${value}`);

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
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: 'arn',
        Sns: { Message: JSON.stringify(message) } as SNSEvent['Records'][0]['Sns'],
      },
    ],
  };
}

async function item(table: string, key: Record<string, string>) {
  const { Item } = await aws.clients.dynamodb.send(
    new GetItemCommand({
      TableName: table,
      Key: Object.fromEntries(Object.entries(key).map(([k, v]) => [k, { S: v }])),
      ConsistentRead: true,
    }),
  );
  return Item ? unmarshall(Item) : undefined;
}

async function claim(dispatchId: string) {
  const ledger = new DynamoDbDispatchLedger({
    membersTable: aws.tables.members,
    ledgerTable: aws.tables.ledger,
    client: aws.clients.dynamodb,
  });
  await ledger.claimAll([
    {
      message: { dispatchId, memberId: 'M1', to: 'pat@example.org', template: 'advice-nurse-reply', data: {} },
      toHash: 'h',
      matched: { via: 'email', value: 'pat@example.org' },
      fanInKey: `fanin#h#${dispatchId}`,
      fanIn: { kind: 'join', version: 0, atMs: 0, prune: [] },
      fanInExpiresAt: 1,
      claimToken: 't',
      sqsMessageId: 'sqs',
      receiveCount: 1,
      now: new Date(),
    },
  ]);
  return ledger;
}

describe('feedback handler', () => {
  const handler = () =>
    createFeedbackHandler({
      store: new DynamoDbFeedbackStore({ membersTable: aws.tables.members, ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb }),
      logger: quiet,
      metric,
    });

  it('reconciles an in-doubt dispatch to sent from the SES send event, once', async () => {
    const ledger = await claim('fb-doubt.1:x');
    await ledger.settle('fb-doubt.1:x', 't', { kind: 'in-doubt' }, new Date());
    await expect(handler()(sesEvent('Send', 'fb-doubt.1:x'))).resolves.toEqual({ reconciled: 1, recorded: 0, suppressed: 0, ignored: 0 });
    expect(await item(aws.tables.ledger, { pk: 'fb-doubt.1:x' })).toMatchObject({ state: 'sent', sesMessageId: 'ses-fb-doubt.1:x' });
    await expect(handler()(sesEvent('Send', 'fb-doubt.1:x'))).resolves.toEqual({ reconciled: 0, recorded: 0, suppressed: 0, ignored: 0 });
  });

  it('reconciles a claim left by a crashed attempt from the delivery event', async () => {
    await claim('fb-crash');
    await handler()(sesEvent('Delivery', 'fb-crash'));
    expect(await item(aws.tables.ledger, { pk: 'fb-crash' })).toMatchObject({ state: 'sent' });
  });

  it('suppresses the address of the dispatch on a permanent bounce and on a complaint, not on a transient bounce', async () => {
    await claim('fb-bounce');
    await expect(handler()(sesEvent('Bounce', 'fb-bounce', { bounce: { bounceType: 'Transient' } }))).resolves.toMatchObject({
      suppressed: 0,
      recorded: 1,
    });
    expect(await item(aws.tables.members, { memberId: 'M1' })).not.toHaveProperty('suppressions');
    await expect(
      handler()(
        sesEvent('Bounce', 'fb-bounce', { bounce: { bounceType: 'Permanent', bouncedRecipients: [{ emailAddress: 'pat@example.org' }] } }),
      ),
    ).resolves.toMatchObject({ suppressed: 1 });
    expect(await item(aws.tables.members, { memberId: 'M1' })).toMatchObject({ suppressions: { h: { reason: 'bounce' } } });
    expect(await item(aws.tables.members, { memberId: 'M1' })).not.toHaveProperty('suppressed');
    // Already suppressed: the first reason is kept and nothing is counted twice.
    await expect(
      handler()(sesEvent('Complaint', 'fb-bounce', { complaint: { feedbackId: 'c1', complainedRecipients: [] } })),
    ).resolves.toMatchObject({ suppressed: 0 });
    expect(await item(aws.tables.members, { memberId: 'M1' })).toMatchObject({ suppressions: { h: { reason: 'bounce' } } });
  });

  describe('12.10: suppression is per (member, address)', () => {
    const KEY = 'feedback-test-key';
    const own = 'kim@example.org';
    const guardian = 'guardian@example.org';
    const ledger = () =>
      new DynamoDbDispatchLedger({ membersTable: aws.tables.members, ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb });
    const claimTo = async (dispatchId: string, memberId: string, to: string, via: 'email' | 'proxy') => {
      const [result] = await ledger().claimAll([
        {
          message: { dispatchId, memberId, to, template: 'advice-nurse-reply', data: {} },
          toHash: hashAddress(to, KEY),
          matched: { via, value: to },
          fanInKey: `fanin#${dispatchId}#1`,
          fanIn: { kind: 'join', version: 0, atMs: 0, prune: [] },
          fanInExpiresAt: 4_000_000_000,
          claimToken: `t-${dispatchId}`,
          sqsMessageId: `sqs-${dispatchId}`,
          receiveCount: 1,
          now: new Date(),
        },
      ]);
      return result;
    };
    const decide = async (memberId: string, to: string) => {
      const match = matchRecipient((await item(aws.tables.members, { memberId })) as MemberRecord, to, hashAddress(to, KEY));
      return 'reason' in match ? match.reason : 'claim';
    };

    it("12.10: a bounce from a proxy does not suppress the member's own address", async () => {
      await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
        { memberId: 'K1', email: own, status: 'active', proxies: [guardian] },
      ]);
      expect(await claimTo('k1-proxy', 'K1', guardian, 'proxy')).toEqual({ claimed: true });
      await expect(handler()(sesEvent('Bounce', 'k1-proxy', { bounce: { bounceType: 'Permanent' } }))).resolves.toMatchObject({
        suppressed: 1,
      });
      expect(await decide('K1', own)).toBe('claim');
      expect(await claimTo('k1-own', 'K1', own, 'email')).toEqual({ claimed: true });
      // The bounced proxy itself is blocked, by the decision and by the claim's condition.
      expect(await decide('K1', guardian)).toBe('suppressed');
      expect(await claimTo('k1-proxy-2', 'K1', guardian, 'proxy')).toEqual({ claimed: false, conflicts: ['member'] });
    });

    it("12.10: a complaint about an old address does not block the member's new address", async () => {
      await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [{ memberId: 'K2', email: 'old@example.org', status: 'active' }]);
      expect(await claimTo('k2-old', 'K2', 'old@example.org', 'email')).toEqual({ claimed: true });
      await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [{ memberId: 'K2', email: 'new@example.org', status: 'active' }]);
      await expect(handler()(sesEvent('Complaint', 'k2-old', { complaint: {} }))).resolves.toMatchObject({ suppressed: 1 });
      expect(await decide('K2', 'new@example.org')).toBe('claim');
      expect(await claimTo('k2-new', 'K2', 'new@example.org', 'email')).toEqual({ claimed: true });
    });

    it('12.10: "member suppressed" is logged only when something was suppressed', async () => {
      await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [{ memberId: 'K3', email: 'k3@example.org', status: 'active' }]);
      expect(await claimTo('k3-a', 'K3', 'k3@example.org', 'email')).toEqual({ claimed: true });
      const lines: { message: string; fields: Record<string, unknown> }[] = [];
      const record = (message: unknown, ...fields: unknown[]) =>
        void lines.push({ message: String(message), fields: (fields[0] ?? {}) as Record<string, unknown> });
      const logger = { info: record, warn: record };
      const logged = () =>
        createFeedbackHandler({
          store: new DynamoDbFeedbackStore({
            membersTable: aws.tables.members,
            ledgerTable: aws.tables.ledger,
            client: aws.clients.dynamodb,
          }),
          logger,
        });
      await logged()(sesEvent('Bounce', 'k3-a', { bounce: { bounceType: 'Permanent', feedbackId: 'k3-b1' } }));
      await logged()(sesEvent('Bounce', 'k3-a', { bounce: { bounceType: 'Permanent', feedbackId: 'k3-b1' } })); // SNS redelivers
      // A second, distinct event for a pair already suppressed: recorded as a fate, nothing suppressed.
      await logged()(sesEvent('Complaint', 'k3-a', { complaint: { feedbackId: 'k3-c1' } }));
      await logged()(sesEvent('Bounce', 'never-claimed', { bounce: { bounceType: 'Permanent' } }));
      const suppressedLines = lines.filter((l) => l.message === 'member suppressed');
      expect(suppressedLines).toEqual([
        {
          message: 'member suppressed',
          fields: expect.objectContaining({ dispatchId: 'k3-a', memberId: 'K3', addressHash: hashAddress('k3@example.org', KEY) }),
        },
      ]);
    });
  });

  it('ignores events without a dispatch tag and unparseable messages, counting them', async () => {
    const untagged = sesEvent('Send', 'x');
    const body = JSON.parse(untagged.Records[0].Sns.Message);
    delete body.mail.tags.dispatchId;
    untagged.Records[0].Sns.Message = JSON.stringify(body);
    untagged.Records.push({ ...untagged.Records[0], Sns: { ...untagged.Records[0].Sns, Message: 'not json' } });
    await expect(handler()(untagged)).resolves.toEqual({ reconciled: 0, recorded: 0, suppressed: 0, ignored: 2 });
  });
});

describe('delivery fate in the ledger', () => {
  const handler = (options: { transientBounceLimit?: number } = {}) =>
    createFeedbackHandler({
      store: new DynamoDbFeedbackStore({ membersTable: aws.tables.members, ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb }),
      logger: quiet,
      metric,
      configurationSet: 'mail-dispatch',
      ...options,
    });

  /** A dispatch SES accepted as `ses-<dispatchId>`, for member `memberId` at `email`. */
  async function sent(dispatchId: string, memberId = 'M1', email = 'pat@example.org') {
    await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [{ memberId, email, status: 'active' }]);
    const ledger = new DynamoDbDispatchLedger({
      membersTable: aws.tables.members,
      ledgerTable: aws.tables.ledger,
      client: aws.clients.dynamodb,
    });
    const [result] = await ledger.claimAll([
      {
        message: { dispatchId, memberId, to: email, template: 'advice-nurse-reply', data: {} },
        toHash: `hash-of-${memberId}`,
        matched: { via: 'email', value: email },
        fanInKey: `fanin#h#${dispatchId}`,
        fanIn: { kind: 'join', version: 0, atMs: 0, prune: [] },
        fanInExpiresAt: 1,
        claimToken: 't',
        sqsMessageId: 'sqs',
        receiveCount: 1,
        now: new Date('2000-08-02T09:00:00Z'),
      },
    ]);
    expect(result).toEqual({ claimed: true });
    await ledger.settle(dispatchId, 't', { kind: 'sent', sesMessageId: `ses-${dispatchId}` }, new Date('2000-08-02T09:00:01Z'));
  }
  const fates = async (dispatchId: string) =>
    (((await item(aws.tables.ledger, { pk: dispatchId }))?.history ?? []) as Record<string, unknown>[]).filter((e) => 'fate' in e);

  it('records each SES fate with its time and sub-type, never an address', async () => {
    await sent('fate-all');
    await handler()(
      sesEvent('DeliveryDelay', 'fate-all', {
        deliveryDelay: {
          timestamp: '2000-08-02T09:01:00.000Z',
          delayType: 'MailboxFull',
          delayedRecipients: [{ emailAddress: 'pat@example.org' }],
        },
      }),
    );
    await handler()(
      sesEvent('Delivery', 'fate-all', {
        delivery: { timestamp: '2000-08-02T09:02:00.000Z', recipients: ['pat@example.org'], smtpResponse: '250 ok pat@example.org' },
      }),
    );
    await handler()(
      sesEvent('Bounce', 'fate-all', {
        bounce: {
          bounceType: 'Permanent',
          bounceSubType: 'NoEmail',
          feedbackId: 'b-1',
          timestamp: '2000-08-02T09:03:00.000Z',
          bouncedRecipients: [{ emailAddress: 'pat@example.org', diagnosticCode: 'smtp; 550 pat@example.org unknown' }],
        },
      }),
    );
    await handler()(
      sesEvent('Complaint', 'fate-all', {
        complaint: {
          feedbackId: 'c-1',
          timestamp: '2000-08-02T09:04:00.000Z',
          complaintFeedbackType: 'abuse',
          complainedRecipients: [{ emailAddress: 'pat@example.org' }],
        },
      }),
    );
    await handler()(sesEvent('Reject', 'fate-all', { reject: { reason: 'Bad content' } }));
    await handler()(
      sesEvent('Rendering Failure', 'fate-all', {
        failure: { errorMessage: 'Attribute pat@example.org missing', templateName: 'advice-nurse-reply' },
      }),
    );
    const history = await fates('fate-all');
    expect(history.map((e) => [e.fate, e.at])).toEqual([
      ['delayed', '2000-08-02T09:01:00.000Z'],
      ['delivered', '2000-08-02T09:02:00.000Z'],
      ['bounced', '2000-08-02T09:03:00.000Z'],
      ['complained', '2000-08-02T09:04:00.000Z'],
      ['ses-rejected', '2000-08-02T09:00:01.000Z'],
      ['ses-rejected', '2000-08-02T09:00:01.000Z'],
    ]);
    expect(history[0]).toMatchObject({ delayType: 'MailboxFull' });
    expect(history[2]).toMatchObject({ bounceType: 'permanent', bounceSubType: 'NoEmail' });
    expect(history[3]).toMatchObject({ complaintType: 'abuse' });
    expect(history.slice(4).map((e) => e.rejectKind)).toEqual(['reject', 'rendering-failure']);
    const record = await item(aws.tables.ledger, { pk: 'fate-all' });
    expect(record).toMatchObject({ state: 'sent', fate: 'ses-rejected' });
    expect(JSON.stringify(record, (_k, v) => (v instanceof Set ? [...v] : v))).not.toContain('@');
  });

  it('a replayed SES event changes nothing', async () => {
    await sent('fate-replay');
    const bounce = sesEvent('Bounce', 'fate-replay', {
      bounce: { bounceType: 'Permanent', bounceSubType: 'General', feedbackId: 'b-r', timestamp: '2000-08-02T09:03:00.000Z' },
    });
    await expect(handler()(bounce)).resolves.toMatchObject({ recorded: 1 });
    const before = await item(aws.tables.ledger, { pk: 'fate-replay' });
    metrics.length = 0;
    await expect(handler()(bounce)).resolves.toEqual({ reconciled: 0, recorded: 0, suppressed: 0, ignored: 1 });
    expect(await item(aws.tables.ledger, { pk: 'fate-replay' })).toEqual(before);
    expect(metrics).toEqual(['FeedbackIgnored/Why=replayed']);
  });

  it('review of 12.11: a complaint whose first delivery recorded the fate and then died is still suppressed by the retry', async () => {
    await sent('fate-died', 'M-died', 'died@example.org');
    // The first delivery: the fate is recorded, then the suppression's write on the members table is throttled.
    let failNext = true;
    const flaky = {
      send: (command: { constructor: { name: string }; input: { TableName?: string } }) => {
        if (failNext && command.constructor.name === 'UpdateItemCommand' && command.input.TableName === aws.tables.members) {
          failNext = false;
          return Promise.reject(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} }));
        }
        return aws.clients.dynamodb.send(command as never);
      },
    };
    const withStore = (client: unknown) =>
      createFeedbackHandler({
        store: new DynamoDbFeedbackStore({ membersTable: aws.tables.members, ledgerTable: aws.tables.ledger, client: client as never }),
        logger: quiet,
        metric,
        configurationSet: 'mail-dispatch',
      });
    const complaint = sesEvent('Complaint', 'fate-died', { complaint: { feedbackId: 'c-died', complainedRecipients: [] } });
    await expect(withStore(flaky)(complaint)).rejects.toThrow();
    expect(failNext).toBe(false);
    expect(await fates('fate-died')).toHaveLength(1);
    expect(await item(aws.tables.members, { memberId: 'M-died' })).not.toHaveProperty('suppressions');
    // SNS delivers it again: the fate is a replay (the ledger holds it once), the suppression is made,
    // and the handler reports the event as the first delivery would have (its one fate, its one suppression).
    await expect(withStore(aws.clients.dynamodb)(complaint)).resolves.toMatchObject({ recorded: 1, suppressed: 1 });
    expect(await fates('fate-died')).toHaveLength(1);
    expect(await item(aws.tables.members, { memberId: 'M-died' })).toMatchObject({
      suppressions: { 'hash-of-M-died': { reason: 'complaint' } },
    });
    // A third delivery changes nothing.
    await expect(withStore(aws.clients.dynamodb)(complaint)).resolves.toEqual({ reconciled: 0, recorded: 0, suppressed: 0, ignored: 1 });
  });

  it('counts events for an unknown SES message id, another configuration set, or a malformed body, and never fails the batch', async () => {
    await sent('fate-unknown');
    const unknownId = sesEvent('Delivery', 'fate-unknown');
    const body = JSON.parse(unknownId.Records[0].Sns.Message);
    body.mail.messageId = 'never-accepted';
    const otherSet = JSON.parse(unknownId.Records[0].Sns.Message);
    otherSet.mail.tags['ses:configuration-set'] = ['someone-else'];
    const noRecord = JSON.parse(
      sesEvent('Bounce', 'fate-no-such-dispatch', { bounce: { bounceType: 'Permanent' } }).Records[0].Sns.Message,
    );
    const batch: SNSEvent = {
      Records: [
        JSON.stringify(body),
        JSON.stringify(otherSet),
        JSON.stringify(noRecord),
        '{"eventType": 42}',
        'null',
        '[1]',
        '{"eventType":"Open","mail":{"messageId":"x","tags":{"dispatchId":["fate-unknown"]}}}',
      ].map((message) => ({ ...unknownId.Records[0], Sns: { ...unknownId.Records[0].Sns, Message: message } })),
    };
    metrics.length = 0;
    const before = await item(aws.tables.ledger, { pk: 'fate-unknown' });
    await expect(handler()(batch)).resolves.toEqual({ reconciled: 0, recorded: 0, suppressed: 0, ignored: 7 });
    expect(metrics.sort()).toEqual(
      [
        'FeedbackIgnored/Why=unknown-message-id',
        'FeedbackIgnored/Why=other-configuration-set',
        'FeedbackIgnored/Why=unknown-message-id',
        'FeedbackIgnored/Why=malformed',
        'FeedbackIgnored/Why=malformed',
        'FeedbackIgnored/Why=malformed',
        'FeedbackIgnored/Why=unhandled-type',
      ].sort(),
    );
    expect(await item(aws.tables.ledger, { pk: 'fate-unknown' })).toEqual(before);
    expect(await item(aws.tables.ledger, { pk: 'fate-no-such-dispatch' })).toBeUndefined();
  });

  it('logs no address for any SES event', async () => {
    await sent('fate-logs');
    const lines: string[] = [];
    const logger = {
      info: (...args: unknown[]) => void lines.push(JSON.stringify(args)),
      warn: (...args: unknown[]) => void lines.push(JSON.stringify(args)),
    };
    const h = createFeedbackHandler({
      store: new DynamoDbFeedbackStore({ membersTable: aws.tables.members, ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb }),
      logger,
      metric,
    });
    await h(sesEvent('Delivery', 'fate-logs'));
    await h(
      sesEvent('Bounce', 'fate-logs', { bounce: { bounceType: 'Permanent', bouncedRecipients: [{ emailAddress: 'pat@example.org' }] } }),
    );
    await h(sesEvent('Open', 'fate-logs'));
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines.join('\n')).not.toContain('@');
  });

  it('treats the limit-th transient bounce in a row as permanent; a delivery in between starts the count again', async () => {
    const transient = (dispatchId: string, n: number) =>
      sesEvent('Bounce', dispatchId, {
        bounce: {
          bounceType: 'Transient',
          bounceSubType: 'MailboxFull',
          feedbackId: `t-${dispatchId}-${n}`,
          timestamp: `2000-08-02T1${n}:00:00.000Z`,
        },
      });
    for (const id of ['soft-1', 'soft-2', 'soft-3', 'soft-4']) await sent(id, 'M-SOFT', 'soft@example.org');
    await expect(handler({ transientBounceLimit: 2 })(transient('soft-1', 1))).resolves.toMatchObject({ recorded: 1, suppressed: 0 });
    await handler({ transientBounceLimit: 2 })(sesEvent('Delivery', 'soft-2', { delivery: { timestamp: '2000-08-02T12:00:00.000Z' } }));
    await expect(handler({ transientBounceLimit: 2 })(transient('soft-3', 3))).resolves.toMatchObject({ recorded: 1, suppressed: 0 });
    // A replay of the same bounce is not a second one in the row.
    await expect(handler({ transientBounceLimit: 2 })(transient('soft-3', 3))).resolves.toMatchObject({ recorded: 0, ignored: 1 });
    expect(await item(aws.tables.members, { memberId: 'M-SOFT' })).not.toHaveProperty('suppressions');
    await expect(handler({ transientBounceLimit: 2 })(transient('soft-4', 4))).resolves.toMatchObject({ recorded: 1, suppressed: 1 });
    expect((await fates('soft-4'))[0]).toMatchObject({
      fate: 'bounced',
      bounceType: 'transient',
      bounceSubType: 'MailboxFull',
      treatedAsPermanent: true,
    });
    expect((await fates('soft-3'))[0]).not.toHaveProperty('treatedAsPermanent');
    expect(await item(aws.tables.members, { memberId: 'M-SOFT' })).toMatchObject({
      suppressions: { 'hash-of-M-SOFT': { reason: 'bounce' } },
    });
  });
});
