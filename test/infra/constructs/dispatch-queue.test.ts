import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { DispatchQueue } from '../../../lib/constructs/dispatch-queue';
import { bareStack, logicalIdOf } from '../support/stack-fixture';

describe('DispatchQueue', () => {
  const { stack, key, keyArn } = bareStack();
  new DispatchQueue(stack, 'Dispatch', { encryptionKey: key, maxReceiveCount: 4, visibilityTimeout: Duration.seconds(180) });
  const template = Template.fromStack(stack);
  const dlqId = logicalIdOf(template, 'AWS::SQS::Queue', 'DispatchDeadLetterQueue');
  const queueId = logicalIdOf(template, 'AWS::SQS::Queue', 'DispatchQueue');

  it('redrives to the DLQ after maxReceiveCount receives', () => {
    expect(template.findResources('AWS::SQS::Queue')[queueId].Properties).toMatchObject({
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 4 },
      VisibilityTimeout: 180,
      MessageRetentionPeriod: 4 * 86_400,
    });
  });

  it('18.5: keeps dead letters (14 days) longer than the queue keeps messages (4 days)', () => {
    // SQS keeps a message's first enqueue time when it moves it: a DLQ no longer-lived than the
    // queue would drop a message that failed late almost at once.
    expect(template.findResources('AWS::SQS::Queue')[dlqId].Properties.MessageRetentionPeriod).toBe(14 * 86_400);
  });

  it('18.5: refuses a DLQ retention that does not exceed the queue retention', () => {
    const { stack: other, key: otherKey } = bareStack();
    expect(
      () =>
        new DispatchQueue(other, 'Same', {
          encryptionKey: otherKey,
          retentionPeriod: Duration.days(14),
          deadLetterRetentionPeriod: Duration.days(14),
        }),
    ).toThrow(/deadLetterRetentionPeriod must exceed retentionPeriod/);
  });

  it('18.6: cdk destroy keeps the DLQ and its messages', () => {
    const dlq = template.findResources('AWS::SQS::Queue')[dlqId];
    expect(dlq.DeletionPolicy).toBe('Retain');
    expect(dlq.UpdateReplacePolicy).toBe('Retain');
  });

  it('encrypts both queues with the customer-managed key', () => {
    template.resourcePropertiesCountIs('AWS::SQS::Queue', { KmsMasterKeyId: keyArn }, 2);
  });

  it('denies every request to either queue that is not made over TLS', () => {
    for (const id of [queueId, dlqId]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('defaults maxReceiveCount to 5 and rejects nonsense', () => {
    const other = bareStack();
    const defaults = new DispatchQueue(other.stack, 'Defaults', { encryptionKey: other.key });
    expect(defaults.maxReceiveCount).toBe(5);
    expect(
      () => new DispatchQueue(other.stack, 'Bad', { encryptionKey: other.key, maxReceiveCount: 0, retentionPeriod: Duration.days(15) }),
    ).toThrow(/maxReceiveCount.*; retentionPeriod/);
  });

  describe('grantPublish', () => {
    const SEND = 'sqs:SendMessage';
    const KEY = ['kms:GenerateDataKey', 'kms:Decrypt'];
    const VIA_SQS = { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['sqs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } };
    const VIA_SQS_IN = (region: string) => ({ StringEquals: { 'kms:ViaService': `sqs.${region}.amazonaws.com` } });
    const PORTAL = 'arn:aws:iam::111122223333:role/portal-publisher';

    /** A queue in a stack of the given account, granted to `grantee(stack)`. */
    function granted(account: string | undefined, grantee: (stack: Stack) => iam.IGrantable) {
      const fixture = bareStack(account ? { account, region: 'eu-west-1' } : undefined);
      const dispatch = new DispatchQueue(fixture.stack, 'Dispatch', { encryptionKey: fixture.key });
      dispatch.grantPublish(grantee(fixture.stack));
      const synthesized = Template.fromStack(fixture.stack);
      const statementsFor = (type: string, property: string) =>
        Object.values(synthesized.findResources(type)).flatMap((r) =>
          (r.Properties[property].Statement as { Principal?: { AWS?: unknown }; Action: unknown; Resource: unknown }[]).filter(
            (st) => st.Principal?.AWS === PORTAL,
          ),
        );
      return {
        synthesized,
        queueId: logicalIdOf(synthesized, 'AWS::SQS::Queue', 'DispatchQueue'),
        queueStatements: statementsFor('AWS::SQS::QueuePolicy', 'PolicyDocument'),
        keyStatements: statementsFor('AWS::KMS::Key', 'KeyPolicy'),
      };
    }

    // With an explicit account equal to the role's, CDK would put the grant on the role's side,
    // which an immutable role drops: addGrantsToResources moves it to the resources in every case.
    it.each([
      ['an environment-agnostic stack', undefined],
      ["a stack of the role's account", '111122223333'],
      ['a stack of another account', '444455556666'],
    ])("puts an imported immutable role's grant on the queue policy and the key policy, in %s", (_name, account) => {
      const {
        synthesized,
        queueId: id,
        queueStatements,
        keyStatements,
      } = granted(account, (stack) => iam.Role.fromRoleArn(stack, 'Portal', PORTAL, { mutable: false, addGrantsToResources: true }));
      expect(queueStatements).toEqual([
        { Effect: 'Allow', Principal: { AWS: PORTAL }, Action: SEND, Resource: { 'Fn::GetAtt': [id, 'Arn'] } },
      ]);
      expect(keyStatements).toEqual([
        { Effect: 'Allow', Principal: { AWS: PORTAL }, Action: KEY, Resource: '*', Condition: account ? VIA_SQS_IN('eu-west-1') : VIA_SQS },
      ]);
      synthesized.resourceCountIs('AWS::IAM::Policy', 0);
    });

    it("grants nothing anywhere to an immutable role of the stack's account imported without addGrantsToResources (why the stack sets it)", () => {
      const { synthesized, queueStatements, keyStatements } = granted('111122223333', (stack) =>
        iam.Role.fromRoleArn(stack, 'Portal', PORTAL, { mutable: false }),
      );
      expect([...queueStatements, ...keyStatements]).toEqual([]);
      synthesized.resourceCountIs('AWS::IAM::Policy', 0);
    });

    it('puts the grant on the policy of a role the app owns', () => {
      const { synthesized, queueId: id } = granted(
        undefined,
        (stack) => new iam.Role(stack, 'Publisher', { assumedBy: new iam.AccountRootPrincipal() }),
      );
      synthesized.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Action: SEND, Resource: { 'Fn::GetAtt': [id, 'Arn'] } }),
            Match.objectLike({ Action: KEY, Condition: VIA_SQS }),
          ]),
        },
      });
    });
  });
});
