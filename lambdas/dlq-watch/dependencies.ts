import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbDeadLetterLedger } from '../adapters/dynamodb-dead-letter-ledger';
import { SqsDeadLetterQueue } from '../adapters/sqs-dead-letter-queue';
import { resolveConfig } from '../core/config';
import { METRIC_NAMESPACE } from '../core/outcomes';
import { requiredEnv } from '../handler-kit';
import { Env } from '../tables';
import type { CountMetric, DlqWatchDeps } from './sweep-dead-letters';
import { AWS_CLIENT_CONFIG, createDynamoDbClient } from '../adapters/sdk-clients';

export interface DlqWatchDepsOptions {
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  readonly dynamodb?: DynamoDBClient;
  readonly sqs?: SQSClient;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** @default Powertools Logger (service `mail-dispatch-dlq-watch`) */
  readonly logger?: DlqWatchDeps['logger'];
  /** @default 120 */
  readonly hideSeconds?: number;
  /** @default Powertools EMF, namespace `MailDispatch`, service `mail-dispatch` (what the dispatcher's alarms read) */
  readonly countMetric?: CountMetric;
}

/** Builds the DLQ watch's adapters from the environment the stack (or the local pipeline) sets. */
export function createDlqWatchDeps(options: DlqWatchDepsOptions = {}): DlqWatchDeps {
  const env = options.env ?? process.env;
  const lease = env[Env.claimLeaseSeconds];
  return {
    queue: new SqsDeadLetterQueue({
      deadLetterQueueUrl: requiredEnv(Env.deadLetterQueueUrl, env),
      client: options.sqs ?? new SQSClient(AWS_CLIENT_CONFIG),
    }),
    ledger: new DynamoDbDeadLetterLedger({
      ledgerTable: requiredEnv(Env.ledgerTable, env),
      client: options.dynamodb ?? createDynamoDbClient(),
    }),
    // The dispatcher's own lease and range check (one home for the default).
    claimLeaseSeconds: resolveConfig({ claimLeaseSeconds: lease === undefined || lease === '' ? undefined : Number(lease) })
      .claimLeaseSeconds,
    now: options.now ?? (() => new Date()),
    logger: options.logger ?? new Logger({ serviceName: 'mail-dispatch-dlq-watch' }),
    hideSeconds: options.hideSeconds,
    countMetric: options.countMetric ?? powertoolsDispatchCounter(),
  };
}

/**
 * The dispatcher's metrics as the dispatcher emits them (powertools-outcome-reporter.ts): service
 * `mail-dispatch` (not the watch's own name, or the InDoubt alarm would not see them), and the
 * reason as a separate single metric with a `Reason` dimension.
 */
export function powertoolsDispatchCounter(): CountMetric {
  const metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: 'mail-dispatch' });
  return (name, count, reason) => {
    if (reason) {
      const single = metrics.singleMetric();
      single.addDimension('Reason', reason);
      single.addMetric(name, MetricUnit.Count, count);
    } else {
      metrics.addMetric(name, MetricUnit.Count, count);
      metrics.publishStoredMetrics();
    }
  };
}
