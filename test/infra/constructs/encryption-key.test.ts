import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { EncryptionKey } from '../../../lib/constructs/encryption-key';
import { synthMailDispatch } from '../support/stack-fixture';

describe('EncryptionKey', () => {
  const stack = new Stack(new App(), 'KeyTest');
  new EncryptionKey(stack, 'Key');
  const template = Template.fromStack(stack);

  it('is a customer-managed key with rotation on, retained', () => {
    template.hasResource('AWS::KMS::Key', { Properties: { EnableKeyRotation: true, PendingWindowInDays: 30 }, DeletionPolicy: 'Retain' });
  });

  it("12.11: lets CloudWatch Logs use it only for this stack's log groups, not the account's", () => {
    const policy = template.findResources('AWS::KMS::Key');
    const statements = (Object.values(policy)[0].Properties.KeyPolicy.Statement as { Sid?: string; Condition?: any }[]).filter((s) =>
      s.Sid?.includes('CloudWatchLogs'),
    );
    expect(statements).toHaveLength(1);
    expect(statements[0].Sid).toBe('AllowCloudWatchLogsForThisStacksLogGroups');
    const arn = JSON.stringify(statements[0].Condition.ArnLike['kms:EncryptionContext:aws:logs:arn']);
    // arn:<partition>:logs:<region>:<account>:log-group:/mail-dispatch/<stack>-<stack id UUID>/*
    expect(arn).toContain(':log-group:/mail-dispatch/KeyTest-');
    expect(arn).toContain('AWS::StackId');
    expect(arn).not.toMatch(/log-group:\*/);
    expect(arn.endsWith('/*"]]}')).toBe(true);
  });

  it('12.11: every function log group of the stack is named under that prefix', () => {
    const { template: whole } = synthMailDispatch();
    const groups = Object.values(whole.findResources('AWS::Logs::LogGroup'));
    expect(groups.length).toBeGreaterThanOrEqual(5);
    for (const group of groups) {
      const name = JSON.stringify(group.Properties.LogGroupName);
      expect(name).toContain('/mail-dispatch/MailDispatchTest-');
      expect(name).toContain('AWS::StackId');
    }
  });

  it.each(['cloudwatch.amazonaws.com', 'ses.amazonaws.com'])(
    'lets %s publish to encrypted topics on behalf of this account only',
    (service) => {
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
    },
  );

  it('refuses a pending window KMS does not allow', () => {
    expect(() => new EncryptionKey(new Stack(new App(), 'Bad'), 'Key', { pendingWindowDays: 3 })).toThrow(/pendingWindowDays/);
  });
});
