import { Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { BlockReason, RejectReason } from '../../../lambdas/core/outcomes';
import { logicalIdOf, synthMailDispatch } from '../support/stack-fixture';

describe('OperationsDashboard', () => {
  let template: Template;
  let body: string;

  beforeAll(() => {
    const synth = synthMailDispatch();
    template = synth.template;
    const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0];
    // Resolve the Fn::Join into one string with the tokens spelled as their logical ids.
    body = (Stack.of(synth.stack).resolve(dashboard.Properties.DashboardBody)['Fn::Join'][1] as unknown[])
      .map((part) => (typeof part === 'string' ? part : JSON.stringify(part)))
      .join('');
  });

  it('exists, named after the stack', () => {
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'MailDispatchTest-operations' });
  });

  it('shows the state of every alarm', () => {
    expect(body).toContain('"type":"alarm"');
    for (const id of Object.keys(template.findResources('AWS::CloudWatch::Alarm'))) expect(body).toContain(id);
  });

  it('graphs sends, blocks and rejects by reason, and the fan-in maximum', () => {
    for (const metric of ['"Sent"', '"InDoubt"', '"FanInBlocked"', '"MaxMembersPerAddress"']) expect(body).toContain(metric);
    for (const reason of [...Object.values(BlockReason), ...Object.values(RejectReason)]) expect(body).toContain(`"Reason","${reason}"`);
  });

  it('graphs queue and DLQ depth and whether the mapping polls', () => {
    expect(body).toContain('ApproximateNumberOfMessagesVisible');
    expect(body).toContain(logicalIdOf(template, 'AWS::SQS::Queue', 'DispatchQueueDeadLetterQueue'));
    expect(body).toContain('"EventSourceMappingUUID"');
    expect(body).toContain('PolledEventCount');
  });
});
