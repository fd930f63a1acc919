import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { DEFAULTS, rangeProblems, relatedSettingProblems } from '../../lambdas/core/defaults';
import { BlockReason, METRIC_NAMESPACE, MetricName } from '../../lambdas/core/outcomes';
import {
  REPUTATION_DEFAULTS,
  ReputationRate,
  checkReputationSettings,
  type ReputationAlarm,
  type ReputationSettings,
} from '../../lambdas/core/reputation';
import { Env, TABLE_ACCESS } from '../../lambdas/tables';
import { dispatchMetric } from '../dispatch-metrics';
import type { Dispatcher } from './dispatcher';
import type { DispatchQueue } from './dispatch-queue';
import { ServiceFunction } from './service-function';

export interface FanInBreakerProps {
  readonly encryptionKey: kms.IKey;
  readonly dispatcher: Dispatcher;
  readonly queue: DispatchQueue;
  /** The ledger table, which holds the pause flag item. */
  readonly ledger: dynamodb.ITable;
  /** `FanInBlocked` sum per period that trips `FanInSpike`. @default 1 */
  readonly fanInAlarmThreshold?: number;
  /** A multiple of 60 s: the dispatcher's metrics are standard resolution. @default Duration.seconds(60) */
  readonly fanInAlarmPeriod?: Duration;
  /** Reserved concurrency of the breaker; 0 reserves none (the dispatcher pauses by itself first). @default 0 */
  readonly reservedConcurrentExecutions?: number;
  /** Recipient mismatches per 5 minutes that raise `BlockedSpike` (a broken publisher). @default 5 */
  readonly blockedSpikeThreshold?: number;
  /** Age of the oldest queued message that raises `OldestMessageAge`. @default Duration.minutes(15) */
  readonly oldestMessageAgeThreshold?: Duration;
  /** Further dead-letter queues whose first message should page (e.g. the feedback function's). @default [] */
  readonly watchedDeadLetterQueues?: readonly { readonly name: string; readonly queue: sqs.IQueue }[];
  /** On-call address subscribed to the alarm topic. @default - no subscription */
  readonly alarmEmail?: string;
  /**
   * The reputation guard's thresholds: the pipeline's own rates are judged by the feedback
   * function (give it the same settings), SES's account-level ones by the `AWS/SES` alarms here.
   * @default REPUTATION_DEFAULTS (4 % bounces, 0.08 % complaints)
   */
  readonly reputation?: ReputationSettings;
}

/** The feedback function's EMF service dimension (its POWERTOOLS_SERVICE_NAME). */
export const FEEDBACK_METRICS_SERVICE_NAME = 'mail-dispatch-feedback';

/**
 * The circuit breaker and on-call wiring. `FanInSpike` (the dispatcher's `FanInBlocked` metric)
 * notifies the alarm topic; the breaker function, subscribed only to that alarm's ALARM
 * transitions, disables the dispatcher's event source mapping and writes the pause flag. The
 * other alarms only notify. The breaker can touch exactly one mapping and one ledger item.
 */
export class FanInBreaker extends Construct {
  /** Every alarm of the pipeline notifies this (CMK-encrypted, TLS-only) topic. */
  public readonly alarmTopic: sns.Topic;
  public readonly fanInAlarm: cloudwatch.Alarm;
  /** Notify-only alarms, by short name. */
  public readonly notifyAlarms: Readonly<Record<string, cloudwatch.Alarm>>;
  /**
   * The reputation guard's alarms (they pause, as `FanInSpike` does): the pipeline's own rates
   * (`BounceRate`, `ComplaintRate`) and SES's account-level ones (`SesAccountBounceRate`, `SesAccountComplaintRate`).
   */
  public readonly reputationAlarms: Readonly<Record<ReputationAlarm, cloudwatch.Alarm>>;
  public readonly breaker: ServiceFunction;
  /** The breaker's fixed function name: others invoke it by name, never by a reference (which would make a cycle). */
  public readonly breakerFunctionName: string;

