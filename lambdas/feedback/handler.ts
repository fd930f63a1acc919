import type { EventBridgeEvent, SNSEvent } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDbFeedbackStore } from '../adapters/dynamodb-feedback-store';
import { DEFAULTS, RANGES, rangeProblem } from '../core/defaults';
import { ConfigurationError } from '../core/errors';
import { METRIC_NAMESPACE, MetricName } from '../core/outcomes';
import { lambdaEntry, requiredEnv } from '../handler-kit';
import { checkReputationSettings, REPUTATION_DEFAULTS, type ReputationSettings } from '../core/reputation';
import { Env } from '../tables';
import type { FeedbackStore } from '../ports';
import { applyFeedback } from './apply-feedback';
import { classifySesEvent, FeedbackIgnoredWhy, type SesEventRecord } from './ses-event';

/** Transient bounces in a row after which the next one counts as permanent. */
export const DEFAULT_TRANSIENT_BOUNCE_LIMIT = DEFAULTS.transientBounceLimit;

/** Counts one metric with one dimension (EMF in Lambda). */
export type FeedbackMetric = (
  name: typeof MetricName.DeliveryFate | typeof MetricName.FeedbackIgnored | typeof MetricName.ReputationBreached,
  dimension: readonly [string, string],
) => void;

export interface FeedbackDeps {
  readonly store: FeedbackStore;
  readonly now?: () => Date;
  readonly logger?: Pick<Logger, 'info' | 'warn'>;
  /** @default EMF through Powertools Metrics */
  readonly metric?: FeedbackMetric;
  /** Events tagged by another configuration set are counted and ignored. @default any */
  readonly configurationSet?: string;
  /** @default DEFAULT_TRANSIENT_BOUNCE_LIMIT */
  readonly transientBounceLimit?: number;
  /** The reputation guard's thresholds and window; `false` counts nothing. @default REPUTATION_DEFAULTS */
  readonly reputation?: ReputationSettings | false;
}

export interface FeedbackCounts {
  reconciled: number;
  recorded: number;
  suppressed: number;
  ignored: number;
}

type FeedbackEvent = SNSEvent | EventBridgeEvent<string, SesEventRecord>;

/**
 * SES feedback, from the configuration set's event destination (SNS, or EventBridge): `Send`
 * reconciles a claimed or in-doubt dispatch to sent, every later event becomes the dispatch's
 * delivery fate (`applyFeedback`). An event that changes nothing (malformed, not ours, unknown
 * message id, a replay) is counted and logged without address; it never fails the batch.
 */
export function createFeedbackHandler(deps: FeedbackDeps) {
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger ?? new Logger({ serviceName: 'mail-dispatch-feedback' });
  const metric = deps.metric ?? powertoolsMetric();
  const transientBounceLimit = deps.transientBounceLimit ?? DEFAULT_TRANSIENT_BOUNCE_LIMIT;
  const reputation = deps.reputation === false ? undefined : (deps.reputation ?? REPUTATION_DEFAULTS);
  return async (event: FeedbackEvent): Promise<FeedbackCounts> => {
    const counts = { reconciled: 0, recorded: 0, suppressed: 0, ignored: 0 };
    for (const record of sesRecords(event)) {
      const feedback = classifySesEvent(record, { configurationSet: deps.configurationSet });
      const applied = await applyFeedback(feedback, { store: deps.store, now: now(), transientBounceLimit, reputation });
      // Every event past the threshold counts: the reputation alarms (and through them the breaker) act on it.
      for (const rate of applied.reputation?.breaches ?? []) {
        metric(MetricName.ReputationBreached, ['Rate', rate]);
        const { sends, bounceRatePercent, complaintRatePercent } = applied.reputation ?? {};
        logger.warn('reputation guard: rate at or above its threshold over the last sends', {
          rate,
          sends,
          bounceRatePercent,
          complaintRatePercent,
        });
      }
      const ids = feedback.kind === 'ignored' ? {} : { dispatchId: feedback.dispatchId, sesMessageId: feedback.sesMessageId };
      if (applied.kind === 'ignored') {
        counts.ignored++;
        metric(MetricName.FeedbackIgnored, ['Why', applied.why]);
        logger.info('SES event ignored', { why: applied.why, ...ids });
      } else if (applied.kind === 'reconciled') {
        counts.reconciled++;
        logger.info('dispatch reconciled to sent by SES event', ids);
      } else if (applied.kind === 'fate') {
        counts.recorded++;
        if (applied.suppressed) counts.suppressed++;
        metric(MetricName.DeliveryFate, ['Fate', applied.fate]);
        const line = { ...ids, fate: applied.fate, suppressed: applied.suppressed, treatedAsPermanent: applied.treatedAsPermanent };
        // Only when this event suppressed a pair that was not suppressed before (12.10).
        if (applied.suppressed) logger.warn('member suppressed', { ...line, memberId: applied.memberId, addressHash: applied.addressHash });
        else logger.info('delivery fate recorded', line);
      }
    }
    return counts;
  };
}

function sesRecords(event: FeedbackEvent): SesEventRecord[] {
  if ('Records' in event) {
    return event.Records.flatMap((r) => {
      try {
        return [JSON.parse(r.Sns.Message) as SesEventRecord];
      } catch {
        // Classified as malformed: counted and logged, not dropped unseen.
        return [{ eventType: undefined }];
      }
    });
  }
  return event.detail ? [event.detail] : [];
}

/** The deployed handler's metric: one EMF line per count, with its one dimension beside `service`. */
export function powertoolsMetric(): FeedbackMetric {
  const metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: 'mail-dispatch-feedback' });
  return (name, [dimension, value]) => {
    const single = metrics.singleMetric();
    single.addDimension(dimension, value);
    single.addMetric(name, MetricUnit.Count, 1);
  };
}

/** The limit from the environment; a value that is not a positive integer is a deployment error. */
function transientBounceLimitFromEnv(): number {
  const raw = process.env[Env.transientBounceLimit];
  if (raw === undefined || raw === '') return DEFAULT_TRANSIENT_BOUNCE_LIMIT;
  const limit = Number(raw);
  const problem = rangeProblem(Env.transientBounceLimit, limit, RANGES.transientBounceLimit);
  if (problem) throw new ConfigurationError(problem);
  return limit;
}

/** The guard's settings from the environment (each optional); an invalid one is a deployment error. */
export function reputationFromEnv(env: NodeJS.ProcessEnv = process.env): ReputationSettings {
  const number = (name: string, fallback: number) => {
    const raw = env[name];
    return raw === undefined || raw === '' ? fallback : Number(raw);
  };
  const settings: ReputationSettings = {
    bounceRatePercent: number(Env.reputationBounceRatePercent, REPUTATION_DEFAULTS.bounceRatePercent),
    complaintRatePercent: number(Env.reputationComplaintRatePercent, REPUTATION_DEFAULTS.complaintRatePercent),
    windowSends: number(Env.reputationWindowSends, REPUTATION_DEFAULTS.windowSends),
  };
  const problems = checkReputationSettings(settings);
  if (problems.length > 0) throw new ConfigurationError(problems.join('; '));
  return settings;
}

export const handler = lambdaEntry(() =>
  createFeedbackHandler({
    store: new DynamoDbFeedbackStore({ membersTable: requiredEnv(Env.membersTable), ledgerTable: requiredEnv(Env.ledgerTable) }),
    configurationSet: process.env[Env.configurationSet] || undefined,
    transientBounceLimit: transientBounceLimitFromEnv(),
    reputation: reputationFromEnv(),
  }),
);

export { FeedbackIgnoredWhy };
