import type { DynamoDBStreamEvent } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { EventBridgeOutcomeFeed } from '../adapters/eventbridge-outcome-feed';
import { METRIC_NAMESPACE, MetricName } from '../core/outcomes';
import type { OutcomeFeed } from '../ports';
import { lambdaEntry, requiredEnv } from '../handler-kit';
import { Env } from '../tables';
import { publishLedgerChanges, type PublishCounts } from './publish-ledger-changes';

export interface OutcomePublisherDeps {
  readonly feed: OutcomeFeed;
  /** @default EMF through Powertools Metrics */
  readonly onCounts?: (counts: PublishCounts) => void;
  readonly logger?: Pick<Logger, 'info' | 'warn'>;
}

/**
 * The outbox's publisher: the ledger table's stream → one event per change of a dispatch record
 * on the outcome bus. Reports the first record it could not publish as the batch item failure.
 */
export function createOutcomePublisherHandler(deps: OutcomePublisherDeps) {
  const logger = deps.logger ?? new Logger({ serviceName: 'mail-dispatch-outcome-publisher' });
  const onCounts = deps.onCounts ?? powertoolsCounts();
  return async (event: DynamoDBStreamEvent) => {
    const response = await publishLedgerChanges(event.Records ?? [], { feed: deps.feed, onCounts });
    const failed = response.batchItemFailures[0]?.itemIdentifier;
    if (failed)
      logger.warn('outcome events refused by the bus: the batch is retried from this record', {
        sequenceNumber: failed,
        records: event.Records.length,
      });
    return response;
  };
}

function powertoolsCounts(): (counts: PublishCounts) => void {
  const metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: 'mail-dispatch-outcome-publisher' });
  return ({ published, unmapped }) => {
    metrics.addMetric(MetricName.OutcomeEventsPublished, MetricUnit.Count, published);
    metrics.addMetric(MetricName.OutcomeRecordsUnmapped, MetricUnit.Count, unmapped);
    metrics.publishStoredMetrics();
  };
}

export const handler = lambdaEntry(() =>
  createOutcomePublisherHandler({ feed: new EventBridgeOutcomeFeed({ eventBusName: requiredEnv(Env.outcomeBusName) }) }),
);
