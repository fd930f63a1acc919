import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Env, LedgerKey } from '../../../lambdas/tables';
import { FanInBreaker } from '../../../lib/constructs/fan-in-breaker';
import { actionsOf, statementsOfRole } from '../support/stack-fixture';

const MAPPING_ARN = 'arn:aws:lambda:eu-west-1:111122223333:event-source-mapping:0f7c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b';

/**
 * The breaker alone, in a bare Stack: it takes the ledger as an ITable and the mapping by id and ARN.
 * Its handler is not bundled (`aws:cdk:bundling-stacks` names no stack), nor is the template
 * schema-checked (the real synth does that).
 */
function build() {
  const app = new App({ builtinCloudFormationValidation: false, context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Team', { env: { account: '111122223333', region: 'eu-west-1' } });
  const breaker = new FanInBreaker(stack, 'Breaker', {
    encryptionKey: kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'),
    ledger: dynamodb.Table.fromTableName(stack, 'Ledger', 'team-ledger'),
    eventSourceMappingId: '0f7c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b',
    eventSourceMappingArn: MAPPING_ARN,
  });
  return { stack, breaker, template: Template.fromStack(stack) };
}

describe('FanInBreaker in a bare Stack', () => {
  it('can disable only the given mapping and write only the pause flag of the given ledger, under a fixed name', () => {
    const { template, breaker, stack } = build();
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0].Properties;
    expect(fn.FunctionName).toBe('Team-fan-in-breaker');
    expect(breaker.breakerFunctionName).toBe('Team-fan-in-breaker');
    expect(fn.Environment.Variables).toMatchObject({
      [Env.eventSourceMappingId]: '0f7c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b',
      [Env.ledgerTable]: 'team-ledger',
    });
    const statements = statementsOfRole(template, 'BreakerRole');
    const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
    expect(bySid.DisableOnlyTheDispatcherMapping.Resource).toBe(MAPPING_ARN);
    expect(actionsOf(bySid.WriteOnlyThePauseFlag).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    expect(bySid.WriteOnlyThePauseFlag.Condition).toEqual({
      'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [LedgerKey.pauseFlag] },
    });
    const invoke = stack.resolve(breaker.invokeStatement().toStatementJson());
    expect(invoke).toMatchObject({ Sid: 'TripTheBreaker', Effect: 'Allow', Action: 'lambda:InvokeFunction' });
    expect(JSON.stringify(invoke.Resource)).toContain(':lambda:eu-west-1:111122223333:function:Team-fan-in-breaker"');
  });

  it('refuses a reservation out of range', () => {
    const stack = new Stack(new App(), 'Team');
    expect(
      () =>
        new FanInBreaker(stack, 'Breaker', {
          encryptionKey: new kms.Key(stack, 'Key'),
          ledger: dynamodb.Table.fromTableName(stack, 'Ledger', 'team-ledger'),
          eventSourceMappingId: 'id',
          eventSourceMappingArn: MAPPING_ARN,
          reservedConcurrentExecutions: -1,
        }),
    ).toThrow(/breakerReservedConcurrency must be an integer from 0 to 1000 \(got -1\)/);
  });
});
