import { Match, type Template } from 'aws-cdk-lib/assertions';
import { StackOutput } from '../../lib/mail-dispatch-stack';
import { logicalIdOf, synthMailDispatch } from './support/stack-fixture';

describe('MailDispatchStack', () => {
  let template: Template;
  let keyArn: unknown;

  beforeAll(() => {
    template = synthMailDispatch().template;
    keyArn = { 'Fn::GetAtt': [logicalIdOf(template, 'AWS::KMS::Key', 'EncryptionKey'), 'Arn'] };
  });

  it('has exactly one customer-managed key, with rotation on', () => {
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it.each([
    ['AWS::SQS::Queue', 'KmsMasterKeyId'],
    ['AWS::SNS::Topic', 'KmsMasterKeyId'],
    ['AWS::Logs::LogGroup', 'KmsKeyId'],
    ['AWS::SecretsManager::Secret', 'KmsKeyId'],
  ])('encrypts every %s with that key', (type, property) => {
    const resources = Object.values(template.findResources(type));
    expect(resources.length).toBeGreaterThan(0);
    for (const resource of resources) expect(resource.Properties[property]).toEqual(keyArn);
  });

  it('encrypts every table with that key', () => {
    const tables = Object.values(template.findResources('AWS::DynamoDB::Table'));
    expect(tables).toHaveLength(2);
    for (const table of tables) expect(table.Properties.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn });
  });

  it.each([
    ['AWS::SQS::Queue', 'AWS::SQS::QueuePolicy', 'Queues'],
    ['AWS::SNS::Topic', 'AWS::SNS::TopicPolicy', 'Topics'],
  ])('gives every %s a TLS-only resource policy', (type, policyType, listProperty) => {
    const denyPlainText = Object.values(template.findResources(policyType))
      .filter((policy) =>
        (policy.Properties.PolicyDocument.Statement as { Effect: string; Condition?: unknown }[]).some(
          (s) => s.Effect === 'Deny' && JSON.stringify(s.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
        ),
      )
      .flatMap((policy) => (policy.Properties[listProperty] as { Ref: string }[]).map((r) => r.Ref));
    expect(denyPlainText.sort()).toEqual(Object.keys(template.findResources(type)).sort());
  });

  it('gives every log group a retention and address masking', () => {
    for (const group of Object.values(template.findResources('AWS::Logs::LogGroup'))) {
      expect(group.Properties.RetentionInDays).toBe(365);
      expect(JSON.stringify(group.Properties.DataProtectionPolicy)).toContain('EmailAddress');
    }
  });

  it('runs every function on arm64 with reserved concurrency and no AWS-managed policy', () => {
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.ReservedConcurrentExecutions).toBeGreaterThan(0);
    }
    const lambdaRoles = Object.values(template.findResources('AWS::IAM::Role')).filter((role) =>
      JSON.stringify(role.Properties.AssumeRolePolicyDocument).includes('lambda.amazonaws.com'),
    );
    expect(lambdaRoles).toHaveLength(3);
    for (const role of lambdaRoles) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    template.resourceCountIs('AWS::IAM::Policy', 0);
  });

  it('outputs what the ops CLI needs', () => {
    for (const name of Object.values(StackOutput)) template.hasOutput(name, { Value: Match.anyValue() });
    template.hasOutput(StackOutput.eventSourceMappingId, { Value: { Ref: logicalIdOf(template, 'AWS::Lambda::EventSourceMapping', 'DispatcherServiceFunctionSqsEventSource') } });
  });
});
