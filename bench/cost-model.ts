import { PRICES, type Prices } from './prices';

/** What one sent e-mail uses, as measured (or, for the feedback loop, as assumed). */
export interface UsagePerEmail {
  readonly sesSends: number;
  readonly sqsRequests: number;
  readonly dynamoDbWriteUnits: number;
  readonly dynamoDbReadUnits: number;
  readonly lambdaInvocations: number;
  /** Mean billed duration of one invocation (each rounded up to the next ms, as Lambda bills). */
  readonly lambdaBilledMsPerInvocation: number;
  readonly snsPublishes?: number;
}

/** USD per 1,000,000 e-mails, by service. */
export interface CostPerMillion {
  readonly ses: number;
  readonly dynamoDb: number;
  readonly lambda: number;
  readonly sqs: number;
  readonly sns: number;
  readonly total: number;
}

const MILLION = 1_000_000;

/** Lambda compute for one invocation at `memoryMb`, in GB-seconds (Lambda counts 1 GB as 1,024 MB). */
export function gbSeconds(billedMs: number, memoryMb: number): number {
  return (billedMs / 1000) * (memoryMb / 1024);
}

/** Lambda rounds each invocation's duration up to the next millisecond. */
export function billedMs(durationsMs: readonly number[]): number {
  return durationsMs.length === 0 ? 0 : durationsMs.reduce((sum, ms) => sum + Math.ceil(ms), 0) / durationsMs.length;
}

/** What 1M e-mails cost at `usage` per e-mail, a function of `memoryMb`, and `prices`. */
export function costPerMillion(usage: UsagePerEmail, memoryMb: number, prices: Prices = PRICES): CostPerMillion {
  const ses = usage.sesSends * prices.sesPerEmail * MILLION;
  const dynamoDb =
    (usage.dynamoDbWriteUnits * prices.dynamoDbPerWriteUnit + usage.dynamoDbReadUnits * prices.dynamoDbPerReadUnit) * MILLION;
  const lambda =
    usage.lambdaInvocations *
    (prices.lambdaPerRequest + gbSeconds(usage.lambdaBilledMsPerInvocation, memoryMb) * prices.lambdaPerGbSecond) *
    MILLION;
  const sqs = usage.sqsRequests * prices.sqsPerRequest * MILLION;
  const sns = (usage.snsPublishes ?? 0) * prices.snsPerPublish * MILLION;
  return { ses, dynamoDb, lambda, sqs, sns, total: ses + dynamoDb + lambda + sqs + sns };
}

/** Adds two breakdowns (the dispatch path and the feedback loop). */
export function addCosts(a: CostPerMillion, b: CostPerMillion): CostPerMillion {
  return {
    ses: a.ses + b.ses,
    dynamoDb: a.dynamoDb + b.dynamoDb,
    lambda: a.lambda + b.lambda,
    sqs: a.sqs + b.sqs,
    sns: a.sns + b.sns,
    total: a.total + b.total,
  };
}

/** The share of the pipeline's cost that the safety adds over the naive sender: (pipeline − naive) / pipeline. */
export function safetyShare(pipeline: CostPerMillion, naive: CostPerMillion): number {
  return pipeline.total > 0 ? (pipeline.total - naive.total) / pipeline.total : 0;
}

export interface FeedbackLoopAssumptions {
  /** SES events per e-mail that reach the feedback function (`Send` and `Delivery`). @default 2 */
  readonly eventsPerEmail?: number;
  /** Write units of one reconcile (a conditional update that fails on a `sent` record still costs 1). @default 1 */
  readonly writeUnitsPerEvent?: number;
  /** Billed duration of one feedback invocation (one SNS record, one UpdateItem). @default 20 */
  readonly billedMsPerEvent?: number;
}

/**
 * The feedback loop on paper (the benchmark does not run it): every e-mail's `Send` and
 * `Delivery` events are published to SNS and each invokes the feedback function once, whose
 * reconcile is a conditional UpdateItem that finds the record already `sent`.
 */
export function feedbackLoopUsage(assumptions: FeedbackLoopAssumptions = {}): UsagePerEmail {
  const events = assumptions.eventsPerEmail ?? 2;
  return {
    sesSends: 0,
    sqsRequests: 0,
    dynamoDbWriteUnits: events * (assumptions.writeUnitsPerEvent ?? 1),
    dynamoDbReadUnits: 0,
    lambdaInvocations: events,
    lambdaBilledMsPerInvocation: assumptions.billedMsPerEvent ?? 20,
    snsPublishes: events,
  };
}
