import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULTS, rangeProblems, relatedSettingProblems } from '../../lambdas/core/defaults';
import { BlockReason, METRIC_NAMESPACE, MetricName } from '../../lambdas/core/outcomes';
import {
  checkReputationSettings,
  REPUTATION_DEFAULTS,
  type ReputationAlarm,
  ReputationRate,
  type ReputationSettings,
} from '../../lambdas/core/reputation';
import { dispatchMetric } from '../dispatch-metrics';

/** A dead-letter queue whose first message pages on-call; `name` is the alarm's short name. */
export interface WatchedQueue {
  readonly name: string;
  readonly queue: sqs.IQueue;
}

export interface PipelineAlarmsProps {
  /** The key of the alarm topic (its key policy lets CloudWatch alarms use it, see EncryptionKey). */
  readonly encryptionKey: kms.IKey;
  /** The dispatcher function (`DispatcherErrors`, `DispatcherThrottles`). */
  readonly dispatcher: lambda.IFunction;
  /** The dispatch queue (`OldestMessageAge`). */
  readonly queue: sqs.IQueue;
  /** The dispatch queue's DLQ (`DeadLetterQueueNotEmpty`). */
  readonly deadLetterQueue: sqs.IQueue;
  /** The breaker function (`BreakerErrors`: a breaker that fails may leave the queue unpaused). */
  readonly breaker: lambda.IFunction;
  /** `FanInBlocked` sum per period that trips `FanInSpike`. @default 1 */
  readonly fanInAlarmThreshold?: number;
  /** A multiple of 60 s: the dispatcher's metrics are standard resolution. @default Duration.seconds(60) */
  readonly fanInAlarmPeriod?: Duration;
  /** Recipient mismatches per 5 minutes that raise `BlockedSpike` (a broken publisher). @default 5 */
  readonly blockedSpikeThreshold?: number;
  /** Age of the oldest queued message that raises `OldestMessageAge`. @default Duration.minutes(15) */
  readonly oldestMessageAgeThreshold?: Duration;
  /** Dead-letter queues whose first message should page (the breaker's, the feedback function's...), in this order. @default [] */
  readonly watchedDeadLetterQueues?: readonly WatchedQueue[];
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
 * The on-call alarms and their topic. `FanInSpike` (the dispatcher's `FanInBlocked` metric) and the
 * reputation guard's four alarms are the pausing ones: {@link PipelineAlarms.addPauseSubscriber}
 * subscribes the breaker to their ALARM transitions. Every other alarm only notifies people. Alarm
 * names are `<stack name>-<short name>`: the topic accepts only this stack's alarms.
 */
export class PipelineAlarms extends Construct {
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
  /** The names of the alarms whose ALARM transition must pause the pipeline. */
  public readonly pausingAlarmNames: readonly string[];

  constructor(scope: Construct, id: string, props: PipelineAlarmsProps) {
    super(scope, id);
    const threshold = props.fanInAlarmThreshold ?? DEFAULTS.fanInAlarmThreshold;
    const period = props.fanInAlarmPeriod ?? Duration.seconds(DEFAULTS.fanInAlarmPeriodSeconds);
    const blockedSpikeThreshold = props.blockedSpikeThreshold ?? DEFAULTS.blockedSpikeThreshold;
    const oldestAge = props.oldestMessageAgeThreshold ?? Duration.minutes(15);
    const fanInAlarmPeriodSeconds = period.toSeconds();
    const reputation = props.reputation ?? REPUTATION_DEFAULTS;
    const problems = [
      ...rangeProblems({ fanInAlarmThreshold: threshold, fanInAlarmPeriodSeconds, blockedSpikeThreshold }),
      ...relatedSettingProblems({ fanInAlarmPeriodSeconds }),
      ...checkReputationSettings(reputation),
    ];
    if (problems.length > 0) throw new Error(`PipelineAlarms ${id}: ${problems.join('; ')}`);

    const stack = Stack.of(this);
    const alarmName = (name: string) => `${stack.stackName}-${name}`;

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
    this.pausingAlarmNames = [fanInAlarmName, ...Object.keys(this.reputationAlarms).map(alarmName)];

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
        metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) }),
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
        metric: props.dispatcher.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
      }),
      DispatcherThrottles: new cloudwatch.Alarm(this, 'DispatcherThrottles', {
        ...atLeastOnce,
        alarmName: alarmName('DispatcherThrottles'),
        alarmDescription:
          "The dispatcher was throttled: the account's unreserved concurrency is exhausted (or a reservation below maxConcurrency). Messages wait in the queue.",
        metric: props.dispatcher.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
      }),
      OldestMessageAge: new cloudwatch.Alarm(this, 'OldestMessageAge', {
        ...atLeastOnce,
        alarmName: alarmName('OldestMessageAge'),
        alarmDescription: 'Messages are waiting too long: the pipeline is paused, throttled or failing.',
        metric: props.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: fiveMinutes }),
        threshold: oldestAge.toSeconds(),
      }),
      BreakerErrors: new cloudwatch.Alarm(this, 'BreakerErrors', {
        ...atLeastOnce,
        alarmName: alarmName('BreakerErrors'),
        alarmDescription: 'The breaker failed: the queue may NOT be paused. Pause by hand: `ops pause --reason ...`.',
        metric: props.breaker.metricErrors({ period: Duration.minutes(1), statistic: 'Sum' }),
      }),
    };
    for (const { name, queue } of props.watchedDeadLetterQueues ?? []) {
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

  /**
   * Subscribes `pauser` (the breaker) to the ALARM transitions of the pausing alarms only: every
   * other notification on the topic is for people.
   */
  public addPauseSubscriber(pauser: lambda.IFunction): void {
    this.alarmTopic.addSubscription(
      new subscriptions.LambdaSubscription(pauser, {
        filterPolicyWithMessageBody: {
          AlarmName: sns.FilterOrPolicy.filter(sns.SubscriptionFilter.stringFilter({ allowlist: [...this.pausingAlarmNames] })),
          NewStateValue: sns.FilterOrPolicy.filter(sns.SubscriptionFilter.stringFilter({ allowlist: ['ALARM'] })),
        },
      }),
    );
  }

  /** Every alarm this construct created, the pausing ones first. */
  public get alarms(): cloudwatch.Alarm[] {
    return [this.fanInAlarm, ...Object.values(this.reputationAlarms), ...Object.values(this.notifyAlarms)];
  }
}
