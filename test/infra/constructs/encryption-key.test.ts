import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { EncryptionKey } from '../../../lib/constructs/encryption-key';

describe('EncryptionKey', () => {
  const stack = new Stack(new App(), 'KeyTest');
  new EncryptionKey(stack, 'Key');
  const template = Template.fromStack(stack);

  it('is a customer-managed key with rotation on, retained', () => {
    template.hasResource('AWS::KMS::Key', { Properties: { EnableKeyRotation: true, PendingWindowInDays: 30 }, DeletionPolicy: 'Retain' });
  });

  it('lets CloudWatch Logs use it only for this account\'s log groups', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'AllowCloudWatchLogsForThisAccountsLogGroups',
            Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  it.each(['cloudwatch.amazonaws.com', 'ses.amazonaws.com'])('lets %s publish to encrypted topics on behalf of this account only', (service) => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: service },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ]),
      },
    });
  });

  it('refuses a pending window KMS does not allow', () => {
    expect(() => new EncryptionKey(new Stack(new App(), 'Bad'), 'Key', { pendingWindowDays: 3 })).toThrow(/pendingWindowDays/);
  });
});
