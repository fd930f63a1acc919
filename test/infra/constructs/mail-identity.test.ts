import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { FEEDBACK_EVENTS, MailIdentity } from '../../../lib/constructs/mail-identity';
import { TEMPLATES } from '../../../lambdas/core/templates';
import { sesTemplateName } from '../../../lambdas/tables';
import { bareStack, logicalIdOf } from '../support/stack-fixture';

describe('MailIdentity', () => {
  const { stack, key, keyArn } = bareStack();
  const mail = new MailIdentity(stack, 'Mail', { encryptionKey: key, fromAddress: 'no-reply@portal.example.org' });
  const template = Template.fromStack(stack);

  it('requires TLS towards recipients, tracks reputation and keeps sending on', () => {
    template.hasResourceProperties('AWS::SES::ConfigurationSet', {
      // Named after the stack, so a second stack in the account has its own (issue 18.2).
      Name: 'ConstructTest',
      DeliveryOptions: { TlsPolicy: 'REQUIRE' },
      ReputationOptions: { ReputationMetricsEnabled: true },
      SendingOptions: { SendingEnabled: true },
      SuppressionOptions: { SuppressedReasons: ['BOUNCE', 'COMPLAINT'] },
    });
  });

  it('publishes send, delivery, bounce, complaint and failure events to the encrypted, TLS-only topic', () => {
    const topicId = logicalIdOf(template, 'AWS::SNS::Topic', 'MailEventsTopic');
    template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      EventDestination: {
        Enabled: true,
        MatchingEventTypes: [...FEEDBACK_EVENTS],
        SnsDestination: { TopicARN: { Ref: topicId } },
      },
    });
    expect(FEEDBACK_EVENTS).toEqual(expect.arrayContaining(['send', 'delivery', 'bounce', 'complaint', 'reject']));
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: keyArn });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Allow', Action: 'sns:Publish', Principal: { Service: 'ses.amazonaws.com' } }),
        ]),
      },
    });
  });

  it('deploys exactly the allow-listed templates, with their PHI-minimal text', () => {
    template.resourceCountIs('AWS::SES::Template', Object.keys(TEMPLATES).length);
    for (const t of Object.values(TEMPLATES)) {
      template.hasResourceProperties('AWS::SES::Template', {
        Template: { TemplateName: sesTemplateName(t.name, 'ConstructTest'), SubjectPart: t.subject, TextPart: t.text, HtmlPart: t.html },
      });
    }
  });

  it('creates no SES identity unless asked to', () => {
    template.resourceCountIs('AWS::SES::EmailIdentity', 0);
    const other = bareStack();
    new MailIdentity(other.stack, 'Mail', {
      encryptionKey: other.key,
      fromAddress: 'no-reply@portal.example.org',
      createEmailIdentity: true,
    });
    Template.fromStack(other.stack).hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: 'portal.example.org' });
  });

  it('lets a sender send only from the configured address, through this configuration set and these templates', () => {
    const statement = Stack.of(mail).resolve(mail.sendStatement().toStatementJson());
    expect(statement.Action).toBe('ses:SendEmail');
    expect(statement.Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'no-reply@portal.example.org' } });
    const resources = JSON.stringify(statement.Resource);
    for (const part of [
      ':identity/no-reply@portal.example.org',
      ':identity/portal.example.org',
      ':configuration-set/',
      ':template/ConstructTest-advice-nurse-reply',
      ':template/ConstructTest-appointment-reminder',
    ]) {
      expect(resources).toContain(part);
    }
    expect(resources).not.toMatch(/\*/);
  });

  it('takes a name prefix for every SES name it claims, and refuses one SES cannot hold', () => {
    const other = bareStack();
    const named = new MailIdentity(other.stack, 'Mail', {
      encryptionKey: other.key,
      fromAddress: 'no-reply@portal.example.org',
      namePrefix: 'staging',
    });
    expect(named.templateNames).toEqual(Object.keys(TEMPLATES).map((name) => `staging-${name}`));
    Template.fromStack(other.stack).hasResourceProperties('AWS::SES::ConfigurationSet', { Name: 'staging' });
    const bad = bareStack();
    expect(
      () =>
        new MailIdentity(bad.stack, 'Mail', {
          encryptionKey: bad.key,
          fromAddress: 'no-reply@portal.example.org',
          namePrefix: 'no spaces',
        }),
    ).toThrow(/namePrefix/);
  });
});
