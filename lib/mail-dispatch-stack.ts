import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { DispatchQueue } from './constructs/dispatch-queue';
import { Dispatcher } from './constructs/dispatcher';
import { EncryptionKey } from './constructs/encryption-key';
import { FanInBreaker } from './constructs/fan-in-breaker';
import { Feedback } from './constructs/feedback';
import { OutcomeFeed } from './constructs/outcome-feed';
import { MailIdentity } from './constructs/mail-identity';
import { NotForMePage } from './constructs/not-for-me-page';
import { Env } from '../lambdas/tables';
import { OperationsDashboard } from './constructs/operations-dashboard';
import { RegistryTables } from './constructs/registry-tables';
import { RegistryWatch } from './constructs/registry-watch';
import { type DeploymentSettings, readSettings } from './settings';
import { StackOutput } from './stack-outputs';

// Re-exported: the stack's outputs are part of its interface; `./stack-outputs` holds them apart
// so that CDK-free code (the ops CLI) can import them.
export { StackOutput } from './stack-outputs';

export interface MailDispatchStackProps extends StackProps {
  /** Settings that win over CDK context (tests). @default - context, then DEFAULT_SETTINGS */
  readonly settings?: Partial<DeploymentSettings>;
}

/** The whole pipeline: the constructs composed, nothing else. Settings come from context (see lib/settings.ts). */
export class MailDispatchStack extends Stack {
  public readonly settings: DeploymentSettings;

