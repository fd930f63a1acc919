import type { Template } from 'aws-cdk-lib/assertions';
import { Env } from '../../../lambdas/tables';
import { actionsOf, allActions, logicalIdOf, type Statement, statementsOfRole, synthMailDispatch } from '../support/stack-fixture';

describe('NotForMePage', () => {
  let template: Template;
  let page: Statement[];
  let dispatcher: Statement[];
  let fnId: string;
  let env: Record<string, unknown>;

  beforeAll(() => {
    template = synthMailDispatch().template;
    page = statementsOfRole(template, 'NotForMeServiceRole');
    dispatcher = statementsOfRole(template, 'DispatcherServiceRole');
    fnId = logicalIdOf(template, 'AWS::Lambda::Function', 'NotForMeServiceFunction');
    env = template.findResources('AWS::Lambda::Function')[fnId].Properties.Environment.Variables;
  });

  it('serves the page from a public function URL: the signed link is the credential', () => {
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'NONE',
      InvokeMode: 'BUFFERED',
      TargetFunctionArn: { 'Fn::GetAtt': [fnId, 'Arn'] },
    });
    expect(template.findResources('AWS::Lambda::Url', { Properties: { Cors: {} } })).toEqual({});
    expect(env).toMatchObject({
      [Env.reportPauseThreshold]: '3',
      [Env.reportWindowSeconds]: '3600',
      [Env.breakerFunctionName]: 'MailDispatchTest-fan-in-breaker',
    });
  });

  it('gives every e-mail its link: the dispatcher gets the page URL and may read the link key', () => {
    const dispatcherId = logicalIdOf(template, 'AWS::Lambda::Function', 'DispatcherServiceFunction');
    const variables = template.findResources('AWS::Lambda::Function')[dispatcherId].Properties.Environment.Variables;
    const urlId = logicalIdOf(template, 'AWS::Lambda::Url', 'NotForMeServiceFunction');
    const secretId = logicalIdOf(template, 'AWS::SecretsManager::Secret', 'NotForMeLinkKey');
    expect(variables[Env.reportPageUrl]).toEqual({ 'Fn::GetAtt': [urlId, 'FunctionUrl'] });
    expect(variables[Env.reportLinkSecretArn]).toEqual({ Ref: secretId });
    expect(env[Env.reportLinkSecretArn]).toEqual({ Ref: secretId });
    expect(dispatcher.find((s) => s.Sid === 'ReadReportLinkKey')).toMatchObject({
      Action: 'secretsmanager:GetSecretValue',
      Resource: { Ref: secretId },
    });
  });

  it('may record reports and block addresses, never send mail, read the queue, hash addresses or delete anything', () => {
    const actions = allActions(page);
    for (const forbidden of [
      'ses:SendEmail',
      'sqs:ReceiveMessage',
      'sqs:SendMessage',
      'dynamodb:PutItem',
      'dynamodb:DeleteItem',
      'dynamodb:Scan',
      'dynamodb:Query',
    ]) {
      expect(actions).not.toContain(forbidden);
    }
    const secrets = page.filter((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'));
    expect(secrets.map((s) => s.Resource)).toEqual([{ Ref: logicalIdOf(template, 'AWS::SecretsManager::Secret', 'NotForMeLinkKey') }]);
    const members = page.find((s) => s.Sid === 'SuppressReportedAddress');
    expect(members?.Condition).toEqual({
      'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['memberId', 'suppressions', 'updatedAt'] },
      StringEqualsIfExists: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES', 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] },
    });
    expect(page.find((s) => s.Sid === 'TripTheBreaker')?.Action).toBe('lambda:InvokeFunction');
  });

  describe('12.11: the ledger statements', () => {
    const LIMITED = { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES', 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] };
    const bySid = (sid: string) => page.find((s) => s.Sid === sid);

    it('12.11: the page reads and marks dispatch records only: the report fields, never a whole item back', () => {
      const notDispatchRecords = { 'dynamodb:LeadingKeys': ['*#*'] };
      expect(bySid('ReadDispatchRecords')).toMatchObject({
        Action: 'dynamodb:GetItem',
        Condition: {
          'ForAllValues:StringNotLike': notDispatchRecords,
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'memberId', 'toHash', 'reportedNotMineAt', 'updatedAt', 'history'] },
          StringEqualsIfExists: LIMITED,
        },
      });
      expect(bySid('RecordReportsInLedger')).toMatchObject({
        Action: 'dynamodb:UpdateItem',
        Condition: {
          'ForAllValues:StringNotLike': notDispatchRecords,
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'toHash', 'reportedNotMineAt', 'updatedAt', 'history'] },
          StringEqualsIfExists: LIMITED,
        },
      });
    });

    it("12.11 review: the page cannot rewrite a dispatch record's memberId (an audit key); toHash only as the report's condition", () => {
      const dispatchUpdates = page.filter(
        (s) => actionsOf(s).includes('dynamodb:UpdateItem') && s.Condition?.['ForAllValues:StringNotLike']?.['dynamodb:LeadingKeys'],
      );
      expect(dispatchUpdates).toHaveLength(1);
      const attributes = dispatchUpdates[0].Condition?.['ForAllValues:StringEquals']?.['dynamodb:Attributes'] as string[];
      // The report's UpdateItem conditions on `toHash = :hash` (the link's address), so IAM must let it name toHash.
      expect(attributes).toEqual(['pk', 'toHash', 'reportedNotMineAt', 'updatedAt', 'history']);
      expect(attributes).not.toContain('memberId');
    });

    it('12.11: the page counts reports and rate limits on its own items, only their attributes', () => {
      expect(bySid('CountReportsAndRateLimits')).toMatchObject({
        Action: ['dynamodb:BatchGetItem', 'dynamodb:UpdateItem'],
        Condition: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['notforme#*', 'ratelimit#*'] },
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'reports', 'expiresAt', 'hits'] },
          StringEqualsIfExists: LIMITED,
        },
      });
    });

    it('12.11: the page may only set the pause flag, with the attributes a pause writes (not a resume)', () => {
      const flag = bySid('SetPauseFlag');
      expect(flag?.Action).toBe('dynamodb:UpdateItem');
      expect(flag?.Condition?.['ForAllValues:StringEquals']?.['dynamodb:LeadingKeys']).toEqual(['control#pause']);
      const attributes = flag?.Condition?.['ForAllValues:StringEquals']?.['dynamodb:Attributes'] as string[];
      expect(attributes).toEqual(expect.arrayContaining(['pk', 'paused', 'reason', 'by', 'at', 'version']));
      expect(attributes).not.toContain('resumedBy');
      // Every ledger statement of the page carries a key and an attribute limit.
      const ledger = page.filter((s) => JSON.stringify(s.Resource).includes('RegistryLedger'));
      expect(ledger.map((s) => s.Sid).sort()).toEqual([
        'CountReportsAndRateLimits',
        'ReadDispatchRecords',
        'RecordReportsInLedger',
        'SetPauseFlag',
      ]);
      for (const s of ledger) expect(Object.keys(s.Condition?.['ForAllValues:StringEquals'] ?? {})).toContain('dynamodb:Attributes');
    });
  });

  it('pages on-call for every confirmed report (NotForMeReported on the alarm topic)', () => {
    const alarmId = logicalIdOf(template, 'AWS::CloudWatch::Alarm', 'NotForMeNotForMeReported');
    const alarm = template.findResources('AWS::CloudWatch::Alarm')[alarmId].Properties;
    expect(alarm).toMatchObject({
      AlarmName: 'MailDispatchTest-NotForMeReported',
      Namespace: 'MailDispatch',
      MetricName: 'NotForMeReported',
      Dimensions: [{ Name: 'service', Value: 'mail-dispatch' }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(alarm.AlarmActions).toEqual([{ Ref: logicalIdOf(template, 'AWS::SNS::Topic', 'FanInBreakerAlarmTopic') }]);
  });
});
