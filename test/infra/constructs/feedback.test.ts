import type { Template } from 'aws-cdk-lib/assertions';
import { DISPATCH_ID_PATTERN } from '../../../lambdas/core/message';
import { Env, LedgerKey } from '../../../lambdas/tables';
import { actionsOf, allActions, logicalIdOf, type Statement, statementsOfRole, synthMailDispatch } from '../support/stack-fixture';

describe('Feedback', () => {
  let template: Template;
  let statements: Statement[];
  let fnId: string;

  beforeAll(() => {
    template = synthMailDispatch().template;
    statements = statementsOfRole(template, 'FeedbackServiceRole');
    fnId = logicalIdOf(template, 'AWS::Lambda::Function', 'FeedbackServiceFunction');
  });

  it("receives the configuration set's events through the SES events topic", () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'lambda',
      TopicArn: { Ref: logicalIdOf(template, 'AWS::SNS::Topic', 'MailEventsTopic') },
      Endpoint: { 'Fn::GetAtt': [fnId, 'Arn'] },
    });
    const env = template.findResources('AWS::Lambda::Function')[fnId].Properties.Environment.Variables;
    expect(Object.keys(env)).toEqual(expect.arrayContaining([Env.membersTable, Env.ledgerTable]));
  });

  it('may update ledger records (reconcile) and members (suppress), nothing more', () => {
    const table = (prefix: string) => JSON.stringify({ 'Fn::GetAtt': [logicalIdOf(template, 'AWS::DynamoDB::Table', prefix), 'Arn'] });
    const on = (prefix: string) =>
      statements
        .filter((s) => JSON.stringify(s.Resource) === table(prefix))
        .flatMap(actionsOf)
        .sort();
    expect(on('RegistryLedger')).toEqual(['dynamodb:GetItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:UpdateItem']);
    expect(on('RegistryMembers')).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    const actions = allActions(statements);
    for (const forbidden of [
      'dynamodb:PutItem',
      'dynamodb:DeleteItem',
      'dynamodb:Scan',
      'ses:SendEmail',
      'secretsmanager:GetSecretValue',
    ]) {
      expect(actions).not.toContain(forbidden);
    }
  });

  it("12.11: the feedback role may touch only the members' suppression attributes, never email, proxies or status", () => {
    const members = statements.find((s) => s.Sid === 'SuppressMembers');
    expect(members?.Condition).toEqual({
      'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['memberId', 'suppressions', 'version'] },
      StringEqualsIfExists: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES', 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] },
    });
    for (const attribute of ['email', 'proxies', 'status']) expect(JSON.stringify(members?.Condition)).not.toContain(`"${attribute}"`);
  });

  const NOT_DISPATCH_RECORDS = ['*#*'];
  const LIMITED = { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES', 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] };

  it('12.11: the feedback role cannot touch the pause flag, the registry address index or the fan-in counters', () => {
    const ledger = statements.filter((s) => JSON.stringify(s.Condition ?? {}).includes('dynamodb:LeadingKeys'));
    expect(ledger.map((s) => s.Sid).sort()).toEqual(['CountFeedback', 'ReadDispatchRecords', 'ReconcileDispatchRecords']);
    const denied = ledger.find((s) => s.Sid === 'ReconcileDispatchRecords')?.Condition?.['ForAllValues:StringNotLike'];
    expect(denied?.['dynamodb:LeadingKeys']).toEqual(['*#*']);
    const allowed = ledger.find((s) => s.Sid === 'CountFeedback')?.Condition?.['ForAllValues:StringLike'];
    expect(JSON.stringify(allowed)).not.toMatch(/control#|registry#|fanin#/);
  });

  it("12.11: '*#*' denies every ledger item kind but dispatch records: every LedgerKey but a dispatch's has '#', no dispatchId can", () => {
    expect(DISPATCH_ID_PATTERN.test('a#b')).toBe(false);
    const others = [
      LedgerKey.rejected('m'),
      LedgerKey.fanIn('h'),
      LedgerKey.registry('h'),
      LedgerKey.pauseFlag,
      LedgerKey.reputationWindow,
      LedgerKey.transientBounces('h', 'M1'),
      LedgerKey.reportWindow(1),
      LedgerKey.rateLimit('token', 'x', 1),
    ];
    expect(Object.keys(LedgerKey)).toHaveLength(others.length + 1); // a new kind must be added here
    for (const key of others) expect(key).toContain('#');
    expect(LedgerKey.dispatch('d-1.a:b_c')).not.toContain('#');
  });

  it('12.11: on dispatch records the feedback role reads and writes only the reconcile and fate attributes, never a whole item back', () => {
    const written = ['pk', 'state', 'sesMessageId', 'sentAt', 'reconciledAt', 'history', 'fate', 'fateAt', 'updatedAt', 'feedbackKeys'];
    const on = (sid: string) => statements.find((s) => s.Sid === sid);
    expect(on('ReadDispatchRecords')?.Action).toBe('dynamodb:GetItem');
    expect(on('ReadDispatchRecords')?.Condition).toEqual({
      'ForAllValues:StringNotLike': { 'dynamodb:LeadingKeys': NOT_DISPATCH_RECORDS },
      'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...written, 'memberId', 'toHash'] },
      StringEqualsIfExists: LIMITED,
    });
    expect(on('ReconcileDispatchRecords')?.Action).toBe('dynamodb:UpdateItem');
    expect(on('ReconcileDispatchRecords')?.Condition).toEqual({
      'ForAllValues:StringNotLike': { 'dynamodb:LeadingKeys': NOT_DISPATCH_RECORDS },
      'ForAllValues:StringEquals': { 'dynamodb:Attributes': written },
      StringEqualsIfExists: LIMITED,
    });
  });

  it("12.11 review: the feedback role cannot rewrite a dispatch record's memberId/toHash (the by-member/by-address audit keys)", () => {
    const dispatchUpdates = statements.filter(
      (s) => actionsOf(s).includes('dynamodb:UpdateItem') && s.Condition?.['ForAllValues:StringNotLike']?.['dynamodb:LeadingKeys'],
    );
    expect(dispatchUpdates).toHaveLength(1);
    const attributes = dispatchUpdates[0].Condition?.['ForAllValues:StringEquals']?.['dynamodb:Attributes'] as string[];
    expect(attributes).toEqual(expect.arrayContaining(['pk', 'state', 'fate', 'history', 'feedbackKeys']));
    expect(attributes).not.toContain('memberId');
    expect(attributes).not.toContain('toHash');
  });

  it('12.11: the feedback role updates only its own counters (soft bounces, the reputation window), only their attributes', () => {
    const counters = statements.find((s) => s.Sid === 'CountFeedback');
    expect(counters?.Action).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    expect(counters?.Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['softbounce#*', 'reputation#window'] },
      'ForAllValues:StringEquals': {
        'dynamodb:Attributes': [
          'pk',
          'bounces',
          'eventKeys',
          'updatedAt',
          'expiresAt',
          'curSends',
          'curBounces',
          'curComplaints',
          'prevSends',
          'prevBounces',
          'prevComplaints',
          'closedAt',
        ],
      },
      StringEqualsIfExists: LIMITED,
    });
  });

  it('keeps failed asynchronous invocations in an encrypted queue', () => {
    const queueId = logicalIdOf(template, 'AWS::SQS::Queue', 'FeedbackServiceFailedInvocations');
    expect(template.findResources('AWS::Lambda::Function')[fnId].Properties.DeadLetterConfig).toEqual({
      TargetArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
    });
  });
});
