import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { MailDispatch, type MailDispatchProps } from './mail-dispatch';
import type { DeploymentSettings } from './settings';
import { StackOutput } from './stack-outputs';

// Re-exported: the stack's outputs are part of its interface; `./stack-outputs` holds them apart
// so that CDK-free code (the ops CLI) can import them.
export { StackOutput } from './stack-outputs';

export interface MailDispatchStackProps extends StackProps {
  /** The pipeline's settings (bin/mail-dispatch.ts parses them from CDK context with lib/settings.ts). @default - every default */
  readonly pipeline?: MailDispatchProps;
}

/**
 * Our own deployment of the pipeline: one {@link MailDispatch} and the outputs the ops CLI, the
 * smoke test and the portal's setup read. It reads no context itself (bin/mail-dispatch.ts does).
 */
export class MailDispatchStack extends Stack {
  public readonly pipeline: MailDispatch;
  /** The pipeline's validated settings. */
  public readonly settings: DeploymentSettings;

  constructor(scope: Construct, id: string, props: MailDispatchStackProps = {}) {
    super(scope, id, props);
    // `Default` is left out of logical ids: every resource keeps the id it had when the stack
    // built the parts itself, so a deployed stack updates in place instead of replacing them.
    const pipeline = (this.pipeline = new MailDispatch(this, 'Default', props.pipeline));
    const settings = (this.settings = pipeline.settings);

    const output = (name: string, value: string, description: string) => new CfnOutput(this, name, { value, description });
    output(StackOutput.queueUrl, pipeline.queue.queueUrl, 'Dispatch queue URL (the portal publishes here)');
    output(StackOutput.deadLetterQueueUrl, pipeline.deadLetterQueue.queueUrl, 'Dead-letter queue URL');
    output(StackOutput.membersTableName, pipeline.members.tableName, 'Member registry table');
    output(StackOutput.ledgerTableName, pipeline.ledger.tableName, 'Dispatch ledger table');
    output(
      StackOutput.eventSourceMappingId,
      pipeline.dispatcher.eventSource.eventSourceMappingId,
      'Dispatcher event source mapping (disabled = paused)',
    );
    output(StackOutput.alarmTopicArn, pipeline.alarms.alarmTopic.topicArn, 'Alarm topic (subscribe on-call here)');
    output(StackOutput.dashboardName, pipeline.dashboard.dashboardName, 'CloudWatch operations dashboard');
    output(StackOutput.addressHashSecretArn, pipeline.dispatcher.addressHashSecret.secretArn, 'Address-hash key (ops audit --address)');
    output(StackOutput.fanInAlarmName, pipeline.alarms.fanInAlarm.alarmName, 'The alarm that pauses the queue');
    output(
      StackOutput.fanInLimit,
      String(settings.fanInLimit),
      'Distinct members allowed per address per window (the registry guard uses it too)',
    );
    output(StackOutput.configurationSetName, pipeline.mail.configurationSet.configurationSetName, 'SES configuration set');
    output(StackOutput.notForMePageUrl, pipeline.notForMe.functionUrl.url, 'The "not for me" page (every e-mail links to it)');
    output(
      StackOutput.outcomeBusArn,
      pipeline.outcomes.bus.eventBusArn,
      'The outcome feed (source mail-dispatch, detail-type Dispatch Outcome): add rules to it for the portal',
    );
    output(
      StackOutput.encryptionKeyArn,
      pipeline.encryptionKey.keyArn,
      'The CMK of the queues, tables and topics (a publisher needs kms:GenerateDataKey and kms:Decrypt on it)',
    );
  }
}
