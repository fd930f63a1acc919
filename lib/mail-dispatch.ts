import { Duration, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ReputationSettings } from '../lambdas/core/reputation';
import { Env } from '../lambdas/tables';
import { DispatchQueue } from './constructs/dispatch-queue';
import { Dispatcher } from './constructs/dispatcher';
import { EncryptionKey } from './constructs/encryption-key';
import { FanInBreaker } from './constructs/fan-in-breaker';
import { Feedback } from './constructs/feedback';
import { MailIdentity } from './constructs/mail-identity';
import { NotForMePage } from './constructs/not-for-me-page';
import { OperationsDashboard } from './constructs/operations-dashboard';
import { OutcomeFeed } from './constructs/outcome-feed';
import { PipelineAlarms, type WatchedQueue } from './constructs/pipeline-alarms';
import { RegistryTables } from './constructs/registry-tables';
import { RegistryWatch } from './constructs/registry-watch';
import { DlqWatch } from './constructs/dlq-watch';
import { type DeploymentSettings, InvalidSettingsError, resolveSettings, unknownKeys } from './settings';

/**
 * The pipeline's settings, every one optional: each prop is a {@link DeploymentSettings} key (the
 * same names, meanings, ranges and `@default`s as the CDK context keys of our own app, values from
 * lambdas/core/defaults.ts), so a prop documented there is documented here.
 */
export interface MailDispatchProps extends Partial<DeploymentSettings> {}

/**
 * The whole mail-dispatch pipeline as one construct, for any CDK app: the dispatch queue and its DLQ,
 * the member registry and the ledger, the SES configuration set and templates, the dispatcher, the
 * SES feedback loop, the outcome feed, the circuit breaker, the "not for me" page, the registry
 * watch, the on-call alarms and the dashboard, all under one customer-managed key.
 *
 * Its props are checked when it is constructed, every problem in one {@link InvalidSettingsError},
 * with the very rules that check our own app's context (lib/settings.ts), among them that one full
 * batch fits the dispatcher's timeout (issue 12.6).
 *
 * One MailDispatch per stack: the alarms, the breaker, the dashboard and the SES names are named
 * after the stack. Every cross-construct permission, subscription and environment variable is
 * set here, in the constructor's wiring section; the parts themselves take interfaces and plain values.
 *
 * @example
 * const pipeline = new MailDispatch(stack, 'MailDispatch', { fromAddress: 'no-reply@portal.example.org', alarmEmail: 'oncall@example.org' });
 * pipeline.grantPublish(portalRole);
 */
