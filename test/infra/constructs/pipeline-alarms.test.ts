import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { PipelineAlarms, type PipelineAlarmsProps } from '../../../lib/constructs/pipeline-alarms';

/**
 * PipelineAlarms alone, in a bare Stack: it takes interfaces (an IFunction, IQueues, an IKey), so
 * the functions and queues are imported by name and nothing is bundled. The built-in CloudFormation
 * schema check is left to the real synth (test/infra/bin).
 */
function build(props: Partial<PipelineAlarmsProps> | ((queue: (name: string) => sqs.IQueue) => Partial<PipelineAlarmsProps>) = {}) {
  const stack = new Stack(new App({ builtinCloudFormationValidation: false }), 'Team', {
    env: { account: '111122223333', region: 'eu-west-1' },
  });
  const queue = (name: string) => sqs.Queue.fromQueueArn(stack, name, `arn:aws:sqs:eu-west-1:111122223333:${name}`);
  const alarms = new PipelineAlarms(stack, 'Alarms', {
    encryptionKey: new kms.Key(stack, 'Key', { enableKeyRotation: true }),
    dispatcher: lambda.Function.fromFunctionName(stack, 'Dispatcher', 'team-dispatcher'),
    breaker: lambda.Function.fromFunctionName(stack, 'Breaker', 'team-breaker'),
    queue: queue('dispatch'),
    deadLetterQueue: queue('dispatch-dlq'),
    ...(typeof props === 'function' ? props(queue) : props),
  });
  return { stack, alarms, template: Template.fromStack(stack) };
}

describe('PipelineAlarms in a bare Stack', () => {
  it('raises FanInSpike with the given threshold and period, into the encrypted TLS-only topic of this stack', () => {
    const { template, alarms, stack } = build({ fanInAlarmThreshold: 2, fanInAlarmPeriod: Duration.minutes(2) });
    const topic = { Ref: stack.getLogicalId(alarms.alarmTopic.node.defaultChild as never) };
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Team-FanInSpike',
      MetricName: 'FanInBlocked',
      Period: 120,
      Threshold: 2,
      AlarmActions: [topic],
      OKActions: [topic],
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Sid: 'AllowThisStacksAlarmsToPublish', Principal: { Service: 'cloudwatch.amazonaws.com' } }),
        ]),
      },
    });
    const [policy] = Object.values(template.findResources('AWS::SNS::TopicPolicy'));
    expect(JSON.stringify(policy.Properties.PolicyDocument)).toContain(':cloudwatch:eu-west-1:111122223333:alarm:Team-*');
  });

  it("alarms on the given function's errors and throttles and on the given queues, in a stable order", () => {
    const { template, alarms } = build((queue) => ({
      watchedDeadLetterQueues: [
        { name: 'FirstFailed', queue: queue('first-failed') },
        { name: 'SecondFailed', queue: queue('second-failed') },
      ],
    }));
    const alarm = (name: string) =>
      Object.values(template.findResources('AWS::CloudWatch::Alarm')).find((a) => a.Properties.AlarmName === `Team-${name}`)?.Properties;
    expect(alarm('DispatcherThrottles')).toMatchObject({ MetricName: 'Throttles', Namespace: 'AWS/Lambda' });
    expect(JSON.stringify(alarm('DispatcherThrottles').Dimensions)).toContain('team-dispatcher');
    expect(alarm('BreakerErrors')).toMatchObject({ MetricName: 'Errors', Namespace: 'AWS/Lambda' });
    expect(JSON.stringify(alarm('BreakerErrors').Dimensions)).toContain('team-breaker');
    expect(alarm('SecondFailed')).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible', Namespace: 'AWS/SQS' });
    expect(JSON.stringify(alarm('SecondFailed').Dimensions)).toContain('second-failed');
    expect(alarms.alarms.map((alarm) => alarm.node.id)).toEqual([
      'FanInSpike',
      'BounceRate',
      'ComplaintRate',
      'SesAccountBounceRate',
      'SesAccountComplaintRate',
      'BlockedSpike',
      'DeadLetterQueueNotEmpty',
      'InDoubt',
      'DispatcherErrors',
      'DispatcherThrottles',
      'OldestMessageAge',
      'BreakerErrors',
      'FirstFailed',
      'SecondFailed',
    ]);
  });

  it('subscribes a pauser to the ALARM transitions of the five pausing alarms only, and on-call to everything', () => {
    const stack = new Stack(new App({ builtinCloudFormationValidation: false }), 'Team');
    const pauser = lambda.Function.fromFunctionArn(stack, 'Pauser', 'arn:aws:lambda:eu-west-1:111122223333:function:team-breaker');
    const alarms = new PipelineAlarms(stack, 'Alarms', {
      encryptionKey: new kms.Key(stack, 'Key'),
      dispatcher: lambda.Function.fromFunctionName(stack, 'Dispatcher', 'team-dispatcher'),
      breaker: pauser,
      queue: sqs.Queue.fromQueueArn(stack, 'Q', 'arn:aws:sqs:eu-west-1:111122223333:q'),
      deadLetterQueue: sqs.Queue.fromQueueArn(stack, 'D', 'arn:aws:sqs:eu-west-1:111122223333:d'),
      alarmEmail: 'oncall@example.org',
    });
    alarms.addPauseSubscriber(pauser);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'lambda',
      FilterPolicyScope: 'MessageBody',
      FilterPolicy: {
        AlarmName: [
          'Team-FanInSpike',
          'Team-BounceRate',
          'Team-ComplaintRate',
          'Team-SesAccountBounceRate',
          'Team-SesAccountComplaintRate',
        ],
        NewStateValue: ['ALARM'],
      },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.org' });
  });

  it('reports every wrong threshold at once, with the rules of lambdas/core/defaults.ts', () => {
    expect(() =>
      build({
        fanInAlarmThreshold: 0,
        fanInAlarmPeriod: Duration.seconds(90),
        reputation: { bounceRatePercent: 6, complaintRatePercent: 0.08, windowSends: 2000 },
      }),
    ).toThrow(
      /^PipelineAlarms Alarms: fanInAlarmThreshold must be an integer from 1 .*; fanInAlarmPeriodSeconds must be a multiple of 60 .*; reputation bounceRatePercent/,
    );
  });
});
