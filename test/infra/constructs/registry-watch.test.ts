import { Match, type Template } from 'aws-cdk-lib/assertions';
import { Env, TABLE_ACCESS } from '../../../lambdas/tables';
import { actionsOf, allActions, logicalIdOf, type Statement, statementsOfRole, synthMailDispatch } from '../support/stack-fixture';

describe('RegistryWatch (12.2c)', () => {
  let template: Template;
  let statements: Statement[];
  const getAtt = (type: string, prefix: string, attribute: string) => ({ 'Fn::GetAtt': [logicalIdOf(template, type, prefix), attribute] });
  const bySid = (sid: string) => {
    const found = statements.filter((s) => (s as { Sid?: string }).Sid === sid);
    expect(found).toHaveLength(1);
    return found[0] as Statement & { Condition?: Record<string, Record<string, unknown>> };
  };

  beforeAll(() => {
    template = synthMailDispatch({ fanInLimit: 4 }).template;
    statements = statementsOfRole(template, 'RegistryWatchServiceRole');
  });

  it('maps the members stream to the watch with retries, bisect on error, batch item failures and an on-failure queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: getAtt('AWS::DynamoDB::Table', 'RegistryMembers', 'StreamArn'),
      FunctionName: { Ref: logicalIdOf(template, 'AWS::Lambda::Function', 'RegistryWatchServiceFunction') },
      StartingPosition: 'TRIM_HORIZON',
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      ParallelizationFactor: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: getAtt('AWS::SQS::Queue', 'RegistryWatchFailedRecords', 'Arn') } },
    });
    const env =
      template.findResources('AWS::Lambda::Function')[logicalIdOf(template, 'AWS::Lambda::Function', 'RegistryWatchServiceFunction')]
        .Properties.Environment.Variables;
    expect(env[Env.fanInLimit]).toBe('4');
    expect(env[Env.breakerFunctionName]).toEqual(expect.stringContaining('fan-in-breaker'));
    expect(env[Env.addressHashSecretArn]).toEqual({
      Ref: logicalIdOf(template, 'AWS::SecretsManager::Secret', 'DispatcherAddressHashKey'),
    });
  });

  it('reads only the members stream, and of a member only where its mail may go', () => {
    const on = (resource: unknown) =>
      statements
        .filter((s) => JSON.stringify(s.Resource) === JSON.stringify(resource))
        .flatMap(actionsOf)
        .sort();
    expect(on(getAtt('AWS::DynamoDB::Table', 'RegistryMembers', 'StreamArn'))).toEqual([
      'dynamodb:DescribeStream',
      'dynamodb:GetRecords',
      'dynamodb:GetShardIterator',
    ]);
    expect(on('*')).toEqual(['dynamodb:ListStreams']);
    const read = bySid('ReadWhereMembersMailGoes');
    expect(actionsOf(read)).toEqual(['dynamodb:GetItem']);
    expect(read.Resource).toEqual(getAtt('AWS::DynamoDB::Table', 'RegistryMembers', 'Arn'));
    expect(read.Condition?.['ForAllValues:StringEquals']?.['dynamodb:Attributes']).toEqual([
      ...TABLE_ACCESS.registryWatch.memberAttributes,
    ]);
    expect(TABLE_ACCESS.registryWatch.memberAttributes).not.toContain('suppressions');
    expect(read.Condition?.StringEqualsIfExists?.['dynamodb:Select']).toBe('SPECIFIC_ATTRIBUTES');
  });

  it('updates only the member sets of registry#* items, and only the pause flag besides', () => {
    const index = bySid('KeepTheAddressIndex');
    expect(actionsOf(index)).toEqual(['dynamodb:UpdateItem']);
    expect(index.Resource).toEqual(getAtt('AWS::DynamoDB::Table', 'RegistryLedger', 'Arn'));
    expect(index.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys']).toEqual(['registry#*']);
    expect(index.Condition?.['ForAllValues:StringEquals']?.['dynamodb:Attributes']).toEqual(['pk', 'members', 'owners']);
    expect(index.Condition?.StringEqualsIfExists?.['dynamodb:ReturnValues']).toEqual(['NONE', 'UPDATED_OLD']);
    const flag = bySid('SetThePauseFlag');
    expect(actionsOf(flag).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    expect(flag.Condition?.['ForAllValues:StringEquals']?.['dynamodb:LeadingKeys']).toEqual(['control#pause']);
    const actions = allActions(statements);
    for (const forbidden of [
      'dynamodb:PutItem',
      'dynamodb:DeleteItem',
      'dynamodb:Query',
      'dynamodb:Scan',
      'dynamodb:BatchGetItem',
      'dynamodb:TransactWriteItems',
      'ses:SendEmail',
      'sqs:ReceiveMessage',
    ]) {
      expect(actions).not.toContain(forbidden);
    }
    for (const statement of statements.filter((s) => actionsOf(s).some((a) => a.startsWith('kms:'))))
      expect(statement.Condition?.StringEquals?.['kms:ViaService']).toBeDefined();
  });

  it('may invoke the breaker, read the hash key and park failed record positions, nothing more', () => {
    expect(actionsOf(bySid('TripTheBreaker'))).toEqual(['lambda:InvokeFunction']);
    expect(JSON.stringify(bySid('TripTheBreaker').Resource)).toContain('fan-in-breaker');
    expect(bySid('ReadAddressHashKey').Resource).toEqual({
      Ref: logicalIdOf(template, 'AWS::SecretsManager::Secret', 'DispatcherAddressHashKey'),
    });
    expect(actionsOf(bySid('KeepFailedRecordPositions'))).toEqual(['sqs:SendMessage']);
  });

  it('alarms on RegistryFanIn (and on a record the watch gave up on) to the alarm topic', () => {
    const topic = { Ref: logicalIdOf(template, 'AWS::SNS::Topic', 'FanInBreakerAlarmTopic') };
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: Match.stringLikeRegexp('-RegistryFanIn$'),
      MetricName: 'RegistryFanIn',
      Namespace: 'MailDispatch',
      Dimensions: [{ Name: 'service', Value: 'mail-dispatch' }],
      Threshold: 1,
      AlarmActions: [topic],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: Match.stringLikeRegexp('RegistryWatchFailedRecords'),
      Dimensions: [{ Name: 'QueueName', Value: getAtt('AWS::SQS::Queue', 'RegistryWatchFailedRecords', 'QueueName') }],
      AlarmActions: [topic],
    });
  });
});
