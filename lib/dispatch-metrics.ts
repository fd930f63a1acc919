import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { METRIC_NAMESPACE, type MetricName } from '../lambdas/core/outcomes';

/**
 * The dispatcher's EMF metrics as CloudWatch sees them. Powertools Metrics always adds a `service`
 * dimension, so every alarm and graph must name it: the stack sets POWERTOOLS_SERVICE_NAME to
 * this value on the dispatcher, and the handler must not override it.
 */
export const METRICS_SERVICE_NAME = 'mail-dispatch';

/** Dimension names the dispatcher emits (beside `service`). */
export const MetricDimension = {
  service: 'service',
  /** On Blocked, Rejected, Failed and Retried: the reason from lambdas/core/outcomes.ts. */
  reason: 'Reason',
} as const;

export interface DispatchMetricOptions {
  /** Only this reason (Blocked, Rejected, Failed, Retried). @default - the metric without a Reason dimension */
  readonly reason?: string;
  /** @default 'Sum' */
  readonly statistic?: string;
  /** @default Duration.minutes(1) */
  readonly period?: Duration;
  /** Graph legend. Leave unset for alarms: a label turns an alarm's metric into a metric-math expression. @default - none */
  readonly label?: string;
}

/** One dispatcher metric in namespace `MailDispatch`. */
export function dispatchMetric(name: MetricName, options: DispatchMetricOptions = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRIC_NAMESPACE,
    metricName: name,
    dimensionsMap: {
      [MetricDimension.service]: METRICS_SERVICE_NAME,
      ...(options.reason === undefined ? {} : { [MetricDimension.reason]: options.reason }),
    },
    statistic: options.statistic ?? 'Sum',
    period: options.period ?? Duration.minutes(1),
    label: options.label,
  });
}
