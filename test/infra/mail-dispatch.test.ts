import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Env } from '../../lambdas/tables';
import { InvalidSettingsError, MailDispatch, type MailDispatchProps } from '../../lib/mail-dispatch';
import { DEFAULT_SETTINGS } from '../../lib/settings';
import { actionsOf, logicalIdOf, statementsOfRole } from './support/stack-fixture';

/**
 * A bare stack whose assets are not bundled: `aws:cdk:bundling-stacks` set to no stack makes every
 * NodejsFunction skip esbuild (the template is the same, only the code asset is left unbuilt). The
 * built-in CloudFormation schema check (a WebAssembly linter, ~10 s for this template) is left to
 * the real synth (bin/mail-dispatch.ts, test/infra/bin): these tests assert what the constructs build.
 */
function bareStack(id = 'Team') {
  const app = new App({ builtinCloudFormationValidation: false, context: { 'aws:cdk:bundling-stacks': [] } });
  return new Stack(app, id, { env: { account: '111122223333', region: 'eu-west-1' } });
}

/** The problems MailDispatch reports for `props`, or [] when it accepts them. */
function problemsOf(props: MailDispatchProps): readonly string[] {
  try {
    new MailDispatch(bareStack(), 'MailDispatch', props);
    return [];
  } catch (error) {
    if (error instanceof InvalidSettingsError) return error.problems;
    throw error;
  }
}

describe('MailDispatch in a bare Stack (a team embeds it in its own app)', () => {
  it('builds the whole pipeline with every default, without bundling', () => {
    const started = process.hrtime.bigint();
    const stack = bareStack();
    const pipeline = new MailDispatch(stack, 'MailDispatch');
    const template = Template.fromStack(stack);
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    // About 0.5 s warm on an idle machine, ~2 s the first time in a process (aws-cdk-lib loads its
    // modules lazily); the bound only catches bundling coming back (tens of seconds).
    expect(elapsedMs).toBeLessThan(8_000);
    expect(pipeline.settings).toEqual(DEFAULT_SETTINGS);
    // Dispatcher, feedback, breaker, not-for-me page, outcome publisher, registry watch, DLQ watch (scheduled: no mapping).
    template.resourceCountIs('AWS::Lambda::Function', 7);
    template.resourceCountIs('AWS::DynamoDB::Table', 2);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);
    expect(pipeline.dlqWatch.errorsAlarm).toBeDefined();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'Team-FanInSpike' });
  });

  it('exposes what it created, and grantPublish gives a role of the team the queue and nothing else', () => {
    const stack = bareStack();
    const pipeline = new MailDispatch(stack, 'MailDispatch', { fanInLimit: 4 });
    const portal = new iam.Role(stack, 'Portal', { assumedBy: new iam.AccountRootPrincipal() });
    pipeline.grantPublish(portal);
    const template = Template.fromStack(stack);
    const statements = statementsOfRole(template, 'Portal');
    expect(statements.flatMap(actionsOf).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey', 'sqs:SendMessage']);
    expect(pipeline.settings.fanInLimit).toBe(4);
    expect(stack.resolve(pipeline.alarms.fanInAlarm.alarmName)).toEqual({
      Ref: logicalIdOf(template, 'AWS::CloudWatch::Alarm', /FanInSpike/),
    });
  });

  it("wires the parts in one place: the dispatcher trips the breaker by name and links to the page with the page's key", () => {
    const stack = bareStack();
    new MailDispatch(stack, 'MailDispatch');
    const template = Template.fromStack(stack);
    const dispatcherId = logicalIdOf(template, 'AWS::Lambda::Function', /^MailDispatchDispatcherServiceFunction/);
    const env = template.findResources('AWS::Lambda::Function')[dispatcherId].Properties.Environment.Variables;
    expect(env[Env.breakerFunctionName]).toBe('Team-fan-in-breaker');
    expect(env[Env.reportPageUrl]).toBeDefined();
    const sids = statementsOfRole(template, 'MailDispatchDispatcherServiceRole').map((s) => s.Sid);
    expect(sids).toEqual(expect.arrayContaining(['SendOnlyFromTheConfiguredAddress', 'TripTheBreaker', 'ReadReportLinkKey']));
    // SES events reach the feedback function; only the pausing alarms reach the breaker.
    template.resourcePropertiesCountIs('AWS::SNS::Subscription', { Protocol: 'lambda' }, 2);
  });

  describe('its props are checked when it is constructed, every problem at once', () => {
    it('reports range, address and related-settings problems together in one error', () => {
      const problems = problemsOf({
        fanInLimit: 0,
        fromAddress: 'not an address',
        queueRetentionDays: 10,
        deadLetterRetentionDays: 5,
        publisherRoleArns: ['arn:aws:iam::111122223333:user/someone'],
      });
      expect(problems).toEqual([
        expect.stringMatching(/^fanInLimit must be an integer from 1 to 1000 \(got 0\)/),
        expect.stringMatching(/^fromAddress must be one bare e-mail address/),
        expect.stringMatching(/^publisherRoleArns must be IAM role ARNs/),
        expect.stringMatching(/^deadLetterRetentionDays \(5\) must exceed queueRetentionDays \(10\)/),
      ]);
    });

    it('12.6: refuses a batch that cannot finish in the function timeout (the SES sandbox rate with the default batch)', () => {
      expect(problemsOf({ maxSendRatePerSecond: 1 })).toEqual([
        expect.stringMatching(/^one batch cannot finish in the dispatcher's 30 s timeout: batchSize \(10\) × maxConcurrency \(10\)/),
      ]);
      expect(problemsOf({ maxSendRatePerSecond: 1, maxConcurrency: 2, batchSize: 5 })).toEqual([]);
    });

    it('names the source of the settings and reports a misspelled prop a JavaScript caller could pass', () => {
      const props = { fanInLimt: 5, maxReceiveCount: 0 } as MailDispatchProps;
      expect(() => new MailDispatch(bareStack(), 'MailDispatch', props)).toThrow(
        /^Invalid MailDispatch props: unknown prop fanInLimt: did you mean fanInLimit\?; maxReceiveCount must be an integer/,
      );
    });

    it('refuses a second MailDispatch in one stack (its alarm, breaker and SES names are the stack name)', () => {
      const stack = bareStack();
      new MailDispatch(stack, 'One');
      expect(() => new MailDispatch(stack, 'Two')).toThrow(/Team already has a MailDispatch/);
    });
  });
});
