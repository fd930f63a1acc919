import { Match, type Template } from 'aws-cdk-lib/assertions';
import { Env, LedgerKey } from '../../../lambdas/tables';
import { actionsOf, allActions, logicalIdOf, type Statement, statementsOfRole, synthMailDispatch } from '../support/stack-fixture';

describe('FanInBreaker and PipelineAlarms, wired in the whole stack', () => {
  let template: Template;
  let statements: Statement[];
  let mappingId: string;
  let topicId: string;
  let breakerId: string;

  beforeAll(() => {
    template = synthMailDispatch({ fanInAlarmThreshold: 2, fanInAlarmPeriodSeconds: 120, alarmEmail: 'oncall@example.org' }).template;
    statements = statementsOfRole(template, 'FanInBreakerRole');
    mappingId = logicalIdOf(template, 'AWS::Lambda::EventSourceMapping', 'DispatcherServiceFunctionSqsEventSource');
    topicId = logicalIdOf(template, 'AWS::SNS::Topic', 'FanInBreakerAlarmTopic');
    breakerId = logicalIdOf(template, 'AWS::Lambda::Function', 'FanInBreakerFunction');
  });

  it("raises FanInSpike on the dispatcher's FanInBlocked metric with the configured threshold and period", () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'MailDispatchTest-FanInSpike',
      Namespace: 'MailDispatch',
      MetricName: 'FanInBlocked',
      Dimensions: [{ Name: 'service', Value: 'mail-dispatch' }],
      Statistic: 'Sum',
      Period: 120,
      Threshold: 2,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: topicId }],
    });
  });

  it('subscribes the breaker to the ALARM notifications of FanInSpike and the reputation alarms only', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'lambda',
      TopicArn: { Ref: topicId },
      Endpoint: { 'Fn::GetAtt': [breakerId, 'Arn'] },
      FilterPolicyScope: 'MessageBody',
      FilterPolicy: {
        AlarmName: [
          'MailDispatchTest-FanInSpike',
          'MailDispatchTest-BounceRate',
          'MailDispatchTest-ComplaintRate',
          'MailDispatchTest-SesAccountBounceRate',
          'MailDispatchTest-SesAccountComplaintRate',
        ],
        NewStateValue: ['ALARM'],
      },
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'sns.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [breakerId, 'Arn'] },
      SourceArn: { Ref: topicId },
    });
  });

  describe('the reputation guard', () => {
    it.each([
      ['BounceRate', 'bounce'],
      ['ComplaintRate', 'complaint'],
    ])("raises %s on the feedback function's ReputationBreached metric (its EMF dimensions), at the first breach", (name, rate) => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `MailDispatchTest-${name}`,
        Namespace: 'MailDispatch',
        MetricName: 'ReputationBreached',
        Dimensions: Match.arrayEquals([
          { Name: 'Rate', Value: rate },
          { Name: 'service', Value: 'mail-dispatch-feedback' },
        ]),
        Statistic: 'Sum',
        Period: 60,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: topicId }],
        OKActions: [{ Ref: topicId }],
      });
    });

    it.each([
      ['SesAccountBounceRate', 'Reputation.BounceRate', 0.04],
      ['SesAccountComplaintRate', 'Reputation.ComplaintRate', 0.0008],
    ])("raises %s on SES's account-level %s (a fraction), below AWS's review rate by default", (name, metric, threshold) => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `MailDispatchTest-${name}`,
        Namespace: 'AWS/SES',
        MetricName: metric,
        Dimensions: Match.absent(),
        Statistic: 'Maximum',
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: topicId }],
      });
    });

    it('takes the thresholds from the settings, and gives the feedback function the same ones', () => {
      const custom = synthMailDispatch({
        reputationBounceRatePercent: 2.5,
        reputationComplaintRatePercent: 0.05,
        reputationWindowSends: 500,
      }).template;
      custom.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'MailDispatchTest-SesAccountBounceRate', Threshold: 0.025 });
      custom.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'MailDispatchTest-SesAccountComplaintRate', Threshold: 0.0005 });
      const feedback = Object.values(custom.findResources('AWS::Lambda::Function')).find(
        (fn) => fn.Properties.Environment?.Variables?.[Env.reputationWindowSends] !== undefined,
      );
      expect(feedback?.Properties.Environment.Variables).toMatchObject({
        [Env.reputationBounceRatePercent]: '2.5',
        [Env.reputationComplaintRatePercent]: '0.05',
        [Env.reputationWindowSends]: '500',
      });
    });

    it('gives the breaker no new permission: it pauses for reputation with the statements it had', () => {
      expect(statements.map((s) => s.Sid).sort()).toEqual([
        'DisableOnlyTheDispatcherMapping',
        'EncryptFailedInvocations',
        'KeepFailedInvocations',
        'UseKeyThroughDynamoDb',
        'WriteOnlyThePauseFlag',
        'WriteOwnLogGroup',
      ]);
    });
  });

  it('tells the breaker which mapping to disable and which table holds the flag', () => {
    const env = template.findResources('AWS::Lambda::Function')[breakerId].Properties.Environment.Variables;
    expect(env[Env.eventSourceMappingId]).toEqual({ Ref: mappingId });
    expect(env[Env.ledgerTable]).toEqual({ Ref: logicalIdOf(template, 'AWS::DynamoDB::Table', 'RegistryLedger') });
  });

  it('lets the dispatcher trip this breaker directly, by a fixed name (no reference cycle), and nothing else', () => {
    const breaker = template.findResources('AWS::Lambda::Function')[breakerId].Properties;
    expect(breaker.FunctionName).toBe('MailDispatchTest-fan-in-breaker');
    const dispatcherId = logicalIdOf(template, 'AWS::Lambda::Function', 'DispatcherServiceFunction');
    expect(template.findResources('AWS::Lambda::Function')[dispatcherId].Properties.Environment.Variables[Env.breakerFunctionName]).toBe(
      'MailDispatchTest-fan-in-breaker',
    );
    const invoke = statementsOfRole(template, 'DispatcherServiceRole').filter((s) => actionsOf(s).some((a) => a.startsWith('lambda:')));
    expect(invoke).toHaveLength(1);
    expect(actionsOf(invoke[0])).toEqual(['lambda:InvokeFunction']);
    expect(JSON.stringify(invoke[0].Resource)).toContain(':function:MailDispatchTest-fan-in-breaker');
  });

  it("lets the breaker update only the dispatcher's one event source mapping", () => {
    const lambda = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('lambda:')));
    expect(lambda).toHaveLength(1);
    expect(actionsOf(lambda[0])).toContain('lambda:UpdateEventSourceMapping');
    const resource = JSON.stringify(lambda[0].Resource);
    expect(resource).toContain(':event-source-mapping:');
    expect(resource).toContain(`{"Ref":"${mappingId}"}`);
    expect(resource).not.toContain('*');
  });

  it('12.11: lets the breaker read and update only the pause flag item of the ledger, with no PutItem', () => {
    const dynamo = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo).toHaveLength(1);
    expect(actionsOf(dynamo[0]).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    expect(dynamo[0].Condition).toEqual({ 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [LedgerKey.pauseFlag] } });
    expect(allActions(statements)).not.toContain('ses:SendEmail');
  });

  it.each([
    'BlockedSpike',
    'DeadLetterQueueNotEmpty',
    'InDoubt',
    'DispatcherErrors',
    'DispatcherThrottles',
    'OldestMessageAge',
    'BreakerErrors',
    'BreakerFailedInvocations',
    'FeedbackFailedInvocations',
  ])('has the notify-only alarm %s, wired to the alarm topic', (name) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `MailDispatchTest-${name}`,
      AlarmActions: [{ Ref: topicId }],
      OKActions: [{ Ref: topicId }],
      TreatMissingData: 'notBreaching',
    });
  });

  it('watches recipient mismatches through the Reason dimension', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'MailDispatchTest-BlockedSpike',
      MetricName: 'Blocked',
      Dimensions: Match.arrayWith([{ Name: 'Reason', Value: 'recipient-mismatch' }]),
    });
  });

  it("encrypts the alarm topic, refuses plain HTTP, lets only this stack's alarms publish, and subscribes the on-call address", () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      DisplayName: 'mail-dispatch alarms',
      KmsMasterKeyId: { 'Fn::GetAtt': [logicalIdOf(template, 'AWS::KMS::Key', 'EncryptionKey'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } }, ArnLike: { 'aws:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.org',
      TopicArn: { Ref: topicId },
    });
  });
});
