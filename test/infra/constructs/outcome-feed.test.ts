import { Match, type Template } from 'aws-cdk-lib/assertions';
import { Env } from '../../../lambdas/tables';
import { actionsOf, allActions, logicalIdOf, type Statement, statementsOfRole, synthMailDispatch } from '../support/stack-fixture';

describe('OutcomeFeed', () => {
  let template: Template;
  let statements: Statement[];
  const getAtt = (type: string, prefix: string, attribute: string) => ({ 'Fn::GetAtt': [logicalIdOf(template, type, prefix), attribute] });

  beforeAll(() => {
    template = synthMailDispatch({
      outcomeSubscriberArns: [
        'arn:aws:sqs:us-east-1:111122223333:portal-outcomes',
        'arn:aws:events:us-east-1:111122223333:event-bus/portal',
      ],
    }).template;
    statements = statementsOfRole(template, 'OutcomesServiceRole');
  });

  it('streams the ledger with old and new images', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    });
  });

  it('maps the stream to the publisher with retries, bisect on error, batch item failures and an on-failure queue; only dispatch records invoke it', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: getAtt('AWS::DynamoDB::Table', 'RegistryLedger', 'StreamArn'),
      FunctionName: { Ref: logicalIdOf(template, 'AWS::Lambda::Function', 'OutcomesServiceFunction') },
      StartingPosition: 'TRIM_HORIZON',
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      ParallelizationFactor: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: getAtt('AWS::SQS::Queue', 'OutcomesFailedRecords', 'Arn') } },
      FilterCriteria: { Filters: [{ Pattern: Match.stringLikeRegexp('"state":\\{"S":\\[\\{"exists":true\\}\\]\\}') }] },
    });
    const env =
      template.findResources('AWS::Lambda::Function')[logicalIdOf(template, 'AWS::Lambda::Function', 'OutcomesServiceFunction')].Properties
        .Environment.Variables;
    expect(env[Env.outcomeBusName]).toEqual({ Ref: logicalIdOf(template, 'AWS::Events::EventBus', 'OutcomesBus') });
  });

  it('may read the one ledger stream and put events on the one bus, nothing else (least privilege)', () => {
    const on = (resource: unknown) =>
      statements
        .filter((s) => JSON.stringify(s.Resource) === JSON.stringify(resource))
        .flatMap(actionsOf)
        .sort();
    expect(on(getAtt('AWS::DynamoDB::Table', 'RegistryLedger', 'StreamArn'))).toEqual([
      'dynamodb:DescribeStream',
      'dynamodb:GetRecords',
      'dynamodb:GetShardIterator',
    ]);
    expect(on(getAtt('AWS::Events::EventBus', 'OutcomesBus', 'Arn'))).toEqual(['events:PutEvents']);
    expect(on(getAtt('AWS::SQS::Queue', 'OutcomesFailedRecords', 'Arn'))).toEqual(['sqs:SendMessage']);
    expect(on('*')).toEqual(['dynamodb:ListStreams']);
    const actions = allActions(statements);
    for (const forbidden of [
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:Scan',
      'dynamodb:UpdateItem',
      'dynamodb:PutItem',
      'ses:SendEmail',
      'secretsmanager:GetSecretValue',
      'sqs:ReceiveMessage',
    ]) {
      expect(actions).not.toContain(forbidden);
    }
    for (const statement of statements.filter((s) => actionsOf(s).some((a) => a.startsWith('kms:'))))
      expect(statement.Condition?.StringEquals?.['kms:ViaService']).toBeDefined();
  });

  it('routes every Dispatch Outcome event to each subscriber of the portal, by ARN', () => {
    const rules = Object.values(template.findResources('AWS::Events::Rule'));
    const ours = rules.filter(
      (r) =>
        JSON.stringify(r.Properties.EventBusName) ===
        JSON.stringify({ Ref: logicalIdOf(template, 'AWS::Events::EventBus', 'OutcomesBus') }),
    );
    expect(ours).toHaveLength(2);
    for (const rule of ours)
      expect(rule.Properties.EventPattern).toEqual({ source: ['mail-dispatch'], 'detail-type': ['Dispatch Outcome'] });
    expect(ours.map((r) => r.Properties.Targets[0].Arn)).toEqual([
      'arn:aws:sqs:us-east-1:111122223333:portal-outcomes',
      'arn:aws:events:us-east-1:111122223333:event-bus/portal',
    ]);
  });

  it('alarms on a poison record (anything in the on-failure queue)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: Match.stringLikeRegexp('OutcomeFeedFailedRecords'),
      Dimensions: [{ Name: 'QueueName', Value: getAtt('AWS::SQS::Queue', 'OutcomesFailedRecords', 'QueueName') }],
      Threshold: 1,
    });
  });

  it('refuses a subscriber that is not an SQS queue or an EventBridge bus ARN', () => {
    expect(() => synthMailDispatch({ outcomeSubscriberArns: ['arn:aws:sns:us-east-1:111122223333:topic'] })).toThrow(
      /outcomeSubscriberArns/,
    );
  });
});