  constructor(scope: Construct, id: string, props: FanInBreakerProps) {
    super(scope, id);
    const threshold = props.fanInAlarmThreshold ?? DEFAULTS.fanInAlarmThreshold;
    const period = props.fanInAlarmPeriod ?? Duration.seconds(DEFAULTS.fanInAlarmPeriodSeconds);
    const blockedSpikeThreshold = props.blockedSpikeThreshold ?? DEFAULTS.blockedSpikeThreshold;
    const oldestAge = props.oldestMessageAgeThreshold ?? Duration.minutes(15);
    const fanInAlarmPeriodSeconds = period.toSeconds();
    const reputation = props.reputation ?? REPUTATION_DEFAULTS;
    const problems = [
      ...rangeProblems({ fanInAlarmThreshold: threshold, fanInAlarmPeriodSeconds, blockedSpikeThreshold }),
      ...rangeProblems({ breakerReservedConcurrency: props.reservedConcurrentExecutions }),
      ...relatedSettingProblems({ fanInAlarmPeriodSeconds }),
      ...checkReputationSettings(reputation),
    ];
    if (problems.length > 0) throw new Error(`FanInBreaker ${id}: ${problems.join('; ')}`);

    const stack = Stack.of(this);
    const alarmName = (name: string) => `${stack.stackName}-${name}`;
    const fn = props.dispatcher.service.function;
    const mapping = props.dispatcher.eventSource;

    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'mail-dispatch alarms',
      masterKey: props.encryptionKey,
      enforceSSL: true,
    });
    // enforceSSL replaces SNS's default access policy, so CloudWatch must be allowed explicitly
    // (and only for this stack's alarms in this account).
    this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowThisStacksAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: alarmName('*'),
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    const notify = new actions.SnsAction(this.alarmTopic);

    const fanInAlarmName = alarmName('FanInSpike');
    this.fanInAlarm = new cloudwatch.Alarm(this, 'FanInSpike', {
      alarmName: fanInAlarmName,
      alarmDescription:
        'Messages for more distinct members than fanInLimit went to one address: the 2000 pattern. The breaker has paused the queue (event source mapping disabled, pause flag set). See docs/runbook.md.',
      metric: dispatchMetric(MetricName.FanInBlocked, { period }),
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.fanInAlarm.addAlarmAction(notify);
    this.fanInAlarm.addOkAction(notify);

    // The reputation guard: the feedback function counts sends, hard bounces and complaints over
    // its last sends and emits ReputationBreached at the threshold (lambdas/core/reputation.ts);
    // SES publishes the account's own rates (fractions, not percents) in AWS/SES.
    const reputationAlarm = (name: ReputationAlarm, description: string, metric: cloudwatch.IMetric, threshold: number) =>
      new cloudwatch.Alarm(this, name, {
        alarmName: alarmName(name),
        alarmDescription: `${description} The breaker has paused the queue (pause reason ${name.includes('Bounce') ? 'bounce-rate' : 'complaint-rate'}). See docs/runbook.md.`,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    const breached = (rate: ReputationRate) =>
      new cloudwatch.Metric({
        namespace: METRIC_NAMESPACE,
        metricName: MetricName.ReputationBreached,
        dimensionsMap: { service: FEEDBACK_METRICS_SERVICE_NAME, Rate: rate },
        statistic: 'Sum',
        period: Duration.minutes(1),
      });
    const sesReputation = (metricName: string) =>
      new cloudwatch.Metric({ namespace: 'AWS/SES', metricName, statistic: 'Maximum', period: Duration.minutes(15) });
    this.reputationAlarms = {
      BounceRate: reputationAlarm(
        'BounceRate',
        `The pipeline's own hard-bounce rate over its last ${reputation.windowSends}-${2 * reputation.windowSends} sends reached ${reputation.bounceRatePercent} % (AWS reviews at 5 %).`,
        breached(ReputationRate.Bounce),
        1,
      ),
      ComplaintRate: reputationAlarm(
        'ComplaintRate',
        `The pipeline's own complaint rate over its last ${reputation.windowSends}-${2 * reputation.windowSends} sends reached ${reputation.complaintRatePercent} % (AWS reviews at 0.1 %).`,
        breached(ReputationRate.Complaint),
        1,
      ),
      SesAccountBounceRate: reputationAlarm(
        'SesAccountBounceRate',
        `SES's account-level Reputation.BounceRate reached ${reputation.bounceRatePercent} % (AWS reviews at 5 %, may pause sending at 10 %).`,
        sesReputation('Reputation.BounceRate'),
        reputation.bounceRatePercent / 100,
      ),
      SesAccountComplaintRate: reputationAlarm(
        'SesAccountComplaintRate',
        `SES's account-level Reputation.ComplaintRate reached ${reputation.complaintRatePercent} % (AWS reviews at 0.1 %, may pause sending at 0.5 %).`,
        sesReputation('Reputation.ComplaintRate'),
        reputation.complaintRatePercent / 100,
      ),
    };
    for (const alarm of Object.values(this.reputationAlarms)) {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
    }

    // A fixed name, so the dispatcher can invoke the breaker without a reference: the breaker
    // already depends on the dispatcher's event source mapping, a reference back would be a cycle.
    const breakerName = (this.breakerFunctionName = `${stack.stackName.slice(0, 40)}-fan-in-breaker`);
    this.breaker = new ServiceFunction(this, 'Breaker', {
      entry: 'lambdas/breaker/handler.ts',
      functionName: breakerName,
      description:
        'mail-dispatch: on FanInSpike or a reputation alarm, disables the dispatcher event source mapping and sets the pause flag',
      encryptionKey: props.encryptionKey,
      timeout: Duration.seconds(30),
      memorySize: 256,
      // None reserved by default: the dispatcher sets the pause flag itself before it invokes the
      // breaker, and Lambda retries a throttled asynchronous invocation (SNS, the dispatcher's).
      reservedConcurrentExecutions: props.reservedConcurrentExecutions ?? DEFAULTS.breakerReservedConcurrency,
      unreservedReason:
        'The dispatcher sets the pause flag itself, and checks it before every claim, before it invokes the breaker; a throttled asynchronous invocation is retried by Lambda.',
      asyncFailureQueue: true,
      environment: {
        [Env.ledgerTable]: props.ledger.tableName,
        [Env.eventSourceMappingId]: mapping.eventSourceMappingId,
        POWERTOOLS_SERVICE_NAME: 'mail-dispatch-breaker',
      },
    });
    this.breaker.allow(
      new iam.PolicyStatement({
        sid: 'DisableOnlyTheDispatcherMapping',
        actions: ['lambda:UpdateEventSourceMapping', 'lambda:GetEventSourceMapping'],
        resources: [mapping.eventSourceMappingArn],
      }),
      new iam.PolicyStatement({
        sid: 'WriteOnlyThePauseFlag',
        // The pause switch reads and updates the flag; nothing puts whole items, so no PutItem.
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [props.ledger.tableArn],
        conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [...TABLE_ACCESS.breaker.ledgerKeys] } },
      }),
      new iam.PolicyStatement({
        sid: 'UseKeyThroughDynamoDb',
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: [props.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${stack.region}.amazonaws.com` } },
      }),
    );
    // The dispatcher trips the breaker itself the moment it pauses (lambdas/adapters/lambda-breaker-trigger.ts):
    // the alarm can take a period to fire, and one already in ALARM never notifies again.
    props.dispatcher.service.function.addEnvironment(Env.breakerFunctionName, breakerName);
    props.dispatcher.service.allow(
      new iam.PolicyStatement({
        sid: 'TripTheBreaker',
        actions: ['lambda:InvokeFunction'],
        resources: [
          stack.formatArn({ service: 'lambda', resource: 'function', resourceName: breakerName, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
        ],
      }),
    );
    // Only FanInSpike and the reputation alarms going into ALARM reach the breaker; every other notification is for people.
    const pausing = [fanInAlarmName, ...Object.keys(this.reputationAlarms).map(alarmName)];
    this.alarmTopic.addSubscription(
      new subscriptions.LambdaSubscription(this.breaker.function, {
        filterPolicyWithMessageBody: {
          AlarmName: sns.FilterOrPolicy.filter(sns.SubscriptionFilter.stringFilter({ allowlist: pausing })),
          NewStateValue: sns.FilterOrPolicy.filter(sns.SubscriptionFilter.stringFilter({ allowlist: ['ALARM'] })),
        },
      }),
    );

    const atLeastOnce = {
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    } as const;
    const fiveMinutes = Duration.minutes(5);
    const alarms: Record<string, cloudwatch.Alarm> = {
      BlockedSpike: new cloudwatch.Alarm(this, 'BlockedSpike', {
        ...atLeastOnce,
        alarmName: alarmName('BlockedSpike'),
        alarmDescription:
          'Many messages addressed to someone other than the member: a broken or compromised publisher. Nothing was sent to those addresses.',
        metric: dispatchMetric(MetricName.Blocked, { reason: BlockReason.RecipientMismatch, period: fiveMinutes }),
        threshold: blockedSpikeThreshold,
      }),
      DeadLetterQueueNotEmpty: new cloudwatch.Alarm(this, 'DeadLetterQueueNotEmpty', {
        ...atLeastOnce,
        alarmName: alarmName('DeadLetterQueueNotEmpty'),
        alarmDescription:
          'Messages were rejected or failed after maxReceiveCount tries. Inspect with `ops status`, fix, then `ops redrive`.',
        metric: props.queue.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) }),
      }),
      InDoubt: new cloudwatch.Alarm(this, 'InDoubt', {
        ...atLeastOnce,
        alarmName: alarmName('InDoubt'),
        alarmDescription:
          'A send may or may not have happened (timeout after the request left, or a crash before the outcome was recorded). It will never be re-sent automatically; the SES send event reconciles it.',
        metric: dispatchMetric(MetricName.InDoubt),
      }),
      DispatcherErrors: new cloudwatch.Alarm(this, 'DispatcherErrors', {
        ...atLeastOnce,
        alarmName: alarmName('DispatcherErrors'),
        alarmDescription: 'The dispatcher function failed whole invocations (not single messages).',
        metric: fn.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
      }),
      DispatcherThrottles: new cloudwatch.Alarm(this, 'DispatcherThrottles', {
        ...atLeastOnce,
        alarmName: alarmName('DispatcherThrottles'),
        alarmDescription:
          "The dispatcher was throttled: the account's unreserved concurrency is exhausted (or a reservation below maxConcurrency). Messages wait in the queue.",
        metric: fn.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
      }),
      OldestMessageAge: new cloudwatch.Alarm(this, 'OldestMessageAge', {
        ...atLeastOnce,
        alarmName: alarmName('OldestMessageAge'),
        alarmDescription: 'Messages are waiting too long: the pipeline is paused, throttled or failing.',
        metric: props.queue.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: fiveMinutes }),
        threshold: oldestAge.toSeconds(),
      }),
      BreakerErrors: new cloudwatch.Alarm(this, 'BreakerErrors', {
        ...atLeastOnce,
        alarmName: alarmName('BreakerErrors'),
        alarmDescription: 'The breaker failed: the queue may NOT be paused. Pause by hand: `ops pause --reason ...`.',
        metric: this.breaker.function.metricErrors({ period: Duration.minutes(1), statistic: 'Sum' }),
      }),
    };
    const watched = [{ name: 'BreakerFailedInvocations', queue: this.breaker.failureQueue! }, ...(props.watchedDeadLetterQueues ?? [])];
    for (const { name, queue } of watched) {
      alarms[name] = new cloudwatch.Alarm(this, name, {
        ...atLeastOnce,
        alarmName: alarmName(name),
        alarmDescription: `Asynchronous invocations failed for good and were kept in ${name}'s queue.`,
        metric: queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) }),
      });
    }
    for (const alarm of Object.values(alarms)) {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
    }
    this.notifyAlarms = alarms;

    if (props.alarmEmail) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
  }

  /** Every alarm this construct created, the pausing ones first. */
  public get alarms(): cloudwatch.Alarm[] {
    return [this.fanInAlarm, ...Object.values(this.reputationAlarms), ...Object.values(this.notifyAlarms)];
  }
}