export class MailDispatch extends Construct {
  /** The validated settings, every default filled in. */
  public readonly settings: DeploymentSettings;
  /** The one CMK of the queues, tables, topics, log groups and secrets. */
  public readonly encryptionKey: kms.Key;
  /** The queue the portal publishes to (see {@link MailDispatch.grantPublish}) and its DLQ. */
  public readonly dispatchQueue: DispatchQueue;
  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;
  /** The member registry and the dispatch ledger (and their backup plan). */
  public readonly tables: RegistryTables;
  public readonly members: dynamodb.Table;
  public readonly ledger: dynamodb.Table;
  /** The SES configuration set, its events topic and the templates. */
  public readonly mail: MailIdentity;
  public readonly dispatcher: Dispatcher;
  public readonly feedback: Feedback;
  public readonly outcomes: OutcomeFeed;
  public readonly breaker: FanInBreaker;
  /** The alarm topic (subscribe on-call here) and the alarms that notify it. */
  public readonly alarms: PipelineAlarms;
  public readonly notForMe: NotForMePage;
  public readonly registryWatch: RegistryWatch;
  /** Gives every DLQ message without a recorded end its `failed` record (so its outcome event); deletes nothing. */
  public readonly dlqWatch: DlqWatch;
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MailDispatchProps = {}) {
    super(scope, id);
    // A JavaScript caller (or a spread of a wider object) can pass a prop TypeScript would refuse:
    // a misspelled one would silently leave its setting at the default.
    const unknown = unknownKeys(
      Object.keys(props).filter((key) => (props as Record<string, unknown>)[key] !== undefined),
      'prop',
    );
    if (
      Stack.of(this)
        .node.findAll()
        .some((other) => other !== this && other instanceof MailDispatch)
    ) {
      unknown.push(`${Stack.of(this).stackName} already has a MailDispatch: its alarms, breaker and SES names are the stack's`);
    }
    const settings = (this.settings = resolveSettings(props, unknown, 'MailDispatch props'));

    // The parts.
    const key = (this.encryptionKey = new EncryptionKey(this, 'EncryptionKey').key);
    const queue = (this.dispatchQueue = new DispatchQueue(this, 'DispatchQueue', {
      encryptionKey: key,
      maxReceiveCount: settings.maxReceiveCount,
      retentionPeriod: Duration.days(settings.queueRetentionDays),
      deadLetterRetentionPeriod: Duration.days(settings.deadLetterRetentionDays),
      // AWS: at least six function timeouts plus the batching window. The dispatcher relies on it:
      // a message received again means its earlier invocation is over (its claim is abandoned).
      visibilityTimeout: Duration.seconds(Dispatcher.TIMEOUT.toSeconds() * 6 + settings.maxBatchingWindowSeconds),
    }));
    this.queue = queue.queue;
    this.deadLetterQueue = queue.deadLetterQueue;
    // The portal's roles belong to the portal's setup: imported unchanged, so their grants land on
    // the queue policy and the key policy. That alone authorizes a role of this account; a role of
    // another account also needs the same rights in its own IAM policy.
    settings.publisherRoleArns.forEach((arn, index) =>
      this.grantPublish(iam.Role.fromRoleArn(this, `PublisherRole${index + 1}`, arn, { mutable: false, addGrantsToResources: true })),
    );
    const tables = (this.tables = new RegistryTables(this, 'Registry', {
      encryptionKey: key,
      enableBackupPlan: settings.enableBackupPlan,
    }));
    const { members, ledger } = tables;
    this.members = members;
    this.ledger = ledger;
    const mail = (this.mail = new MailIdentity(this, 'Mail', {
      encryptionKey: key,
      fromAddress: settings.fromAddress,
      createEmailIdentity: settings.createEmailIdentity,
    }));
    const configurationSetName = mail.configurationSet.configurationSetName;
    const dispatcher = (this.dispatcher = new Dispatcher(this, 'Dispatcher', {
      encryptionKey: key,
      queue: queue.queue,
      deadLetterQueue: queue.deadLetterQueue,
      maxReceiveCount: queue.maxReceiveCount,
      members,
      ledger,
      fromAddress: mail.fromAddress,
      configurationSetName,
      templatePrefix: mail.templatePrefix,
      fanInLimit: settings.fanInLimit,
      fanInWindowSeconds: settings.fanInWindowSeconds,
      batchSize: settings.batchSize,
      maxBatchingWindow: Duration.seconds(settings.maxBatchingWindowSeconds),
      maxConcurrency: settings.maxConcurrency,
      reservedConcurrentExecutions: settings.dispatcherReservedConcurrency,
      maxSendRatePerSecond: settings.maxSendRatePerSecond,
    }));
    // The dispatcher may send only as the configured address, through this configuration set and templates.
    dispatcher.service.allow(mail.sendStatement());
    const reputation: ReputationSettings = {
      bounceRatePercent: settings.reputationBounceRatePercent,
      complaintRatePercent: settings.reputationComplaintRatePercent,
      windowSends: settings.reputationWindowSends,
    };
    const feedback = (this.feedback = new Feedback(this, 'Feedback', {
      encryptionKey: key,
      members,
      ledger,
      configurationSetName,
      reservedConcurrentExecutions: settings.feedbackReservedConcurrency,
      transientBounceLimit: settings.transientBounceLimit,
      reputation,
    }));
    // SES's events (send, delivery, bounce, complaint...) reach the feedback function.
    mail.eventsTopic.addSubscription(new subscriptions.LambdaSubscription(feedback.service.function));
    const outcomes = (this.outcomes = new OutcomeFeed(this, 'Outcomes', {
      encryptionKey: key,
      ledger,
      subscriberArns: settings.outcomeSubscriberArns,
    }));

    // The alarms and the breaker were one construct, `FanInBreaker`: both keep their resources under
    // that path (the alarms' construct id is the hidden `Default`), so no logical id changes. The
    // alarms and the breaker function have fixed names: a new logical id would clash on deploy.
    const onCall = new Construct(this, 'FanInBreaker');
    const breaker = (this.breaker = new FanInBreaker(onCall, 'Breaker', {
      encryptionKey: key,
      ledger,
      eventSourceMappingId: dispatcher.eventSource.eventSourceMappingId,
      eventSourceMappingArn: dispatcher.eventSource.eventSourceMappingArn,
      reservedConcurrentExecutions: settings.breakerReservedConcurrency,
    }));
    // The dispatcher trips the breaker itself the moment it pauses (lambdas/adapters/lambda-breaker-trigger.ts):
    // the alarm can take a period to fire, and one already in ALARM never notifies again.
    dispatcher.service.function.addEnvironment(Env.breakerFunctionName, breaker.breakerFunctionName);
    dispatcher.service.allow(breaker.invokeStatement());
    // Every dead-letter queue of the pipeline's asynchronous parts pages on its first message. A new
    // part with a DLQ adds it here.
    const watchedDeadLetterQueues: WatchedQueue[] = [
      { name: 'BreakerFailedInvocations', queue: breaker.failureQueue! },
      { name: 'FeedbackFailedInvocations', queue: feedback.service.failureQueue! },
      // A poison ledger record the publisher gave up on: its events are in the ledger, not on the bus.
      { name: 'OutcomeFeedFailedRecords', queue: outcomes.failedRecords },
    ];
    const alarms = (this.alarms = new PipelineAlarms(onCall, 'Default', {
      encryptionKey: key,
      dispatcher: dispatcher.service.function,
      queue: queue.queue,
      deadLetterQueue: queue.deadLetterQueue,
      breaker: breaker.function,
      fanInAlarmThreshold: settings.fanInAlarmThreshold,
      fanInAlarmPeriod: Duration.seconds(settings.fanInAlarmPeriodSeconds),
      reputation,
      watchedDeadLetterQueues,
      alarmEmail: settings.alarmEmail || undefined,
    }));
    // Only FanInSpike and the reputation alarms going into ALARM reach the breaker.
    alarms.addPauseSubscriber(breaker.function);

    // The page trips the breaker by its fixed name and pages through the alarm topic; the
    // dispatcher links every e-mail to the page with the page's key.
    const notForMe = (this.notForMe = new NotForMePage(this, 'NotForMe', {
      encryptionKey: key,
      members,
      ledger,
      breakerFunctionName: breaker.breakerFunctionName,
      alarmTopic: alarms.alarmTopic,
    }));
    // Every registry write, guarded or raw, counted per mailbox; past the limit it pauses and pages.
    const watch = (this.registryWatch = new RegistryWatch(this, 'RegistryWatch', {
      encryptionKey: key,
      members,
      ledger,
      addressHashSecret: dispatcher.addressHashSecret,
      fanInLimit: settings.fanInLimit,
      breakerFunctionName: breaker.breakerFunctionName,
      alarmTopic: alarms.alarmTopic,
    }));
    dispatcher.service.function.addEnvironment(Env.reportPageUrl, notForMe.functionUrl.url);
    dispatcher.service.function.addEnvironment(Env.reportLinkSecretArn, notForMe.linkKeySecret.secretArn);
    dispatcher.service.allow(notForMe.readLinkKeyStatement());

    // Every DLQ message gets a recorded end, so the outcome feed tells the portal; the messages stay for redrive.
    const dlqWatch = (this.dlqWatch = new DlqWatch(this, 'DlqWatch', {
      encryptionKey: key,
      deadLetterQueue: queue.deadLetterQueue,
      ledger,
      claimLeaseSeconds: Dispatcher.CLAIM_LEASE.toSeconds(),
      alarmTopic: alarms.alarmTopic,
    }));
    this.dashboard = new OperationsDashboard(this, 'Operations', {
      dispatcher: dispatcher.service.function,
      eventSourceMappingId: dispatcher.eventSource.eventSourceMappingId,
      queue: queue.queue,
      deadLetterQueue: queue.deadLetterQueue,
      alarms: [...alarms.alarms, notForMe.reportedAlarm, watch.fanInAlarm, watch.failedRecordsAlarm, dlqWatch.errorsAlarm],
      fanInLimit: settings.fanInLimit,
      maxSendRatePerSecond: settings.maxSendRatePerSecond,
    }).dashboard;
  }

  /**
   * Lets `grantee` (the portal's role) publish to the dispatch queue and nothing else (see
   * {@link DispatchQueue.grantPublish}); the `publisherRoleArns` prop does this for roles given by ARN.
   */
  public grantPublish(grantee: iam.IGrantable): iam.Grant {
    return this.dispatchQueue.grantPublish(grantee);
  }
}

// Re-exported: a team's app catches it to print the problems (bin/mail-dispatch.ts does).
export { InvalidSettingsError };
