import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Env } from '../../../lambdas/tables';
import { Dispatcher } from '../../../lib/constructs/dispatcher';
import { actionsOf, statementsOfRole } from '../support/stack-fixture';

const ARN = 'arn:aws:%s:eu-west-1:111122223333:%s';
const arn = (service: string, resource: string) => ARN.replace('%s', service).replace('%s', resource);

/**
 * The dispatcher alone, in a bare Stack: its queues, tables and key are imported interfaces and its
 * SES names plain values, so it needs no sibling construct. Not bundled, not schema-checked (the
 * real synth does both).
 */
function build() {
  const app = new App({ builtinCloudFormationValidation: false, context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Team', { env: { account: '111122223333', region: 'eu-west-1' } });
  const table = (id: string, name: string) =>
    dynamodb.Table.fromTableArn(stack, id, `arn:aws:dynamodb:eu-west-1:111122223333:table/${name}`);
  const dispatcher = new Dispatcher(stack, 'Dispatcher', {
    encryptionKey: kms.Key.fromKeyArn(stack, 'Key', arn('kms', 'key/1234abcd-12ab-34cd-56ef-1234567890ab')),
    queue: sqs.Queue.fromQueueArn(stack, 'Queue', arn('sqs', 'team-dispatch')),
    deadLetterQueue: sqs.Queue.fromQueueArn(stack, 'DeadLetters', arn('sqs', 'team-dispatch-dlq')),
    maxReceiveCount: 4,
    members: table('Members', 'team-members'),
    ledger: table('Ledger', 'team-ledger'),
    fromAddress: 'no-reply@notices.example.org',
    configurationSetName: 'team-mail',
    templatePrefix: 'team',
    batchSize: 5,
    maxConcurrency: 2,
  });
  return { dispatcher, template: Template.fromStack(stack) };
}

describe('Dispatcher in a bare Stack', () => {
  it('consumes the given queue and tells the handler the given tables, queue and SES names', () => {
    const { template } = build();
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: arn('sqs', 'team-dispatch'),
      BatchSize: 5,
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(fn.Properties.Environment.Variables).toMatchObject({
      [Env.membersTable]: 'team-members',
      [Env.ledgerTable]: 'team-ledger',
      [Env.fromAddress]: 'no-reply@notices.example.org',
      [Env.configurationSet]: 'team-mail',
      [Env.templatePrefix]: 'team',
      [Env.maxReceiveCount]: '4',
    });
  });

  it('grants itself only what it does to what it is given; sending and tripping the breaker are wired by its owner', () => {
    const { template } = build();
    const statements = statementsOfRole(template, 'DispatcherServiceRole');
    const on = (resource: string) =>
      statements
        .filter((s) => JSON.stringify(s.Resource) === JSON.stringify(resource))
        .flatMap(actionsOf)
        .sort();
    expect(on(arn('sqs', 'team-dispatch-dlq'))).toEqual(['sqs:SendMessage']);
    expect(on(arn('dynamodb', 'table/team-members'))).toEqual(['dynamodb:BatchGetItem', 'dynamodb:ConditionCheckItem', 'dynamodb:GetItem']);
    const actions = statements.flatMap(actionsOf);
    expect(actions).not.toContain('ses:SendEmail');
    expect(actions).not.toContain('lambda:InvokeFunction');
  });
});
