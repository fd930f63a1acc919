import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { FEEDBACK_EVENTS, MailIdentity } from '../../../lib/constructs/mail-identity';
import { TEMPLATES } from '../../../lambdas/core/templates';
import { SES_CONFIGURATION_SET } from '../../../lambdas/tables';
import { bareStack, logicalIdOf } from '../support/stack-fixture';

describe('MailIdentity', () => {
  const { stack, key, keyArn } = bareStack();
  const mail = new MailIdentity(stack, 'Mail', { encryptionKey: key, fromAddress: 'no-reply@portal.example.org' });
  const template = Template.fromStack(stack);

  it('requires TLS towards recipients, tracks reputation and keeps sending on', () => {
    template.hasResourceProperties('AWS::SES::ConfigurationSet', {
      Name: SES_CONFIGURATION_SET,
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
        Template: { TemplateName: t.name, SubjectPart: t.subject, TextPart: t.text, HtmlPart: t.html },
      });
    }
  });

  it('creates no SES identity unless asked to', () => {
    template.resourceCountIs('AWS::SES::EmailIdentity', 0);
    const other = bareStack();
    new MailIdentity(other.stack, 'Mail', { encryptionKey: other.key, fromAddress: 'no-reply@portal.example.org', createEmailIdentity: true });
    Template.fromStack(other.stack).hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: 'portal.example.org' });
  });

  it('lets a sender send only from the configured address, through this configuration set and these templates', () => {
    const statement = Stack.of(mail).resolve(mail.sendStatement().toStatementJson());
    expect(statement.Action).toBe('ses:SendEmail');
    expect(statement.Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'no-reply@portal.example.org' } });
    const resources = JSON.stringify(statement.Resource);
    for (const part of [':identity/no-reply@portal.example.org', ':identity/portal.example.org', ':configuration-set/', ':template/advice-nurse-reply', ':template/appointment-reminder']) {
      expect(resources).toContain(part);
    }
    expect(resources).not.toMatch(/\*/);
  });
});