  constructor(scope: Construct, id: string, props: MailDispatchStackProps = {}) {
    super(scope, id, props);
    const settings = (this.settings = readSettings(this.node, props.settings));
    const { key: encryptionKey } = new EncryptionKey(this, 'EncryptionKey');

    const queue = new DispatchQueue(this, 'DispatchQueue', {
      encryptionKey,
      maxReceiveCount: settings.maxReceiveCount,
      retentionPeriod: Duration.days(settings.queueRetentionDays),
      deadLetterRetentionPeriod: Duration.days(settings.deadLetterRetentionDays),
      // AWS: at least six function timeouts plus the batching window. The dispatcher relies on it:
      // a message received again means its earlier invocation is over (its claim is abandoned).
      visibilityTimeout: Duration.seconds(Dispatcher.TIMEOUT.toSeconds() * 6 + settings.maxBatchingWindowSeconds),
    });
    // The portal's roles belong to the portal's setup: imported unchanged, so their grants land on
    // the queue policy and the key policy. That alone authorizes a role of this account; a role of
    // another account also needs the same rights in its own IAM policy.
    settings.publisherRoleArns.forEach((arn, index) =>
      queue.grantPublish(iam.Role.fromRoleArn(this, `PublisherRole${index + 1}`, arn, { mutable: false, addGrantsToResources: true })),
    );
    const tables = new RegistryTables(this, 'Registry', { encryptionKey, enableBackupPlan: settings.enableBackupPlan });
    const mail = new MailIdentity(this, 'Mail', {
      encryptionKey,
      fromAddress: settings.fromAddress,
      createEmailIdentity: settings.createEmailIdentity,
    });
    const dispatcher = new Dispatcher(this, 'Dispatcher', {
      encryptionKey,
      queue,
      tables,
      mail,
      fanInLimit: settings.fanInLimit,
      fanInWindowSeconds: settings.fanInWindowSeconds,
      batchSize: settings.batchSize,
      maxBatchingWindow: Duration.seconds(settings.maxBatchingWindowSeconds),
      maxConcurrency: settings.maxConcurrency,
      reservedConcurrentExecutions: settings.dispatcherReservedConcurrency,
      maxSendRatePerSecond: settings.maxSendRatePerSecond,
    });
    const reputation = {
      bounceRatePercent: settings.reputationBounceRatePercent,
      complaintRatePercent: settings.reputationComplaintRatePercent,
      windowSends: settings.reputationWindowSends,
    };
    const feedback = new Feedback(this, 'Feedback', {
      encryptionKey,
      tables,
      mail,
      reservedConcurrentExecutions: settings.feedbackReservedConcurrency,
      transientBounceLimit: settings.transientBounceLimit,
      reputation,
    });
    const outcomes = new OutcomeFeed(this, 'Outcomes', {
      encryptionKey,
      ledger: tables.ledger,
      subscriberArns: settings.outcomeSubscriberArns,
    });
    const breaker = new FanInBreaker(this, 'FanInBreaker', {
      encryptionKey,
      dispatcher,
      queue,
      ledger: tables.ledger,
      fanInAlarmThreshold: settings.fanInAlarmThreshold,
      reputation,
      fanInAlarmPeriod: Duration.seconds(settings.fanInAlarmPeriodSeconds),
      reservedConcurrentExecutions: settings.breakerReservedConcurrency,
      watchedDeadLetterQueues: [
        { name: 'FeedbackFailedInvocations', queue: feedback.service.failureQueue! },
        // A poison ledger record the publisher gave up on: its events are in the ledger, not on the bus.
        { name: 'OutcomeFeedFailedRecords', queue: outcomes.failedRecords },
      ],
      alarmEmail: settings.alarmEmail || undefined,
    });
    // The page trips the breaker by its fixed name and pages through the alarm topic; the
    // dispatcher links every e-mail to the page with the page's key.
    const notForMe = new NotForMePage(this, 'NotForMe', {
      encryptionKey,
      members: tables.members,
      ledger: tables.ledger,
      breakerFunctionName: breaker.breakerFunctionName,
      alarmTopic: breaker.alarmTopic,
    });
    // Every registry write, guarded or raw, counted per mailbox; past the limit it pauses and pages.
    const watch = new RegistryWatch(this, 'RegistryWatch', {
      encryptionKey,
      members: tables.members,
      ledger: tables.ledger,
      addressHashSecret: dispatcher.addressHashSecret,
      fanInLimit: settings.fanInLimit,
      breakerFunctionName: breaker.breakerFunctionName,
      alarmTopic: breaker.alarmTopic,
    });
    dispatcher.service.function.addEnvironment(Env.reportPageUrl, notForMe.functionUrl.url);
    dispatcher.service.function.addEnvironment(Env.reportLinkSecretArn, notForMe.linkKeySecret.secretArn);
    dispatcher.service.allow(notForMe.readLinkKeyStatement());
    const { dashboard } = new OperationsDashboard(this, 'Operations', {
      dispatcher: dispatcher.service.function,
      eventSourceMappingId: dispatcher.eventSource.eventSourceMappingId,
      queue: queue.queue,
      deadLetterQueue: queue.deadLetterQueue,
      alarms: [...breaker.alarms, notForMe.reportedAlarm, watch.fanInAlarm, watch.failedRecordsAlarm],
      fanInLimit: settings.fanInLimit,
      maxSendRatePerSecond: settings.maxSendRatePerSecond,
    });

    const output = (name: string, value: string, description: string) => new CfnOutput(this, name, { value, description });
    output(StackOutput.queueUrl, queue.queue.queueUrl, 'Dispatch queue URL (the portal publishes here)');
    output(StackOutput.deadLetterQueueUrl, queue.deadLetterQueue.queueUrl, 'Dead-letter queue URL');
    output(StackOutput.membersTableName, tables.members.tableName, 'Member registry table');
    output(StackOutput.ledgerTableName, tables.ledger.tableName, 'Dispatch ledger table');
    output(
      StackOutput.eventSourceMappingId,
      dispatcher.eventSource.eventSourceMappingId,
      'Dispatcher event source mapping (disabled = paused)',
    );
    output(StackOutput.alarmTopicArn, breaker.alarmTopic.topicArn, 'Alarm topic (subscribe on-call here)');
    output(StackOutput.dashboardName, dashboard.dashboardName, 'CloudWatch operations dashboard');
    output(StackOutput.addressHashSecretArn, dispatcher.addressHashSecret.secretArn, 'Address-hash key (ops audit --address)');
    output(StackOutput.fanInAlarmName, breaker.fanInAlarm.alarmName, 'The alarm that pauses the queue');
    output(
      StackOutput.fanInLimit,
      String(settings.fanInLimit),
      'Distinct members allowed per address per window (the registry guard uses it too)',
    );
    output(StackOutput.configurationSetName, mail.configurationSet.configurationSetName, 'SES configuration set');
    output(StackOutput.notForMePageUrl, notForMe.functionUrl.url, 'The "not for me" page (every e-mail links to it)');
    output(
      StackOutput.outcomeBusArn,
      outcomes.bus.eventBusArn,
      'The outcome feed (source mail-dispatch, detail-type Dispatch Outcome): add rules to it for the portal',
    );
    output(
      StackOutput.encryptionKeyArn,
      encryptionKey.keyArn,
      'The CMK of the queues, tables and topics (a publisher needs kms:GenerateDataKey and kms:Decrypt on it)',
    );
  }
}
