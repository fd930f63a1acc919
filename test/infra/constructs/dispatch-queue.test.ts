import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
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
      MessageRetentionPeriod: 14 * 86_400,
    });
  });

  it('keeps dead letters for 14 days', () => {
    expect(template.findResources('AWS::SQS::Queue')[dlqId].Properties.MessageRetentionPeriod).toBe(14 * 86_400);
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
    expect(() => new DispatchQueue(other.stack, 'Bad', { encryptionKey: other.key, maxReceiveCount: 0, retentionPeriod: Duration.days(15) })).toThrow(
      /maxReceiveCount.*; retentionPeriod/,
    );
  });
});
