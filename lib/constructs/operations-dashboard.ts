import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULTS } from '../../lambdas/core/defaults';
import { BlockReason, MetricName, RejectReason } from '../../lambdas/core/outcomes';
import { dispatchMetric } from '../dispatch-metrics';

export interface OperationsDashboardProps {
  readonly dispatcher: lambda.IFunction;
  /** UUID of the dispatcher's event source mapping (its per-mapping metrics show a pause). */
  readonly eventSourceMappingId: string;
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  /** Shown in the alarm status widget, in this order. */
  readonly alarms: readonly cloudwatch.IAlarm[];
  /** Drawn as a limit line on the fan-in graph. @default 3 */
  readonly fanInLimit?: number;
  /** Drawn as a limit line on the sends graph (per minute). @default 14 */
  readonly maxSendRatePerSecond?: number;
  /** @default `${stackName}-operations` */
  readonly dashboardName?: string;
}

/**
 * What on-call looks at first: alarm states, outcomes by state and reason, fan-in, queue and DLQ
 * depth, and whether the event source mapping is polling at all (it stops when paused).
 */
export class OperationsDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    const fanInLimit = props.fanInLimit ?? DEFAULTS.fanInLimit;
    const maxSendRate = props.maxSendRatePerSecond ?? DEFAULTS.maxSendRatePerSecond;
    const minute = Duration.minutes(1);
    const width = 12;
    const graph = (title: string, left: cloudwatch.IMetric[], extra: Partial<cloudwatch.GraphWidgetProps> = {}) =>
      new cloudwatch.GraphWidget({ title, left, width, height: 6, period: minute, ...extra });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? `${Stack.of(this).stackName}-operations`,
      defaultInterval: Duration.hours(3),
    });

    const mappingMetric = (metricName: string, label: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/Lambda',
        metricName,
        dimensionsMap: { EventSourceMappingUUID: props.eventSourceMappingId },
        statistic: 'Sum',
        period: minute,
        label,
      });

    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms (FanInSpike pauses the queue)', alarms: [...props.alarms], width: 24, height: 4 }),
    );
    this.dashboard.addWidgets(
      graph(
        'Outcomes per minute',
        [
          dispatchMetric(MetricName.Sent),
          dispatchMetric(MetricName.Duplicate),
          dispatchMetric(MetricName.InDoubt),
          dispatchMetric(MetricName.Failed),
          dispatchMetric(MetricName.Retried),
        ],
        { leftAnnotations: [{ value: maxSendRate * 60, label: 'SES quota (per minute)', color: cloudwatch.Color.RED }] },
      ),
      graph(
        'Is the mapping polling? (0 polled while messages wait = paused)',
        [
          mappingMetric('PolledEventCount', 'Polled'),
          mappingMetric('InvokedEventCount', 'Invoked'),
          mappingMetric('FailedInvokeEventCount', 'Failed invoke'),
        ],
        { right: [dispatchMetric(MetricName.PausedByDispatcher, { label: 'Paused by dispatcher' })] },
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'Blocked by reason',
        Object.values(BlockReason).map((reason) => dispatchMetric(MetricName.Blocked, { reason, label: reason })),
      ),
      graph(
        'Rejected by reason',
        Object.values(RejectReason).map((reason) => dispatchMetric(MetricName.Rejected, { reason, label: reason })),
      ),
    );
    this.dashboard.addWidgets(
      graph('Fan-in: most members seen for one address', [dispatchMetric(MetricName.MaxMembersPerAddress, { statistic: 'Maximum' })], {
        right: [dispatchMetric(MetricName.FanInBlocked)],
        leftAnnotations: [{ value: fanInLimit, label: 'fanInLimit', color: cloudwatch.Color.RED }],
      }),
      graph(
        'Queue and DLQ',
        [
          props.queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: minute, label: 'Queue visible' }),
          props.queue.metricApproximateNumberOfMessagesNotVisible({ statistic: 'Maximum', period: minute, label: 'Queue in flight' }),
          props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: minute, label: 'DLQ visible' }),
        ],
        {
          right: [
            props.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: minute, label: 'Oldest message age (s)' }),
          ],
        },
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'Dispatcher function',
        [
          props.dispatcher.metricInvocations({ period: minute }),
          props.dispatcher.metricErrors({ period: minute }),
          props.dispatcher.metricThrottles({ period: minute }),
        ],
        { right: [props.dispatcher.metricDuration({ statistic: 'p99', period: minute })] },
      ),
      new cloudwatch.TextWidget({
        width,
        height: 6,
        markdown: [
          '### Paused?',
          'The breaker disables the event source mapping and sets the pause flag; the dispatcher also sets the flag itself on the first fan-in block.',
          '`npm run ops -- status` shows the mapping state and who paused, when and why.',
          'Resume is deliberate: `npm run ops -- resume` (see docs/runbook.md). Audit: `npm run ops -- audit --since <time>`.',
        ].join('\n\n'),
      }),
    );
  }
}
