import { Duration, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, HIPAASecurityChecks } from 'cdk-nag';
import { DEAD_LETTER_READ_ATTRIBUTES } from '../../../lambdas/adapters/dynamodb-dead-letter-ledger';
import { Env, TABLE_ACCESS } from '../../../lambdas/tables';
import { DlqWatch } from '../../../lib/constructs/dlq-watch';
import { actionsOf, allActions, bareStack, logicalIdOf, type Statement, statementsOfRole } from '../support/stack-fixture';

/** The DLQ watch in a bare stack: its DLQ, ledger and key are plain interfaces, as the composition hands them over. */
function synth() {
  const { app, stack, key } = bareStack({ account: '111122223333', region: 'eu-west-1' });
  const deadLetterQueue = new sqs.Queue(stack, 'DeadLetters', {
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: key,
    enforceSSL: true,
  });
  const ledger = new dynamodb.Table(stack, 'Ledger', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
    encryptionKey: key,
  });
  const alarmTopic = new sns.Topic(stack, 'Alarms', { masterKey: key });
  const watch = new DlqWatch(stack, 'DlqWatch', {
    encryptionKey: key,
    deadLetterQueue,
    ledger,
    claimLeaseSeconds: 90,
    alarmTopic,
    schedule: Duration.minutes(5),
  });
  return { app, stack, watch, template: Template.fromStack(stack) };
}

describe('DlqWatch (issue 14)', () => {
  const { app, stack, template } = synth();
  const statements = statementsOfRole(template, 'DlqWatchServiceRole');
  const getAtt = (type: string, prefix: string, attribute: string) => ({ 'Fn::GetAtt': [logicalIdOf(template, type, prefix), attribute] });
  const bySid = (sid: string) => {
    const found = statements.filter((s) => s.Sid === sid);
    expect(found).toHaveLength(1);
    return found[0] as Statement & { Condition: Record<string, Record<string, unknown>> };
  };

  it('runs the watch on a schedule, with the DLQ, the ledger and the lease in its environment', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)', State: 'ENABLED' });
    const fn = template.findResources('AWS::Lambda::Function')[logicalIdOf(template, 'AWS::Lambda::Function', 'DlqWatchServiceFunction')];
    const env = fn.Properties.Environment.Variables;
    expect(env[Env.deadLetterQueueUrl]).toEqual({ Ref: logicalIdOf(template, 'AWS::SQS::Queue', 'DeadLetters') });
    expect(env[Env.ledgerTable]).toEqual({ Ref: logicalIdOf(template, 'AWS::DynamoDB::Table', 'Ledger') });
    expect(env[Env.claimLeaseSeconds]).toBe('90');
  });

  it('may peek the DLQ but never delete from it or send to it (moving messages is ops redrive’s)', () => {
    const peek = bySid('PeekTheDeadLetterQueue');
    expect(peek.Resource).toEqual(getAtt('AWS::SQS::Queue', 'DeadLetters', 'Arn'));
    expect(actionsOf(peek).sort()).toEqual(['sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage']);
    const onDlq = allActions(statements.filter((s) => JSON.stringify(s.Resource) === JSON.stringify(peek.Resource)));
    expect(onDlq.sort()).toEqual(actionsOf(peek).sort());
    expect(allActions(statements)).not.toContain('sqs:DeleteMessage');
    expect(allActions(statements).some((a) => a.endsWith('*'))).toBe(false);
  });

  it('reads and updates only dispatch and rejected records, only the listed attributes (never toHash), never deletes or puts', () => {
    const read = bySid('ReadDeadLetteredRecords');
    expect(actionsOf(read)).toEqual(['dynamodb:GetItem']);
    expect(read.Condition['ForAllValues:StringEquals']['dynamodb:Attributes']).toEqual([...DEAD_LETTER_READ_ATTRIBUTES]);
    expect(read.Condition.StringEqualsIfExists['dynamodb:Select']).toBe('SPECIFIC_ATTRIBUTES');
    const write = bySid('RecordDeadLetteredEnds');
    expect(actionsOf(write)).toEqual(['dynamodb:UpdateItem']);
    expect(write.Condition['ForAllValues:StringEquals']['dynamodb:Attributes']).toEqual([...TABLE_ACCESS.dlqWatch.ledgerAttributes]);
    for (const statement of [read, write]) {
      expect(statement.Resource).toEqual(getAtt('AWS::DynamoDB::Table', 'Ledger', 'Arn'));
      expect(statement.Condition['ForAllValues:StringNotLike']['dynamodb:LeadingKeys']).toEqual([
        ...TABLE_ACCESS.dlqWatch.ledgerDeniedKeys,
      ]);
    }
    expect(TABLE_ACCESS.dlqWatch.ledgerDeniedKeys).toEqual(expect.arrayContaining(['control#*', 'registry#*', 'fanin#*']));
    expect(TABLE_ACCESS.dlqWatch.ledgerDeniedKeys.some((k) => k.startsWith('rejected#'))).toBe(false);
    for (const forbidden of ['toHash', 'sesMessageId', 'sentAt', 'seen', 'paused'])
      expect(TABLE_ACCESS.dlqWatch.ledgerAttributes as readonly string[]).not.toContain(forbidden);
    const all = allActions(statements);
    for (const forbidden of ['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:BatchWriteItem'])
      expect(all).not.toContain(forbidden);
  });

  it('uses the key only through DynamoDB and SQS', () => {
    const kms = bySid('UseKeyThroughDynamoDbAndSqs');
    expect(kms.Condition.StringEquals['kms:ViaService']).toEqual(['dynamodb.eu-west-1.amazonaws.com', 'sqs.eu-west-1.amazonaws.com']);
  });

  it('pages on-call when a sweep fails (an error, or an async invocation given up), and when it recovers', () => {
    const alarm =
      template.findResources('AWS::CloudWatch::Alarm')[logicalIdOf(template, 'AWS::CloudWatch::Alarm', 'DlqWatchDlqWatchErrors')];
    expect(alarm.Properties.AlarmName).toEqual(expect.stringContaining('DlqWatchErrors'));
    const topic = { Ref: logicalIdOf(template, 'AWS::SNS::Topic', 'Alarms') };
    expect(alarm.Properties.AlarmActions).toEqual([topic]);
    expect(alarm.Properties.OKActions).toEqual([topic]);
    const metrics = JSON.stringify(alarm.Properties.Metrics);
    expect(metrics).toContain('Errors');
    expect(metrics).toContain('ApproximateNumberOfMessagesVisible');
  });

  it('refuses a schedule under a minute', () => {
    const { stack: other, key } = bareStack();
    const q = new sqs.Queue(other, 'Q');
    const t = new dynamodb.Table(other, 'T', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    expect(() => new DlqWatch(other, 'W', { encryptionKey: key, deadLetterQueue: q, ledger: t, schedule: Duration.seconds(30) })).toThrow(
      /at least one minute/,
    );
  });

  it('leaves no unacknowledged cdk-nag finding (AwsSolutions + HIPAA) on the watch', () => {
    const packs = [new AwsSolutionsChecks(app), new HIPAASecurityChecks(app)];
    Validations.of(app).addPlugins(...packs);
    const inWatch = packs.flatMap((pack) =>
      pack
        .validateScope(app)
        .violations.flatMap((v) => v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath ?? '' })))
        .filter((f) => f.path.startsWith(`${stack.node.path}/DlqWatch/`)),
    );
    expect(inWatch).toEqual([]);
  });
});
