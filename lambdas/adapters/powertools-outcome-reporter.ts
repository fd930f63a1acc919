import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { BlockReason, DispatchState, METRIC_NAMESPACE, MetricName } from '../core/outcomes';
import type { OutcomeEvent, OutcomeReporter } from '../ports';

export interface PowertoolsOutcomeReporterOptions {
  /** @default a Logger for service `mail-dispatch` */
  readonly logger?: Logger;
  /** @default Metrics in namespace `MailDispatch` */
  readonly metrics?: Metrics;
}

/**
 * Reports each outcome as one structured log line and EMF metrics. Only identifiers go out:
 * dispatchId, memberId, the keyed address hash, state and reason; never an address or `data`.
 * Reasons become a `Reason` dimension (a fixed, small set of names), never a memberId or hash.
 */
export class PowertoolsOutcomeReporter implements OutcomeReporter {
  private readonly logger: Logger;
  private readonly metrics: Metrics;

  constructor(options: PowertoolsOutcomeReporterOptions = {}) {
    this.logger = options.logger ?? new Logger({ serviceName: 'mail-dispatch' });
    this.metrics = options.metrics ?? new Metrics({ namespace: METRIC_NAMESPACE, serviceName: 'mail-dispatch' });
  }

  report(event: OutcomeEvent): void {
    const { outcome } = event;
    const reason = 'reason' in outcome ? outcome.reason : undefined;
    const line = {
      sqsMessageId: event.sqsMessageId,
      receiveCount: event.receiveCount,
      dispatchId: event.dispatchId,
      memberId: event.memberId,
      toHash: event.toHash,
      template: event.template,
      state: outcome.state,
      reason,
      field: outcome.state === DispatchState.Rejected ? outcome.field : undefined,
      sesMessageId: outcome.state === DispatchState.Sent ? outcome.sesMessageId : undefined,
      error: event.error,
    };
    if (outcome.state === 'retry' || outcome.state === DispatchState.InDoubt || outcome.state === DispatchState.Failed)
      this.logger.warn('dispatch outcome', line);
    else this.logger.info('dispatch outcome', line);

    // Every state is counted under `service` alone (what the dashboard's outcome lines and the
    // InDoubt alarm read) and, when it has a reason, once more with `Reason` (per-reason graphs).
    const metric = METRIC_FOR_STATE[outcome.state];
    this.metrics.addMetric(metric, MetricUnit.Count, 1);
    if (reason) this.countWithReason(metric, reason);
    if (outcome.state === DispatchState.Blocked && outcome.reason === BlockReason.FanInLimit) {
      this.metrics.addMetric(MetricName.FanInBlocked, MetricUnit.Count, 1);
    }
    if (event.fanInCount !== undefined) this.metrics.addMetric(MetricName.MaxMembersPerAddress, MetricUnit.Count, event.fanInCount);
    if (event.pausedPipeline) this.metrics.addMetric(MetricName.PausedByDispatcher, MetricUnit.Count, 1);
  }

  flush(): void {
    this.metrics.publishStoredMetrics();
  }

  private countWithReason(metric: MetricName, reason: string): void {
    const single = this.metrics.singleMetric();
    single.addDimension('Reason', reason);
    single.addMetric(metric, MetricUnit.Count, 1);
  }
}

const METRIC_FOR_STATE: Record<OutcomeEvent['outcome']['state'], MetricName> = {
  [DispatchState.Sent]: MetricName.Sent,
  [DispatchState.Blocked]: MetricName.Blocked,
  [DispatchState.Rejected]: MetricName.Rejected,
  [DispatchState.Duplicate]: MetricName.Duplicate,
  [DispatchState.InDoubt]: MetricName.InDoubt,
  [DispatchState.Failed]: MetricName.Failed,
  retry: MetricName.Retried,
};
