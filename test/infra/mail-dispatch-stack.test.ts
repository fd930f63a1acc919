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
    for (const table of tables)
      expect(table.Properties.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn });
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

  it('runs every function on arm64 with no AWS-managed policy', () => {
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.Architectures).toEqual(['arm64']);
    }
    const lambdaRoles = Object.values(template.findResources('AWS::IAM::Role')).filter((role) =>
      JSON.stringify(role.Properties.AssumeRolePolicyDocument).includes('lambda.amazonaws.com'),
    );
    expect(lambdaRoles).toHaveLength(7); // dispatcher, feedback, breaker, not-for-me page, outcome publisher, registry watch, DLQ watch
    for (const role of lambdaRoles) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    template.resourceCountIs('AWS::IAM::Policy', 0);
  });

  it('18.1: reserves no concurrency by default, so an account under 100 unreserved can deploy it', () => {
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
    }
  });

  it('18.1: reserves what the settings ask for, per function', () => {
    const reserved = synthMailDispatch({
      maxConcurrency: 4,
      dispatcherReservedConcurrency: 4,
      breakerReservedConcurrency: 1,
      feedbackReservedConcurrency: 2,
    }).template;
    const byFunction = Object.entries(reserved.findResources('AWS::Lambda::Function')).map(([id, fn]) => [
      id.replace(/[0-9A-F]{8}$/, ''),
      fn.Properties.ReservedConcurrentExecutions,
    ]);
    expect(Object.fromEntries(byFunction)).toMatchObject({
      DispatcherServiceFunction: 4,
      FanInBreakerFunction: 1,
      FeedbackServiceFunction: 2,
    });
  });

  it('keeps a received message invisible for six function timeouts plus the batching window', () => {
    const queues = Object.values(template.findResources('AWS::SQS::Queue')).map((q) => q.Properties.VisibilityTimeout);
    expect(queues).toContain(6 * 30 + 1);
  });

  it('outputs what the ops CLI needs', () => {
    for (const name of Object.values(StackOutput)) template.hasOutput(name, { Value: Match.anyValue() });
    template.hasOutput(StackOutput.eventSourceMappingId, {
      Value: { Ref: logicalIdOf(template, 'AWS::Lambda::EventSourceMapping', 'DispatcherServiceFunctionSqsEventSource') },
    });
    template.hasOutput(StackOutput.encryptionKeyArn, { Value: keyArn });
  });

  it('backs the tables up with AWS Backup by default', () => {
    template.resourceCountIs('AWS::Backup::BackupPlan', 1);
    template.resourceCountIs('AWS::Backup::BackupSelection', 1);
  });

  it('grants no publisher unless asked', () => {
    for (const policy of Object.values(template.findResources('AWS::SQS::QueuePolicy'))) {
      for (const statement of policy.Properties.PolicyDocument.Statement as { Effect: string }[]) expect(statement.Effect).toBe('Deny');
    }
  });
});

/** One synth (bundling is slow) for the settings that are off by default. */
describe('MailDispatchStack with publisherRoleArns and enableBackupPlan=false', () => {
  const PORTAL = 'arn:aws:iam::111122223333:role/portal/publisher';
  const OTHER = 'arn:aws:iam::444455556666:role/portal-dr';
  let template: Template;

  beforeAll(() => {
    template = synthMailDispatch({ publisherRoleArns: [PORTAL, OTHER], enableBackupPlan: false }).template;
  });

  it('has no AWS Backup resource, and still both tables with point-in-time recovery', () => {
    expect(
      Object.values(template.toJSON().Resources as Record<string, { Type: string }>).filter((r) => r.Type.startsWith('AWS::Backup::')),
    ).toEqual([]);
    template.resourcePropertiesCountIs(
      'AWS::DynamoDB::Table',
      { PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } },
      2,
    );
  });

  it.each([PORTAL, OTHER])('lets %s send to the dispatch queue and use the key for that through SQS, nothing else', (arn) => {
    const queueId = logicalIdOf(template, 'AWS::SQS::Queue', /^DispatchQueue[0-9A-F]{8}$/);
    const keyId = logicalIdOf(template, 'AWS::KMS::Key', 'EncryptionKey');
    // Every place the template names the role: only the dispatch queue's policy and the key policy.
    const naming = Object.entries(
      template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>,
    ).filter(([, resource]) => JSON.stringify(resource).includes(arn));
    expect(naming.map(([, resource]) => resource.Type).sort()).toEqual(['AWS::KMS::Key', 'AWS::SQS::QueuePolicy']);
    const [, queuePolicy] = naming.find(([, resource]) => resource.Type === 'AWS::SQS::QueuePolicy')!;
    expect(queuePolicy.Properties.Queues).toEqual([{ Ref: queueId }]);
    const statementsOf = (document: unknown) =>
      (document as { Statement: { Principal?: { AWS?: unknown } }[] }).Statement.filter((statement) => statement.Principal?.AWS === arn);
    expect(statementsOf(queuePolicy.Properties.PolicyDocument)).toEqual([
      { Effect: 'Allow', Principal: { AWS: arn }, Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [queueId, 'Arn'] } },
    ]);
    // The key only through SQS: the role cannot use it directly, nor through DynamoDB or Secrets Manager.
    expect(statementsOf(template.findResources('AWS::KMS::Key')[keyId].Properties.KeyPolicy)).toEqual([
      {
        Effect: 'Allow',
        Principal: { AWS: arn },
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: '*',
        Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['sqs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } },
      },
    ]);
  });

  it('creates no IAM policy for the imported roles (they belong to the portal)', () => {
    template.resourceCountIs('AWS::IAM::Policy', 0);
  });
});
